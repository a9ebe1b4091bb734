"""Evaluation as a new user meets a bundle: sets, renders, an independent judge, the report."""

# The two commands of the README: `make run` and `make test`. Each sets itself up first.
PY := .venv/bin/python

.PHONY: run test setup setup-dev

setup:
	scripts/setup.sh

setup-dev:
	scripts/setup.sh --dev

# Installs the runtime and starts the main job with the shipped default model.
run: setup
	.venv/bin/rtconvert demo

# Installs everything (system packages as root) and runs the whole test suite.
test: setup-dev
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

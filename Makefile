# The two commands of the README: `make run` and `make test`. Each sets itself up first, and
# only when the set-up is missing or older than what it installs from (a second `make run`
# starts the app at once). `make -B setup` (or setup-dev) installs again regardless.
PY := .venv/bin/python
SETUP_INPUTS := pyproject.toml scripts/setup.sh
# Written by scripts/setup.sh once it succeeds; the dev set-up writes both (it is a superset).
STAMP := .venv/.setup-stamp
DEV_STAMP := .venv/.setup-dev-stamp

.PHONY: run test setup setup-dev

setup: $(STAMP)

setup-dev: $(DEV_STAMP)

$(STAMP): $(SETUP_INPUTS)
	scripts/setup.sh

$(DEV_STAMP): $(SETUP_INPUTS)
	scripts/setup.sh --dev

# Installs the runtime and starts the app with the shipped default model (headless
# live conversion when there is no display).
run: setup
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then .venv/bin/rtconvert gui; \
	else .venv/bin/rtconvert run --emotion happy; fi

# Installs everything (system packages as root), lints (style, then the layers' imports) and
# runs the whole test suite.
test: setup-dev
	$(PY) -m ruff check .
	.venv/bin/lint-imports
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest --durations=15

# The two commands of the README: `make run` and `make test`. Each sets itself up first.
PY := .venv/bin/python

.PHONY: run test setup setup-dev

setup:
	scripts/setup.sh

setup-dev:
	scripts/setup.sh --dev

# Installs the runtime and starts the app with the shipped default model (headless
# live conversion when there is no display).
run: setup
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then .venv/bin/rtconvert gui; \
	else .venv/bin/rtconvert run --emotion happy; fi

# Installs everything (system packages as root) and runs the whole test suite.
test: setup-dev
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

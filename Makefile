# Hall: `make run` serves the demo hall, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app hall
RUN_PACKAGES := espeak-ng fonts-wqy-zenhei libusb-1.0-0
TEST_PACKAGES := $(RUN_PACKAGES) postgresql redis-server chromium sox

.PHONY: run test install system-run system-test demo clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

system-run:
	@scripts/system-packages.sh $(RUN_PACKAGES)

system-test:
	@scripts/system-packages.sh $(TEST_PACKAGES)

demo: install
	$(FLASK) hall init
	$(FLASK) hall demo

run: install system-run demo
	$(FLASK) hall serve

test: install system-test
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: install
	$(BIN)/python bench/issue_rate.py

clean:
	rm -rf $(VENV) var artifacts

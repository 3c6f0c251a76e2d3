# Hall: `make run` serves the demo hall, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app hall
RUN_PACKAGES := espeak-ng fonts-wqy-zenhei libusb-1.0-0
TEST_PACKAGES := $(RUN_PACKAGES) postgresql redis-server chromium sox nginx

.PHONY: run test install system-run system-test demo clean bench screenshots

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

# A random session secret made once on this machine (var/ is not in git); `hall serve` refuses
# the example key of config.toml. HALL_SERVER_SECRET_KEY, when set, wins.
var/secret_key:
	@mkdir -p var
	@umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))' > $@

run: install system-run demo var/secret_key
	HALL_SERVER_SECRET_KEY="$${HALL_SERVER_SECRET_KEY:-$$(cat var/secret_key)}" $(FLASK) hall serve

# Two pytest-xdist workers (one per core of the CI machine); a test module stays on one worker, so
# its module-scoped servers start once; modules with a `slow` test go first (tests/conftest.py).
TEST_WORKERS ?= 2
test: install system-test
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# Every screen at its real size in both languages, into docs/screenshots/ (the README shows them).
screenshots: install system-test
	$(BIN)/python scripts/screenshots.py

bench: install
	$(BIN)/python bench/issue_rate.py

clean:
	rm -rf $(VENV) var artifacts

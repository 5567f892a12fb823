# Two commands: `make run` serves the product, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export SIGNAGE_ASYNC_MODE ?= gevent

.PHONY: run test demo bench translations deps system-deps test-deps extract clean

$(BIN)/activate: requirements.txt player/requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(BIN)/activate

deps: $(BIN)/activate translations system-deps

# CJK fonts for notices and Tesseract's Simplified Chinese model for screening the text in
# images (and, for tests, Chromium and Xvfb) come from Debian.
system-deps:
	@if ! fc-list :lang=zh 2>/dev/null | grep -q . || ! tesseract --list-langs 2>/dev/null | grep -qx chi_sim ; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei fonts-wqy-microhei fontconfig tesseract-ocr tesseract-ocr-chi-sim >/dev/null; \
	  else echo "Install a CJK font and Tesseract (Debian: fonts-wqy-zenhei tesseract-ocr tesseract-ocr-chi-sim) to render and screen notices."; fi; fi

# Chromium for browser tests; nginx for the multi-node tests (tests/multinode runs deploy/'s
# configuration in front of three nodes, in an nginx of their own on a free port);
# systemd-analyze checks deploy/'s units.
test-deps: deps
	@if ! command -v chromium >/dev/null || ! command -v Xvfb >/dev/null || ! [ -x /usr/sbin/nginx ] || ! command -v systemd-analyze >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium xvfb nginx systemd >/dev/null; \
	  else echo "Tests need Debian's chromium, nginx and systemd: sudo apt-get install chromium xvfb nginx systemd"; exit 1; fi; fi

translations: $(BIN)/activate
	$(BIN)/pybabel compile -d server/translations >/dev/null

run: deps
	$(BIN)/flask --app server init
	$(BIN)/gunicorn -c server/gunicorn_conf.py server.wsgi:app

# Two pytest workers (pytest-xdist), each taking whole modules so that a module's servers
# and players start once; most of the suite waits on real processes, not on the CPU.
# TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2
test: test-deps
	$(BIN)/ruff check .
	SIGNAGE_ASYNC_MODE=threading $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# make demo [DURATION=<seconds>] [TERMINALS=<n>] [HISTORY=<days>]: the seed's 76 screens,
# simulated; HISTORY first plays that many past days (a database without plays needed).
DURATION ?=
TERMINALS ?= 76
HISTORY ?=
demo: deps
	$(BIN)/python -m server.demo --terminals $(TERMINALS) $(if $(DURATION),--duration $(DURATION)) $(if $(HISTORY),--history $(HISTORY))

# The player's layout benchmark (bench/bench_player_layout.py) opens a real X window in Xvfb.
bench: test-deps
	$(BIN)/python -m bench.run

# Developers: refresh the message catalog after changing UI strings.
extract: $(BIN)/activate
	$(BIN)/pybabel extract --no-wrap -F babel.cfg -k _l -k N_ -o server/translations/messages.pot .
	$(BIN)/pybabel update --no-wrap -i server/translations/messages.pot -d server/translations

clean:
	rm -rf $(VENV) var

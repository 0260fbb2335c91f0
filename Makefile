# make demo   set up .venv, create ./archive, build a sample bag, ingest it, show it
# make test   set up .venv (and chromium, postgresql, the migration tools) and run the whole test suite (plus mypy,
#             ruff, import-linter)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.archa-installed

.PHONY: install demo test check bench clean browser postgres tools

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/python -m compileall -q archa  # an editable install is not compiled: every command would compile its modules
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@test -f archive/archa.toml || $(BIN)/archa init archive
	rm -rf demo-sip && $(BIN)/python -m archa.demo demo-sip
	@if $(BIN)/archa aip list --repo archive --json | $(BIN)/python -c 'import json,sys; \
	    sys.exit(0 if any(a["external_id"] == "ERA-2026-0001" for a in json.load(sys.stdin)) else 1)'; then \
	  echo "the demo bag is stored already: ingesting it again would be refused as a duplicate (DUP001)"; \
	else $(BIN)/archa ingest --repo archive demo-sip; fi
	$(BIN)/archa aip list --repo archive
	$(BIN)/archa search --repo archive "road repairs"
	$(BIN)/archa aip show --repo archive "$$($(BIN)/archa aip list --repo archive --json | $(BIN)/python -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')"

check: $(STAMP)
	$(BIN)/ruff check archa tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports  # the layering and "SQL only in the catalog": the contracts in setup.cfg

# the report test renders pages in Debian's headless chromium: installed here when missing
browser:
	@command -v chromium >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); } || \
	  echo "warning: no chromium; install Debian's chromium for the report test"

# the tests start their own PostgreSQL server (Debian's postgresql): installed here when missing
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null); } || \
	  echo "warning: no PostgreSQL server; install Debian's postgresql for the catalog tests on PostgreSQL"

# `archa migrate` runs Debian's Ghostscript, LibreOffice (headless), ffmpeg and OpenJPEG: installed here when missing
tools:
	@{ command -v gs && command -v soffice && command -v ffmpeg && command -v opj_compress; } >/dev/null || \
	  { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && (apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ghostscript \
	    libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui ffmpeg libopenjp2-tools flac \
	    >/dev/null); } || echo "warning: no migration tools; install Debian's ghostscript, libreoffice-*-nogui, ffmpeg"

# ARCHA_REQUIRE_TOOLS: a test needing a tool above fails when it is missing, instead of being skipped
test: $(STAMP) check browser postgres tools
	ARCHA_REQUIRE_TOOLS=1 $(BIN)/python -m pytest -q
	ARCHA_REQUIRE_TOOLS=1 $(BIN)/python -m pytest -q --catalog postgresql  # the same suite, catalog on PostgreSQL

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) demo-sip .pytest_cache .mypy_cache

# make test: create .venv, install mediaprep with its test extras, run the suite.
# make demo: same install, then run mediaprep on the sample media in testdata/.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: test test-fast lint demo install sysdeps bench-deps clean testdata

install: $(STAMP) sysdeps

# PYTHONWARNINGS: setuptools' note on every editable install ("be careful with folders
# ... same name as your package") is information, not a problem; a quiet install hides it.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	PYTHONWARNINGS=ignore::UserWarning $(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# python-magic needs the system's libmagic1; the hostile-input tests watch file opens
# and connections with strace; the report's test opens the page in headless Chromium.
# Install them with apt-get only when they are missing (and only where we may: as root
# with apt-get present).
sysdeps:
	@missing=""; \
	ldconfig -p 2>/dev/null | grep -q 'libmagic\.so\.1' || missing="$$missing libmagic1"; \
	command -v strace >/dev/null 2>&1 || missing="$$missing strace"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing with apt-get:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "warning: missing system packages:$$missing (apt-get install$$missing)"; fi; \
	fi

# The gates: lint and strict typing first (seconds), then the whole suite.
lint: install
	$(VENV)/bin/ruff check mediaprep tests bench testdata demo.py
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest -q

# A quick loop: the same gates, without the tests that encode real video (marked slow).
test-fast: lint
	$(PY) -m pytest -q -m "not slow"

demo: install
	$(PY) demo.py

# Benchmarks need more (metrics, ImageMagick to compare against); run by hand.
bench-deps: install
	$(PY) -m pip install -q -e '.[test,bench]'

testdata: install
	$(PY) testdata/make_testdata.py

clean:
	rm -rf $(VENV) .pytest_cache

# make test: create .venv, install mediaprep with its test extras, run the suite.
# make demo: same install, then run mediaprep on the sample media in testdata/.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: test demo install libmagic bench-deps clean testdata

install: $(STAMP) libmagic

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# python-magic needs the system's libmagic1; install it only when it is missing.
libmagic:
	@if ! ldconfig -p 2>/dev/null | grep -q 'libmagic\.so\.1'; then \
	  echo "libmagic1 missing: installing it with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmagic1; \
	fi

test: install
	$(PY) -m pytest -q

demo: install
	$(PY) demo.py

# Benchmarks need more (metrics, ImageMagick to compare against); run by hand.
bench-deps: install
	$(PY) -m pip install -q -e '.[test,bench]'

testdata: install
	$(PY) testdata/make_testdata.py

clean:
	rm -rf $(VENV) .pytest_cache

# face-classifier: `make demo` then `make test` on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_VIDEO ?= demo.mp4
DEMO_RESULT ?= demo-result

.PHONY: install demo test test-fast bench bench-memory eval clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

demo: install
	$(PY) demo_video.py $(DEMO_VIDEO)
	$(PY) face_classifier.py $(DEMO_VIDEO) --result $(DEMO_RESULT)

test: install
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow"

# resident memory after 1,000 and 10,000 faces (synthetic, no dlib), with autosaves
bench-memory: install
	$(PY) bench/memory_bench.py

eval: install
	$(PY) tools/evaluate.py

clean:
	rm -rf $(VENV) $(DEMO_VIDEO) build *.egg-info .pytest_cache

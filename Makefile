# face-classifier: `make demo` then `make test` on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_VIDEO ?= demo.mp4
DEMO_RESULT ?= demo-result
REPORT_RESULT ?= report-result
SCREENSHOT ?= $(REPORT_RESULT)/screenshot.png
# a folder holding the model files (yunet_s_640_640.onnx, ...): copied instead of downloaded
MODELS_FROM ?=

.PHONY: install models demo report test test-fast lint bench bench-memory bench-cluster eval clean

install: $(VENV)/.installed models

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,cluster]"  # cluster: Dask, for --cluster (~3 s more)
	touch $@

# the model files into the user's cache, downloaded or copied from MODELS_FROM (a no-op once
# they are there); tried on every make install, as the venv's stamp says nothing about them.
# Runs work without them (on dlib HOG without YuNet's): a failure is said, and make goes on
models: $(VENV)/.installed
	@$(VENV)/bin/face-classifier models install $(if $(MODELS_FROM),--from "$(MODELS_FROM)") \
	  || echo "make: not every face model is installed, so runs will use $$($(VENV)/bin/face-classifier models | sed -n 's/^face detector: //p') to find faces; to install them later: $(VENV)/bin/face-classifier models install [--from FOLDER]"

demo: install
	$(PY) -m facesort.demo $(DEMO_VIDEO)
	$(PY) face_classifier.py $(DEMO_VIDEO) --result $(DEMO_RESULT)
	@echo
	@echo "The demo's persons are in $(DEMO_RESULT)/; open $(DEMO_RESULT)/report.html to see who was seen when."
	@echo "Your own video: $(VENV)/bin/face-classifier VIDEO.mp4  (0 for the webcam, -d to watch; faces go to ./result)"

# two videos and two photos in one run, then report.html opened in headless Chromium:
# fails unless every image on it loads; saves a screenshot (docs/report.png is one)
report: install
	$(PY) -m facesort.demo $(DEMO_VIDEO)
	$(PY) -m facesort.demo demo-story.mp4 --story --seed 3 --photos demo-photos
	$(PY) face_classifier.py $(DEMO_VIDEO) demo-story.mp4 demo-photos --result $(REPORT_RESULT)
	$(PY) -m facesort.report.render $(REPORT_RESULT) --screenshot $(SCREENSHOT)

test: install
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow and not realtime"

# ruff's modest rule set on everything, mypy --strict on facesort/records and facesort/sorting (pyproject.toml)
lint: install
	$(PY) -m ruff check .
	$(PY) -m mypy

# sorting cost, resident memory and save time as synthetic faces grow to FACES (no detector),
# with autosaves; its last line is JSON (make bench-memory FACES=100000: issue 26's goals)
FACES ?= 10000
bench-memory: install
	$(PY) bench/memory_bench.py --faces $(FACES)

# sorting quality on the slideshow and the motion dev pairs, at -S 0.5 and -S 0 (~15 min);
# the post's rules beside the default on the slideshow pair at -S 0.5
eval: install
	$(PY) tools/evaluate.py --pairs slideshow motion --seconds 0.5 0 --modes default
	$(PY) tools/evaluate.py --pairs slideshow --seconds 0.5 --modes faithful

# speed, memory and small-face recall, default against --faithful, one table (issue 8)
bench-live: install
	$(PY) -m pytest -q -m realtime -o addopts=""

bench: install
	$(PY) bench/speed_bench.py

# --cluster local:1 and local:2 against the plain run, the overhead per input, the driver's cost
bench-cluster: install
	$(PY) bench/cluster_bench.py

clean:
	rm -rf $(VENV) $(DEMO_VIDEO) demo-story.mp4 demo-photos build *.egg-info .pytest_cache

# Two commands do all set-up on a fresh machine: `make all` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
INPUT  ?= samples
OUTPUT ?= outputs
# Extra pipeline options, e.g. ARGS="--set transcribe.batched=true"
ARGS   ?=

.DELETE_ON_ERROR:
.PHONY: all run test test-fast bench bench-ray bench-accuracy bench-speakers bench-alerts schema models sample-audio bench-audio lock clean distclean

all: run

# The environment: rebuilt when the dependency pins change.
$(BIN)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	touch $@

# Ray, the optional executor (`pipeline run --executor ray`): `make all` does without it, `make test` tests it.
# Rebuilt with the environment, so a change of pins reaches it too.
$(BIN)/.installed-ray: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test,ray]'
	touch $@

models: $(BIN)/.installed
	$(BIN)/pipeline models prepare

run: models
	$(BIN)/pipeline run $(INPUT) --output $(OUTPUT) $(ARGS)
	$(BIN)/pipeline index $(OUTPUT)
	$(BIN)/pipeline report $(OUTPUT)

test: $(BIN)/.installed-ray
	$(BIN)/python -m pytest -q

# The fast subset: no real model (fake stages for the engine); under 30 s.
test-fast: $(BIN)/.installed
	$(BIN)/python -m pytest -q -m "not model"

# Benchmarks (not part of `make test`); figures go to bench/RESULTS.md by hand, with the machine and date.
bench: $(BIN)/.installed
	$(BIN)/python bench/dedup_index.py --sizes 125 250 500 1000
	$(BIN)/python bench/diarize_bench.py --repeat 3
	$(BIN)/python bench/nlp_bench.py --repeat 5
	$(BIN)/python bench/search_bench.py
	$(BIN)/python bench/pipeline_bench.py --pairs 3 --long 10
	$(BIN)/python bench/hostile_bench.py
	$(BIN)/python bench/long_bench.py --hours 1 6

# Files per hour: the local executor against Ray with 1 and 2 worker processes, model loads included (about 10
# minutes on 2 cores; run it alone on the machine). Figures go to bench/RESULTS.md, "Scale-out on Ray".
bench-ray: $(BIN)/.installed-ray
	$(BIN)/python bench/ray_bench.py

# Audio accuracy on the generated shows of bench/accuracy/ (about 15 minutes): CER against plain faster-whisper,
# entity recall, figures, speech coverage, DER, corrections and recoveries, with and without the episode notes.
bench-accuracy: $(BIN)/.installed
	$(BIN)/python bench/accuracy_bench.py --notes

# Speaker names from speech on the generated shows of bench/speakers (their notes beside them; no voiceprints).
bench-speakers: $(BIN)/.installed
	$(BIN)/python bench/speaker_names_bench.py --dir bench/speakers --notes

# Watchlist alerts on the generated shows of bench/alerts/ and the repo's text transcripts (about 6 minutes):
# recall, precision and timing per file, against a plain substring search of the same run.
bench-alerts: $(BIN)/.installed
	$(BIN)/python bench/alerts_bench.py

schema: $(BIN)/.installed
	$(BIN)/pipeline schema --write

# Regenerate the bundled sample audio (needs the TTS packages; not part of `make all`).
sample-audio: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -r scripts/requirements-tts.txt
	$(BIN)/python -m pip install --quiet --no-deps pyopenjtalk-plus==0.4.1.post10 sudachipy==0.6.11
	$(BIN)/python scripts/make_sample_audio.py samples/source/asaradio_2024-03-12.yaml --out samples/

# Regenerate the six-minute benchmark recording (bench/audio/README.md; needs the TTS packages).
bench-audio: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -r scripts/requirements-tts.txt
	$(BIN)/python -m pip install --quiet --no-deps pyopenjtalk-plus==0.4.1.post10 sudachipy==0.6.11
	$(BIN)/python scripts/make_sample_audio.py bench/source/asaradio_2024-06-03.yaml --out bench/audio/

# Re-resolve the full pin set after editing pyproject.toml.
lock:
	rm -rf /tmp/lock-venv && $(PYTHON) -m venv /tmp/lock-venv
	/tmp/lock-venv/bin/pip install --quiet '.[test,ray]'
	# torch's local "+cpu" label is dropped: the pin must also resolve where only PyPI's torch 2.13.0 exists
	/tmp/lock-venv/bin/pip freeze --exclude broadcast-pipeline | sed 's/^torch==2.13.0+cpu$$/torch==2.13.0/' > requirements.lock

clean:
	rm -rf $(OUTPUT)/.cache $(OUTPUT)/*.jsonl

distclean: clean
	rm -rf $(VENV)

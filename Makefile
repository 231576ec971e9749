# Two commands on a fresh machine with Python 3 and make: `make demo`, `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS ?= test,docs,plots,backends
PYTEST_ARGS ?=
DEMO_OUT ?= demo_output
# Run again on JAX and PyTorch: the layers, the optimizer, the data and the
# docs' code blocks. Keras picks its backend once, at import, so each backend
# gets its own pytest process.
BACKEND_TESTS ?= tests/test_lookup_embedding.py tests/test_one_hot_dense.py \
	tests/test_pretrained_embedding.py tests/test_pretrained_contract.py \
	tests/test_lazy_adam.py tests/test_sparse_gradients.py tests/test_data.py \
	tests/test_backends.py tests/test_bad_ids.py tests/test_embedding_bag.py \
	tests/test_subword_embedding.py tests/test_docs.py \
	keras_embedplus/layers keras_embedplus/data

.PHONY: setup demo test test-backends lint format docs bench bench-gpu clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/keras-embedplus demo --out $(DEMO_OUT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

test: setup lint docs
	KERAS_BACKEND=tensorflow $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-backends

test-backends: setup
	KERAS_BACKEND=jax $(BIN)/python -m pytest -n 2 $(BACKEND_TESTS) $(PYTEST_ARGS)
	KERAS_BACKEND=torch $(BIN)/python -m pytest -n 2 $(BACKEND_TESTS) $(PYTEST_ARGS)

# Every CPU benchmark in turn (about 8 minutes on 2 cores); the numbers are
# in docs/performance.md. Each also runs alone: `python benchmarks/NAME.py`.
bench: setup
	$(BIN)/python benchmarks/layers.py
	$(BIN)/python benchmarks/loaders.py
	$(BIN)/python benchmarks/align_write.py
	$(BIN)/python benchmarks/lazy_adam.py
	$(BIN)/python benchmarks/sparse_gradients.py
	$(BIN)/python benchmarks/word2vec.py
	$(BIN)/python benchmarks/embedding_bag.py
	$(BIN)/python benchmarks/bad_ids.py

# The same benchmarks on the GPU; says "no GPU found, skipping" without one.
bench-gpu: setup
	$(BIN)/python benchmarks/gpu.py

clean:
	rm -rf $(VENV) site build demo_output *.egg-info .pytest_cache .ruff_cache

# Xunzhen: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench demo clean browser soak

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot run

test: $(STAMP) browser
	$(BIN)/python -m pytest

# The dashboard's browser tests need Debian's chromium (and a CJK font for readable screenshots). Locally they
# skip without it; under CI=true they fail, so install it here when we can (as root).
browser:
	@command -v chromium >/dev/null || { [ "$(CI)" = "true" ] && [ "$$(id -u)" = 0 ] && \
		apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; } || \
		echo "chromium not installed: the dashboard browser tests will skip (apt-get install chromium)" >&2

lint: $(STAMP)
	$(BIN)/ruff check domain storage nlp handlers bot tests bench
	$(BIN)/mypy domain storage nlp handlers bot

bench: $(STAMP)
	@for f in bench/*.py; do [ "$$f" = bench/soak.py ] && continue; echo "== $$f" >&2; $(BIN)/python $$f || exit 1; done

# Not part of `make test`/CI: an hour (SOAK_SECONDS or SOAK_ARGS="--seconds 600 --backend postgres") of a county.
soak: $(STAMP)
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

demo: $(STAMP)
	$(BIN)/python -m bot demo

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

# Xunzhen: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench demo clean browser fonts soak

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot run

# Bytecode is written during the run even where the environment says not to (PYTHONDONTWRITEBYTECODE): the four
# pytest-xdist workers and the dozens of `python -m bot` processes the tests start then compile our modules and
# rewrite the tests' assertions once instead of each on its own (a fifth of the suite's CPU on a fresh clone).
# The caches stay in __pycache__/ and .pytest_cache/, which git ignores.
test: $(STAMP) browser fonts
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest

# The dashboard's browser tests need Debian's chromium (and a CJK font for readable screenshots). Locally they
# skip without it; under CI=true they fail, so install it here when we can (as root).
browser:
	@command -v chromium >/dev/null || { [ "$(CI)" = "true" ] && [ "$$(id -u)" = 0 ] && \
		apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; } || \
		echo "chromium not installed: the dashboard browser tests will skip (apt-get install chromium)" >&2

# Posters (python -m bot poster, the 海报 button) are set in a Chinese TrueType font the machine must have: Debian's
# fonts-wqy-zenhei (or XUNZHEN_CJK_FONT). Without it a poster fails with a message, and under CI=true so do its tests:
# install it here when we can (as root). A deployment installs it the same way (README → Posters).
WQY := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
fonts:
	@test -f $(WQY) || { [ "$(CI)" = "true" ] && [ "$$(id -u)" = 0 ] && \
		apt-get update -qq && apt-get install -y -qq fonts-wqy-zenhei >/dev/null; } || \
		echo "fonts-wqy-zenhei not installed: the poster tests will skip (apt-get install fonts-wqy-zenhei)" >&2

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

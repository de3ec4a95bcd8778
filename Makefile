# Two commands: `make demo` and `make test`. Each creates .venv if missing and installs first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export YOLO_OFFLINE := 1
# pip install --no-compile: byte-compiling every file of the 7.5 GB of packages took about 80 s of a 2 min 9 s
# install (2-core Zen 4, 2026-12-01); Python compiles only what is imported, once, on first import, which
# needs bytecode writing allowed (some machines set PYTHONDONTWRITEBYTECODE=1).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test install clean lock browser

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --no-compile -c constraints.txt -e '.[test,litert]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/yolo-compress demo

# The report test renders report.html in headless Chromium: Debian's package, installed when missing.
browser:
	@[ -n "$$CHROMIUM" ] || command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the report-rendering test (one time)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	  else echo "error: headless Chromium is missing; install it (apt-get install chromium) or set CHROMIUM=/path/to/chrome"; exit 1; fi; }

test: $(STAMP) browser
	$(PY) -m pytest -q -n 2 --durations=15   # 2 workers: the CPU budget is 2 cores

# Regenerate the constraints (lock) file from the current .venv.
lock: $(STAMP)
	$(PY) -m pip freeze --exclude-editable --exclude yolo-compress | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(VENV) runs .pytest_cache

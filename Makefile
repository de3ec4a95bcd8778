# Two commands: `make demo` and `make test`. Each creates .venv if missing and installs first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export YOLO_OFFLINE := 1

.PHONY: demo test install clean lock

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/yolo-compress demo

test: $(STAMP)
	$(PY) -m pytest -q -n 2 --durations=15   # 2 workers: the CPU budget is 2 cores

# Regenerate the constraints (lock) file from the current .venv.
lock: $(STAMP)
	$(PY) -m pip freeze --exclude-editable --exclude yolo-compress | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(VENV) runs .pytest_cache

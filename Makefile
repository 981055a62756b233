# Zaytoun. `make run` serves the site on its embedded default; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .venv-tools/bin
FLASK := $(BIN)/flask --app campaigns
TRANSLATIONS := campaigns/translations
PO := $(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

.PHONY: run test test-fast chaos bench worker beat lint audit install translations extract update-catalogs lock clean

$(BIN)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

install: $(BIN)/.installed translations

%.mo: %.po
	$(BIN)/pybabel -q compile -i $< -o $@

translations: $(BIN)/.installed $(MO)

## The site on its embedded default: SQLite in instance/, tasks in-process, mail in instance/mail/.
run: install
	$(FLASK) db upgrade
	$(FLASK) campaigns seed --demo
	$(FLASK) run --host 127.0.0.1 --port 5000

## Every test: unit tests on SQLite, integration on the machine's PostgreSQL and Redis.
test: install
	$(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not integration"

## The long fault tests (workers killed, Redis and PostgreSQL restarted, SMTP down); `make test` runs short versions.
chaos: install
	$(BIN)/pytest -m chaos

## The benchmark: the production stack on loopback, measured against a bare Flask app; see benchmarks/README.md.
bench: install
	$(BIN)/python -m benchmarks.run

## Celery worker with embedded beat, against REDIS_URL and DATABASE_URL.
worker: install
	$(BIN)/celery -A workers worker --beat --queues zaytoun,periodic --loglevel INFO

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# Security tools in their own venv, so that their pins never meet requirements.lock's.
$(TOOLS)/.installed: requirements-tools.lock
	test -x $(TOOLS)/python || $(PYTHON) -m venv .venv-tools
	$(TOOLS)/pip install --quiet --require-hashes -r requirements-tools.lock
	touch $@

## Security checks: our semgrep rules (.semgrep/, tested on their fixtures first), then pip-audit
## on requirements.lock; vulnerability data unreachable fails, or with CI=true only warns loudly.
audit: $(TOOLS)/.installed
	cd .semgrep && ../$(TOOLS)/semgrep scan --test --metrics off --disable-version-check --config . tests/
	$(TOOLS)/semgrep scan --config .semgrep/ --metrics off --disable-version-check --error --no-git-ignore \
		campaigns workers templates
	@rm -f .venv-tools/pip-audit.json; status=0; \
	$(TOOLS)/pip-audit -r requirements.lock --require-hashes --disable-pip --progress-spinner off \
		--format json --output .venv-tools/pip-audit.json 2>.venv-tools/pip-audit.log || status=$$?; \
	$(TOOLS)/python -c "$$PIP_AUDIT_VERDICT" $$status .venv-tools/pip-audit.json .venv-tools/pip-audit.log

# pip-audit exits 0 when its service answers "not found" for every package: tell that apart.
define PIP_AUDIT_VERDICT
import json, os, re, sys

status, report, errors = int(sys.argv[1]), sys.argv[2], open(sys.argv[3]).read()
try:
    deps = json.load(open(report))["dependencies"]
except (OSError, ValueError, KeyError, TypeError):
    deps = None
if deps is None:
    # No report: unreachable only when pip-audit could not connect to its service.
    unreachable = status != 0 and re.search(
        r"ConnectionError|NameResolutionError|Failed to resolve|Max retries exceeded|ConnectTimeout",
        errors,
    )
    if not unreachable:
        sys.exit(errors[-4000:] + f"pip-audit: failed (exit {status}), see above")
elif not deps:
    sys.exit("pip-audit: no dependency read from requirements.lock")
else:
    found = [(d["name"], d["version"], v) for d in deps for v in d.get("vulns", [])]
    for name, version, vuln in found:
        fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed release"
        print(f"pip-audit: {name} {version}: {vuln['id']} (fixed in: {fixed})")
    if found:
        sys.exit(f"pip-audit: {len(found)} known vulnerabilities in requirements.lock")
    skipped = [d for d in deps if "skip_reason" in d]
    unreachable = status == 0 and len(skipped) == len(deps) and all(
        "could not be audited" in d["skip_reason"] for d in skipped
    )
    if not unreachable:
        for d in skipped:
            print(f"pip-audit: {d['skip_reason']}")
        if skipped or status != 0:
            sys.exit(f"pip-audit: {len(skipped)} of {len(deps)} not audited (exit {status})")
        print(f"pip-audit: {len(deps)} locked dependencies audited, no known vulnerability")
        sys.exit(0)
print("!" * 78)
print("pip-audit: vulnerability data unreachable from this machine — dependencies NOT audited")
print("!" * 78)
if os.environ.get("CI") == "true":
    sys.exit(0)  # CI here has no route to the service; only this case passes (docs/security-checks.md)
sys.exit("pip-audit: run `make audit` where the vulnerability service is reachable")
endef
export PIP_AUDIT_VERDICT

extract: $(BIN)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l -k count_text:1,2 --no-location --sort-output \
		--project Zaytoun -o $(TRANSLATIONS)/messages.pot .

update-catalogs: extract
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-fuzzy-matching --ignore-obsolete

lock:
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --extra dev --generate-hashes --strip-extras -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

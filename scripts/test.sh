#!/usr/bin/env bash
# Every check of the project, in order; run by `make test` (and so by CI) inside .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n=== %s ===\n' "$*"; }
t0=$SECONDS

step "ruff"
ruff check .
ruff format --check .

step "ansible-lint (production profile)"
ansible-lint

step "ansible-test sanity"
bash scripts/sanity.sh

step "unit tests (coverage floor 90% on plugins/module_utils)"
pytest -q -n 2 tests/unit \
  --cov=plugins/module_utils --cov-report=term-missing:skip-covered --cov-fail-under=90

step "integration tests (lab, ansible-playbook)"
# Independent lab tests run side by side, each on a site of its own, a file on one worker
# (loadfile): the tests of a file may share one module-scoped site, in order.
pytest -q -n 2 --dist loadfile tests/integration

step "done in $((SECONDS - t0)) s"

#!/usr/bin/env bash
# Every check of the project, in order; run by `make test` (and so by CI) inside .venv.
# `scripts/test.sh min` runs only the last step (`make test-min`).
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n=== %s ===\n' "$*"; }
t0=$SECONDS

# The lowest ansible-core meta/runtime.yml claims, in .venv-min (made by `make min`): the unit
# tests, and the full rollout on a lab site through that version's ansible-playbook.
lowest() {
  local py=.venv-min/bin/python
  step "unit tests and a lab rollout on ansible-core $($py -c 'import ansible; print(ansible.__version__)') (.venv-min)"
  $py -m pytest -q -n 2 -p no:cacheprovider tests/unit
  $py -m pytest -q -p no:cacheprovider \
    tests/integration/test_rollout.py::test_01_full_rollout_in_the_safe_order
}
if [[ "${1:-}" == min ]]; then
  lowest
  exit 0
fi

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

step "integration tests (lab, ansible-playbook; headless Chromium for the report, scripts/browser.sh)"
bash scripts/browser.sh
# Independent lab tests run side by side, each on a site of its own, a file on one worker
# (loadfile): the tests of a file may share one module-scoped site, in order.
pytest -q -n 2 --dist loadfile tests/integration

step "changelog (antsibull-changelog lint)"
antsibull-changelog lint

lowest

step "done in $((SECONDS - t0)) s"

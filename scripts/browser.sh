#!/usr/bin/env bash
# Headless Chromium for the report's browser test (tests/integration/test_site_report.py):
# Debian's chromium and chromium-driver, installed once; a no-op when /usr/bin/chromium is there.
# Where apt cannot install them (no root, no Debian), it says so and the browser test skips with
# that reason; nothing else depends on it.
set -uo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
  apt-get install -y -q chromium chromium-driver >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null; } \
    || echo "scripts/browser.sh: apt-get could not install chromium; the browser test will skip." >&2
else
  echo "scripts/browser.sh: no apt-get as root here; install Debian's chromium to run the browser test." >&2
fi
exit 0

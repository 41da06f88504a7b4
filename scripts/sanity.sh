#!/usr/bin/env bash
# ansible-test sanity wants the collection under ansible_collections/<ns>/<name>: place a
# fresh copy of the tracked and new files there, then run it locally (no docker).
set -euo pipefail
cd "$(dirname "$0")/.."
root=build/sanity/ansible_collections/xprotect/encryption
rm -rf build/sanity && mkdir -p "$root"
git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c '[ -e "{}" ] && echo "{}"' \
  | tar -cf - -T - | tar -xf - -C "$root"
# Offline bootstrap of pip inside ansible-test's own virtual environments.
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
shim=scripts/ansible-test-get-pip-shim.py
# The pip version ansible-test pins names the file it looks for (24_2 for ansible-core 2.19).
pipver=$(python - <<'PY'
import pathlib, re, ansible_test
src = pathlib.Path(ansible_test.__file__).parent.joinpath("_internal", "python_requirements.py").read_text()
m = re.search(r"pip='([0-9.]+)'", src)
print((m.group(1) if m else "24.2").replace(".", "_"))
PY
)
if [ -f "$shim" ] && [ ! -f "$cache/get_pip_${pipver}.py" ]; then
  cp "$shim" "$cache/get_pip_${pipver}.py"
fi
cd "$root"
git init -q . && git add -A >/dev/null && git -c user.email=ci@localhost -c user.name=ci commit -qm sanity >/dev/null
ansible-test sanity --venv --python 3.11 --color no "$@"

#!/usr/bin/env bash
# `make demo`: a lab site (1 management, 3 recording, 1 failover, 1 mobile server, 2 clients),
# its CA under .lab/pki, the rollout, the summary and the lab's connectivity, and the site report
# (report.json, report.html) under .lab/site/xprotect-report. Run it twice: the second run changes
# nothing. XPROTECT_DEMO_SITE=<folder> puts the site elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
export ANSIBLE_CONFIG="$PWD/ansible.cfg" ANSIBLE_NOCOLOR="${ANSIBLE_NOCOLOR:-}"
site="${XPROTECT_DEMO_SITE:-$PWD/.lab/site}"

echo "== The lab: a simulated XProtect site on loopback =="
# Each Server Configurator run takes 2 +/- 1 s here, its host's services down meanwhile (real runs
# take tens of seconds; docs/lab.md, restart_seconds; benchmarks/bench_rollout.py uses 20 +/- 5),
# and the ports it changed answer 1 s after it returns (endpoint_return_seconds: the gates wait).
ansible-playbook playbooks/lab.yml -e "{\"lab_path\": \"$site\", \"lab_settings\": {\"restart_seconds\": 2, \"restart_jitter_seconds\": 1, \"endpoint_return_seconds\": 1}}"

echo "== The rollout: playbooks/site.yml =="
ansible-playbook -i "$site/inventory.yml" playbooks/site.yml

echo "== The lab's connectivity, from $site/status.json =="
python - "$site/status.json" <<'PY'
import json, sys
status = json.load(open(sys.argv[1]))
hosts = status.get("hosts", status)
rows = []
for name, h in sorted(hosts.items()):
    enc = h.get("encryption") or {}
    on = sorted(g for g, v in enc.items() if (v or {}).get("enabled"))
    tls = [f"{e.get('port')}{'/tls' if e.get('tls') else ''}" for e in h.get("endpoints", [])]
    link = h.get("connected")
    video = h.get("video")
    state = "-" if link is None else ("connected" if link else "DISCONNECTED")
    if video:
        state = f"video from {sum(1 for v in video.values() if v)}/{len(video)} recording servers"
    rows.append((name, ",".join(h.get("roles", [])), ", ".join(on) or "none", " ".join(tls) or "-", state))
widths = [max(len(r[i]) for r in rows + [("host", "roles", "encrypted groups", "endpoints", "state")]) for i in range(5)]
for r in [("host", "roles", "encrypted groups", "endpoints", "state")] + rows:
    print("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)))
PY

echo "== The site report (docs/report.md) =="
for f in report.json report.html; do
  test -s "$site/xprotect-report/$f" || { echo "missing: $site/xprotect-report/$f" >&2; exit 1; }
done
echo "The site report: $site/xprotect-report/report.html (open it in a browser; report.json beside it)"

cat <<EOT

Done. The lab keeps running. From the repository root, after '. .venv/bin/activate':
  ansible-playbook -i $site/inventory.yml playbooks/site.yml      # run again: changes nothing
  ansible-playbook -i $site/inventory.yml playbooks/audit.yml     # drift report (check mode)
  ansible-playbook -i $site/inventory.yml playbooks/renew.yml     # re-issue certificates due for renewal
  ansible-playbook -i $site/inventory.yml playbooks/rollback.yml  # encryption off, in the safe order
  ansible-playbook playbooks/lab.yml -e lab_path=$site -e lab_state=absent  # stop and remove the lab
EOT

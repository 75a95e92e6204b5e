#!/usr/bin/env bash
# Installs skiff's dependencies, builds it and starts `skiff server` in the background
# (kubeconfig /etc/skiff/skiff.yaml, data /var/lib/skiff, log /var/log/skiff.log).
# Extra arguments go to `skiff server`, e.g. --disable-agent or --datastore-endpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

pidfile=/run/skiff.pid
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "skiff server already running (pid $(cat "$pidfile"))"
  exit 0
fi
mkdir -p /etc/skiff /var/lib/skiff
nohup "$PWD/bin/skiff" server "$@" >>/var/log/skiff.log 2>&1 &
echo $! >"$pidfile"

for _ in $(seq 1 100); do
  if [ -f /etc/skiff/skiff.yaml ] && KUBECONFIG=/etc/skiff/skiff.yaml kubectl get --raw /readyz >/dev/null 2>&1; then
    echo "skiff server is ready (pid $(cat "$pidfile")). Try: KUBECONFIG=/etc/skiff/skiff.yaml kubectl get ns"
    exit 0
  fi
  sleep 0.2
done
echo "skiff server did not become ready; see /var/log/skiff.log" >&2
exit 1

#!/usr/bin/env bash
# Installs what skiff needs on a Debian machine (as root): system packages, npm packages, build.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v openssl >/dev/null || need+=(openssl)
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)  # static: it runs inside images
command -v cc >/dev/null || need+=(gcc)
ls /usr/lib/*/libc.a >/dev/null 2>&1 || need+=(libc6-dev)
command -v ip >/dev/null || need+=(iproute2)
command -v iptables-restore >/dev/null || need+=(iptables)  # the proxy programs nat rules (legacy and nft)
command -v conntrack >/dev/null || need+=(conntrack)  # the proxy deletes stale UDP flows
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

npm ci --no-audit --no-fund
npm run build

#!/usr/bin/env bash
# Installs the Debian packages the interop suite drives: strongSwan 5.9.8 with
# kernel-libipsec (the kernel here has no ESP), swanctl, the namespace and NAT
# tools, tcpdump and tshark. Idempotent: when every package is already
# installed it does nothing, not even `apt-get update`.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(
  strongswan-charon
  strongswan-swanctl
  libcharon-extra-plugins
  libstrongswan-standard-plugins
  iproute2
  iptables
  ethtool
  tcpdump
  tshark
  conntrack
  iputils-ping
  util-linux
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "interop packages: all present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "interop packages missing (${missing[*]}); run this script as root" >&2
  exit 1
fi

echo "interop packages: installing ${missing[*]}"
apt-get update -qq
# tshark asks whether non-root users may capture; answer no without a prompt.
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# strongswan-charon pulls in strongswan-starter; on a systemd host that may
# start a charon in the host namespace. The suite never uses it, and it holds
# nothing the suite needs, so only report it.
if command -v pgrep >/dev/null 2>&1 && pgrep -x charon >/dev/null 2>&1; then
  echo "note: a charon is running in the host namespace; the suite does not touch it" >&2
fi

for bin in /usr/lib/ipsec/charon /usr/sbin/swanctl /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so; do
  [ -e "$bin" ] || { echo "interop packages: $bin missing after install" >&2; exit 1; }
done
echo "interop packages: done"

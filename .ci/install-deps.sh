#!/usr/bin/env bash
# Debian packages the tests need (run as root). The servers (sshd, smbd, pushgateway) are only
# installed here; each test starts its own instance on a free loopback port and stops it.
set -euo pipefail
packages=(
  tar gzip zstd gnupg rsync diffutils openssl passwd util-linux systemd
  faketime   # test/e2e/dry-run-slot.test.ts: two runs started in the same second
  openssh-server openssh-client
  samba smbclient
  prometheus-pushgateway prometheus
  mariadb-client postgresql-client
  lintian binutils man-db adduser   # npm run release (strip, .deb) and test/e2e/release.test.ts
  zsh fish
  chromium
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian's packages start their daemons; the tests run their own instances on other ports.
for svc in smbd nmbd prometheus prometheus-pushgateway; do
  (command -v service >/dev/null && service "$svc" stop >/dev/null 2>&1) || true
done

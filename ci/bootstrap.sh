#!/usr/bin/env bash
# Installs what the platform and its tests need on a fresh Debian 12 (as root), then the
# project's venv. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  postgresql-15 postgresql-15-pgsphere postgresql-contrib
  haproxy socat stilts systemd openssl
  python3-venv python3-dev gcc libc6-dev
  chromium chromium-driver wrk curl
  zabbix-server-pgsql zabbix-frontend-php php-pgsql php8.2-cgi php-cli zabbix-agent
  podman runc containernetworking-plugins iptables catatonit debootstrap rsync unzip shellcheck
)

missing=()
for package in "${APT_PACKAGES[@]}" ${JMMC_EXTRA_APT_PACKAGES:-}; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep "ok installed" >/dev/null || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: missing system packages (${missing[*]}); run as root or install them" >&2
    exit 1
  fi
  echo "bootstrap: installing ${missing[*]}"
  # Debian's maintainer scripts must not start system-wide daemons: we run private ones.
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}"
  if [ "$created_policy" -eq 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed
# The C sources too: an editable install compiles them once, so a changed one means reinstalling.
inputs=$(shopt -s globstar nullglob; cat constraints.txt pyproject.toml libs/*/pyproject.toml \
  services/*/pyproject.toml libs/*/src/**/*.c | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$inputs" ]; then
  .venv/bin/pip install -q --upgrade pip
  editables=()
  for project in libs/*/pyproject.toml services/*/pyproject.toml; do
    editables+=(-e "$(dirname "$project")")
  done
  .venv/bin/pip install -q -c constraints.txt "${editables[@]}" -e .
  echo "$inputs" > "$stamp"
fi

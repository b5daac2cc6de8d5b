#!/usr/bin/env bash
# Builds the local stand-in for the official Python slim image when no registry is reachable:
# a Debian 12 minbase root filesystem with python3 (debootstrap), imported into podman.
# Prints the image name. The result is cached, keyed by this script's content, so CI pays
# the ~60 s debootstrap once per machine; set JMMC_BASE_CACHE to move the cache.
set -euo pipefail
cd "$(dirname "$0")/.."

key=$(sha256sum "$0" | cut -c1-12)
image="localhost/jmmc-base:bookworm-$key"
cache=${JMMC_BASE_CACHE:-/var/cache/jmmc-ci}
tarball="$cache/base-rootfs-$key.tar"

mkdir -p "$cache"
# One builder at a time: a concurrent run waits, then finds the image made.
exec 9>"$cache/.lock"
flock 9
if podman image exists "$image"; then
  echo "$image"
  exit 0
fi

if [ ! -s "$tarball" ]; then
  # The same Debian mirror the host's apt already uses, so the base matches this network.
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
    | sed -nE 's@^(URIs:|deb) +(https?://[^ ]+/debian)/?( .*)?$@\2@p' | head -n1 || true)
  if [ -z "$mirror" ]; then
    echo "base-image: no Debian mirror found in the apt sources" >&2
    exit 1
  fi
  rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  echo "base-image: debootstrap bookworm from $mirror (about a minute, once)" >&2
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || { tail -n 20 "$cache/debootstrap.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
fi

# Older versions of this base are dead weight (176 MB each).
find "$cache" -maxdepth 1 -name 'base-rootfs-*.tar' ! -name "${tarball##*/}" -delete
podman images --format '{{.Repository}}:{{.Tag}}' --filter reference=localhost/jmmc-base \
  | grep -vxF "$image" | xargs -r podman rmi >/dev/null 2>&1 || true
podman import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' \
  "$tarball" "$image" >/dev/null
echo "$image"

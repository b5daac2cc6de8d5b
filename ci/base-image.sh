#!/usr/bin/env bash
# Builds the local stand-ins for the official Python images when no registry is reachable, both
# from one Debian 12 minbase root filesystem (debootstrap) and imported into podman: the runtime
# base (python3, for the slim image) and the build base, the same plus gcc, libc6-dev and
# python3-dev (for the full image: the shared core's C extension is compiled there). The build
# stage's venv runs in the runtime stage, so both hold the very same python3.
# Prints the two image names, the runtime base then the build base, one per line. The result
# is cached, keyed by this script's content, so CI pays the ~90 s debootstrap once per
# machine; set JMMC_BASE_CACHE to move the cache.
set -euo pipefail
cd "$(dirname "$0")/.."

key=$(sha256sum "$0" | cut -c1-12)
image="localhost/jmmc-base:bookworm-$key"
build_image="localhost/jmmc-base:bookworm-build-$key"
cache=${JMMC_BASE_CACHE:-/var/cache/jmmc-ci}
tarball="$cache/base-rootfs-$key.tar"
build_tarball="$cache/build-rootfs-$key.tar"
log="$cache/debootstrap.log"

mkdir -p "$cache"
# One builder at a time: a concurrent run waits, then finds the images made.
exec 9>"$cache/.lock"
flock 9
if podman image exists "$image" && podman image exists "$build_image"; then
  printf '%s\n' "$image" "$build_image"
  exit 0
fi

if [ ! -s "$tarball" ] || [ ! -s "$build_tarball" ]; then
  # The same Debian mirror the host's apt already uses, so the base matches this network.
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
    | sed -nE 's@^(URIs:|deb) +(https?://[^ ]+/debian)/?( .*)?$@\2@p' | head -n1 || true)
  if [ -z "$mirror" ]; then
    echo "base-image: no Debian mirror found in the apt sources" >&2
    exit 1
  fi
  rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  echo "base-image: debootstrap bookworm from $mirror (about 90 s, once)" >&2
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$rootfs" "$mirror" >"$log" 2>&1 \
    || { tail -n 20 "$log" >&2; exit 1; }
  # The runtime base, without apt's package lists and downloaded packages.
  tar -C "$rootfs" --exclude='./var/cache/apt/archives/*.deb' --exclude='./var/lib/apt/lists/*' \
    -cf "$tarball.partial" .
  # The build base: the compiler and Python's headers added from the package lists debootstrap
  # left, so its python3 is the runtime base's.
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
    chroot "$rootfs" apt-get install -y -q --no-install-recommends gcc libc6-dev python3-dev \
    >>"$log" 2>&1 || { tail -n 20 "$log" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -cf "$build_tarball.partial" .
  mv "$tarball.partial" "$tarball"
  mv "$build_tarball.partial" "$build_tarball"
fi

# Older versions of these bases are dead weight (176 MB and 490 MB each).
find "$cache" -maxdepth 1 \( -name 'base-rootfs-*.tar' -o -name 'build-rootfs-*.tar' \) \
  ! -name "${tarball##*/}" ! -name "${build_tarball##*/}" -delete
podman images --format '{{.Repository}}:{{.Tag}}' --filter reference=localhost/jmmc-base \
  | grep -vxF -e "$image" -e "$build_image" | xargs -r podman rmi >/dev/null 2>&1 || true
for pair in "$tarball $image" "$build_tarball $build_image"; do
  read -r rootfs_tarball name <<<"$pair"
  podman image exists "$name" \
    || podman import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' \
      "$rootfs_tarball" "$name" >/dev/null
done
printf '%s\n' "$image" "$build_image"

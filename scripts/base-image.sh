#!/usr/bin/env bash
# Make the base image skill images are built on, when it is missing and cannot be
# pulled: a minimal Debian bookworm with python3, python3-venv and python3-pip,
# made by debootstrap and loaded with `docker import`.
set -euo pipefail

image=${SKILLGUARD_BASE_IMAGE:-skillguard-base:bookworm}
mirror=${SKILLGUARD_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi
if docker pull "$image" >/dev/null 2>&1; then
  echo "base-image: pulled $image"
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "base-image: installing debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

root=$(mktemp -d /tmp/skillguard-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "base-image: debootstrap bookworm into $root (about a minute)"
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip \
  bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
  echo "base-image: debootstrap failed; last lines of $root.log:" >&2
  tail -n 20 "$root.log" >&2
  exit 1
}
rm -f "$root.log"
# Drop package caches so the image carries only the installed system.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' - "$image" >/dev/null
echo "base-image: imported $image"

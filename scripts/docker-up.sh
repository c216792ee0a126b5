#!/usr/bin/env bash
# Make a Docker engine respond on this machine: install Debian's docker.io if the
# daemon is missing, start dockerd if nothing responds, then wait until it does.
set -euo pipefail

log=${SKILLGUARD_DOCKERD_LOG:-/var/log/skillguard-dockerd.log}

if docker info >/dev/null 2>&1; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker-up: installing Debian's docker.io"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "docker-up: starting dockerd (log: $log)"
  nohup dockerd >"$log" 2>&1 &
fi

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "docker-up: engine $(docker version --format '{{.Server.Version}}') is responding"
    exit 0
  fi
  sleep 1
done
echo "docker-up: dockerd did not respond within 60 seconds; last lines of $log:" >&2
tail -n 20 "$log" >&2 || true
exit 1

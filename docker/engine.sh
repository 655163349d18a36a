#!/usr/bin/env bash
# Make sure a Docker engine answers: install Debian's docker.io (and debootstrap, which
# docker/build.sh needs without an image registry) if missing, start dockerd in the background
# if it is not running, and wait for its socket. Needs root for the install and the start.
# Fails loudly when the engine cannot be reached. Log: ${DOCKERD_LOG:-/tmp/dockerd.log}.
set -euo pipefail

if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
fi
if docker info >/dev/null 2>&1; then
    exit 0
fi
log="${DOCKERD_LOG:-/tmp/dockerd.log}"
nohup dockerd >"$log" 2>&1 &
for _ in $(seq 60); do
    if docker info >/dev/null 2>&1; then
        echo "docker engine $(docker version --format '{{.Server.Version}}') is up"
        exit 0
    fi
    sleep 1
done
echo "$0: dockerd did not answer within 60 s; its log ($log) ends with:" >&2
tail -20 "$log" >&2
exit 1

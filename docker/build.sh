#!/usr/bin/env bash
# Build a sandbox image with one command.
#
#   docker/build.sh scoring              # -> image sldbench-scoring (Python, numpy, scipy, pandas)
#   docker/build.sh scoring --debian     # force the Debian root-filesystem build (no image registry)
#   docker/build.sh scoring --registry   # force the build from the official Python base image
#   docker/build.sh agents               # -> image sldbench-agents: the scoring image plus the agent CLIs
#
# Without an image registry the scoring image is made from a minimal Debian root filesystem
# (debootstrap, then docker import); with one, from docker/scoring.Dockerfile. The default
# picks the registry build when the base image is present or can be pulled, else Debian.
# The agents image is built on the scoring image (built first if missing) from the package
# registries alone: the CLIs at their pinned versions, Node.js 20 and the interpreters they need
# (python -m sldbench.agents.image; needs root, the sldbench package and npm).
# Environment: SLDBENCH_SCORING_IMAGE (image name, default sldbench-scoring), SLDBENCH_AGENTS_IMAGE
# (default sldbench-agents), PYTHON (the interpreter with sldbench installed, default python3),
# DEBIAN_MIRROR (mirror for debootstrap, default: debootstrap's own), DEBIAN_SUITE (bookworm).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
usage() { echo "usage: $0 scoring [--debian|--registry] | $0 agents" >&2; exit 2; }

[[ $# -ge 1 ]] || usage
target="$1"; shift
source_kind="auto"
case "${1:-}" in
    --debian) source_kind="debian" ;;
    --registry) source_kind="registry" ;;
    "") ;;
    *) usage ;;
esac
[[ "$target" == "scoring" || "$target" == "agents" ]] || { echo "$0: unknown image '$target' (known: scoring, agents)" >&2; usage; }

image="${SLDBENCH_SCORING_IMAGE:-sldbench-scoring}"

if [[ "$target" == "agents" ]]; then
    agents_image="${SLDBENCH_AGENTS_IMAGE:-sldbench-agents}"
    docker info >/dev/null 2>&1 || { echo "$0: no Docker engine reachable (start dockerd first: docker/engine.sh)" >&2; exit 1; }
    [[ $EUID -eq 0 ]] || { echo "$0: the agents build installs into /opt/sldbench/agents, which needs root" >&2; exit 1; }
    docker image inspect "$image" >/dev/null 2>&1 || "$0" scoring
    context="$(mktemp -d /tmp/sldbench-agents-context.XXXXXX)"
    trap 'rm -rf "$context"' EXIT
    "${PYTHON:-python3}" -m sldbench.agents.image "$context" --base "$image"
    docker build -q -f "$here/agents.Dockerfile" --build-arg BASE="$image" -t "$agents_image" "$context" >"$context/build.log" 2>&1 \
        || { cat "$context/build.log" >&2; echo "$0: docker build of $agents_image failed" >&2; exit 1; }
    # every CLI answers in the locked-down setting the sandbox uses: no network, the unprivileged user
    docker run --rm --network none --read-only --tmpfs /tmp "$agents_image" sh -c '
        set -e; cd /tmp; export HOME=/tmp
        for cli in aider openhands codex goose claude gemini opencode terminus-2; do printf "%s " "$cli"; timeout 120 "$cli" --version 2>&1 | tail -1; done
        printf "mini "; timeout 120 mini --help 2>&1 | grep -m1 "version"
        tmux -V' \
        || { echo "$0: a CLI does not run in $agents_image" >&2; exit 1; }
    echo "$agents_image: built on $image"
    exit 0
fi
dockerfile="$here/scoring.Dockerfile"
base_image="$(awk '/^FROM /{print $2; exit}' "$dockerfile")"
# The sandbox runs commands as this user, in this directory (sldbench/sandbox/docker.py).
user_id=1000
workdir=/home/sld/work

docker info >/dev/null 2>&1 || { echo "$0: no Docker engine reachable (start dockerd first)" >&2; exit 1; }

if [[ "$source_kind" == "auto" ]]; then
    if docker image inspect "$base_image" >/dev/null 2>&1 || timeout 60 docker pull -q "$base_image" >/dev/null 2>&1; then
        source_kind="registry"
    else
        source_kind="debian"
        echo "$0: base image $base_image not available; building from a Debian root filesystem" >&2
    fi
fi

if [[ "$source_kind" == "registry" ]]; then
    docker build -f "$dockerfile" -t "$image" "$here"
else
    command -v debootstrap >/dev/null || { echo "$0: debootstrap is needed (apt-get install debootstrap)" >&2; exit 1; }
    [[ $EUID -eq 0 ]] || { echo "$0: the Debian build runs debootstrap, which needs root" >&2; exit 1; }
    rootfs="$(mktemp -d /tmp/sldbench-rootfs.XXXXXX)"
    trap 'rm -rf "$rootfs"' EXIT
    debootstrap --variant=minbase --include=python3,python3-numpy,python3-scipy,python3-pandas \
        "${DEBIAN_SUITE:-bookworm}" "$rootfs" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"}
    # Same user and working directory as the Dockerfile build.
    echo "sld:x:$user_id:$user_id::/home/sld:/bin/sh" >> "$rootfs/etc/passwd"
    echo "sld:x:$user_id:" >> "$rootfs/etc/group"
    echo "sld:!:19000::::::" >> "$rootfs/etc/shadow"
    mkdir -p "$rootfs$workdir"
    chown -R "$user_id:$user_id" "$rootfs/home/sld"
    # Nothing the sandbox needs: package caches, documentation, locales.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
    tar -C "$rootfs" -c . | docker import \
        --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --change "ENV LANG=C.UTF-8" \
        --change "USER sld" \
        --change "WORKDIR $workdir" \
        --change 'CMD ["python3"]' \
        - "$image"
fi

# The sandbox needs python3 with the three libraries, run as the unprivileged user.
docker run --rm --network none "$image" python3 -c \
    "import numpy, scipy, pandas, os; assert os.getuid() == $user_id, os.getuid(); print('$image: python', __import__('sys').version.split()[0], 'numpy', numpy.__version__, 'scipy', scipy.__version__, 'pandas', pandas.__version__)"

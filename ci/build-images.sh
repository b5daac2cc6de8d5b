#!/usr/bin/env bash
# Builds (and optionally pushes) the service images from services/Containerfile (one image per
# service, SERVICE passed as a build argument), with the repository root as build context.
#
#   ci/build-images.sh [options] [SERVICE...]       (no SERVICE: every service)
#     --engine docker|podman  container engine (default: docker if present, else podman)
#     --repository PREFIX     image name prefix (default: $CI_REGISTRY_IMAGE or localhost/jmmc)
#     --tag TAG               image tag (default: per service, ci/image-tags.sh: the newest
#                             commit that changed what the image is built from)
#     --base IMAGE            BASE_IMAGE build argument, the runtime stage's base (default:
#                             the Containerfile's, the official Python slim image)
#     --build-base IMAGE      BUILD_IMAGE build argument, the build stage's base: the same
#                             Python with a C compiler and its headers (default: the
#                             Containerfile's, the official Python image)
#     --local-base            build both bases with ci/base-image.sh (podman, no registry)
#     --offline               wheels downloaded on the host, build with no network
#     --changed-since REV     only services whose inputs changed since REV (all when REV is
#                             not a known commit: GitLab's 000… on a new branch, or "all")
#     --push                  push each image after building it
#     --dry-run               print what would be built, build nothing
#     --list                  print the known services (services/registry.yaml) and exit
# Prints one "SERVICE IMAGE" line per built image on stdout; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

WHEELS=build/wheels

die() { echo "build-images: $*" >&2; exit 2; }

engine=""
repository=${CI_REGISTRY_IMAGE:-localhost/jmmc}
tag=""
base=""
build_base=""
local_base=0
offline=0
changed_since=""
push=0
dry_run=0
services=()
while [ $# -gt 0 ]; do
  case "$1" in
    --engine) engine=${2:?}; shift ;;
    --repository) repository=${2:?}; shift ;;
    --tag) tag=${2:?}; shift ;;
    --base) base=${2:?}; shift ;;
    --build-base) build_base=${2:?}; shift ;;
    --local-base) local_base=1 ;;
    --offline) offline=1 ;;
    --changed-since) changed_since=${2:?}; shift ;;
    --push) push=1 ;;
    --dry-run) dry_run=1 ;;
    --list) ci/services.sh; exit 0 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) services+=("$1") ;;
  esac
  shift
done

known=$(ci/services.sh | tr '\n' ' ')
for service in "${services[@]}"; do
  [[ " $known" == *" $service "* ]] || die "unknown service '$service'; known services: ${known% }"
done
[ ${#services[@]} -gt 0 ] || read -r -a services <<<"$known"

if [ -n "$changed_since" ] && git cat-file -e "$changed_since^{commit}" 2>/dev/null; then
  selected=()
  for service in "${services[@]}"; do
    # shellcheck disable=SC2046  # one word per input path
    git diff --quiet "$changed_since" HEAD -- $(ci/image-tags.sh --inputs "$service") \
      || selected+=("$service")
  done
  if [ ${#selected[@]} -eq 0 ]; then
    echo "build-images: no service changed since $changed_since" >&2
    exit 0
  fi
  services=("${selected[@]}")
fi

if [ -z "$engine" ]; then
  if command -v docker >/dev/null; then engine=docker; else engine=podman; fi
fi
case "$engine" in
  docker) build=(docker build) ; push_cmd=(docker push) ;;
  # crun cannot run here (cgroups in hybrid mode); HEALTHCHECK needs the docker format.
  podman) build=(podman --runtime runc build --format docker) ; push_cmd=(podman push) ;;
  *) die "unknown engine '$engine'; use docker or podman" ;;
esac
declare -A tags
while read -r service service_tag; do tags[$service]=${tag:-$service_tag}; done < <(ci/image-tags.sh)
if [ "$dry_run" -eq 1 ]; then
  for service in "${services[@]}"; do echo "$service $repository/$service:${tags[$service]}"; done
  exit 0
fi

build_args=(--build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)")
pip_options=()
if [ "$local_base" -eq 1 ]; then
  [ "$engine" = podman ] || die "--local-base needs --engine podman"
  bases=$(ci/base-image.sh)
  base=$(sed -n 1p <<<"$bases")
  build_base=$(sed -n 2p <<<"$bases")
  # Debian's python3 is 3.11.2 while the official image tracks 3.11's newest patch release;
  # a few wheels (soupsieve) declare >=3.11.5 without needing it.
  pip_options+=(--ignore-requires-python)
fi
[ -z "$base" ] || build_args+=(--build-arg "BASE_IMAGE=$base")
[ -z "$build_base" ] || build_args+=(--build-arg "BUILD_IMAGE=$build_base")

mkdir -p "$WHEELS"
if [ "$offline" -eq 1 ]; then
  # Concurrent builds (test sessions, CI jobs on one runner) share the wheel folder.
  exec 9>"$WHEELS/.lock"
  flock 9
  python=python3
  [ -x .venv/bin/python ] && python=.venv/bin/python
  # The download resolves every dependency again (~20 s); skip it while the inputs are unchanged.
  inputs=$(cat constraints.txt libs/jmmc_core/pyproject.toml services/*/pyproject.toml | sha256sum)
  if [ "$(cat "$WHEELS/.inputs" 2>/dev/null)" != "$inputs" ]; then
    echo "build-images: downloading wheels into $WHEELS" >&2
    sources=(./libs/jmmc_core)
    for service in $known; do sources+=("./services/$service"); done
    if ! "$python" -m pip download -q --disable-pip-version-check -d "$WHEELS" \
      -c constraints.txt --only-binary=:all: "${sources[@]}" setuptools 2>"$WHEELS/.log"; then
      grep -v "is ignored" "$WHEELS/.log" >&2
      die "downloading the wheels failed"
    fi
    echo "$inputs" >"$WHEELS/.inputs"
  fi
  flock -u 9
  build_args+=(--network none)
  pip_options+=(--no-index)
fi
build_args+=(--build-arg "PIP_INSTALL_OPTIONS=${pip_options[*]}")

for service in "${services[@]}"; do
  image="$repository/$service:${tags[$service]}"
  echo "build-images: building $image" >&2
  started=$SECONDS
  "${build[@]}" "${build_args[@]}" --build-arg "SERVICE=$service" \
    -f services/Containerfile -t "$image" . >&2
  echo "build-images: built $image in $((SECONDS - started)) s" >&2
  [ "$push" -eq 0 ] || "${push_cmd[@]}" "$image" >&2
  echo "$service $image"
done

#!/usr/bin/env bash
# The images a pipeline deploys, pinned by digest. For every service of services/registry.yaml
# the image of its tag (ci/image-tags.sh: the newest commit that changed its inputs) is pulled
# from the registry, or built and pushed when the registry lacks it (changed inputs, a failed
# earlier pipeline, an emptied registry); its digest is then written to FILE as
# "SERVICE REPOSITORY/SERVICE@sha256:…". FILE is the build job's artifact and the only source
# of image references of the deploy jobs (ci/helm.sh deploy), so a deploy never names an image
# this pipeline did not see in the registry.
#   ci/pin-images.sh [--engine docker|podman] --repository PREFIX FILE
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "pin-images: $*" >&2; exit 2; }
engine=docker
repository=""
while [ $# -gt 1 ]; do
  case "$1" in
    --engine) engine=${2:?}; shift ;;
    --repository) repository=${2:?}; shift ;;
    *) die "unknown option $1" ;;
  esac
  shift
done
file=${1:?usage: ci/pin-images.sh [--engine docker|podman] --repository PREFIX FILE}
[ -n "$repository" ] || die "--repository is required (the registry path of the project)"

mkdir -p "$(dirname "$file")"
pins=$(mktemp)
trap 'rm -f "$pins"' EXIT
while read -r service tag; do
  image="$repository/$service:$tag"
  if ! "$engine" pull -q "$image" >/dev/null 2>&1; then
    echo "pin-images: $image is not in the registry: building it" >&2
    ci/build-images.sh --engine "$engine" --repository "$repository" --push "$service" >/dev/null
  fi
  digest=$("$engine" image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$image" \
    | grep -m1 "^$repository/$service@sha256:" || true)
  [ -n "$digest" ] || die "no registry digest for $image after pushing it"
  echo "$service $digest" >>"$pins"
done < <(ci/image-tags.sh)
mv "$pins" "$file"
trap - EXIT
cat "$file"

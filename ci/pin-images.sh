#!/usr/bin/env bash
# The images a pipeline deploys, pinned by digest. For every service of services/registry.yaml
# the image of its tag (ci/image-tags.sh: the newest commit that changed its inputs) is pulled
# from the registry, or built and pushed when the registry lacks it (changed inputs, a failed
# earlier pipeline, an emptied registry); its digest is then written to FILE as
# "SERVICE REPOSITORY/SERVICE@sha256:…". The database image of charts/database
# (charts/postgres/image/Containerfile.cnpg on --database-base, CloudNativePG's PostgreSQL
# image by digest) is pinned the same way, as "database REPOSITORY/postgres-cnpg@sha256:…";
# its tag names its inputs (the newest commit that changed the Containerfile, the base's
# digest), so a change of either builds a new image. FILE is the build job's artifact and the
# only source of image references of the deploy jobs (ci/helm.sh deploy), so a deploy never
# names an image this pipeline did not see in the registry.
#   ci/pin-images.sh [--engine docker|podman] --repository PREFIX --database-base IMAGE FILE
set -euo pipefail
cd "$(dirname "$0")/.."

DATABASE_CONTAINERFILE=charts/postgres/image/Containerfile.cnpg
die() { echo "pin-images: $*" >&2; exit 2; }
engine=docker
repository=""
database_base=""
while [ $# -gt 1 ]; do
  case "$1" in
    --engine) engine=${2:?}; shift ;;
    --repository) repository=${2:?}; shift ;;
    --database-base) database_base=${2:?}; shift ;;
    *) die "unknown option $1" ;;
  esac
  shift
done
file=${1:?usage: ci/pin-images.sh [--engine docker|podman] --repository PREFIX --database-base IMAGE FILE}
[ -n "$repository" ] || die "--repository is required (the registry path of the project)"
[[ "$database_base" =~ @sha256:([0-9a-f]{64})$ ]] \
  || die "--database-base must be CloudNativePG's PostgreSQL image by digest (IMAGE@sha256:…), not '$database_base'"
base_digest=${BASH_REMATCH[1]}

mkdir -p "$(dirname "$file")"
pins=$(mktemp)
trap 'rm -f "$pins"' EXIT
pin() {  # pin NAME IMAGE-NAME TAG BUILD-COMMAND...: "NAME REPOSITORY/IMAGE-NAME@sha256:…"
  local name=$1 image="$repository/$2:$3" digest
  shift 3
  if ! "$engine" pull -q "$image" >/dev/null 2>&1; then
    echo "pin-images: $image is not in the registry: building it" >&2
    "$@" </dev/null >/dev/null  # not the tags read by the loop
  fi
  digest=$("$engine" image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$image" \
    | grep -m1 "^${image%:*}@sha256:" || true)
  [ -n "$digest" ] || die "no registry digest for $image after pushing it"
  echo "$name $digest" >>"$pins"
}

build_database() {  # build_database IMAGE
  "$engine" build -f "$DATABASE_CONTAINERFILE" --build-arg "BASE_IMAGE=$database_base" -t "$1" . \
    && "$engine" push "$1"
}

while read -r service tag; do
  pin "$service" "$service" "$tag" \
    ci/build-images.sh --engine "$engine" --repository "$repository" --push "$service"
done < <(ci/image-tags.sh)
database_tag="15-pgsphere-$(git log -1 --format=%h --abbrev=12 HEAD -- "$DATABASE_CONTAINERFILE")-${base_digest:0:12}"
pin database postgres-cnpg "$database_tag" build_database "$repository/postgres-cnpg:$database_tag"
mv "$pins" "$file"
trap - EXIT
cat "$file"

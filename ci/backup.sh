#!/usr/bin/env bash
# A base backup of the database right before a deploy's migrations run: a CloudNativePG
# Backup of the Cluster (barman-cloud plugin, into the object store of charts/database), and
# wait until the operator reports it completed. Prints the Backup's name.
#
#   ci/backup.sh ENV        ENV labels the Backup. NAMESPACE (default jmmc), DATABASE_CLUSTER
#                           (default jmmc-db), BACKUP_TIMEOUT in seconds (default 3600),
#                           BACKUP_POLL_SECONDS (default 10).
# No Cluster yet (the first install) means nothing to back up: exit 0. Any other failure
# (no cluster access, a failed or late backup) exits non-zero, and the deploy stops.
set -euo pipefail

environment=${1:?usage: ci/backup.sh ENV}
namespace=${NAMESPACE:-jmmc}
cluster=${DATABASE_CLUSTER:-jmmc-db}
timeout=${BACKUP_TIMEOUT:-3600}
poll=${BACKUP_POLL_SECONDS:-10}
die() { echo "backup.sh: $*" >&2; exit 1; }

found=$(kubectl get clusters.postgresql.cnpg.io "$cluster" --namespace "$namespace" \
  --ignore-not-found --output name) \
  || die "cannot read the Cluster $cluster from the cluster: nothing deployed"
if [ -z "$found" ]; then
  echo "backup.sh: no Cluster $cluster in $namespace yet: nothing to back up" >&2
  exit 0
fi

name="$cluster-before-deploy-$(date -u +%Y%m%d%H%M%S)"
kubectl apply --namespace "$namespace" --filename - >&2 <<MANIFEST
apiVersion: postgresql.cnpg.io/v1
kind: Backup
metadata:
  name: $name
  labels:
    jmmc.io/backup: before-deploy
    jmmc.io/environment: $environment
spec:
  cluster:
    name: $cluster
  method: plugin
  pluginConfiguration:
    name: barman-cloud.cloudnative-pg.io
MANIFEST

deadline=$((SECONDS + timeout))
while :; do
  phase=$(kubectl get backups.postgresql.cnpg.io "$name" --namespace "$namespace" \
    --output 'jsonpath={.status.phase}')
  case "$phase" in
    completed) echo "backup.sh: $name completed" >&2; echo "$name"; exit 0 ;;
    failed) die "$name failed: $(kubectl get backups.postgresql.cnpg.io "$name" \
              --namespace "$namespace" --output 'jsonpath={.status.error}')" ;;
  esac
  [ "$SECONDS" -lt "$deadline" ] || die "$name not completed after ${timeout} s (phase '${phase}')"
  sleep "$poll"
done

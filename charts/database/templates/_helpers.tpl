{{- define "database.labels" -}}
app.kubernetes.io/name: database
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: jmmc-platform
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "database.image" -}}
{{- $repository := printf "%s/postgres-cnpg" (.Values.image.repository | default .Values.global.imageRepository) -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository .Values.image.tag -}}
{{- end -}}
{{- end }}

{{- define "database.pullSecretNames" -}}
{{- toJson (.Values.imagePullSecrets | default .Values.global.imagePullSecrets) -}}
{{- end }}

{{/* The barman-cloud plugin and the ObjectStore the Cluster archives to. */}}
{{- define "database.plugin" -}}barman-cloud.cloudnative-pg.io{{- end }}
{{- define "database.objectStore" -}}{{ .Values.cluster.name }}-object-store{{- end }}

{{- define "database.destinationPath" -}}
{{- if not (hasPrefix "s3://" .Values.backup.destinationPath) -}}
{{- fail "backup.destinationPath is required: the object store (s3://bucket/path) that receives the WAL archive and the base backups" -}}
{{- end -}}
{{- .Values.backup.destinationPath -}}
{{- end }}

{{- define "database.passwordSecret" -}}
{{- dig "passwordSecret" "name" (printf "%s-database" (.name | replace "_" "-")) . -}}
{{- end }}

{{/* Pods labelled so by the platform's charts (services, workers, jobs) may reach the
   poolers; this chart's provisioning Job carries it too. */}}
{{- define "database.clientLabel" -}}
jmmc.io/database-client: "true"
{{- end }}

{{- define "database.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 26
runAsGroup: 26
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "database.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{/* Idempotent provisioning as the superuser, once the operator has created the roles of
   `managed.roles`: the extensions, TAP_SCHEMA owned by the publisher group, the leakproof cone
   functions, each service's schemas owned by its role, the reader's usage of the published
   schemas, the query roles' temporary tables. Roles themselves (login, password, membership)
   are the operator's. */}}
{{- define "database.provisionSql" -}}
DO $$
DECLARE
  missing text;
BEGIN
  SELECT string_agg(wanted, ', ') INTO missing
    FROM unnest(ARRAY[{{ include "database.allRoleNames" . }}]) AS wanted
   WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = wanted);
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'roles not created by the operator yet: %', missing;
  END IF;
END
$$;
{{- range .Values.extensions }}
CREATE EXTENSION IF NOT EXISTS {{ . | quote }} SCHEMA public;
{{- end }}
CREATE SCHEMA IF NOT EXISTS tap_schema AUTHORIZATION {{ .Values.tapPublisherRole | quote }};
ALTER SCHEMA tap_schema OWNER TO {{ .Values.tapPublisherRole | quote }};
{{- range .Values.leakproofFunctions }}
ALTER FUNCTION {{ . }} LEAKPROOF;
{{- end }}
{{- range .Values.roles }}
CREATE SCHEMA IF NOT EXISTS {{ .name | quote }} AUTHORIZATION {{ .name | quote }};
{{- if .tapReadable }}
GRANT USAGE ON SCHEMA {{ .name | quote }} TO {{ $.Values.tapReaderRole | quote }};
{{- end }}
{{- $owner := .name }}
{{- range .schemas }}
CREATE SCHEMA IF NOT EXISTS {{ . | quote }} AUTHORIZATION {{ $owner | quote }};
{{- end }}
{{- end }}
{{- range .Values.queryRoles }}
-- TEMPORARY: users' uploaded tables are temporary tables of the query connection.
GRANT CONNECT, TEMPORARY ON DATABASE {{ $.Values.cluster.database | quote }} TO {{ .name | quote }};
{{- end }}
{{- end }}

{{- define "database.allRoleNames" -}}
{{- $names := list .Values.tapReaderRole .Values.tapPublisherRole .Values.accountsRole -}}
{{- range concat .Values.roles .Values.queryRoles }}{{ $names = append $names .name }}{{ end -}}
{{- range $name := $names }}{{ if ne $name (first $names) }}, {{ end }}{{ squote $name }}{{ end -}}
{{- end }}

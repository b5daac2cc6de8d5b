{{- define "postgres.labels" -}}
app.kubernetes.io/name: postgres
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: jmmc-platform
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "postgres.selectorLabels" -}}
app.kubernetes.io/name: postgres
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "postgres.image" -}}
{{- printf "%s/postgres:%s" (.Values.image.repository | default .Values.global.imageRepository) .Values.image.tag -}}
{{- end }}

{{/* The superuser Secret; fails naming the value when no password is given. */}}
{{- define "postgres.secretName" -}}
{{- if .Values.auth.existingSecret -}}
{{- .Values.auth.existingSecret -}}
{{- else if .Values.auth.postgresPassword -}}
postgres-auth
{{- else -}}
{{- fail "auth.postgresPassword (or auth.existingSecret) is required: the PostgreSQL superuser password" -}}
{{- end -}}
{{- end }}

{{/* Shell-safe variable holding a role's password. */}}
{{- define "postgres.passwordVariable" -}}
ROLE_PASSWORD_{{ . | upper | replace "-" "_" }}
{{- end }}

{{/* Superuser password plus every role's password, for the server and the roles Job. */}}
{{- define "postgres.passwordEnv" -}}
- name: POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "postgres.secretName" . }}
      key: {{ .Values.auth.postgresPasswordKey }}
{{- range concat .Values.roles .Values.queryRoles }}
- name: {{ include "postgres.passwordVariable" .name }}
  valueFrom:
    secretKeyRef:
      name: {{ dig "passwordSecret" "name" (printf "%s-secrets" .name) . }}
      key: {{ dig "passwordSecret" "key" "database-password" . }}
{{- end }}
{{- end }}

{{- define "postgres.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets | default .Values.global.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end }}

{{- define "postgres.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.runAsUser }}
runAsGroup: {{ .Values.runAsUser }}
fsGroup: {{ .Values.runAsUser }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "postgres.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: {{ .Values.runAsUser }}
capabilities:
  drop: ["ALL"]
{{- end }}

{{/* checkov waiver shared by every pod of this chart, with its reason. */}}
{{- define "postgres.checkovWaivers" -}}
checkov.io/skip1: CKV_K8S_40=The official PostgreSQL image's postgres user is uid 999, which owns the data directory layout.
{{- end }}

{{/* Idempotent provisioning: pg_sphere and pg_trgm, the TAP reader role, TAP_SCHEMA owned by
   the TAP publisher group role, the accounts group role, one login role and schema per entry
   of `roles`, one login role member of the reader role only per entry of `queryRoles`. */}}
{{- define "postgres.provisionScript" -}}
#!/bin/bash
set -euo pipefail
run_psql() {
  psql -v ON_ERROR_STOP=1 -X -q --username "${POSTGRES_USER:-postgres}" \
    --dbname {{ .Values.database | quote }} "$@"
}
run_psql -v reader={{ .Values.tapReaderRole | quote }} \
  -v publisher={{ .Values.tapPublisherRole | quote }} -v accounts={{ .Values.accountsRole | quote }} <<'SQL'
CREATE EXTENSION IF NOT EXISTS pg_sphere SCHEMA public;
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
SELECT format('CREATE ROLE %I NOLOGIN', :'accounts')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'accounts') \gexec
SELECT format('CREATE ROLE %I NOLOGIN', :'reader')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'reader') \gexec
SELECT format('CREATE ROLE %I NOLOGIN', :'publisher')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'publisher') \gexec
CREATE SCHEMA IF NOT EXISTS tap_schema AUTHORIZATION :"publisher";
ALTER SCHEMA tap_schema OWNER TO :"publisher";
{{- range .Values.leakproofFunctions }}
ALTER FUNCTION {{ . }} LEAKPROOF;
{{- end }}
SQL
{{- range .Values.roles }}
run_psql -v role={{ .name | quote }} -v password="${{ include "postgres.passwordVariable" .name }}" \
  -v reader={{ $.Values.tapReaderRole | quote }} -v publisher={{ $.Values.tapPublisherRole | quote }} \
  -v accounts={{ $.Values.accountsRole | quote }} <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN PASSWORD :'password';
CREATE SCHEMA IF NOT EXISTS :"role" AUTHORIZATION :"role";
GRANT :"accounts" TO :"role";
{{- if .tapReadable }}
GRANT USAGE ON SCHEMA :"role" TO :"reader";
GRANT :"publisher" TO :"role";
{{- end }}
{{- range .memberOf }}
GRANT {{ . | quote }} TO :"role";
{{- end }}
{{- range .readerRoles }}
SELECT format('CREATE ROLE %I NOLOGIN', {{ . | squote }})
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {{ . | squote }}) \gexec
GRANT {{ . | quote }} TO :"role";
{{- end }}
{{- range .schemas }}
CREATE SCHEMA IF NOT EXISTS {{ . | quote }} AUTHORIZATION :"role";
{{- end }}
SQL
{{- end }}
{{- range .Values.queryRoles }}
run_psql -v role={{ .name | quote }} -v password="${{ include "postgres.passwordVariable" .name }}" \
  -v reader={{ $.Values.tapReaderRole | quote }} -v database={{ $.Values.database | quote }} <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN PASSWORD :'password';
GRANT :"reader" TO :"role";
-- TEMPORARY: users' uploaded tables are temporary tables of the query connection.
GRANT CONNECT, TEMPORARY ON DATABASE :"database" TO :"role";
SQL
{{- end }}
{{- end }}

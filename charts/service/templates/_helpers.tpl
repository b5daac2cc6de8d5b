{{/* Names are the service name itself: HAProxy, the TAP service and operators refer to them. */}}
{{- define "service.name" -}}
{{- required "name is required (the service's command, e.g. obsportal)" .Values.name -}}
{{- end }}

{{- define "service.envPrefix" -}}
{{- .Values.envPrefix | default (include "service.name" . | upper | replace "-" "_") -}}
{{- end }}

{{- define "service.labels" -}}
app.kubernetes.io/name: {{ include "service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: jmmc-platform
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with .Values.extraLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Pods that are not the web server (workers, jobs): a name of their own keeps them out of
   the web Service, the PodDisruptionBudget and the web Deployment's selector. */}}
{{- define "service.componentSelectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ printf "%s-%s" (include "service.name" $root) (index . 1) }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "service.componentLabels" -}}
{{- $root := index . 0 -}}
{{ include "service.componentSelectorLabels" . }}
app.kubernetes.io/part-of: jmmc-platform
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version }}
{{- with $root.Values.extraLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The image of the service, pinned: a commit SHA tag or a `sha256:` digest (the schema
   refuses anything else, such as `latest`); fails naming the value when none is given. */}}
{{- define "service.image" -}}
{{- $name := include "service.name" . -}}
{{- $reference := .Values.image.tag | default (index (.Values.global.imageTags | default dict) $name) -}}
{{- if not $reference -}}
{{- fail (printf "image.tag (or global.imageTags.%s) is required: the commit SHA or digest of the image to run" $name) -}}
{{- end -}}
{{- $repository := printf "%s/%s" (.Values.image.repository | default .Values.global.imageRepository) $name -}}
{{- if hasPrefix "sha256:" $reference -}}
{{- printf "%s@%s" $repository $reference -}}
{{- else if regexMatch "^[0-9a-f]{7,40}$" $reference -}}
{{- printf "%s:%s" $repository $reference -}}
{{- else -}}
{{- fail (printf "global.imageTags.%s=%q is not immutable: give a commit SHA or a sha256: digest" $name $reference) -}}
{{- end -}}
{{- end }}

{{- define "service.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "service.name" .)) -}}
{{- end }}

{{/* Fails when neither an existing Secret nor the secret values are given. */}}
{{- define "service.validateSecrets" -}}
{{- if not .Values.secrets.existingSecret -}}
{{- if not .Values.secrets.databasePassword -}}
{{- fail "secrets.databasePassword (or secrets.existingSecret) is required: the service's database password" -}}
{{- end -}}
{{- if not .Values.secrets.secretKey -}}
{{- fail "secrets.secretKey (or secrets.existingSecret) is required: the service's session-signing key" -}}
{{- end -}}
{{- if and .Values.database.queryUser (not .Values.secrets.queryDatabasePassword) -}}
{{- fail "secrets.queryDatabasePassword (or secrets.existingSecret) is required: the password of database.queryUser" -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* Every setting as `<PREFIX>_<UPPER_SNAKE>` and its value (a dict). */}}
{{- define "service.settings" -}}
{{- $prefix := include "service.envPrefix" . -}}
{{- $name := include "service.name" . -}}
{{- $db := .Values.database -}}
{{- $settings := dict
      "databaseUrl" (printf "postgresql+psycopg://%s@%s:%v/%s" ($db.user | default $name) $db.host $db.port $db.name) -}}
{{- if $db.queryUser -}}
{{- $_ := set $settings "queryDatabaseUrl" (printf "postgresql+psycopg://%s@%s:%v/%s" $db.queryUser $db.host $db.port $db.name) -}}
{{- end -}}
{{- if and .Values.sharedVolume.enabled .Values.sharedVolume.setting -}}
{{- $_ := set $settings .Values.sharedVolume.setting .Values.sharedVolume.mountPath -}}
{{- end -}}
{{- range $key, $value := .Values.config -}}
{{- if or (ne (toString $value) "") (kindIs "bool" $value) -}}
{{- $_ := set $settings $key $value -}}
{{- end -}}
{{- end -}}
{{- range $key, $value := .Values.extraConfig -}}
{{- $_ := set $settings $key $value -}}
{{- end -}}
{{- $variables := dict -}}
{{- range $key, $value := $settings -}}
{{- $_ := set $variables (printf "%s_%s" $prefix ($key | snakecase | upper)) (toString $value) -}}
{{- end -}}
{{- toYaml $variables -}}
{{- end }}

{{/* Where the Secret's values appear as files, read by jmmc_core.settings (JMMC_SECRETS_DIR). */}}
{{- define "service.secretsDir" -}}/run/secrets/jmmc{{- end }}

{{/* Environment of every container running the service's command: the settings inline (a
   hook Job runs before any ConfigMap of the release exists), secrets as files. */}}
{{- define "service.env" -}}
env:
  {{- range $name, $value := include "service.settings" . | fromYaml }}
  - name: {{ $name }}
    value: {{ $value | quote }}
  {{- end }}
  - name: JMMC_SECRETS_DIR
    value: {{ include "service.secretsDir" . }}
{{- end }}

{{/* The Secret as a volume, each key a file named like its setting: (list $ prefix). */}}
{{- define "service.secretsVolume" -}}
{{- $root := index . 0 -}}
{{- $prefix := index . 1 -}}
- name: secrets
  secret:
    secretName: {{ include "service.secretName" $root }}
    defaultMode: 0440
    items:
      - key: {{ $root.Values.secrets.databasePasswordKey }}
        path: {{ $prefix }}_DATABASE_PASSWORD
      - key: {{ $root.Values.secrets.secretKeyKey }}
        path: {{ $prefix }}_SECRET_KEY
      {{- if and $root.Values.database.queryUser (eq $prefix (include "service.envPrefix" $root)) }}
      - key: {{ $root.Values.secrets.queryDatabasePasswordKey }}
        path: {{ $prefix }}_QUERY_DATABASE_PASSWORD
      {{- end }}
{{- end }}

{{/* Pods that log in to PostgreSQL carry it: the database's NetworkPolicy admits only them. */}}
{{- define "service.databaseClientLabel" -}}
jmmc.io/database-client: "true"
{{- end }}

{{/* Restricted pod security: non-root, no privilege escalation, read-only root filesystem. */}}
{{- define "service.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.runAsUser }}
runAsGroup: {{ .Values.runAsUser }}
fsGroup: {{ .Values.runAsUser }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "service.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: {{ .Values.runAsUser }}
capabilities:
  drop: ["ALL"]
{{- end }}

{{/* A container of the service image running `<name> <args>`, with settings and /tmp;
   a fifth element `true` mounts the shared volume too. */}}
{{- define "service.container" -}}
{{- $root := index . 0 -}}
{{- $shared := and (gt (len .) 4) (index . 4) $root.Values.sharedVolume.enabled -}}
- name: {{ index . 1 }}
  image: {{ include "service.image" $root }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  args: {{ index . 2 | toJson }}
  {{- include "service.env" $root | nindent 2 }}
  {{- with and (gt (len .) 5) (index . 5) }}
  {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- include "service.containerSecurityContext" $root | nindent 4 }}
  resources:
    {{- toYaml (index . 3) | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
    - name: secrets
      mountPath: {{ include "service.secretsDir" $root }}
      readOnly: true
    {{- if $shared }}
    - name: shared
      mountPath: {{ $root.Values.sharedVolume.mountPath }}
    {{- end }}
{{- end }}

{{- define "service.podCommon" -}}
automountServiceAccountToken: false
securityContext:
  {{- include "service.podSecurityContext" . | nindent 2 }}
{{- with .Values.imagePullSecrets | default .Values.global.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The only writable place of a container (the root filesystem is read-only). */}}
{{- define "service.tmpVolume" -}}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: {{ index . 1 }}
  {{- include "service.secretsVolume" (list (index . 0) (include "service.envPrefix" (index . 0))) | nindent 2 }}
{{- end }}

{{/* /tmp of the given size, the secrets, the shared volume when enabled: (list $ tmpSizeLimit). */}}
{{- define "service.volumes" -}}
{{- $root := index . 0 -}}
{{ include "service.tmpVolume" . }}
{{- if $root.Values.sharedVolume.enabled }}
  - name: shared
    persistentVolumeClaim:
      claimName: {{ include "service.name" $root }}-shared
{{- end }}
{{- end }}

{{/* Replicas spread over nodes (and zones when the nodes carry one): a node lost takes at
   most its share. Its argument is the pods' selector labels, rendered. */}}
{{- define "service.topologySpread" -}}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- . | nindent 8 }}
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- . | nindent 8 }}
{{- end }}

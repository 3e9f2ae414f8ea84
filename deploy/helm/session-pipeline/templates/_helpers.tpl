{{/* Names, labels and the values every template derives from config. */}}

{{- define "sp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sp.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "api") */}}
{{- define "sp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sp.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "sp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "sp.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: session-pipeline
{{- end -}}

{{- define "sp.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The API's image: api.imageTag pins it to another version during a consumers-first rollout. */}}
{{- define "sp.apiImage" -}}
{{- if .Values.api.imageTag -}}
{{- printf "%s:%s" .Values.image.repository .Values.api.imageTag -}}
{{- else -}}
{{- include "sp.image" . -}}
{{- end -}}
{{- end -}}

{{- define "sp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sp.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "sp.secretName" -}}
{{- default (include "sp.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* A required setting of `config`, as a string. (list $ "KEY") */}}
{{- define "sp.cfg" -}}
{{- $root := index . 0 -}}
{{- $key := index . 1 -}}
{{- $v := index $root.Values.config $key -}}
{{- if or (kindIs "invalid" $v) (eq (toString $v) "") -}}
{{- fail (printf "config.%s must be set: the chart derives Kubernetes settings from it" $key) -}}
{{- end -}}
{{- toString $v -}}
{{- end -}}

{{/* A setting of `config` as an integer. (list $ "KEY") */}}
{{- define "sp.cfgInt" -}}
{{- $s := include "sp.cfg" . -}}
{{- if not (regexMatch "^-?[0-9]+$" $s) -}}
{{- fail (printf "config.%s must be a whole number, got %q" (index . 1) $s) -}}
{{- end -}}
{{- $s -}}
{{- end -}}

{{- define "sp.dlqTopic" -}}
{{- $v := toString (default "" .Values.config.KAFKA_DLQ_TOPIC) -}}
{{- if $v -}}{{ $v }}{{- else -}}{{ printf "%s.dlq" (include "sp.cfg" (list . "KAFKA_TOPIC")) }}{{- end -}}
{{- end -}}

{{/*
The ConfigMap's data: every non-empty `config` entry, as a string. Floats are refused: YAML reads
an unquoted 604800000 as a float, which Helm prints as 6.048e+08 and the application rejects.
*/}}
{{- define "sp.configData" -}}
{{- range $key, $value := .Values.config }}
{{- if and (kindIs "float64" $value) (contains "e" (toString $value)) }}
{{- fail (printf "config.%s: quote the value (a number this large is read as a float and would render as %s)" $key (toString $value)) }}
{{- end }}
{{- if kindIs "map" $value }}{{ fail (printf "config.%s must be a string, not a map" $key) }}{{ end }}
{{- if kindIs "slice" $value }}{{ fail (printf "config.%s must be a string, not a list" $key) }}{{ end }}
{{- if and (not (kindIs "invalid" $value)) (ne (toString $value) "") }}
{{ $key }}: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
SHA-256 of API keys whose secret is public (src/kernel/api-keys.ts PUBLIC_KEY_HASHES: the demo key
compose.yaml once shipped). The API refuses them in production; the chart refuses them at render.
*/}}
{{- define "sp.publicKeyHashes" -}}
090d1548c9d65f413a1a2c828a0bee3a7ae02d2137caf51e6029e6c3cb1f1fa4
{{- end -}}

{{- define "sp.secretData" -}}
{{- range $hash := splitList "\n" (include "sp.publicKeyHashes" .) }}
{{- if contains $hash (toString $.Values.secrets.API_KEYS) }}
{{- fail (printf "secrets.API_KEYS holds a key whose secret is public (hash %s, the demo key compose.yaml once shipped): make your own with `bun scripts/api-key.ts create --name NAME --scopes ingest,read`" $hash) }}
{{- end }}
{{- end }}
{{- range $key := list "API_KEYS" "DATABASE_URL" "READ_DATABASE_URL" "CLICKHOUSE_PASSWORD" "CLICKHOUSE_READ_PASSWORD" }}
{{- $value := index $.Values.secrets $key }}
{{- if and (not (kindIs "invalid" $value)) (ne (toString $value) "") }}
{{ $key }}: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* envFrom of every application container: (dict "root" $ "configMap" NAME "secret" NAME) */}}
{{- define "sp.envFrom" -}}
envFrom:
  - configMapRef:
      name: {{ .configMap }}
  - secretRef:
      name: {{ .secret }}
{{- end -}}

{{/* A checksum of the settings, so a changed value rolls the pods. */}}
{{- define "sp.configChecksum" -}}
{{- printf "%s|%s|%s" (include "sp.configData" .) (include "sp.secretData" .) .Values.secrets.existingSecret | sha256sum -}}
{{- end -}}

{{/* Prometheus scrape annotations: (dict "root" $ "port" PORT) */}}
{{- define "sp.scrapeAnnotations" -}}
{{- if .root.Values.metrics.scrapeAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end -}}

{{/* Pod placement and the pod security context, shared by every pod. */}}
{{- define "sp.podCommon" -}}
serviceAccountName: {{ include "sp.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
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
{{- end -}}

{{/* Each consumer's fixed facts: (list $ "postgres"|"clickhouse") */}}
{{- define "sp.consumer" -}}
{{- $root := index . 0 -}}
{{- $which := index . 1 -}}
{{- if eq $which "postgres" -}}
{"component": "consumer-postgres", "entry": "consumers/postgres/main.ts", "portKey": "PG_CONSUMER_METRICS_PORT", "groupKey": "PG_CONSUMER_GROUP"}
{{- else -}}
{"component": "consumer-clickhouse", "entry": "consumers/clickhouse/main.ts", "portKey": "CH_CONSUMER_METRICS_PORT", "groupKey": "CH_CONSUMER_GROUP"}
{{- end -}}
{{- end -}}

{{/* A consumer's replica ceiling: maxReplicas, or the partition count; never above it. (list $ "postgres") */}}
{{- define "sp.consumerMaxReplicas" -}}
{{- $root := index . 0 -}}
{{- $which := index . 1 -}}
{{- $values := index $root.Values.consumers $which -}}
{{- $partitions := int (include "sp.cfgInt" (list $root "KAFKA_TOPIC_PARTITIONS")) -}}
{{- $max := $partitions -}}
{{- if ne (toString $values.maxReplicas) "" -}}{{- $max = int $values.maxReplicas -}}{{- end -}}
{{- if gt $max $partitions -}}
{{- fail (printf "consumers.%s.maxReplicas=%d exceeds KAFKA_TOPIC_PARTITIONS=%d: a consumer beyond the partition count has no partition to read" $which $max $partitions) -}}
{{- end -}}
{{- if lt $max (int $values.minReplicas) -}}
{{- fail (printf "consumers.%s.maxReplicas=%d is below minReplicas=%d" $which $max (int $values.minReplicas)) -}}
{{- end -}}
{{- $max -}}
{{- end -}}

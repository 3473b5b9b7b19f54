{{/* Chart name, overridable. */}}
{{- define "distrain.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name prefix of every object: RELEASE-NAME, or RELEASE when it already contains NAME. */}}
{{- define "distrain.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart-version label value. */}}
{{- define "distrain.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: name, instance and component only. Call with (dict "ctx" $ "component" "x"). */}}
{{- define "distrain.selectorLabels" -}}
app.kubernetes.io/name: {{ include "distrain.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end }}

{{/* All labels of an object. Call with (dict "ctx" $ "component" "x"). */}}
{{- define "distrain.labels" -}}
helm.sh/chart: {{ include "distrain.chart" .ctx }}
{{ include "distrain.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: distrain
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- end }}

{{/* The CPU image reference (never :latest). */}}
{{- define "distrain.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if eq $tag "latest" }}{{ fail "image.tag must not be latest: pin a version" }}{{ end }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}

{{/* The GPU image reference. */}}
{{- define "distrain.gpuImage" -}}
{{- $tag := default .Chart.AppVersion .Values.gpu.image.tag }}
{{- if eq $tag "latest" }}{{ fail "gpu.image.tag must not be latest: pin a version" }}{{ end }}
{{- printf "%s:%s" .Values.gpu.image.repository $tag }}
{{- end }}

{{/* Service names. */}}
{{- define "distrain.coordinator" -}}{{ include "distrain.fullname" . }}-coordinator{{- end }}
{{- define "distrain.dataLoader" -}}{{ include "distrain.fullname" . }}-data-loader{{- end }}
{{- define "distrain.parameterServer" -}}{{ include "distrain.fullname" . }}-parameter-server{{- end }}
{{- define "distrain.nats" -}}{{ include "distrain.fullname" . }}-nats{{- end }}
{{- define "distrain.worker" -}}{{ include "distrain.fullname" . }}-worker{{- end }}

{{/* host:port of every parameter-server shard, in shard order (pod DNS names of the StatefulSet). */}}
{{- define "distrain.psAddresses" -}}
{{- $ps := include "distrain.parameterServer" . }}
{{- $port := int .Values.parameterServer.port }}
{{- $out := list }}
{{- range $i := until (int .Values.parameterServer.shards) }}
{{- $out = append $out (printf "%s-%d.%s:%d" $ps $i $ps $port) }}
{{- end }}
{{- join "," $out }}
{{- end }}

{{/* The NATS URL every service uses. */}}
{{- define "distrain.natsUrl" -}}
{{- if .Values.nats.externalUrl }}{{ .Values.nats.externalUrl }}{{ else }}nats://{{ include "distrain.nats" . }}:4222{{ end }}
{{- end }}

{{/* True (non-empty) when the release runs its own NATS. */}}
{{- define "distrain.natsInRelease" -}}
{{- if and .Values.nats.enabled (not .Values.nats.externalUrl) }}true{{ end }}
{{- end }}

{{/* Pod-level settings shared by every distrain pod. */}}
{{- define "distrain.podCommon" -}}
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end }}

{{/* gRPC health probes on a port. Call with the port number. */}}
{{- define "distrain.grpcProbes" -}}
startupProbe:
  grpc: { port: {{ . }} }
  periodSeconds: 2
  failureThreshold: 60
readinessProbe:
  grpc: { port: {{ . }} }
  periodSeconds: 5
livenessProbe:
  grpc: { port: {{ . }} }
  periodSeconds: 10
  failureThreshold: 3
{{- end }}

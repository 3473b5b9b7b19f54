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

{{/* The Secret holding the deployment token (key `token`). */}}
{{- define "distrain.authSecret" -}}
{{- .Values.auth.secretName -}}
{{- end }}

{{/* Env of every service: the deployment token from the Secret (or --auth none), and TLS files. */}}
{{- define "distrain.securityEnv" -}}
{{- if .Values.auth.enabled }}
- name: DISTRAIN_AUTH_TOKEN
  valueFrom:
    secretKeyRef: { name: {{ include "distrain.authSecret" . }}, key: token }
{{- else }}
- { name: DISTRAIN_AUTH, value: none }
{{- end }}
{{- if .Values.tls.enabled }}
- { name: DISTRAIN_TLS_CERT, value: /etc/distrain/tls/tls.crt }
- { name: DISTRAIN_TLS_KEY, value: /etc/distrain/tls/tls.key }
- { name: DISTRAIN_TLS_CA, value: /etc/distrain/tls/ca.crt }
- { name: DISTRAIN_TLS_CLIENT_AUTH, value: {{ .Values.tls.clientAuth | quote }} }
{{- end }}
{{- end }}

{{/* The TLS Secret's volume mount (with tls.enabled). */}}
{{- define "distrain.tlsMount" -}}
{{- if .Values.tls.enabled }}
- { name: tls, mountPath: /etc/distrain/tls, readOnly: true }
{{- end }}
{{- end }}

{{/* The TLS Secret as a volume (with tls.enabled). */}}
{{- define "distrain.tlsVolume" -}}
{{- if .Values.tls.enabled }}
- name: tls
  secret:
    secretName: {{ .Values.tls.secretName }}
{{- end }}
{{- end }}

{{/*
Probes of a service: gRPC health on its port; with TLS a TCP check instead (the kubelet's gRPC probe
speaks plaintext only). Call with (dict "port" P "tls" BOOL).
*/}}
{{- define "distrain.serviceProbes" -}}
{{- if .tls }}
startupProbe:
  tcpSocket: { port: {{ .port }} }
  periodSeconds: 2
  failureThreshold: 60
readinessProbe:
  tcpSocket: { port: {{ .port }} }
  periodSeconds: 5
livenessProbe:
  tcpSocket: { port: {{ .port }} }
  periodSeconds: 10
  failureThreshold: 3
{{- else }}
{{- include "distrain.grpcProbes" .port }}
{{- end }}
{{- end }}

{{/* Names. Cluster-scoped objects carry the release name so releases never collide. */}}

{{- define "ferry.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* `<release>-<chart>`, or just the release name when it already contains the chart name. */}}
{{- define "ferry.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The webhook's Deployment, Service, ServiceAccount and RBAC objects. */}}
{{- define "ferry.webhook" -}}
{{- printf "%s-webhook" (include "ferry.fullname" .) }}
{{- end }}

{{- define "ferry.mutatingName" -}}
{{- printf "%s-inject" (include "ferry.fullname" .) }}
{{- end }}

{{- define "ferry.validatingName" -}}
{{- printf "%s-validate" (include "ferry.fullname" .) }}
{{- end }}

{{/* The Secret holding the serving certificate (all modes but provided). */}}
{{- define "ferry.tlsSecret" -}}
{{- if eq .Values.certs.mode "provided" }}
{{- .Values.certs.provided.secretName }}
{{- else }}
{{- printf "%s-webhook-tls" (include "ferry.fullname" .) }}
{{- end }}
{{- end }}

{{/* The Lease that picks the leader replica: it runs the health checks and, in self-managed
mode, renews the certificates. */}}
{{- define "ferry.certLease" -}}
{{- printf "%s-webhook-certs" (include "ferry.fullname" .) }}
{{- end }}

{{/* The cert-manager Certificate for the webhook's serving certificate. */}}
{{- define "ferry.certificate" -}}
{{- printf "%s-webhook" (include "ferry.fullname" .) }}
{{- end }}

{{- define "ferry.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ferry.labels" -}}
helm.sh/chart: {{ include "ferry.chart" . }}
{{ include "ferry.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ferry
{{- end }}

{{- define "ferry.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ferry.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ferry.webhookSelectorLabels" -}}
{{ include "ferry.selectorLabels" . }}
app.kubernetes.io/component: webhook
{{- end }}

{{- define "ferry.image" -}}
{{- printf "%s:%s" .image.repository (default .appVersion .image.tag) }}
{{- end }}

{{/* The DNS names of the Service, as the webhook names them in its certificate. */}}
{{- define "ferry.serviceDnsNames" -}}
{{- $svc := include "ferry.webhook" . }}
{{- $ns := .Release.Namespace }}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) | toJson }}
{{- end }}

{{/*
The clientConfig of one webhook entry: the Service, or `webhook.url` for a webhook outside the
cluster. The caBundle is
  - provided: the value given;
  - self-managed and cert-manager: carried forward from what is live, so an upgrade never
    wipes what the webhook (or the cainjector) patched in. The live bundle is read from the
    certificate Secret's `ca-bundle.crt` (self-managed) or from the configuration itself.
Arguments: dict "root" $ "path" "/mutate" "kind" "MutatingWebhookConfiguration" "config" name "entry" webhook-name.
*/}}
{{- define "ferry.clientConfig" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- if $v.webhook.url }}
url: {{ printf "%s%s" (trimSuffix "/" $v.webhook.url) .path | quote }}
{{- else }}
service:
  name: {{ include "ferry.webhook" $root }}
  namespace: {{ $root.Release.Namespace }}
  path: {{ .path | quote }}
  port: {{ $v.webhook.service.port }}
{{- end }}
{{- $bundle := "" }}
{{- if eq $v.certs.mode "provided" }}
{{- $bundle = $v.certs.provided.caBundle | nospace }}
{{- else }}
{{- if eq $v.certs.mode "self-managed" }}
{{- $secret := lookup "v1" "Secret" $root.Release.Namespace (include "ferry.tlsSecret" $root) }}
{{- $bundle = dig "data" "ca-bundle.crt" "" $secret }}
{{- end }}
{{- if not $bundle }}
{{- $live := lookup "admissionregistration.k8s.io/v1" .kind "" .config }}
{{- range (dig "webhooks" list $live) }}
{{- if and (eq .name $.entry) (not $bundle) }}
{{- $bundle = dig "clientConfig" "caBundle" "" . }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if $bundle }}
caBundle: {{ $bundle }}
{{- end }}
{{- end }}

{{/* Namespaces the webhooks never see: the release's own (the webhook must be able to start
without itself) and kube-system, plus any listed. */}}
{{- define "ferry.namespaceSelector" -}}
{{- $v := .Values.webhook }}
{{- $excluded := concat (list .Release.Namespace "kube-system") $v.excludeNamespaces | uniq }}
{{- with $v.namespaceSelector.matchLabels }}
matchLabels:
  {{- toYaml . | nindent 2 }}
{{- end }}
matchExpressions:
  {{- with $v.namespaceSelector.matchExpressions }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values:
      {{- toYaml $excluded | nindent 6 }}
{{- end }}

{{/* Pods reach the webhooks only when they opted in with the label. */}}
{{- define "ferry.objectSelector" -}}
matchExpressions:
  - key: ferry.dev/inject
    operator: In
    values: ["true"]
{{- end }}

{{- define "ferry.matchConditions" -}}
{{- if and .Values.webhook.matchConditions (semverCompare ">=1.28.0-0" .Capabilities.KubeVersion.Version) }}
matchConditions:
  - name: not-injected-yet
    expression: "!has(object.metadata.annotations) || !('ferry.dev/injected' in object.metadata.annotations)"
{{- end }}
{{- end }}

{{- define "ferry.certManagerAnnotations" -}}
{{- if eq .Values.certs.mode "cert-manager" }}
annotations:
  cert-manager.io/inject-ca-from: {{ printf "%s/%s" .Release.Namespace (include "ferry.certificate" .) }}
{{- end }}
{{- end }}

{{/*
Chart name, overridable with nameOverride; truncated to 63 characters because some Kubernetes
name fields are limited to that (DNS labels).
*/}}
{{- define "gpt-sovits.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects: the release name, plus the chart name unless the release
name already contains it; 63 characters at most.
*/}}
{{- define "gpt-sovits.fullname" -}}
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

{{/* Chart name and version, the value of the helm.sh/chart label. */}}
{{- define "gpt-sovits.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object of the release carries. */}}
{{- define "gpt-sovits.labels" -}}
helm.sh/chart: {{ include "gpt-sovits.chart" . }}
{{ include "gpt-sovits.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: gpt-sovits-k8s
{{- end }}

{{/* Labels that select the operator pods; immutable once installed. */}}
{{- define "gpt-sovits.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gpt-sovits.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/* Name of the operator's ServiceAccount. */}}
{{- define "gpt-sovits.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gpt-sovits.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Operator image reference: repository:tag, plus @digest when one is pinned. */}}
{{- define "gpt-sovits.image" -}}
{{- $image := .Values.operator.image }}
{{- $ref := printf "%s:%s" $image.repository (default .Chart.AppVersion $image.tag) }}
{{- if $image.digest }}
{{- printf "%s@%s" $ref $image.digest }}
{{- else }}
{{- $ref }}
{{- end }}
{{- end }}

{{/*
Rules the operator needs on the namespaced objects it manages; shared by the ClusterRole
(cluster-wide mode) and the per-namespace Roles.
*/}}
{{- define "gpt-sovits.namespacedRules" -}}
- apiGroups: [voice.gpt-sovits.io]
  resources: [voiceservices]
  verbs: [get, list, watch, patch, update]
- apiGroups: [voice.gpt-sovits.io]
  resources: [voiceservices/status]
  verbs: [get, patch, update]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [""]
  resources: [services, configmaps]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [networking.k8s.io]
  resources: [ingresses, networkpolicies]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [monitoring.coreos.com]
  resources: [servicemonitors]
  verbs: [get, list, watch, create, patch, update, delete]
# Claims are checked to exist; Secrets are never read: a missing one is reported from the pods
# and their FailedMount events.
- apiGroups: [""]
  resources: [persistentvolumeclaims]
  verbs: [get]
- apiGroups: [""]
  resources: [pods, events]
  verbs: [list]
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [kopf.dev]
  resources: [kopfpeerings]
  verbs: [get, list, watch, patch]
{{- end }}

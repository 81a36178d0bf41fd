{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "vireo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: release-chart, or the release name alone when it already contains the chart name. */}}
{{- define "vireo.fullname" -}}
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

{{- define "vireo.operator.fullname" -}}
{{- printf "%s-operator" (include "vireo.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vireo.devicePlugin.fullname" -}}
{{- printf "%s-device-plugin" (include "vireo.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels every resource carries (Kubernetes recommended labels plus Helm's). */}}
{{- define "vireo.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "vireo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: vireo
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component ("operator", "device-plugin"): stable across upgrades. */}}
{{- define "vireo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vireo.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels of one component. */}}
{{- define "vireo.componentLabels" -}}
{{ include "vireo.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "vireo.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create -}}
{{- default (include "vireo.operator.fullname" .) .Values.operator.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.operator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* An image reference from {repository, tag, digest}; the tag defaults to the chart's appVersion. */}}
{{- define "vireo.image" -}}
{{- $img := .image -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $img.repository $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $img.repository (default .root.Chart.AppVersion $img.tag) -}}
{{- end -}}
{{- end -}}

{{/* The device plugin's image: its own when a repository is given, else exactly the operator's image. */}}
{{- define "vireo.devicePlugin.image" -}}
{{- if .Values.images.devicePlugin.repository -}}
{{- include "vireo.image" (dict "image" .Values.images.devicePlugin "root" .) -}}
{{- else -}}
{{- include "vireo.image" (dict "image" .Values.images.operator "root" .) -}}
{{- end -}}
{{- end -}}

{{/* Restricted-profile container security context (Pod Security Standards "restricted"). */}}
{{- define "vireo.restrictedContainerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

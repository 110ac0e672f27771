{{/*
Named templates. The ones marked "public" are for other charts that add the sidecar to their
own pods (this chart as a dependency, `workload.enabled: false`). They take a context with
`Values` (this chart's values), `Release` and, optionally, `Chart`:

  {{- $sidecar := dict "Values" (index .Values "auth-sidecar") "Release" .Release }}
  containers:
    - name: web
      ...
    {{- include "auth-sidecar.container" $sidecar | nindent 4 }}
  volumes:
    {{- include "auth-sidecar.volumes" $sidecar | nindent 4 }}

For a native sidecar, put the container under initContainers instead (it carries
restartPolicy: Always when sidecar.native is true).
*/}}

{{- define "auth-sidecar.chartName" -}}
{{- if .Chart }}{{ .Chart.Name }}{{ else }}auth-sidecar{{ end -}}
{{- end }}

{{- define "auth-sidecar.name" -}}
{{- default (include "auth-sidecar.chartName" .) .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "auth-sidecar.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default (include "auth-sidecar.chartName" .) .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The image tag when sidecar.image.tag is empty; kept equal to Chart.yaml's appVersion (tested). */}}
{{- define "auth-sidecar.appVersion" -}}
{{- if .Chart }}{{ .Chart.AppVersion }}{{ else }}0.2.0{{ end -}}
{{- end }}

{{- define "auth-sidecar.selectorLabels" -}}
app.kubernetes.io/name: {{ include "auth-sidecar.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "auth-sidecar.labels" -}}
{{ include "auth-sidecar.selectorLabels" . }}
app.kubernetes.io/version: {{ include "auth-sidecar.appVersion" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- if .Chart }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* The pod's ServiceAccount: the one created, the one named, or none (the namespace's default). */}}
{{- define "auth-sidecar.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "auth-sidecar.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "auth-sidecar.configMapName" -}}
{{- include "auth-sidecar.fullname" . }}
{{- end }}

{{/* The Secret mounted at /etc/auth-sidecar/secrets, or "" when the config names no secret. */}}
{{- define "auth-sidecar.secretName" -}}
{{- if .Values.secret.create }}
{{- include "auth-sidecar.fullname" . }}
{{- else }}
{{- .Values.secret.existingSecret }}
{{- end }}
{{- end }}

{{- define "auth-sidecar.secretDir" -}}/etc/auth-sidecar/secrets{{- end }}
{{- define "auth-sidecar.tlsDir" -}}/etc/auth-sidecar/tls{{- end }}
{{- define "auth-sidecar.configDir" -}}/etc/auth-sidecar/config{{- end }}

{{/* session.cookie.secretKey as a comma-separated list: one key, or several for rotation (the first signs). */}}
{{- define "auth-sidecar.cookieSecretKeys" -}}
{{- $keys := .Values.session.cookie.secretKey }}
{{- if kindIs "slice" $keys }}{{ join "," $keys }}{{ else }}{{ $keys }}{{ end }}
{{- end }}

{{/* identityToken.signingKeyKey as a comma-separated list: one key, or several for rotation (the first signs). */}}
{{- define "auth-sidecar.identityKeys" -}}
{{- $keys := .Values.identityToken.signingKeyKey }}
{{- if kindIs "slice" $keys }}{{ join "," $keys }}{{ else }}{{ $keys }}{{ end }}
{{- end }}

{{/* The Secret keys the config refers to, one per line. */}}
{{- define "auth-sidecar.secretKeys" -}}
{{- $v := .Values }}
{{- if and $v.oidc.enabled $v.oidc.clientSecretKey }}
{{ $v.oidc.clientSecretKey }}
{{- end }}
{{- if $v.oidc.enabled }}
{{- range $key := (include "auth-sidecar.cookieSecretKeys" .) | splitList "," | compact }}
{{ $key }}
{{- end }}
{{- end }}
{{- if and $v.basic.enabled $v.basic.htpasswdKey }}
{{ $v.basic.htpasswdKey }}
{{- end }}
{{- if and (eq $v.session.store "redis") $v.session.redisPasswordKey }}
{{ $v.session.redisPasswordKey }}
{{- end }}
{{- if $v.identityToken.enabled }}
{{- range $key := (include "auth-sidecar.identityKeys" .) | splitList "," | compact }}
{{ $key }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The dotted paths of secret config keys (the sidecar's secret names: those that also take an
xFile key) found in a values block, one per line. Called as (list "path" value); recursive.
*/}}
{{- define "auth-sidecar.inlineSecrets" -}}
{{- $path := index . 0 }}
{{- $node := index . 1 }}
{{- if kindIs "map" $node }}
{{- range $key, $value := $node }}
{{- if has $key (list "secret" "clientSecret" "password" "sentinelPassword") }}
{{ printf "%s.%s" $path $key }}
{{- end }}
{{- include "auth-sidecar.inlineSecrets" (list (printf "%s.%s" $path $key) $value) }}
{{- end }}
{{- else if kindIs "slice" $node }}
{{- range $i, $value := $node }}
{{- include "auth-sidecar.inlineSecrets" (list (printf "%s.%d" $path $i) $value) }}
{{- end }}
{{- end }}
{{- end }}

{{- define "auth-sidecar.needsSecret" -}}
{{- if trim (include "auth-sidecar.secretKeys" .) }}true{{ end }}
{{- end }}

{{/* Refuses values that would render a pod that cannot start. */}}
{{- define "auth-sidecar.validate" -}}
{{- $v := .Values }}
{{- range $key := list "listen" "admin" "jwt" "oidc" "basic" "session" "identityToken" "tls" "mtls" }}
{{- if hasKey $v.config $key }}
{{- fail (printf "auth-sidecar: config.%s is set by the chart: use the top-level %s values instead" $key (ternary "sidecar.port/adminPort" $key (or (eq $key "listen") (eq $key "admin")))) }}
{{- end }}
{{- end }}
{{- if and $v.tls.clientCaKey (not $v.tls.existingSecret) }}
{{- fail "auth-sidecar: tls.clientCaKey names a key of tls.existingSecret: set tls.existingSecret (a kubernetes.io/tls Secret)" }}
{{- end }}
{{- if and (or $v.tls.requireClientCert $v.mtls) (not $v.tls.clientCaKey) }}
{{- fail "auth-sidecar: tls.requireClientCert and mtls need tls.clientCaKey (the Secret key of the client CAs, e.g. ca.crt)" }}
{{- end }}
{{- /* The method blocks are passed through into the ConfigMap: a secret written there would be
readable by anyone who can read ConfigMaps, and land in Helm's release history. */}}
{{- $inline := list }}
{{- range $block := list "config" "jwt" "oidc" "basic" "session" }}
{{- $inline = concat $inline (include "auth-sidecar.inlineSecrets" (list $block (index $v $block)) | trim | splitList "\n" | compact) }}
{{- end }}
{{- with $inline }}
{{- fail (printf "auth-sidecar: %s would put a secret in the ConfigMap: put it in the Secret and name its key (oidc.clientSecretKey, session.cookie.secretKey, session.redisPasswordKey), or use its xFile key with a path under %s" (join ", " .) (include "auth-sidecar.secretDir" $)) }}
{{- end }}
{{- if eq (int $v.sidecar.port) (int $v.sidecar.adminPort) }}
{{- fail (printf "auth-sidecar: sidecar.port and sidecar.adminPort are both %d: the sidecar cannot listen twice on one port" (int $v.sidecar.port)) }}
{{- end }}
{{- if has (int $v.app.port) (list (int $v.sidecar.port) (int $v.sidecar.adminPort)) }}
{{- fail (printf "auth-sidecar: app.port %d is also a port of the sidecar (sidecar.port %d, sidecar.adminPort %d): the containers share the pod's network, so one of them could not listen" (int $v.app.port) (int $v.sidecar.port) (int $v.sidecar.adminPort)) }}
{{- end }}
{{- if not (or $v.jwt.enabled $v.oidc.enabled $v.basic.enabled) }}
{{- fail "auth-sidecar: enable at least one of jwt.enabled, oidc.enabled, basic.enabled" }}
{{- end }}
{{- if and $v.oidc.enabled (not $v.config.publicUrl) }}
{{- fail "auth-sidecar: config.publicUrl is required when oidc.enabled is true (the redirect URI is built from it)" }}
{{- end }}
{{- if and (include "auth-sidecar.needsSecret" .) (not (include "auth-sidecar.secretName" .)) }}
{{- fail (printf "auth-sidecar: the config needs Secret keys (%s): set secret.existingSecret, or secret.create with secret.stringData" (include "auth-sidecar.secretKeys" . | trim | replace "\n" ", ")) }}
{{- end }}
{{- if $v.secret.create }}
{{- range $key := splitList "\n" (include "auth-sidecar.secretKeys" . | trim) }}
{{- if and $key (not (hasKey $v.secret.stringData $key)) }}
{{- fail (printf "auth-sidecar: secret.create is true but secret.stringData has no %q key" $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and $v.oidc.enabled (eq $v.session.store "memory") $v.workload.enabled (gt (int $v.replicaCount) 1) }}
{{- fail "auth-sidecar: oidc with session.store memory keeps each login in one pod, so a sign-in started on one replica fails on another: set session.store=redis (and session.redis), or replicaCount=1" }}
{{- end }}
{{- if and (eq $v.session.store "redis") (not $v.session.redis) }}
{{- fail "auth-sidecar: session.store is redis: set session.redis.url (or sentinels with name, or cluster)" }}
{{- end }}
{{- if and $v.identityToken.enabled (not (include "auth-sidecar.identityKeys" . | trim)) }}
{{- fail "auth-sidecar: identityToken.enabled is true: name the Secret key of its private key in identityToken.signingKeyKey" }}
{{- end }}
{{- end }}

{{/* public: the sidecar's config.yaml. */}}
{{- define "auth-sidecar.config" -}}
{{- $v := .Values }}
{{- $secretDir := include "auth-sidecar.secretDir" . }}
{{- $config := deepCopy $v.config }}
{{- $_ := set $config "listen" (printf "0.0.0.0:%d" (int $v.sidecar.port)) }}
{{- $_ := set $config "admin" (dict "listen" (printf "0.0.0.0:%d" (int $v.sidecar.adminPort))) }}
{{- $upstream := deepCopy (default dict $v.config.upstream) }}
{{- if not $upstream.url }}
{{- $_ := set $upstream "url" (printf "http://127.0.0.1:%d" (int $v.app.port)) }}
{{- end }}
{{- $_ := set $config "upstream" $upstream }}
{{- if $v.jwt.enabled }}
{{- if $v.jwt.entries }}
{{- if gt (len (omit $v.jwt "enabled" "entries")) 0 }}
{{- fail "auth-sidecar: jwt.entries lists one entry per issuer: put every jwt key inside the entries" }}
{{- end }}
{{- $_ := set $config "jwt" $v.jwt.entries }}
{{- else }}
{{- $_ := set $config "jwt" (omit $v.jwt "enabled") }}
{{- end }}
{{- end }}
{{- if $v.oidc.enabled }}
{{- $oidc := omit $v.oidc "enabled" "clientSecretKey" }}
{{- if $v.oidc.clientSecretKey }}
{{- $_ := set $oidc "clientSecretFile" (printf "%s/%s" $secretDir $v.oidc.clientSecretKey) }}
{{- end }}
{{- $_ := set $config "oidc" $oidc }}
{{- end }}
{{- if $v.basic.enabled }}
{{- $basic := omit $v.basic "enabled" "htpasswdKey" }}
{{- if $v.basic.htpasswdKey }}
{{- $_ := set $basic "htpasswdFile" (printf "%s/%s" $secretDir $v.basic.htpasswdKey) }}
{{- end }}
{{- $_ := set $config "basic" $basic }}
{{- end }}
{{- $session := omit $v.session "redisPasswordKey" "cookie" }}
{{- $cookie := omit (default dict $v.session.cookie) "secretKey" }}
{{- $cookieKeys := (include "auth-sidecar.cookieSecretKeys" .) | splitList "," | compact }}
{{- if and $v.oidc.enabled $cookieKeys }}
{{- $files := list }}
{{- range $key := $cookieKeys }}
{{- $files = append $files (printf "%s/%s" $secretDir $key) }}
{{- end }}
{{- $_ := set $cookie "secretFile" (ternary (first $files) $files (eq (len $files) 1)) }}
{{- end }}
{{- if $cookie }}
{{- $_ := set $session "cookie" $cookie }}
{{- end }}
{{- if and (eq $v.session.store "redis") $v.session.redisPasswordKey }}
{{- $redis := deepCopy $v.session.redis }}
{{- $_ := set $redis "passwordFile" (printf "%s/%s" $secretDir $v.session.redisPasswordKey) }}
{{- $_ := set $session "redis" $redis }}
{{- end }}
{{- $_ := set $config "session" $session }}
{{- if $v.identityToken.enabled }}
{{- $files := list }}
{{- range $key := (include "auth-sidecar.identityKeys" .) | splitList "," | compact }}
{{- $files = append $files (printf "%s/%s" $secretDir $key) }}
{{- end }}
{{- $identityToken := omit $v.identityToken "enabled" "signingKeyKey" }}
{{- $_ := set $identityToken "signingKeyFile" (ternary (first $files) $files (eq (len $files) 1)) }}
{{- $_ := set $config "identityToken" $identityToken }}
{{- end }}
{{- if $v.tls.existingSecret }}
{{- $tlsDir := include "auth-sidecar.tlsDir" . }}
{{- $tls := dict "certFile" (printf "%s/tls.crt" $tlsDir) "keyFile" (printf "%s/tls.key" $tlsDir) }}
{{- if $v.tls.clientCaKey }}
{{- $_ := set $tls "clientCaFile" (printf "%s/%s" $tlsDir $v.tls.clientCaKey) }}
{{- $_ := set $tls "requireClientCert" $v.tls.requireClientCert }}
{{- end }}
{{- $_ := set $config "tls" $tls }}
{{- end }}
{{- with $v.mtls }}
{{- $_ := set $config "mtls" . }}
{{- end }}
{{- if not $config.routes }}
{{- $_ := unset $config "routes" }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/* The container's preStop hook: sleep while the endpoints controller catches up. */}}
{{- define "auth-sidecar.preStop" -}}
{{- if gt (int .) 0 -}}
lifecycle:
  preStop:
    exec:
      command: ["sleep", {{ . | quote }}]
{{- end }}
{{- end }}

{{/* public: the sidecar container, one list item. */}}
{{- define "auth-sidecar.container" -}}
{{- $v := .Values }}
{{- $s := $v.sidecar -}}
- name: {{ $s.name }}
  image: "{{ $s.image.repository }}:{{ default (include "auth-sidecar.appVersion" .) $s.image.tag }}"
  imagePullPolicy: {{ $s.image.pullPolicy }}
  {{- if $s.native }}
  restartPolicy: Always
  {{- end }}
  args: ["serve", "--config", "{{ include "auth-sidecar.configDir" . }}/config.yaml"]
  ports:
    # Names no app uses: in a pod of another chart, an app port also named "http" would win a
    # Service's targetPort (the first container that declares the name) and skip the sidecar.
    - name: sidecar-http
      containerPort: {{ $s.port }}
      protocol: TCP
    - name: sidecar-admin
      containerPort: {{ $s.adminPort }}
      protocol: TCP
  {{- with $s.env }}
  env:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  startupProbe:
    httpGet:
      path: /healthz
      port: sidecar-admin
    {{- toYaml $s.probes.startup | nindent 4 }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: sidecar-admin
    {{- toYaml $s.probes.liveness | nindent 4 }}
  readinessProbe:
    httpGet:
      path: /readyz
      port: sidecar-admin
    {{- toYaml $s.probes.readiness | nindent 4 }}
  {{- include "auth-sidecar.preStop" $s.preStopSleepSeconds | nindent 2 }}
  {{- with $s.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $s.securityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - name: auth-sidecar-config
      mountPath: {{ include "auth-sidecar.configDir" . }}
      readOnly: true
    {{- if include "auth-sidecar.needsSecret" . }}
    - name: auth-sidecar-secrets
      mountPath: {{ include "auth-sidecar.secretDir" . }}
      readOnly: true
    {{- end }}
    {{- if $v.tls.existingSecret }}
    # The whole Secret, not subPath items: Kubernetes then swaps in a renewed certificate.
    - name: auth-sidecar-tls
      mountPath: {{ include "auth-sidecar.tlsDir" . }}
      readOnly: true
    {{- end }}
    - name: auth-sidecar-tmp
      mountPath: /tmp
    {{- with $s.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{/* public: the volumes the sidecar container mounts, as list items. */}}
{{- define "auth-sidecar.volumes" -}}
- name: auth-sidecar-config
  configMap:
    name: {{ include "auth-sidecar.configMapName" . }}
{{- if include "auth-sidecar.needsSecret" . }}
- name: auth-sidecar-secrets
  secret:
    secretName: {{ include "auth-sidecar.secretName" . }}
    defaultMode: 0444
{{- end }}
{{- if .Values.tls.existingSecret }}
- name: auth-sidecar-tls
  secret:
    secretName: {{ .Values.tls.existingSecret }}
    defaultMode: 0444
{{- end }}
- name: auth-sidecar-tmp
  emptyDir:
    medium: Memory
    sizeLimit: 16Mi
{{- end }}

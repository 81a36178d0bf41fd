#!/usr/bin/env bash
# shellcheck disable=SC2154 # the settings come from lib.sh, sourced first by up.sh
# Certificates and kubeconfigs of the local cluster (sourced by up.sh). One throw-away CA signs everything;
# identities follow what Kubernetes' authorizers expect (system:node:<name> in system:nodes for the Node
# authorizer, system:kube-* for the built-in RBAC roles). openssl rather than the test harness's pki.ts
# because the harness makes only the API server's and an admin's certificates, in TypeScript, and this
# script runs before any Node process exists.

# issue NAME SUBJECT EXTENSIONS: a P-256 key and a certificate signed by the CA (the CA itself when NAME=ca).
issue() {
  local name=$1 subject=$2 ext=$3 signer=()
  [[ $name == ca ]] || signer=(-CA "$pki_dir/ca.crt" -CAkey "$pki_dir/ca.key")
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -keyout "$pki_dir/$name.key" -out "$pki_dir/$name.crt" -subj "$subject" -days 30 \
    -config "$pki_dir/openssl.cnf" -extensions "$ext" "${signer[@]}" 2>>"$log_dir/pki.log" ||
    die "openssl could not issue $name (log: $log_dir/pki.log)"
  chmod 600 "$pki_dir/$name.key"
}

make_pki() {
  mkdir -p "$pki_dir" && chmod 700 "$pki_dir"
  cat >"$pki_dir/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[apiserver]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:$node_ip,IP:127.0.0.1,IP:$service_ip,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
[kubelet]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:$node_ip,DNS:$node_name
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
EOF
  issue ca "/CN=vireo-cluster-ca" ca
  issue apiserver "/CN=kube-apiserver" apiserver
  issue kubelet-serving "/CN=$node_name" kubelet
  issue admin "/O=system:masters/CN=vireo-admin" client
  # The API server's client identity towards kubelets (exec, logs, port-forward): `vireo console` uses exec.
  issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" client
  issue kubelet-client "/O=system:nodes/CN=system:node:$node_name" client
  issue controller-manager "/CN=system:kube-controller-manager" client
  issue scheduler "/CN=system:kube-scheduler" client
  openssl ecparam -name prime256v1 -genkey -noout 2>>"$log_dir/pki.log" |
    openssl pkcs8 -topk8 -nocrypt -out "$pki_dir/sa.key" 2>>"$log_dir/pki.log" || die "cannot make the service-account key"
  openssl pkey -in "$pki_dir/sa.key" -pubout -out "$pki_dir/sa.pub" 2>>"$log_dir/pki.log" || die "cannot derive sa.pub"
  chmod 600 "$pki_dir/sa.key"
}

# write_kubeconfig FILE USER CERT_NAME: a kubeconfig for the API server on the node address.
write_kubeconfig() {
  local file=$1 user=$2 cert=$3
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: vireo-local
    cluster:
      server: https://$node_ip:$apiserver_port
      certificate-authority-data: $(base64 -w0 "$pki_dir/ca.crt")
users:
  - name: $user
    user:
      client-certificate-data: $(base64 -w0 "$pki_dir/$cert.crt")
      client-key-data: $(base64 -w0 "$pki_dir/$cert.key")
contexts:
  - name: vireo-local
    context: { cluster: vireo-local, user: $user }
current-context: vireo-local
EOF
  chmod 600 "$file"
}

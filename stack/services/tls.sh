# The local stack's certificates, made once with openssl in .stack/tls: a certificate authority,
# the servers' certificate (localhost and 127.0.0.1, used by Kafka's TLS listeners and by
# MariaDB), a client certificate for mTLS (CN=sluice-mtls, the principal Kafka's ACLs name), and
# a second authority that signed nothing the stack serves, for tests of an untrusted CA.
# shellcheck shell=bash

TLS_DIR=$SLUICE_STATE_DIR/tls
# The password of Kafka's PKCS#12 keystore; the keys are on this machine only.
TLS_KEYSTORE_PASSWORD=sluice-stack

tls_issue() {
  local name=$1 subject=$2 extensions=$3
  openssl req -newkey rsa:2048 -nodes -keyout "$TLS_DIR/$name.key" -out "$TLS_DIR/$name.csr" \
    -subj "$subject" 2>/dev/null
  openssl x509 -req -in "$TLS_DIR/$name.csr" -CA "$TLS_DIR/ca.pem" -CAkey "$TLS_DIR/ca.key" \
    -CAcreateserial -out "$TLS_DIR/$name.pem" -days 3650 -sha256 \
    -extfile <(printf '%s\n' "$extensions") 2>/dev/null
  rm -f "$TLS_DIR/$name.csr"
}

# Makes what is missing; idempotent.
tls_ensure() {
  [ -s "$TLS_DIR/server.p12" ] && [ -s "$TLS_DIR/client.pem" ] && [ -s "$TLS_DIR/untrusted-ca.pem" ] && return 0
  command -v openssl >/dev/null || die "tls: openssl is needed to make the stack's certificates"
  say "tls: making a certificate authority and certificates in $TLS_DIR"
  rm -rf "$TLS_DIR"
  mkdir -p "$TLS_DIR"
  (
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.pem" \
      -days 3650 -sha256 -subj "/CN=sluice local stack CA" 2>/dev/null
    tls_issue server "/CN=localhost" \
      "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth,clientAuth"
    tls_issue client "/CN=sluice-mtls" "extendedKeyUsage=clientAuth"
    openssl pkcs12 -export -in "$TLS_DIR/server.pem" -inkey "$TLS_DIR/server.key" \
      -certfile "$TLS_DIR/ca.pem" -name kafka -out "$TLS_DIR/server.p12" \
      -passout "pass:$TLS_KEYSTORE_PASSWORD"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TLS_DIR/untrusted-ca.key" \
      -out "$TLS_DIR/untrusted-ca.pem" -days 3650 -subj "/CN=an authority nobody trusts" 2>/dev/null
  ) || die "tls: openssl failed to make the stack's certificates"
  # The servers and the clients run as this user; only the keys stay private.
  chmod 644 "$TLS_DIR"/*.pem
}

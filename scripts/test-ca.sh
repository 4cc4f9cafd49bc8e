#!/bin/sh
# scripts/test-ca.sh DIR: a certificate authority made for one run (never
# a real one) and a server certificate for 127.0.0.1 signed by it, for the
# local HTTPS receivers of the demo, the benchmarks and the tests:
# DIR/ca.pem, DIR/ca.key, DIR/server.pem, DIR/server.key (keys mode 0600).
set -eu
d=$1
ossl() { openssl "$@" 2>>"$d/openssl.err"; }
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/ca.key"
ossl req -x509 -new -key "$d/ca.key" -out "$d/ca.pem" -days 2 -subj "/CN=sdat test CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/server.key"
ossl req -new -key "$d/server.key" -out "$d/server.csr" -subj "/CN=127.0.0.1"
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n' >"$d/server.ext"
ossl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -out "$d/server.pem" -days 2 -extfile "$d/server.ext"
chmod 600 "$d/ca.key" "$d/server.key"

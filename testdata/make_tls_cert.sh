#!/bin/sh
# Test-only TLS material for tests/test_upload.py's TLS tests: a CA and a certificate
# for 127.0.0.1 signed by it (valid 100 years). Run by hand with openssl; the outputs
# are committed so the tests need no openssl. The key protects nothing but a test server.
set -eu
cd "$(dirname "$0")/tls"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 36500 \
  -subj "/CN=mediaprep test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1"
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
  "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1" "authorityKeyIdentifier=keyid" \
  "subjectKeyIdentifier=hash" > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 36500 \
  -extfile server.ext
rm -f server.csr server.ext ca.key ca.srl

#!/usr/bin/env bash
# Makes a throw-away test CA and a server certificate it signs, for the TLS fakes of the test suites.
# Usage: tests/lib/test-ca.sh OUTDIR
#   OUTDIR/ca.pem                     the test CA's certificate (what BlinkAuthCAFile trusts)
#   OUTDIR/server.pem, server.key     for 127.0.0.1 and localhost, signed by the test CA
# Nothing here is ever committed: OUTDIR lives under tests/out/. Files are remade on every run.
set -euo pipefail
out=${1:?usage: test-ca.sh OUTDIR}
command -v openssl >/dev/null || { echo "test-ca.sh: the openssl command is missing (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$out"
cd "$out"
rm -f ca.pem ca.key ca.srl server.pem server.key server.csr server.ext
# Runs a command silently; on failure shows its output and stops.
quiet() { local log; log=$("$@" 2>&1) || { echo "test-ca.sh: failed: $*" >&2; echo "$log" >&2; exit 1; }; }

quiet openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -sha256 \
    -subj "/CN=mod_blinkauth test CA $$" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
quiet openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1"
printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" > server.ext
quiet openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -sha256 \
    -extfile server.ext
rm -f server.csr server.ext ca.srl ca.key
chmod 644 ca.pem server.pem
chmod 600 server.key

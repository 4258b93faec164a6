#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The sample configuration works: custos-archiver starts with it as it is,
# once the files it names exist. Only what a machine must change is
# changed: the two credential paths and the archive (absolute paths of the
# systemd unit), and the port (0: a free one). The camera's RTSP address is
# unreachable (TEST-NET-1): the archiver must run anyway, and stop cleanly
# on SIGTERM.
#
#   check-sample-config.sh CUSTOS_ARCHIVER SAMPLE
set -eu

archiver=$1
sample=$2
tmp=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"

# The files the sample names, made with openssl: a CA for clients, the TLS
# certificate, the sealing key and its certificate (EC P-256).
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key client-ca.key.pem
openssl req -new -x509 -key client-ca.key.pem -subj /CN=client-ca -days 30 -out client-ca.cert.pem
key tls.key.pem
openssl req -new -x509 -key tls.key.pem -subj /CN=127.0.0.1 -days 30 -out tls.cert.pem
key signer.key.pem
openssl req -new -x509 -key signer.key.pem -subj /CN=signer -days 30 -out signer.cert.pem
mkdir enrolled
: > revoked.txt

sed -e "s|^port=.*|port=0|" \
    -e "s|^tls-key=.*|tls-key=$tmp/tls.key.pem|" \
    -e "s|^signer-key=.*|signer-key=$tmp/signer.key.pem|" \
    -e "s|^storage=.*|storage=$tmp/archive|" \
    "$sample" > custos-archiver.conf
for key in port tls-key signer-key storage; do
  grep -q "^$key=" custos-archiver.conf || { echo "the sample has no $key= line"; exit 1; }
done

"$archiver" --config "$tmp/custos-archiver.conf" > out 2> err &
pid=$!
# Wait for the start-up line, or the archiver's end (its error says why).
tries=0
until grep -q '^custos-archiver: listening on https://127.0.0.1:' out; do
  if ! kill -0 "$pid" 2>/dev/null || [ $tries -ge 600 ]; then
    echo "no start-up line; standard error:"
    cat err
    exit 1
  fi
  tries=$((tries + 1))
  sleep 0.1
done
head -n 1 out
[ -d archive/gate-1 ] || { echo "no archive folder for camera gate-1"; exit 1; }
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
if [ "$status" -ne 0 ]; then
  echo "exit status $status after SIGTERM; standard error:"
  cat err
  exit 1
fi
echo "stopped cleanly"

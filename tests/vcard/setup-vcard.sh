#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Builds the files of a virtual smart card in DIR for one test run:
#
#   DIR/softhsm2.conf, DIR/tokens/  a SoftHSM token holding an RSA-2048 key
#                                   generated on the token, and its certificate
#   DIR/cert.pem, DIR/cert.der      that certificate (for the test to compare)
#   DIR/pub.pem                     its public key (for openssl to wrap with)
#   DIR/nssdb/                      an NSS database that loads the SoftHSM
#                                   module: libcacard reads the card from it
#   DIR/reader.conf.d/vpcd          a pcscd reader config for vsmartcard-vpcd
#                                   listening on 127.0.0.1:PORT
#   DIR/opensc.conf                 an OpenSC config without file caching
#
# Usage: setup-vcard.sh DIR PORT [PIN]
#
# It only writes files; the test starts pcscd and custos-vcard itself so it
# owns (and always kills) those processes. The chain the test then runs:
#
#   OpenSC (opensc-pkcs11.so) --PC/SC--> pcscd --vpcd driver, TCP PORT-->
#   custos-vcard (libcacard CAC emulation) --NSS--> SoftHSM token
#
# so OpenSC talks APDUs to what it takes for a US DoD Common Access Card,
# and every private key operation ends on the SoftHSM token.
set -euo pipefail

dir=${1:?usage: setup-vcard.sh DIR PORT [PIN]}
port=${2:?usage: setup-vcard.sh DIR PORT [PIN]}
pin=${3:-123456}
# The SO PIN only exists because SoftHSM wants one; nothing uses it.
so_pin=12345678
softhsm=/usr/lib/softhsm/libsofthsm2.so
vpcd=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
id=01
label="Custos test investigator"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cd "$dir"

# 1. SoftHSM token. slots.removable makes SoftHSM flag its slots as removable
#    devices: libcacard (use_hw=removable) only turns removable slots into
#    virtual card readers. The store lives in DIR, so nothing outside is
#    touched and every run starts from a fresh token.
mkdir -p tokens
cat > softhsm2.conf <<EOF
directories.tokendir = $dir/tokens
objectstore.backend = file
slots.removable = true
log.level = ERROR
EOF
export SOFTHSM2_CONF=$dir/softhsm2.conf
softhsm2-util --init-token --free --label "Custos vcard" \
  --pin "$pin" --so-pin "$so_pin" >/dev/null

p11() { pkcs11-tool --module "$softhsm" --token-label "Custos vcard" "$@"; }

# 2. The key pair, generated ON the token, as a card's key would be: the
#    private key never exists outside SoftHSM.
p11 --login --pin "$pin" --keypairgen --key-type rsa:2048 \
  --id "$id" --label "$label" >/dev/null

# 3. A certificate for that key without an OpenSSL engine or provider for
#    PKCS#11: read the public key off the token, then have openssl issue a
#    certificate for it (-force_pubkey) from a CSR signed by a throwaway key.
#    The signature is the throwaway key's, which is fine: recipients are
#    identified by the certificate's fingerprint, not by its signature.
#    keyEncipherment: the card's key is a decryption (key transport) key.
p11 --read-object --type pubkey --id "$id" -o pub.der >/dev/null
openssl pkey -pubin -inform DER -in pub.der -out pub.pem
openssl req -new -newkey rsa:2048 -nodes -keyout throwaway.key \
  -subj "/CN=Custos Test Investigator/O=Custos tests" -out throwaway.csr 2>/dev/null
cat > cert.ext <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment, dataEncipherment
subjectKeyIdentifier = hash
EOF
openssl x509 -req -in throwaway.csr -signkey throwaway.key -force_pubkey pub.pem \
  -days 365 -extfile cert.ext -out cert.pem 2>/dev/null
openssl x509 -in cert.pem -outform DER -out cert.der
rm -f throwaway.key throwaway.csr cert.ext pub.der

# 4. Store the certificate next to the key (same CKA_ID): libcacard puts each
#    certificate of the token on the card, with its private key behind it.
p11 --login --pin "$pin" --write-object cert.der --type cert \
  --id "$id" --label "$label" >/dev/null

# 5. NSS database for libcacard: empty itself, it only loads the SoftHSM
#    module, so the card's certificate and key are the token's.
mkdir -p nssdb
certutil -N -d "sql:$dir/nssdb" --empty-password
modutil -dbdir "sql:$dir/nssdb" -add softhsm -libfile "$softhsm" -force >/dev/null

# 6. pcscd reader config for vpcd: a reader "Virtual PCD" whose driver
#    listens on TCP PORT for a virtual card to connect (DEVICENAME
#    /dev/null:PORT means "be the server"). A port per run keeps parallel
#    runs and a system-wide vpcd (35963) apart.
mkdir -p reader.conf.d
cat > reader.conf.d/vpcd <<EOF
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:$port
LIBPATH      $vpcd
CHANNELID    $port
EOF

# 7. OpenSC config: without file caching every process reads the card, so
#    the tests see what is on it now and leave no cache in \$HOME.
cat > opensc.conf <<EOF
app default {
  framework pkcs15 {
    use_file_caching = no;
  }
}
EOF

# pcscd creates its socket in DIR/pcscd (bind-mounted over /run/pcscd).
mkdir -p pcscd

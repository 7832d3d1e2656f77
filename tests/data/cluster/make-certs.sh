#!/bin/sh
# Regenerates the cluster test certificates in this directory (see README.md).
# The tests never run it: its output is checked in.
set -eu
cd "$(dirname "$0")"
days=36500
ca() { # name subject
  openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days $days \
    -keyout "$1-key.pem" -out "$1.pem" -subj "$2" \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign
}
node() { # name subject ca
  openssl req -newkey rsa:2048 -sha256 -nodes \
    -keyout "$1-key.pem" -out "$1.csr" -subj "$2"
  printf '%s\n' basicConstraints=critical,CA:FALSE \
    keyUsage=critical,digitalSignature,keyEncipherment \
    extendedKeyUsage=serverAuth,clientAuth > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3-key.pem" \
    -CAcreateserial -sha256 -days $days -extfile "$1.ext" -out "$1.pem"
  rm -f "$1.csr" "$1.ext"
}
ca cluster-ca "/CN=bulwark test cluster CA"
node node-a "/CN=node-a" cluster-ca
node node-b "/CN=node-b" cluster-ca
# node-a's key again, encrypted (passphrase_env tests): pass "bulwark-test".
openssl pkey -in node-a-key.pem -aes256 -passout pass:bulwark-test \
  -out node-a-key.enc.pem
ca rogue-ca "/CN=bulwark test rogue CA"
node rogue-node "/CN=rogue-node" rogue-ca
# The CA keys are not kept: a new node certificate means a new set.
rm -f ./*.srl cluster-ca-key.pem rogue-ca-key.pem

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
# A node whose certificate expired on 2020-01-02 (the start-time validity
# check), signed by a throwaway CA: `openssl ca` is the command that takes
# dates in the past. Only the node's files are kept.
expired() {
  work=$(mktemp -d)
  : > "$work/index.txt"
  echo 01 > "$work/serial"
  printf '%s\n' '[ca]' 'default_ca = test' '[test]' \
    "database = $work/index.txt" "serial = $work/serial" \
    "new_certs_dir = $work" 'default_md = sha256' 'policy = any' \
    '[any]' 'commonName = supplied' > "$work/ca.cnf"
  openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days $days \
    -keyout "$work/ca-key.pem" -out "$work/ca.pem" \
    -subj "/CN=bulwark test expired CA" \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign
  openssl req -newkey rsa:2048 -sha256 -nodes \
    -keyout expired-node-key.pem -out "$work/node.csr" \
    -subj "/CN=expired-node"
  openssl ca -batch -config "$work/ca.cnf" -cert "$work/ca.pem" \
    -keyfile "$work/ca-key.pem" -in "$work/node.csr" -out expired-node.pem \
    -startdate 20200101000000Z -enddate 20200102000000Z -notext
  rm -rf "$work"
}
expired
# The CA keys are not kept: a new node certificate means a new set.
rm -f ./*.srl cluster-ca-key.pem rogue-ca-key.pem

#!/bin/sh
# The vault password of the molecule fleet: random, made once per machine, kept next to its inventory.
set -eu
file=/tmp/macops-molecule/vault-password
if [ ! -s "$file" ]; then
  mkdir -p /tmp/macops-molecule
  umask 077
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$file"
fi
cat "$file"

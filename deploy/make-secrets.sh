#!/usr/bin/env bash
# The files docker-compose.yml's secrets point to, made once for a new deployment:
#   ./deploy/make-secrets.sh [DIR]          (default ./secrets; existing files are kept)
# API tokens (one per role, plus the archive's and the search service's own tokens for calling the
# generator), the PostgreSQL password, MinIO's keys, and a TRIAL seal: a PKCS#12 with a seal
# certificate under a CA made for it here, whose key is thrown away at once. Replace seal.p12 and
# seal-password with the archive's real seal before any real use (README: "Rotating the seal key").
# The directory is 0700; the files 0644 so that the containers' own users can read them where
# compose mounts them (nobody else on the host can reach them through the directory).
set -euo pipefail
dir=${1:-./secrets}
archive_name=${ZHIFA_ARCHIVE_NAME:-鞍山市行政审批局档案室}
mkdir -p "$dir"
chmod 700 "$dir"
umask 022

random() { printf '%s' "$(openssl rand -base64 48 | tr -d '/+=\n' | cut -c1-"${1:-32}")"; }   # no newline
make() {   # make NAME COMMAND...: write NAME from the command's output unless it exists
  local name=$1; shift
  if [ -e "$dir/$name" ]; then echo "make-secrets: keeping $dir/$name"; return; fi
  "$@" > "$dir/$name.tmp"          # a failure stops the script here (set -e), leaving no $name
  mv "$dir/$name.tmp" "$dir/$name"
  echo "make-secrets: wrote $dir/$name"
}

make postgres-password random 32
make s3-access-key-id random 20
make s3-secret-access-key random 40
make archive-generator-token random 40
make search-generator-token random 40
api_keys() {
  echo "# token=role, one per line (ZHIFA_API_KEYS_FILE). Give each person or system its own token."
  for role in case-system archivist publisher admin; do echo "$(random 40)=$role"; done
  echo "$(cat "$dir/archive-generator-token")=archivist"     # the archive fetching documents from the generator
  echo "$(cat "$dir/search-generator-token")=publisher"      # the search service fetching decisions
}
make api-keys api_keys
make seal-password random 32

trial_seal() {
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  printf '%s\n' "[seal]" "basicConstraints = critical, CA:false" \
      "keyUsage = critical, digitalSignature, nonRepudiation" \
      "subjectKeyIdentifier = hash" "authorityKeyIdentifier = keyid" > "$tmp/seal.cnf"
  openssl req -x509 -new -newkey rsa:3072 -nodes -keyout "$tmp/ca.key" -days 10950 -utf8 \
      -subj "/C=CN/O=$archive_name/OU=试用/CN=${archive_name}电子档案根证书" \
      -addext "basicConstraints = critical, CA:true, pathlen:0" -addext "keyUsage = critical, keyCertSign, cRLSign" \
      -out "$tmp/ca.pem" 2>/dev/null
  openssl req -new -newkey rsa:2048 -nodes -keyout "$tmp/seal.key" -utf8 \
      -subj "/C=CN/O=$archive_name/OU=试用/CN=${archive_name}电子档案封存章" -out "$tmp/seal.csr" 2>/dev/null
  openssl x509 -req -in "$tmp/seal.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial -days 7300 \
      -extfile "$tmp/seal.cnf" -extensions seal -out "$tmp/seal.pem" 2>/dev/null
  openssl pkcs12 -export -inkey "$tmp/seal.key" -in "$tmp/seal.pem" -certfile "$tmp/ca.pem" \
      -name seal -passout "file:$dir/seal-password"
  rm -rf "$tmp"      # and the CA's key with it
}
make seal.p12 trial_seal
chmod 644 "$dir"/*
echo "make-secrets: done; the seal is a trial one: replace $dir/seal.p12 and $dir/seal-password for real use"

#!/bin/sh
# The image's entry point: secrets arrive as files (compose secrets under /run/secrets), so for
# each variable below that takes a secret value, NAME_FILE=path sets NAME to the file's content
# (the official postgres image's convention). Variables the code reads as paths
# (ZHIFA_API_KEYS_FILE, ZHIFA_SEAL_PKCS12) are passed as they are. Then `zhifa "$@"`.
set -eu
SECRET_VARIABLES="PGPASSWORD ZHIFA_SEAL_PASSWORD ZHIFA_GENERATOR_TOKEN ZHIFA_S3_ACCESS_KEY_ID ZHIFA_S3_SECRET_ACCESS_KEY"
for name in $SECRET_VARIABLES; do
  file=$(printenv "${name}_FILE" || true)
  [ -n "$file" ] || continue
  if [ -n "$(printenv "$name" || true)" ]; then
    echo "zhifa: both $name and ${name}_FILE are set; keep one" >&2
    exit 2
  fi
  if [ ! -r "$file" ]; then
    echo "zhifa: ${name}_FILE=$file cannot be read (is the secret mounted?)" >&2
    exit 2
  fi
  # a trailing newline (echo > file) is not part of the secret
  value=$(cat "$file")
  export "$name=$value"
  unset "${name}_FILE"
done
exec "${ZHIFA_BIN:-zhifa}" "$@"

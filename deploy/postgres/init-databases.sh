#!/bin/bash
# Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d):
# one database per zhifa service, owned by the image's user. Each service's tables are made by
# its migrations (`zhifa migrate`, the compose file's migrate step), never here.
set -euo pipefail
for db in ${INIT_DATABASES:?list the databases to create}; do
  [[ "$db" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "init-databases: bad database name $db" >&2; exit 1; }
  echo "init-databases: creating $db"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
       -c "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\" ENCODING 'UTF8' TEMPLATE template0"
done

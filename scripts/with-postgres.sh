#!/usr/bin/env bash
# Run a command against a real PostgreSQL on loopback: install Debian's server if it is
# missing, start the cluster, create the test role and database, and export
# QINGLING_TEST_DATABASE_URL for the command. Usage: scripts/with-postgres.sh pytest ...
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -c "$1"; else sudo -u postgres sh -c "$1"; fi; }

if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
  echo "Installing Debian's postgresql ..."
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
fi

read -r version cluster port status _ < <(pg_lsclusters -h | head -n 1)
if [ "$status" != "online" ]; then
  as_root pg_ctlcluster "$version" "$cluster" start
fi
for _ in $(seq 1 30); do
  as_postgres "psql -p $port -qAtc 'select 1'" >/dev/null 2>&1 && break
  sleep 0.5
done

user=qingling
password=qingling
# QINGLING_PG_DATABASE names another database (e.g. one per worktree, so suites do not share one).
database=${QINGLING_PG_DATABASE:-qingling_test}
as_postgres "psql -p $port -qAtc \"select 1 from pg_roles where rolname='$user'\"" | grep -q 1 \
  || as_postgres "psql -p $port -qc \"create role $user login password '$password' createdb\""
as_postgres "psql -p $port -qAtc \"select 1 from pg_database where datname='$database'\"" | grep -q 1 \
  || as_postgres "psql -p $port -qc \"create database $database owner $user\""

export QINGLING_TEST_DATABASE_URL="postgresql://$user:$password@127.0.0.1:$port/$database"
echo "PostgreSQL $version on 127.0.0.1:$port, database $database"
exec "$@"

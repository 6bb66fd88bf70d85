# Sourced by .ci/run: start a throwaway PostgreSQL server on a Unix socket and export XLQA_TEST_PG_URL.
# Installs Debian's postgresql when no server binary is present. PostgreSQL refuses to run as root,
# so the cluster belongs to a dedicated user.
PG_BIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n1)")
if [ ! -x "$PG_BIN/initdb" ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) || return 1
  PG_BIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n1)")
fi
id xlqapg >/dev/null 2>&1 || useradd -m xlqapg
PGDIR=$(mktemp -d /tmp/xlqa-pg.XXXX)
chown xlqapg "$PGDIR"
su xlqapg -c "$PG_BIN/initdb -D $PGDIR/data -A trust -U xlqapg >/dev/null" || return 1
su xlqapg -c "$PG_BIN/pg_ctl -D $PGDIR/data -o '-p 55432 -k $PGDIR -c listen_addresses=' -l $PGDIR/log -w start >/dev/null" || return 1
su xlqapg -c "$PG_BIN/createdb -h $PGDIR -p 55432 xlqa_test" || return 1
# stop it and remove its files when .ci/run exits, whatever the tests did
source "$(dirname "${BASH_SOURCE[0]}")/cleanup.sh"
ci_on_exit "su xlqapg -c '$PG_BIN/pg_ctl -D $PGDIR/data -m fast stop' >/dev/null 2>&1; rm -rf $PGDIR"
export XLQA_TEST_PG_URL="postgresql+psycopg://xlqapg@/xlqa_test?host=$PGDIR&port=55432"
echo "PostgreSQL ready: $XLQA_TEST_PG_URL"

#!/usr/bin/env bash
# A private, relocated copy of the system PostgreSQL 15 for a developer (or a helper) who must not
# disturb the system-wide extension directory: `make install` into it and run pg_regress there.
#   test/dev/private-pg.sh ROOT      creates ROOT (once) and prints its pg_config path
# Then:  make PG_CONFIG=ROOT/usr/lib/postgresql/15/bin/pg_config install
#        source test/lib/cluster.sh; cluster_start /tmp/x/data ROOT/usr/lib/postgresql/15/bin
#        make PG_CONFIG=... installcheck; cluster_stop /tmp/x/data ROOT/usr/lib/postgresql/15/bin
set -euo pipefail
root=${1:?usage: private-pg.sh ROOT}
if [ ! -x "$root/usr/lib/postgresql/15/bin/postgres" ]; then
    mkdir -p "$root/usr/lib/postgresql" "$root/usr/share/postgresql" "$root/usr/include/postgresql"
    cp -a /usr/lib/postgresql/15 "$root/usr/lib/postgresql/"
    cp -a /usr/share/postgresql/15 "$root/usr/share/postgresql/"
    ln -sfn /usr/include/postgresql/15 "$root/usr/include/postgresql/15"
    chmod -R a+rX "$root"
fi
echo "$root/usr/lib/postgresql/15/bin/pg_config"

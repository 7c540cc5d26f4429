#!/bin/sh
# Puts the dump of $ROLLGUARD_BACKUP_DIR back: everything written since is lost.
set -e
exec pg_restore --clean --if-exists --single-transaction --dbname="$PGDATABASE" "$ROLLGUARD_BACKUP_DIR/shop.dump"

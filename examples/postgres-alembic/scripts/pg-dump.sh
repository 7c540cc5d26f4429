#!/bin/sh
# The whole database, custom format, into the backup's own directory.
exec pg_dump --format=custom --file="$ROLLGUARD_BACKUP_DIR/shop.dump" "$PGDATABASE"

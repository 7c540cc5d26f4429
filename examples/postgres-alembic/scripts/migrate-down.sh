#!/bin/sh
# Told the restored release's schema by rollguard.
exec "$(dirname "$0")/alembic.sh" downgrade "$ROLLGUARD_TARGET_SCHEMA"

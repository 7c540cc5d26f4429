#!/bin/sh
# alembic with Debian's python3 (its modules), from the example's directory.
cd "$(dirname "$0")/.." && exec /usr/bin/python3 -m alembic -c alembic.ini "$@"

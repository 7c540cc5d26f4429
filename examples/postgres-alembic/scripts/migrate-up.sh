#!/bin/sh
# The release r0002[-anything] migrates to revision 0002.
rev=$(printf '%s\n' "$ROLLGUARD_VERSION" | sed -n 's/^r\([0-9][0-9]*\).*/\1/p')
[ -n "$rev" ] || { echo "release '$ROLLGUARD_VERSION' names no revision (r0002…)" >&2; exit 2; }
exec "$(dirname "$0")/alembic.sh" upgrade "$rev"

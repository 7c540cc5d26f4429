#!/bin/sh
# validate.sh — deploy step "validate": the version must be a semver tag
# (v1.2.3, v1.2.3-rc.1). It reads the environment only and changes nothing.
set -eu
version=${ROLLGUARD_VERSION:?ROLLGUARD_VERSION is not set}
case $version in
*[!A-Za-z0-9.+-]*) ;;   # rejected below; also keeps newlines out of grep
*)
	if printf '%s\n' "$version" |
		grep -Eqx 'v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?'; then
		echo "version '$version' is a semver tag"
		exit 0
	fi
	;;
esac
echo "error: version '$version' is not a semver tag like v1.2.3" >&2
exit 1

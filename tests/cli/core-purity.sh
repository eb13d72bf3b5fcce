#!/usr/bin/env bash
# The pure core (reconciler/core): the planning modules (spec, state,
# diff, the secret map) never open a file or a socket, and no core
# object calls libcurl, libuv, libgit2 or sqlite. Read from the objects'
# undefined symbols (nm -u), so a call added anywhere in them shows here;
# test_core checks the same by linking the core alone.
. "$(dirname "$0")/lib.sh"
obj=${BUILD:-build}/reconciler/core

if [ ! -d "$obj" ] || ! command -v nm >/dev/null; then
	fail "core objects in $obj or nm missing (make first)"
	exit 0
fi
io='^(open|open64|openat|fopen|fopen64|opendir|socket|connect|bind|accept|getaddrinfo|file_read|file_write_atomic|secrets_read|secrets_open|docker_[a-z_]*|gitsrc_[a-z_]*|journal_[a-z_]*)$'
libs='^(curl_|uv_|git_|sqlite3_)'
for m in spec state diff secretmap; do
	for o in "$obj/$m".o "$obj/$m"_*.o; do
		[ -f "$o" ] || continue
		bad=$(nm -u "$o" | awk '{print $NF}' | grep -E "$io" | tr '\n' ' ')
		check "$(basename "$o") does no I/O${bad:+ (calls: $bad)}" test -z "$bad"
	done
done
found=""
for o in "$obj"/*.o; do
	bad=$(nm -u "$o" | awk '{print $NF}' | grep -E "$libs" | tr '\n' ' ')
	[ -z "$bad" ] || found="$found $(basename "$o"): $bad;"
done
check "no core object calls libcurl, libuv, libgit2 or sqlite${found:+ (${found# })}" \
	test -z "$found"

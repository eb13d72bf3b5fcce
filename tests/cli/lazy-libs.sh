#!/usr/bin/env bash
# The libraries only some commands need (libcurl, libgit2, SQLite,
# libcrypto, zlib) are opened on first use (reconciler/lazy), not at
# start-up: neither program names them in its NEEDED entries; the commands
# that need none work without them; those that need one open it and work;
# and one that cannot be opened is named, with the loader's reason and the
# Debian package, and its command exits 2 while the others still work. The
# libraries are made missing or broken by a directory of fakes on
# LD_LIBRARY_PATH, which dlopen searches before the system's. No engine, no
# network but loopback.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/rt-cli.XXXXXX)
dpid=
trap '[ -z "$dpid" ] || kill -TERM "$dpid" 2>/dev/null; rm -rf "$tmp"' EXIT
B=${BUILD:-build}
RECONCILERD=${RECONCILERD:-$B/reconcilerd}

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' '; }
for p in "$RECONCILERCTL" "$RECONCILERD"; do
	n=$(needed "$p")
	check "${p##*/} needs libc (readelf works: $n)" grep -q 'libc\.so' <<<"$n"
	for l in libcurl libgit2 libsqlite3 libcrypto libz; do
		check "${p##*/} does not load $l at start-up" test -z "$(grep -o "${l}[^ ]*" <<<"$n")"
	done
done

expect_exit "version works" 0 "$RECONCILERCTL" version
expect_exit "validate works" 0 "$RECONCILERCTL" validate -q manifests/prod.yaml

# libgit2 and libcurl: fleet status reads the manifest from a Git repository
# (file://) and asks its one host, on a port nobody listens on.
dead=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
git -c init.defaultBranch=main init -q "$tmp/repo"
printf 'version: 1\nproject: t\nservices: {}\nfleet:\n  h1: {url: http://127.0.0.1:%s}\n' \
	"$dead" >"$tmp/repo/prod.yaml"
git -C "$tmp/repo" add prod.yaml
git -C "$tmp/repo" -c user.name=t -c user.email=t@localhost commit -qm m
expect_exit "fleet status (libgit2, libcurl) works: the host is down" 1 \
	"$RECONCILERCTL" fleet status --repo "file://$tmp/repo" --path prod.yaml
expect_contains "curl said why" "h1: unreachable: "
# SQLite: history of an empty journal
mkdir -p "$tmp/state"
: >"$tmp/state/journal.db"
expect_exit "history (SQLite) works" 0 "$RECONCILERCTL" history --state-dir "$tmp/state"
expect_contains "and says there is nothing yet" "no rollouts yet"

# Missing: a file of each name that is no shared object; only SQLite's in
# gone-sqlite (history asks a running daemon first).
mkdir -p "$tmp/gone" "$tmp/gone-sqlite"
for so in libcurl.so.4 libgit2.so.1.5 libsqlite3.so.0 libcrypto.so.3 libz.so.1; do : >"$tmp/gone/$so"; done
: >"$tmp/gone-sqlite/libsqlite3.so.0"
gone() { LD_LIBRARY_PATH=$tmp/gone "$@"; }
expect_exit "without them, version works" 0 gone "$RECONCILERCTL" version
expect_exit "without them, validate works" 0 gone "$RECONCILERCTL" validate -q manifests/prod.yaml
expect_exit "without libgit2, fleet status --repo exits 2" 2 \
	gone "$RECONCILERCTL" fleet status --repo "file://$tmp/repo" --path prod.yaml
expect_contains "naming the library, the reason and the package" \
	"reconcilerctl: cannot load libgit2.so.1.5 ($tmp/gone/libgit2.so.1.5: file too short): install Debian's package libgit2-1.5"
expect_exit "without libcurl, fleet status -f exits 2" 2 \
	gone "$RECONCILERCTL" fleet status -f "$tmp/repo/prod.yaml"
expect_contains "naming libcurl and its package" "cannot load libcurl.so.4 ("
expect_contains "libcurl4" "install Debian's package libcurl4"
expect_exit "without SQLite, history exits 2" 2 \
	env LD_LIBRARY_PATH="$tmp/gone-sqlite" "$RECONCILERCTL" history --state-dir "$tmp/state"
expect_contains "naming SQLite and its package" "install Debian's package libsqlite3-0"
# diff and the engine client need none of them: the manifest, its secrets'
# digests and spec hashes, then the engine's socket (not there: exit 2 after
# the desired state was built).
expect_exit "without them, diff builds the desired state and names the missing socket" 2 \
	gone "$RECONCILERCTL" diff -f manifests/demo.yaml --state-dir "$tmp/state" -H "unix://$tmp/no.sock"
expect_contains "the socket, not a library" "socket '$tmp/no.sock' does not exist"
expect_exit "without them, reconcilerd refuses to start" 2 \
	gone "$RECONCILERD" -n --repo "file://$tmp/repo" --manifest prod.yaml --state-dir "$tmp/state"
expect_contains "saying which" "reconcilerd: cannot load libcurl.so.4 ("

# The daemon's control socket needs none of them either: sync to a running
# reconcilerd (with all of them; its remote does not exist, so its cycles
# fail, and its socket answers).
mkdir -p "$tmp/dstate" "$tmp/dsecrets"
chmod 700 "$tmp/dstate" "$tmp/dsecrets"
"$RECONCILERD" --repo "file://$tmp/nowhere.git" --state-dir "$tmp/dstate" \
	--secrets-dir "$tmp/dsecrets" --poll 60s --docker-host "unix://$tmp/no.sock" \
	>"$tmp/dlog" 2>&1 &
dpid=$!
for _ in $(seq 200); do [ -S "$tmp/dstate/reconcilerd.sock" ] && break; sleep 0.05; done
expect_exit "without them, sync asks the running daemon" 0 \
	gone "$RECONCILERCTL" sync --state-dir "$tmp/dstate"
expect_contains "which takes it" "sync requested from reconcilerd"
kill -TERM "$dpid" 2>/dev/null
wait "$dpid" 2>/dev/null
dpid=

# Found but not the right one: a shared object of that name without the
# functions.
if command -v cc >/dev/null; then
	mkdir -p "$tmp/old"
	echo 'int rt_nothing;' >"$tmp/old/e.c"
	cc -shared -fPIC -Wl,-soname,libcurl.so.4 -o "$tmp/old/libcurl.so.4" "$tmp/old/e.c"
	expect_exit "with a libcurl lacking its functions, fleet status exits 2" 2 \
		env LD_LIBRARY_PATH="$tmp/old" "$RECONCILERCTL" fleet status -f "$tmp/repo/prod.yaml"
	expect_contains "naming the function missing" "libcurl.so.4: curl_easy_cleanup is missing ("
else
	ok "# SKIP cc is not installed: the library without its functions"
fi

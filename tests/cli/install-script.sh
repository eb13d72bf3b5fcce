#!/usr/bin/env bash
# contrib/install.sh with --root into temporary directories, never on this
# host: users go to the root's own etc/passwd and etc/group. A first run sets
# everything up; a second one changes nothing and says so; drift is repaired;
# --dry-run changes nothing; an existing config is never overwritten.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/rt-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
BUILD=${BUILD:-build}

host_users() { cat /etc/passwd /etc/group | md5sum; }
host_before=$(host_users)
host_had_user=$(getent passwd reconciler || true)

# new_root DIR: an image with etc/passwd, etc/group (with docker), and what
# make install puts there
new_root() {
	mkdir -p "$1/etc"
	printf 'root:x:0:0:root:/root:/bin/bash\nsystemd-x:x:999:999::/:/usr/sbin/nologin\n' >"$1/etc/passwd"
	printf 'root:x:0:\ndocker:x:995:alice\nsystemd-x:x:999:\n' >"$1/etc/group"
	make --no-print-directory -s -o all BUILD="$BUILD" DESTDIR="$1" install >"$tmp/make.log" 2>&1
}
snapshot() { (cd "$1" && find . -printf '%p %m %U %G %s %T@ %l\n' | LC_ALL=C sort; md5sum etc/passwd etc/group); }

r=$tmp/root
check "a root image with the programs installed" new_root "$r"
script=$r/usr/local/share/reconciler/install.sh
expect_exit "--help" 0 "$script" --help
expect_contains "--help names --root" "--root DIR"
expect_exit "an unknown flag is a usage error" 2 "$script" --bogus
expect_contains "it is named" "unknown argument '--bogus'"

expect_exit "first run" 0 "$script" --root "$r" --repo file:///srv/infra.git --branch prod \
	--manifest manifests/web.yaml </dev/null
expect_contains "it says what it did" "install.sh: done:"
line=$(grep '^reconciler:' "$r/etc/passwd")
check "a system user in the root's passwd ($line)" \
	grep -qE '^reconciler:x:[1-9][0-9]{2}:[1-9][0-9]{2}:[^:]*:/var/lib/reconciler:/usr/sbin/nologin$' "$r/etc/passwd"
uid=$(cut -d: -f3 <<<"$line")
gid=$(cut -d: -f4 <<<"$line")
check "its id is free in the image (not 999)" test "$uid" != 999
check "its group in the root's group file" grep -qx "reconciler:x:$gid:" "$r/etc/group"
check "added to docker, keeping the other members" grep -qx 'docker:x:995:alice,reconciler' "$r/etc/group"
stat_is() { # PATH MODE OWNER
	local got
	got=$(stat -c '%a %u:%g' "$1")
	[ "$got" = "$2 $3" ] || { echo "# $1: $got, wanted $2 $3"; return 1; }
}
check "/etc/reconciler 0755 root" stat_is "$r/etc/reconciler" 755 0:0
check "/etc/reconciler/secrets 0700 reconciler" stat_is "$r/etc/reconciler/secrets" 700 "$uid:$gid"
check "/var/lib/reconciler 0750 reconciler" stat_is "$r/var/lib/reconciler" 750 "$uid:$gid"
conf=$r/etc/reconciler/reconciler.yaml
check "the config 0640, readable by the group reconciler" stat_is "$conf" 640 "0:$gid"
check "the config names the repo" grep -qx 'repo: "file:///srv/infra.git"' "$conf"
check "the config names the branch" grep -qx 'branch: "prod"' "$conf"
check "the config names the manifest" grep -qx 'manifest: "manifests/web.yaml"' "$conf"
check "the rest of the config is the example's" test "$(grep -vE '^(repo|branch|manifest):' "$conf" | md5sum)" = \
	"$(grep -vE '^(repo|branch|manifest):' contrib/reconciler.yaml.example | md5sum)"
check "no temporary file left" test -z "$(find "$r" -name '*.tmp*')"
check "the unit is enabled in the image" test "$(readlink "$r/etc/systemd/system/multi-user.target.wants/reconcilerd.service")" = \
	/usr/local/lib/systemd/system/reconcilerd.service

snapshot "$r" >"$tmp/snap1"
expect_exit "second run" 0 "$script" --root "$r" --repo file:///srv/infra.git --branch prod \
	--manifest manifests/web.yaml </dev/null
expect_contains "it says nothing was to be done" "nothing to do: everything was already in place"
expect_not_contains "it did not act" "install.sh: create"
snapshot "$r" >"$tmp/snap2"
if diff "$tmp/snap1" "$tmp/snap2" >"$tmp/diff"; then
	ok "the second run changed nothing"
else
	fail "the second run changed nothing"
	sed 's/^/#   /' "$tmp/diff"
fi

echo "# edited by hand" >>"$conf"
before=$(md5sum <"$conf")
expect_exit "a run with another --repo" 0 "$script" --root "$r" --repo https://example.com/other.git </dev/null
expect_contains "the existing config is left as it is" "reconciler.yaml exists: left as it is"
expect_contains "with a warning that it names another repo" "does not name --repo https://example.com/other.git"
check "the config is unchanged" test "$(md5sum <"$conf")" = "$before"

chmod 0755 "$r/etc/reconciler/secrets"
chown 0:0 "$r/var/lib/reconciler"
expect_exit "a run after drift" 0 "$script" --root "$r" </dev/null
expect_contains "the mode is repaired" "set the mode of $r/etc/reconciler/secrets to 0700 (was 0755)"
expect_contains "the owner is repaired" "give $r/var/lib/reconciler to $uid:$gid"
check "secrets is 0700 again" stat_is "$r/etc/reconciler/secrets" 700 "$uid:$gid"
check "the state dir is reconciler's again" stat_is "$r/var/lib/reconciler" 750 "$uid:$gid"
expect_exit "and then" 0 "$script" --root "$r" </dev/null
expect_contains "nothing to do" "nothing to do"

# --dry-run: told, not done
d=$tmp/dry
new_root "$d"
snapshot "$d" >"$tmp/snap1"
expect_exit "--dry-run" 0 "$d/usr/local/share/reconciler/install.sh" --root "$d" --repo file:///x.git --dry-run </dev/null
expect_contains "it says what it would do" "install.sh: would add the user reconciler"
expect_contains "the config too" "install.sh: would write $d/etc/reconciler/reconciler.yaml"
expect_contains "and that nothing was done" "dry run: 9 change(s) would be made, none was"
snapshot "$d" >"$tmp/snap2"
check "--dry-run changed nothing" cmp -s "$tmp/snap1" "$tmp/snap2"

# refusals
n=$tmp/norepo
new_root "$n"
expect_exit "no config and no --repo (no terminal to ask on)" 2 \
	"$n/usr/local/share/reconciler/install.sh" --root "$n" </dev/null
expect_contains "it says to pass --repo" "pass --repo URL"
e=$tmp/empty
mkdir -p "$e/etc"
expect_exit "the programs not installed" 2 contrib/install.sh --root "$e" --repo file:///x.git </dev/null
expect_contains "it says to run make install" "run 'make install PREFIX=/usr/local' first"

# from the source tree, with --no-user: everything stays root's
s=$tmp/src
new_root "$s"
cp "$s/etc/passwd" "$tmp/passwd.before"
expect_exit "contrib/install.sh --no-user" 0 contrib/install.sh --root "$s" --no-user --repo file:///x.git </dev/null
check "--no-user: passwd untouched" cmp -s "$tmp/passwd.before" "$s/etc/passwd"
check "--no-user: secrets 0700 root" stat_is "$s/etc/reconciler/secrets" 700 0:0
check "the example from contrib/ was used" grep -qx 'repo: "file:///x.git"' "$s/etc/reconciler/reconciler.yaml"

check "this host's passwd and group were never touched" test "$(host_users)" = "$host_before"
check "this host has no new user" test "$(getent passwd reconciler || true)" = "$host_had_user"

#!/usr/bin/env bash
# make install into a temporary DESTDIR: the complete layout (every file and
# its mode, nothing else), paths that follow PREFIX/SBINDIR, installed programs
# that run, man pages that render without a warning, and make uninstall.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/rt-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
BUILD=${BUILD:-build}

# -o all: install what $BUILD holds (a sanitizer build stays one)
inst() { make --no-print-directory -s -o all BUILD="$BUILD" "$@" >"$tmp/make.log" 2>&1; }
layout() { (cd "$1" && find . \( -type f -o -type l \) -printf '%m %P\n' | LC_ALL=C sort); }

d=$tmp/d
check "make install DESTDIR=… succeeds" inst install DESTDIR="$d"
cat >"$tmp/want" <<'EOT'
644 usr/local/lib/systemd/system/reconciler-docker-proxy.service
644 usr/local/lib/systemd/system/reconcilerd.service
644 usr/local/share/bash-completion/completions/reconcilerctl
644 usr/local/share/man/man1/reconcilerctl.1
644 usr/local/share/man/man5/reconciler-manifest.5
644 usr/local/share/man/man8/reconcilerd.8
644 usr/local/share/reconciler/docker-socket-proxy/haproxy.cfg
644 usr/local/share/reconciler/docker-socket-proxy/reconcilerd-docker-proxy.conf
644 usr/local/share/reconciler/manifest.schema.json
644 usr/local/share/reconciler/reconciler.yaml.example
755 usr/local/bin/reconcilerctl
755 usr/local/sbin/reconcilerd
755 usr/local/share/reconciler/ci/bump-digest.sh
755 usr/local/share/reconciler/ci/image-updates.sh
755 usr/local/share/reconciler/ci/validate-pr.sh
755 usr/local/share/reconciler/install.sh
EOT
layout "$d" >"$tmp/got"
if diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"; then
	ok "every file, with its mode, and nothing else"
else
	fail "every file, with its mode, and nothing else"
	sed 's/^/#   /' "$tmp/diff"
fi
check "directories are 0755" test -z "$(find "$d" -type d ! -perm 0755)"
check "the unit starts the installed reconcilerd" \
	grep -qx 'ExecStart=/usr/local/sbin/reconcilerd -c /etc/reconciler/reconciler.yaml' \
	"$d/usr/local/lib/systemd/system/reconcilerd.service"
check "install.sh knows where the programs went" \
	grep -qx 'DEFAULT_SBINDIR=/usr/local/sbin' "$d/usr/local/share/reconciler/install.sh"
check "the example config is the one in contrib/" \
	cmp -s contrib/reconciler.yaml.example "$d/usr/local/share/reconciler/reconciler.yaml.example"
check "the completion is the one in contrib/" \
	cmp -s contrib/completion/reconcilerctl.bash "$d/usr/local/share/bash-completion/completions/reconcilerctl"

expect_exit "the installed reconcilerctl runs" 0 "$d/usr/local/bin/reconcilerctl" version
expect_contains "it prints its version" "reconcilerctl $(cat VERSION)"
expect_exit "the installed reconcilerd runs" 0 "$d/usr/local/sbin/reconcilerd" --version
expect_contains "it prints its version" "reconcilerd $(cat VERSION)"

for page in man1/reconcilerctl.1 man5/reconciler-manifest.5 man8/reconcilerd.8; do
	f=$d/usr/local/share/man/$page
	warnings=$(groff -mandoc -Tutf8 -ww -z "$f" 2>&1)
	if [ -z "$warnings" ]; then
		ok "$page renders without a warning (groff -ww)"
	else
		fail "$page renders without a warning (groff -ww)"
		printf '%s\n' "$warnings" | head -20 | sed 's/^/#   /'
	fi
	out=$(MANWIDTH=80 man -l "$f" 2>&1)
	expect_contains "man -l $page shows its NAME" "NAME"
done
has() { grep -qF -- "$1" <<<"$out"; }
out=$(MANWIDTH=200 man -l "$d/usr/local/share/man/man8/reconcilerd.8" 2>/dev/null)
for f in reconcilerd.service reconciler.yaml.example install.sh manifest.schema.json \
	reconcilerd.sock NOTIFY_SOCKET WATCHDOG_USEC; do
	check "reconcilerd(8) names $f" has "$f"
done
out=$(MANWIDTH=200 man -l "$d/usr/local/share/man/man1/reconcilerctl.1" 2>/dev/null)
check "reconcilerctl(1) names the completion file" has "bash-completion/completions/reconcilerctl"

check "make uninstall succeeds" inst uninstall DESTDIR="$d"
check "make uninstall leaves no file" test -z "$(layout "$d")"

# PREFIX=/usr: the unit goes where the distribution's units live
d=$tmp/usr
check "make install PREFIX=/usr" inst install DESTDIR="$d" PREFIX=/usr
check "PREFIX=/usr: the unit in /lib/systemd/system" test -f "$d/lib/systemd/system/reconcilerd.service"
check "PREFIX=/usr: it starts /usr/sbin/reconcilerd" \
	grep -q '^ExecStart=/usr/sbin/reconcilerd ' "$d/lib/systemd/system/reconcilerd.service"
check "PREFIX=/usr: man pages in /usr/share/man" test -f "$d/usr/share/man/man8/reconcilerd.8"

# every directory variable is honoured
d=$tmp/custom
check "make install with BINDIR, SBINDIR, MANDIR, DATADIR, UNITDIR, BASHCOMPDIR" \
	inst install DESTDIR="$d" PREFIX=/opt/r BINDIR=/opt/r/b SBINDIR=/opt/r/sb MANDIR=/opt/r/m \
	DATADIR=/opt/r/d UNITDIR=/etc/systemd/system BASHCOMPDIR=/opt/r/c SYSCONFDIR=/etc/r
cat >"$tmp/want" <<'EOT'
644 etc/systemd/system/reconciler-docker-proxy.service
644 etc/systemd/system/reconcilerd.service
644 opt/r/c/reconcilerctl
644 opt/r/d/docker-socket-proxy/haproxy.cfg
644 opt/r/d/docker-socket-proxy/reconcilerd-docker-proxy.conf
644 opt/r/d/manifest.schema.json
644 opt/r/d/reconciler.yaml.example
644 opt/r/m/man1/reconcilerctl.1
644 opt/r/m/man5/reconciler-manifest.5
644 opt/r/m/man8/reconcilerd.8
755 opt/r/b/reconcilerctl
755 opt/r/d/ci/bump-digest.sh
755 opt/r/d/ci/image-updates.sh
755 opt/r/d/ci/validate-pr.sh
755 opt/r/d/install.sh
755 opt/r/sb/reconcilerd
EOT
layout "$d" >"$tmp/got"
if diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"; then
	ok "custom directories: every file where it was asked"
else
	fail "custom directories: every file where it was asked"
	sed 's/^/#   /' "$tmp/diff"
fi
check "custom directories: the unit follows SBINDIR and SYSCONFDIR" \
	grep -qx 'ExecStart=/opt/r/sb/reconcilerd -c /etc/r/reconciler/reconciler.yaml' \
	"$d/etc/systemd/system/reconcilerd.service"

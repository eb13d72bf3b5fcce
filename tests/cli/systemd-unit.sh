#!/usr/bin/env bash
# contrib/systemd/reconcilerd.service: the settings the daemon relies on, in
# agreement with its defaults (config.c, the control socket in the state
# directory); a plain syntax check always, and systemd-analyze verify when it
# can run here.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/rt-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
unit=contrib/systemd/reconcilerd.service
RECONCILERD=${RECONCILERD:-build/reconcilerd}

# plain syntax: comments, [Section] among Unit/Service/Install, Key=Value
bad=$(awk '
	/^[ \t]*(#|;|$)/ { next }
	/^\[(Unit|Service|Install)\]$/ { s = $0; next }
	/^\[/ { print FILENAME ":" NR ": unknown section " $0; next }
	!/^[A-Za-z][A-Za-z0-9]*=/ { print FILENAME ":" NR ": not Key=Value: " $0; next }
	s == "" { print FILENAME ":" NR ": a setting before any section" }
' "$unit")
check "syntax: sections and Key=Value lines only${bad:+ ($bad)}" test -z "$bad"
check "syntax: no setting given twice" test -z "$(grep -oE '^[A-Za-z]+=' "$unit" | sort | uniq -d | grep -vx 'ReadWritePaths=')"

has() { grep -qxF -- "$1" "$unit"; }
# shellcheck disable=SC2016 # $MAINPID is systemd's
for want in Type=notify NotifyAccess=main User=reconciler Group=reconciler \
	SupplementaryGroups=docker StateDirectory=reconciler ConfigurationDirectory=reconciler \
	ProtectSystem=strict NoNewPrivileges=yes ProtectHome=yes PrivateTmp=yes \
	'ExecReload=/bin/kill -HUP $MAINPID' Restart=on-failure WantedBy=multi-user.target; do
	check "it sets $want" has "$want"
done
check "it sets WatchdogSec=" grep -qE '^WatchdogSec=[1-9][0-9]*(s|min)?$' "$unit"
check "it lists ReadWritePaths= for backups" grep -qE '^ReadWritePaths=' "$unit"
# descriptors: a number, above what the control socket may hold at once
# (httpd.h) plus room for Git, the journal and the engine's connections
nofile=$(sed -n 's/^LimitNOFILE=\([0-9]*\)$/\1/p' "$unit")
unixmax=$(sed -n 's/^#define HTTPD_UNIX_MAX_CONNS[[:space:]]*\([0-9]*\).*/\1/p' reconciler/daemon/httpd.h)
check "it sets LimitNOFILE= (${nofile:-none}) well above the control socket's ${unixmax:-?} connections" \
	test "${nofile:-0}" -ge $((${unixmax:-1000000} + 512))

# agreement with the daemon's defaults
cfgdef=$(sed -n 's/^#define CONFIG_PATH_DEFAULT "\(.*\)"$/\1/p' reconciler/daemon/config.h)
check "ExecStart reads the default config file ($cfgdef)" grep -qE "^ExecStart=/usr/local/sbin/reconcilerd -c $cfgdef\$" "$unit"
check "ConfigurationDirectory= is the config file's directory" test "/etc/$(sed -n 's/^ConfigurationDirectory=//p' "$unit")" = "$(dirname "$cfgdef")"
statedef=$(sed -n 's/.*c->state_dir = xstrdup("\(.*\)");/\1/p' reconciler/daemon/config.c)
check "StateDirectory= is the default state_dir ($statedef)" test "/var/lib/$(sed -n 's/^StateDirectory=//p' "$unit")" = "$statedef"
check "the control socket lives in the state directory by default" \
	grep -q 'state_path(dm, "reconcilerd.sock")' reconciler/daemon/daemon.c
check "so no RuntimeDirectory= is needed" test -z "$(grep '^RuntimeDirectory=' "$unit")"
secdef=$(sed -n 's/.*c->secrets_dir = xstrdup("\(.*\)");/\1/p' reconciler/daemon/config.c)
check "the default secrets_dir is under ConfigurationDirectory= ($secdef)" test "${secdef#/etc/reconciler/}" != "$secdef"
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p' "$unit")
check "TimeoutStopSec= ($stop s) exceeds the default shutdown_timeout (60 s)" test "${stop:-0}" -gt 60

# systemd-analyze verify, on a copy that starts the built program
if ! command -v systemd-analyze >/dev/null; then
	echo "ok - systemd-unit: systemd-analyze verify # SKIP systemd-analyze is not installed (Debian package systemd)"
	exit 0
fi
mkdir -p "$tmp/u"
sed "s|^ExecStart=/usr/local/sbin/reconcilerd|ExecStart=$(cd "$(dirname "$RECONCILERD")" && pwd)/reconcilerd|" \
	"$unit" >"$tmp/u/reconcilerd.service"
# A known-good unit first: when even that fails, verify cannot run here.
printf '[Service]\nExecStart=/bin/true\n' >"$tmp/u/rt-probe.service"
if ! probe=$(cd "$tmp" && systemd-analyze verify --man=no "$tmp/u/rt-probe.service" 2>&1); then
	echo "ok - systemd-unit: systemd-analyze verify # SKIP it cannot run in this environment: $(head -n 1 <<<"$probe")"
	exit 0
fi
out=$(cd "$tmp" && systemd-analyze verify --man=no "$tmp/u/reconcilerd.service" 2>&1)
rc=$?
if [ "$rc" = 0 ] && [ -z "$out" ]; then
	ok "systemd-analyze verify: no error, no warning"
else
	fail "systemd-analyze verify: no error, no warning (exit $rc)"
	printf '%s\n' "$out" | sed 's/^/#   /'
fi
# and it does catch a mistake (a misspelt setting)
sed 's/^NotifyAccess=/NotifyAcess=/' "$tmp/u/reconcilerd.service" >"$tmp/u/rt-typo.service"
out=$(cd "$tmp" && systemd-analyze verify --man=no "$tmp/u/rt-typo.service" 2>&1)
check "systemd-analyze verify reports a misspelt setting" grep -q 'NotifyAcess' <<<"$out"
# the Docker socket proxy's unit (contrib/docker-socket-proxy)
cp contrib/docker-socket-proxy/reconciler-docker-proxy.service "$tmp/u/"
out=$(cd "$tmp" && systemd-analyze verify --man=no "$tmp/u/reconciler-docker-proxy.service" 2>&1)
rc=$?
if [ "$rc" = 0 ] && [ -z "$out" ]; then
	ok "systemd-analyze verify of the socket proxy's unit: no error, no warning"
else
	fail "systemd-analyze verify of the socket proxy's unit: no error, no warning (exit $rc)"
	printf '%s\n' "$out" | sed 's/^/#   /'
fi

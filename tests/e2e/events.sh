#!/usr/bin/env bash
# Self-heal from the engine's events across a gap in the event stream. The
# daemon reaches the engine through a socket proxy of its own and polls only
# every 300 s. First, a stopped container is healed from its die event. Then
# the proxy goes away (the stream breaks; the events thread waits to
# reconnect), a managed container is stopped meanwhile, and the proxy comes
# back: the new stream resumes from the last event seen (the Engine API's
# since=), so the die event of the gap is seen and the container healed long
# before the next poll, once.
#
# Needs tests/env/up.sh. Run: TIERS=e2e E2E=events tests/run.sh, or bash tests/e2e/events.sh
set -uo pipefail

# shellcheck source=daemon-lib.sh
. "$(dirname "$0")/daemon-lib.sh"

P=${EVENTS_PROJECT:-rt-events} # another rt-* name runs a second copy beside
dl_setup "$P"
dl_repo_init || {
	fail "setup: git repositories"
	exit 1
}
DL_MANIFEST=manifests/events.yaml
mkdir -p "$DL_WORK/manifests"
cat >"$DL_WORK/$DL_MANIFEST" <<EOF
version: 1
project: $P
services:
  web:
    image: $IMG_WEB_V1
    restart: "no"
    update: {min_ready: 1s}
EOF
rev=$(dl_commit_push "events: web")
proxy=$E2E_TMP/proxy
if ! dl_proxy_start "$proxy"; then
	fail "setup: the daemon's socket proxy did not come up"
	exit 1
fi
# shellcheck disable=SC2034 # read by dl_daemon_args
DL_POLL=300s
dl_daemon_args
check "the daemon starts, through its own proxy, with a 300 s poll" \
	dl_daemon_start "${DL_ARGS[@]}" --docker-host "$DL_PROXY_HOST"
check "it converges on its first cycle" dl_wait_head 120 "$rev" "in-sync converged"
following() { dl_log_since 0 | grep -q "events.*following the engine's events"; }
check "the events thread follows the engine" rt_wait 30 following

running() { [ "$(e2e_state "$P-web")" = running ]; }
exited() { [ "$(e2e_state "$P-web")" = exited ]; }
# heal NAME MARK: web runs again, started by a cycle an engine event began
heal() {
	local name=$1 mark=$2
	check "$name: the container is healed long before the next poll" rt_wait 60 running
	check "$name: from its die event" grep -q 'event service=web die' <(dl_log_since "$mark")
}

# ---------------------------------------------------------------- stream up
mark=$(dl_log_mark)
docker stop "$P-web" >/dev/null
heal "stopped while the stream is open" "$mark"

# ---------------------------------------------------------------- the gap
# wait for the first cycle's healing to settle: a stop during it would be
# taken for the cycle's own doing
dl_wait_quiet 3 60 || true
mark=$(dl_log_mark)
"$E2E_TOP/tests/env/proxy-down.sh" "$proxy" >/dev/null 2>&1
broken() { dl_log_since "$mark" | grep -qE 'events.*(stream: |engine unreachable)'; }
check "the gap: the stream breaks when the proxy goes" rt_wait 30 broken
docker stop "$P-web" >/dev/null
check "the gap: web stopped meanwhile" rt_wait 30 exited
sleep 2
check "the gap: the proxy comes back" dl_proxy_start "$proxy"
resumed() { dl_log_since "$mark" | grep -q "following the engine's events (since [0-9]*\.[0-9]\{9\})"; }
check "the gap: the new stream resumes from the last event seen" rt_wait 60 resumed
heal "the gap" "$mark"
sleep 12 # two more streams: the replayed die must not count again
n=$(dl_log_since "$mark" | grep -c 'event service=web die')
check "the gap: its die event is seen once ($n)" test "$n" -eq 1
check "no line of the stream was skipped" \
	test -z "$(dl_log_since 0 | grep 'skipped a line')"
dl_daemon_stop 60
if [ "${DL_DAEMON_RC:-x}" = 0 ]; then
	ok "the daemon exits 0 on SIGTERM (in a sanitizer build: no leak)"
else
	fail "the daemon exits 0 on SIGTERM (exit ${DL_DAEMON_RC:-?})"
	grep -E 'ERROR|SUMMARY|#[0-9]+ ' "$DL_LOG" | head -30 | sed 's/^/#   /'
fi

#!/usr/bin/env bash
# A full disk under the state directory, on the real engine: the journal
# cannot record anything, and the daemon says so once (a log line, a counter
# in /metrics, the status) instead of failing silently; a broken image for a
# stop-first service (a host port: each try stops the live container) is
# tried once, not once per cycle, because a failure the journal could not
# record is held in memory as quarantined; `sync --retry` tries it again;
# once there is room, the held failure is written and outlives a restart.
#
# The state directory is a small tmpfs mounted for the test (root only: the
# test is skipped otherwise) with the bare clone linked outside it, so that
# Git still fetches the broken commit. Needs tests/env/up.sh.
set -uo pipefail

# shellcheck source=daemon-lib.sh
. "$(dirname "$0")/daemon-lib.sh"

P=rt-jfull
dl_setup "$P"
dl_repo_init || {
	fail "setup: git repositories"
	exit 1
}
DL_MANIFEST=manifests/jfull.yaml
mf=$DL_WORK/$DL_MANIFEST
mkdir -p "$(dirname "$mf")"
port=$(e2e_free_port)
S=$DL_STATE

manifest() { # IMAGE
	cat >"$mf" <<EOT
# $P: written by tests/e2e/journalfull.sh
version: 1
project: $P
services:
  web:
    image: $1
    ports:
      - "127.0.0.1:$port:8080"
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      timeout: 5s
      retries: 3
EOT
}

sock=$S/reconcilerd.sock
api() { curl -s --max-time 10 --unix-socket "$sock" "$@"; }
# st EXPR: a Python expression over the daemon's live status (/v1/status);
# status.json cannot be written while the disk is full.
st() {
	api http://r/v1/status | "$E2E_PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
v = eval(sys.argv[1], {"d": d})
print(v if isinstance(v, str) else json.dumps(v))' "$1" 2>/dev/null
}
_st_true() { [ "$(st "bool($1)")" = true ]; }
wait_st() { rt_wait "$1" _st_true "$2"; }
# wait_cycles N TIMEOUT: N cycles end (the live status's "cycle" changes N times)
wait_cycles() {
	local n=$1 deadline=$((SECONDS + $2)) last cur seen=0
	last=$(st 'd.get("cycle", 0)')
	while [ "$seen" -lt "$n" ] && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.2
		cur=$(st 'd.get("cycle", 0)')
		if [ -n "$cur" ] && [ "$cur" != "$last" ]; then
			seen=$((seen + 1))
			last=$cur
		fi
	done
	[ "$seen" -ge "$n" ]
}
metric() {
	api http://r/metrics | awk -v m="$1" '$1 == m { print $2 }'
}
events_start() { dl_events_start --filter "label=io.reconciler.project=$P" --filter event=create; }
created() { printf '%s\n' "$DL_EVENTS" | awk '$2 == "create"' | wc -l | tr -d ' '; }
body() { curl -fsS -m 5 "http://127.0.0.1:$port/" 2>/dev/null; }

# ---------------------------------------------------------------- v1, then the tmpfs

manifest "$IMG_WEB_V1"
rev1=$(dl_commit_push "web: v1")
dl_daemon_args
check "the daemon starts" dl_daemon_start "${DL_ARGS[@]}"
if ! dl_wait_head 120 "$rev1" "in-sync converged"; then
	fail "v1 converges"
	dl_diag
	exit 1
fi
ok "v1 converges"
dl_daemon_stop 60

jf_cleanup() {
	local rc=$?
	dl_daemon_stop 30
	if mountpoint -q "$S"; then
		umount "$S" || umount -l "$S"
	fi
	(exit "$rc")
	dl_cleanup
}
trap jf_cleanup EXIT
mv "$S" "$S.disk" && mkdir -m 0700 "$S"
if ! mount -t tmpfs -o size=4m,mode=0700 "$P-state" "$S" 2>"$E2E_TMP/mount.err"; then
	echo "ok - $_t_name: skipped, cannot mount a tmpfs ($(cat "$E2E_TMP/mount.err")) # SKIP"
	exit 0
fi
cp -a "$S.disk/." "$S/" && rm -rf "$S/repo.git" && ln -s "$S.disk/repo.git" "$S/repo.git"
check "the daemon starts on a 4 MiB tmpfs" dl_daemon_start "${DL_ARGS[@]}"
wait_st 60 "d.get('head') == '$rev1' and d.get('state') == 'in-sync'" ||
	fail "in sync on the tmpfs"
before=$(e2e_cid "$P-web")

# ---------------------------------------------------------------- the disk fills

full_mark=$(dl_log_mark)
dd if=/dev/zero of="$S/filler" bs=64k >/dev/null 2>&1
sync
echo "# the state dir: $(df -h --output=avail "$S" | tail -n 1 | tr -d ' ') left"
# an in-sync cycle writes nothing to the journal (a revision's status only
# when it changes): the first write is the new revision's
events_start
manifest "$IMG_EXITS"
rev2=$(dl_commit_push "web: an image that exits at once")
if wait_st 60 "d.get('journal', {}).get('error')"; then
	ok "status: the journal's write error is shown"
else
	fail "status: the journal's write error is shown"
fi
echo "#   $(st 'd.get("journal")')"
logged() { dl_log_since "$1" | grep -q "$2"; }
check "the log says the journal cannot be written" rt_wait 30 logged "$full_mark" "journal.*disk is full"
n=$(metric reconciler_journal_write_errors_total)
check "/metrics counts the failed journal writes (${n:-absent})" test "${n:-0}" -gt 0

if wait_st 120 "d.get('head') == '$rev2' and d.get('state') == 'degraded' and d.get('quarantined')"; then
	ok "the broken bump fails and is held (degraded at ${rev2:0:12})"
else
	fail "the broken bump fails and is held"
	echo "#   $(st 'd')"
fi
wait_cycles 6 60 || fail "six more cycles end within 60 s"
dl_events_stop
n=$(created)
is "one attempt, not one per cycle ($n containers created in 6+ cycles)" "$n" 1
is "the old web container serves again" "$(e2e_cid "$P-web")" "$before"
is "and answers" "$(body)" "web v1"
out=$(st 'd["quarantined"][0]["reason"]')
expect_contains "status: the held failure says it is held in memory" "not recorded"
lines=$(dl_log_since "$full_mark" | grep -c 'journal.*disk is full')
is "the journal's error is logged once, not every cycle" "$lines" 1
out=$(e2e_ctl status -f "$mf" 2>&1)
expect_contains "reconcilerctl status shows the journal's error" "journal"

# ---------------------------------------------------------------- sync --retry

events_start
expect_exit "sync --retry while the disk is full" 0 "$RECONCILERCTL" sync --retry --state-dir "$S"
_creates_at_least() { [ "$(grep -c '|create|' "$DL_EVENTS_FILE")" -ge "$1" ]; }
rt_wait 60 _creates_at_least 1
wait_cycles 4 60
dl_events_stop
is "sync --retry tries the held revision once more" "$(created)" 1

lines=$(dl_log_since "$full_mark" | grep -c 'journal.*disk is full')
is "still logged once, after the retry too" "$lines" 1

# ---------------------------------------------------------------- room again

mark=$(dl_log_mark)
rm -f "$S/filler"
if wait_st 60 "not d.get('journal', {}).get('error') and d.get('quarantined')"; then
	ok "with room again the journal recovers"
else
	fail "with room again the journal recovers"
	echo "#   $(st 'd')"
fi
check "the log says the journal is written again" rt_wait 30 logged "$mark" "journal.*written again"
out=$(st 'd["quarantined"][0]["reason"]')
expect_not_contains "the held failure is now recorded" "not recorded"
dl_daemon_stop 60
events_start
check "the daemon restarts" dl_daemon_start "${DL_ARGS[@]}"
wait_st 60 "d.get('head') == '$rev2' and d.get('state') == 'degraded'" ||
	fail "after a restart: degraded at the broken revision"
wait_cycles 3 60
dl_events_stop
is "after a restart the recorded failure still holds (no container created)" "$(created)" 0
dl_daemon_stop 60

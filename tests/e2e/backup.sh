#!/usr/bin/env bash
# Backups against the real engine: a dump streamed out of a running container
# through reconcilerd, checked, wiped and restored byte for byte; a failing
# command, a missing container, a missing or full destination (tmpfs) leave
# no file and a journal row; retention deletes only this backup's old dumps;
# a missed schedule is caught up once after a restart; a failed
# backup_before_deploy blocks its service's rollout while the old container
# keeps serving and other services roll out; a reload during a run, `backup
# run --wait` against runs that follow or are dropped, a time zone that does
# not load until tzdata comes.
. "$(dirname "$0")/daemon-lib.sh"

dl_setup rt-backup
dl_repo_init
DL_MANIFEST=manifests/backup.yaml
MF=$DL_WORK/$DL_MANIFEST
DEST=$E2E_TMP/dest
SMALL=$DEST/small
mkdir -p "$DL_WORK/manifests" "$DEST/db" "$DEST/fail" "$DEST/raw" "$DEST/slow" "$SMALL"
chmod 0700 "$DEST/db"

# a webhook receiver for the backup_* notifications
rec=$E2E_TMP/received.jsonl
dl_receiver_start "$rec"
port=$DL_RECEIVER_PORT
printf 'http://127.0.0.1:%s/hook\n' "$port" >"$E2E_SECRETS/hook_url"

bk_cleanup() {
	local rc=$?
	mountpoint -q "$SMALL" && umount "$SMALL"
	(exit "$rc")
	dl_cleanup
}
trap bk_cleanup EXIT

manifest() { # APP-ENV OTHER-ENV
	cat >"$MF" <<EOT
version: 1
project: rt-backup
services:
  db:
    image: $IMG_STATEFUL
    volumes: ["data:/data"]
  app:
    image: $IMG_SLEEPER
    environment: {V: "$1"}
    backup_before_deploy: db-fail
  app2:
    image: $IMG_SLEEPER
    environment: {V: "$1"}
    backup_before_deploy: db-tar
  other:
    image: $IMG_SLEEPER
    environment: {V: "$2"}
volumes:
  data:
backups:
  db-tar:
    service: db
    schedule: "0 3 * * *"
    timezone: Europe/Paris
    command: ["tar", "-C", "/data", "-cf", "-", "."]
    destination: $DEST/db
    retention: {keep_last: 2}
    restore: ["tar", "-C", "/data", "-xf", "-"]
  db-fail:
    service: db
    schedule: "0 4 * * *"
    command: 'echo "dump failed: disk on fire" >&2; exit 3'
    destination: $DEST/fail
  db-big:
    service: db
    schedule: "0 5 * * *"
    command: ["head", "-c", "3000000", "/dev/urandom"]
    compress: none
    destination: $SMALL
  db-raw:
    service: db
    schedule: "0 7 * * *"
    command: ["head", "-c", "8000000", "/dev/zero"]
    compress: none
    destination: $DEST/raw
    restore: ["true"]
  db-nodest:
    service: db
    schedule: "0 6 * * *"
    command: ["cat", "/data/boot.log"]
    destination: $DEST/not-there
  db-slow:
    service: db
    schedule: "0 7 1 1 *"
    command: 'while [ ! -e /data/.go ]; do sleep 0.2; done; rm -f /data/.go;
      if [ -e /data/.fail ]; then rm -f /data/.fail; echo "told to fail" >&2; exit 4; fi; echo slow'
    destination: $DEST/slow
notifications:
  ops:
    type: webhook
    url: {secret: hook_url}
    events: [backup_succeeded, backup_failed]
EOT
}

sock=$DL_STATE/reconcilerd.sock
api() { curl -s --max-time 10 --unix-socket "$sock" "$@"; }
# sql QUERY: one value from the journal
sql() { sqlite3 -cmd '.timeout 5000' "$DL_STATE/journal.db" "$1"; }
data_sum() {
	docker exec rt-backup-db sh -c 'cd /data && find . -type f | sort | xargs sha256sum'
}
own_dumps() { # DIR NAME: this backup's dumps with a sidecar
	local f n=0
	for f in "$1/$2"-2*Z.dump*; do
		case $f in *.sha256 | *.tmp) continue ;; esac
		[ -f "$f" ] && [ -f "$f.sha256" ] && n=$((n + 1))
	done
	echo "$n"
}
nothing_in() { [ -z "$(ls -A "$1")" ]; }
# Behind the socket proxy (RT_PROXY=1), exec stdin needs the engine's socket.
direct_ctl() { DOCKER_HOST="unix://$RT_DOCKER_SOCK" e2e_ctl "$@"; }

manifest one one
rev1=$(dl_commit_push "backup: v1")

# --- without a daemon: the container does not exist yet ---------------------
expect_exit "a backup of a service with no container fails" 1 \
	e2e_ctl backup -f "$MF" run db-tar
expect_contains "the error names the service and the fix" \
	"service 'db' of project 'rt-backup' has no running container: start it"
check "no file was written" nothing_in "$DEST/db"

dl_daemon_args
check "the daemon starts" dl_daemon_start "${DL_ARGS[@]}"
check "first deploy converges" dl_wait_head 120 "$rev1" "in-sync converged"

docker exec rt-backup-db sh -c 'mkdir -p /data/sub && head -c 300000 /dev/urandom >/data/sub/blob &&
	echo hello >/data/a.txt && ln -s a.txt /data/link'
before=$(data_sum)

# --- backup, verify, wipe, restore -------------------------------------------
expect_exit "backup run --wait through the daemon succeeds" 0 e2e_ctl backup run db-tar --wait
expect_contains "the run was handled by reconcilerd" "requested from reconcilerd"
dump=$(find "$DEST/db" -name 'db-tar-*Z.dump.gz' | head -n 1)
check "the dump is a gzip file named after the backup and the UTC time" \
	test -n "$dump" -a -s "$dump"
check "its sidecar is in sha256sum format and matches" \
	sh -c "cd '$DEST/db' && sha256sum -c --status '$(basename "$dump").sha256'"
check "the dump is a tar of /data" sh -c "gzip -dc '$dump' | tar -tf - | grep -q 'sub/blob'"
check "no temporary file is left" test -z "$(find "$DEST/db" -name '*.tmp')"
check "the journal has the run (ok, manual, size, file)" \
	test "$(sql "SELECT outcome||','||trigger||','||(size>0)||','||file FROM backups WHERE name='db-tar'")" = "ok,manual,1,$dump"
out=$(api http://r/metrics)
expect_contains "metrics count the good run" 'reconciler_backup_runs_total{name="db-tar",outcome="ok"} 1'
expect_contains "metrics give the last size" "reconciler_backup_last_size_bytes{name=\"db-tar\"} $(stat -c %s "$dump")"
expect_contains "metrics give the last success time" 'reconciler_backup_last_success_timestamp_seconds{name="db-tar"}'
expect_exit "backup list shows the dump" 0 e2e_ctl backup list db-tar
expect_contains "with its checksum state" "ok  $(basename "$dump")"
expect_exit "backup verify checks and decompresses it" 0 e2e_ctl backup verify db-tar "$(basename "$dump")"
expect_contains "verify reports the size" "checksum ok"

docker exec rt-backup-db sh -c 'rm -rf /data/* && echo intruder >/data/a.txt'
check "the data is wiped" test "$(data_sum)" != "$before"
expect_exit "restore refuses without --yes when stdin is not a terminal" 1 \
	e2e_ctl backup restore db-tar "$(basename "$dump")" </dev/null
expect_contains "and says why" "refusing to restore without --yes"
if [ -n "${E2E_DOCKER_HOST:-}" ]; then
	# Debian 12's HAProxy (2.4 to 3.0) drops the upgrade of a request with a
	# body, so exec stdin cannot pass the allow-list proxy: the restore must
	# say so rather than report success with nothing restored. The restore
	# itself then goes to the engine's own socket, as docs/engine-api.md says.
	expect_exit "behind the socket proxy, restore fails" 1 \
		e2e_ctl backup restore db-tar "$(basename "$dump")" --yes </dev/null
	expect_contains "and names the proxy and the upgrade it did not pass" \
		"did not pass the connection upgrade"
	expect_exit "restore --yes through the engine's socket streams the dump into the restore command" 0 \
		direct_ctl backup restore db-tar "$(basename "$dump")" --yes </dev/null
else
	expect_exit "restore --yes streams the dump into the restore command" 0 \
		e2e_ctl backup restore db-tar "$(basename "$dump")" --yes </dev/null
fi
after=$(data_sum)
if [ "$after" = "$before" ]; then
	ok "the restored data is byte for byte what was dumped"
else
	fail "the restored data differs"
	diff <(echo "$before") <(echo "$after") | sed 's/^/#   /'
fi

# a damaged dump is refused before anything runs
bad=$DEST/db/db-tar-20000101T000000Z.dump.gz
cp "$dump" "$bad"
sed "s/$(basename "$dump")/$(basename "$bad")/" "$dump.sha256" >"$bad.sha256"
printf 'X' | dd of="$bad" bs=1 seek=20 conv=notrunc 2>/dev/null
expect_exit "verify finds a damaged dump" 1 e2e_ctl backup verify db-tar "$bad"
expect_contains "and says it does not match" "does not match its checksum"
expect_exit "restore refuses a damaged dump" 1 e2e_ctl backup restore db-tar "$bad" --yes
rm -f "$bad" "$bad.sha256"

# a restore command that exits 0 without reading its input restored nothing:
# an uncompressed dump, like a gzip one, must be read to its end
expect_exit "backup run db-raw (uncompressed) succeeds" 0 e2e_ctl backup run db-raw --wait
raw=$(find "$DEST/raw" -name 'db-raw-*Z.dump' | head -n 1)
check "its dump is uncompressed, 8000000 bytes" test "$(stat -c %s "${raw:-/nonexistent}" 2>/dev/null)" = 8000000
expect_exit "a restore command that reads nothing fails the restore" 1 \
	direct_ctl backup restore db-raw "$(basename "${raw:-none}")" --yes </dev/null
expect_contains "and says it ended before the end of the dump" "ended before it read the whole dump"

# --- failures leave nothing behind, and are recorded -------------------------
expect_exit "a failing command fails the run" 1 e2e_ctl backup run db-fail --wait
expect_contains "with its exit status and stderr" "exited with status 3: dump failed: disk on fire"
check "no file is left for the failed run" nothing_in "$DEST/fail"
check "the journal has the failure" \
	test "$(sql "SELECT outcome FROM backups WHERE name='db-fail' ORDER BY id DESC LIMIT 1")" = failed
received() { # EVENT NAME TEXT: a notification of EVENT for backup NAME containing TEXT
	"$E2E_PYTHON" -c 'import json, sys
for line in open(sys.argv[1]):
    d = json.loads(json.loads(line)["body"])
    if d["event"] == sys.argv[2] and d["service"] == sys.argv[3] and sys.argv[4] in d["message"]:
        sys.exit(0)
sys.exit(1)' "$rec" "$@" 2>/dev/null
}
check "backup_succeeded was sent for the good run" rt_wait 30 received backup_succeeded db-tar "$dump"
check "backup_failed was sent with the error" rt_wait 30 received backup_failed db-fail "exited with status 3"
out=$(api http://r/metrics)
expect_contains "metrics count the failed run" 'reconciler_backup_runs_total{name="db-fail",outcome="failed"} 1'

expect_exit "a missing destination fails the run" 1 e2e_ctl backup run db-nodest --wait
expect_contains "naming the directory and the fix" "destination '$DEST/not-there' does not exist: create it"

mount -t tmpfs -o size=2m tmpfs "$SMALL"
expect_exit "a full destination fails the run (ENOSPC)" 1 e2e_ctl backup run db-big --wait
expect_contains "with the write error" "No space left on device"
check "no partial file is left on the full disk" nothing_in "$SMALL"
dd if=/dev/zero of="$SMALL/filler" bs=1k count=1500 2>/dev/null
expect_exit "below the free-space floor the run does not start" 1 e2e_ctl backup run db-big --wait
expect_contains "and says how much is free" "bytes free, less than"
check "only the operator's file is there" test "$(ls -A "$SMALL")" = filler
check "the journal has both failures" \
	test "$(sql "SELECT COUNT(*) FROM backups WHERE name='db-big' AND outcome='failed'")" = 2

# --- retention ----------------------------------------------------------------
for f in db-tar-20200101T000000Z.dump.gz db-tar-20200102T000000Z.dump.gz; do
	cp "$dump" "$DEST/db/$f"
	(cd "$DEST/db" && sha256sum "$f" >"$f.sha256")
done
echo notes >"$DEST/db/notes.txt"
cp "$dump" "$DEST/db/db-tar2-20200101T000000Z.dump.gz"
(cd "$DEST/db" && sha256sum db-tar2-20200101T000000Z.dump.gz >db-tar2-20200101T000000Z.dump.gz.sha256)
cp "$dump" "$DEST/db/db-tar-extra-20200101T000000Z.dump.gz"
cp "$dump" "$DEST/db/db-tar-20190101T000000Z.dump.gz" # no sidecar: not proven ours
expect_exit "a second run succeeds" 0 e2e_ctl backup run db-tar --wait
expect_exit "and a third right after it (names are to the second)" 0 e2e_ctl backup run db-tar --wait
check "keep_last 2: two dumps of db-tar are left" test "$(own_dumps "$DEST/db" db-tar)" = 2
check "the old dumps of db-tar went, with their sidecars" \
	test ! -e "$DEST/db/db-tar-20200101T000000Z.dump.gz" -a ! -e "$DEST/db/db-tar-20200102T000000Z.dump.gz.sha256"
check "an unrelated file survives" test -f "$DEST/db/notes.txt"
check "another backup's dump survives" test -f "$DEST/db/db-tar2-20200101T000000Z.dump.gz"
check "a file that only looks like one survives" test -f "$DEST/db/db-tar-extra-20200101T000000Z.dump.gz"
check "a dump without a sidecar survives" test -f "$DEST/db/db-tar-20190101T000000Z.dump.gz"

# --- a reload while a run is in the pool ---------------------------------------
# The run holds copies of what it reads of the config: the reload, which
# frees the old config, goes through, and the run ends well after it.
bk_field() { # NAME FIELD: a field of /v1/backups for backup NAME
	api http://r/v1/backups | "$E2E_PYTHON" -c 'import json, sys
d = {b["name"]: b for b in json.load(sys.stdin)["backups"]}
print(json.dumps(d[sys.argv[1]][sys.argv[2]]))' "$1" "$2" 2>/dev/null
}
slow_running() { [ "$(bk_field db-slow running)" = true ]; }
slow_ok() { [ "$(sql "SELECT outcome FROM backups WHERE name='db-slow' ORDER BY id DESC LIMIT 1")" = ok ]; }
expect_exit "a run that waits for a signal is requested" 0 e2e_ctl backup run db-slow
check "it is running" rt_wait 30 slow_running
check "SIGHUP while it runs reloads the config (not deferred)" dl_daemon_reload
check "the run was still under way at the reload" slow_running
docker exec rt-backup-db touch /data/.go
check "the run ends ok after the reload" rt_wait 60 slow_ok
check "its dump is there" test "$(own_dumps "$DEST/slow" db-slow)" = 1

# --- backup run --wait reports its own run, and stops when there is none ----
slow_pending() { [ "$(bk_field db-slow pending)" = true ]; }
slow_open() { sql "SELECT COUNT(*) FROM backups WHERE name='db-slow' AND ended IS NULL"; }
ctl_wait() { # OUT: backup run db-slow --wait in the background, bounded; sets wait_pid
	timeout 90 "$RECONCILERCTL" backup --state-dir "$E2E_STATE" --secrets-dir "$E2E_SECRETS" \
		run db-slow --wait >"$1" 2>&1 &
	wait_pid=$!
}
ctl_done() { ! kill -0 "$wait_pid" 2>/dev/null; }
docker exec rt-backup-db touch /data/.fail
ctl_wait "$E2E_TMP/wait1.out"
check "a run that will fail is running" rt_wait 30 slow_running
expect_exit "another run is queued right behind it" 0 e2e_ctl backup run db-slow
check "it waits its turn" rt_wait 30 slow_pending
docker exec rt-backup-db touch /data/.go
# the queued run starts at once and waits for its own signal: --wait must
# have reported the first run by then, not be waiting for the second
rt_wait 30 ctl_done || docker exec rt-backup-db touch /data/.go
wait "$wait_pid"
rc=$?
out=$(cat "$E2E_TMP/wait1.out")
check "--wait reports the run it asked for, not the one after it (exit $rc)" test "$rc" = 1
expect_contains "with that run's error" "told to fail"
check "the queued run is under way" rt_wait 30 slow_running
ctl_wait "$E2E_TMP/wait2.out"
check "a third run is queued" rt_wait 30 slow_pending
# the backup leaves the manifest while a run of it is queued
sed -i '/^  db-slow:$/,/^notifications:$/{/^notifications:$/!d}' "$MF"
rev_noslow=$(dl_commit_push "backup: without db-slow")
check "the manifest without db-slow is applied" dl_wait_head 60 "$rev_noslow" "in-sync converged"
check "--wait stops" rt_wait 30 ctl_done
wait "$wait_pid"
rc=$?
out=$(cat "$E2E_TMP/wait2.out")
check "--wait fails, not hangs, when the queued run was dropped (exit $rc)" test "$rc" = 1
expect_contains "and says why" "backup 'db-slow' is no longer in the manifest"
check "the journal has the dropped run as failed" \
	test "$(sql "SELECT outcome FROM backups WHERE name='db-slow' ORDER BY id DESC LIMIT 1")" = failed
docker exec rt-backup-db touch /data/.go
slow_closed() { [ "$(slow_open)" = 0 ]; }
check "the run under way at the change still ends" rt_wait 30 slow_closed
manifest one one
rev_back=$(dl_commit_push "backup: db-slow again")
check "db-slow is back" dl_wait_head 60 "$rev_back" "in-sync converged"

# --- a missed schedule is caught up once after a restart ---------------------
dl_daemon_stop 60
check "the daemon stops cleanly (exit $DL_DAEMON_RC)" test "$DL_DAEMON_RC" = 0
sql "UPDATE backups SET ended = ended - 3*86400, started = started - 3*86400 WHERE name='db-tar'"
runs=$(sql "SELECT COUNT(*) FROM backups WHERE name='db-tar'")
mark=$(dl_log_mark)
check "the daemon starts again" dl_daemon_start "${DL_ARGS[@]}"
caught() { [ "$(sql "SELECT COUNT(*) FROM backups WHERE name='db-tar' AND trigger='catch-up' AND outcome='ok'")" = 1 ]; }
if rt_wait 90 caught; then
	ok "the missed run is caught up"
else
	fail "the missed run is caught up"
	sql "SELECT id, name, trigger, outcome, error FROM backups ORDER BY id" | sed 's/^/#   /'
fi
check "the catch-up is logged" sh -c "tail -n +$((mark + 1)) '$DL_LOG' | grep -q 'name=db-tar missed its run'"
dl_wait_cycles 30 3 >/dev/null
check "and run once only" test "$(sql "SELECT COUNT(*) FROM backups WHERE name='db-tar'")" = $((runs + 1))
check "no other backup was caught up (they never succeeded)" \
	test "$(sql "SELECT COUNT(*) FROM backups WHERE trigger='catch-up'")" = 1
out=$(api http://r/v1/backups)
check "/v1/backups gives each backup's next run in its zone" \
	"$E2E_PYTHON" -c 'import json, sys; d = {b["name"]: b for b in json.loads(sys.argv[1])["backups"]}; b = d["db-tar"]; sys.exit(0 if b["timezone"] == "Europe/Paris" and b["next_run"] > 0 and b["last_success"] > 0 else 1)' "$out"

# --- backup_before_deploy ------------------------------------------------------
app_id=$(e2e_cid rt-backup-app)
app2_id=$(e2e_cid rt-backup-app2)
other_id=$(e2e_cid rt-backup-other)
manifest two two
rev2=$(dl_commit_push "backup: v2")
check "the revision ends degraded" dl_wait_head 120 "$rev2" degraded
check "app, whose backup failed, keeps its old container running" \
	test "$(e2e_cid rt-backup-app)" = "$app_id" -a "$(e2e_state rt-backup-app)" = running
out=$(dl_status '[q["service"] + ": " + q["reason"] for q in d["quarantined"]]')
expect_contains "app is reported blocked with the reason" \
	"app: backup 'db-fail' before deploy failed, old container kept: the command exited with status 3"
check "app2, whose backup succeeded, is rolled out" test "$(e2e_cid rt-backup-app2)" != "$app2_id"
check "other services proceed" test "$(e2e_cid rt-backup-other)" != "$other_id"
check "the journal has both backups before deploy" \
	test "$(sql "SELECT group_concat(name||':'||outcome, ' ') FROM (SELECT name, outcome FROM backups WHERE trigger='before-deploy' ORDER BY name)")" = "db-fail:failed db-tar:ok"
dl_wait_cycles 30 2 >/dev/null
check "the blocked service is not retried every poll" \
	test "$(sql "SELECT COUNT(*) FROM backups WHERE name='db-fail' AND trigger='before-deploy'")" = 1

# --- a zone that does not load (no tzdata) is reported and retried -----------
dl_daemon_stop 60
check "the daemon stops before the zone test (exit $DL_DAEMON_RC)" test "$DL_DAEMON_RC" = 0
zones=$E2E_TMP/zoneinfo
mkdir -p "$zones"
mark=$(dl_log_mark)
c0=$(dl_cycle)
tz_start() { TZDIR=$zones dl_daemon_start "$@"; }
check "the daemon starts with an empty TZDIR" tz_start "${DL_ARGS[@]}"
dl_wait_cycles 60 3 "$c0" >/dev/null
tar_unscheduled() {
	[ "$(bk_field db-tar timezone)" = null ] && [ "$(bk_field db-tar next_run)" = -1 ] &&
		bk_field db-tar error | grep -q "time zone 'Europe/Paris'.*tzdata"
}
check "/v1/backups gives no zone for db-tar, no next run, and the error" tar_unscheduled
check "a backup in UTC is scheduled all the same" test "$(bk_field db-fail error)" = null -a "$(bk_field db-fail next_run)" -gt 0
check "status.json's errors say db-tar is not scheduled" \
	test "$(dl_status 'any("backup \x27db-tar\x27 is not scheduled" in e and "tzdata" in e for e in d["errors"])')" = true
check "the services' state is not an error for it" test "$(dl_status 'd["state"]')" != error
check "the log says it once, not every cycle" \
	test "$(dl_log_since "$mark" | grep -c 'name=db-tar not scheduled')" = 1
mkdir -p "$zones/Europe"
cp /usr/share/zoneinfo/Europe/Paris "$zones/Europe/Paris"
tar_scheduled() {
	[ "$(bk_field db-tar timezone)" = '"Europe/Paris"' ] && [ "$(bk_field db-tar error)" = null ] &&
		[ "$(bk_field db-tar next_run)" -gt 0 ]
}
check "once the zone is there, a later cycle schedules db-tar" rt_wait 60 tar_scheduled
check "the log says so" sh -c "tail -n +$((mark + 1)) '$DL_LOG' | grep -q \"name=db-tar scheduled: its time zone 'Europe/Paris' loads now\""
dl_wait_cycles 30 2 >/dev/null
check "and the status's errors no longer name it" test "$(dl_status '[e for e in d["errors"] if "db-tar" in e] == []')" = true

dl_daemon_stop 60
check "the daemon stops cleanly at the end (exit $DL_DAEMON_RC)" test "$DL_DAEMON_RC" = 0
check "no sanitizer report in the daemon's log" sh -c "! grep -q 'Sanitizer\|runtime error' '$DL_LOG'"

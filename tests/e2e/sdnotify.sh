#!/usr/bin/env bash
# sd_notify: reconcilerd started as systemd would (NOTIFY_SOCKET, WATCHDOG_USEC)
# speaks the protocol to a local datagram receiver: READY=1 once it listens, a
# STATUS= line per cycle, WATCHDOG=1 pings, RELOADING=1 then READY=1 around
# SIGHUP, STOPPING=1 on SIGTERM; "converging …" and "degraded: …" lines. The
# abstract namespace works too, and a
# watchdog meant for another process (WATCHDOG_PID) is not answered.
. "$(dirname "$0")/daemon-lib.sh"

dl_setup rt-sdnotify
dl_repo_init
DL_MANIFEST=manifests/s.yaml
mkdir -p "$DL_WORK/manifests"
cat >"$DL_WORK/$DL_MANIFEST" <<EOT
version: 1
project: rt-sdnotify
services:
  app:
    image: $IMG_SLEEPER
    update: {min_ready: 1s}
EOT
rev=$(dl_commit_push "sdnotify: one service")

# receiver ADDRESS OUT PIDFILE: one JSON line per datagram in OUT
receiver() {
	"$E2E_PYTHON" - "$1" "$2" >/dev/null 2>&1 <<'PY' &
import json, socket, sys
addr, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
open(out, "a").close()
while True:
    data = s.recv(4096)
    with open(out, "a") as f:
        f.write(json.dumps(data.decode()) + "\n")
PY
	echo $! >"$3"
	rt_wait 20 test -e "$2"
}
rpids=()
stop_receivers() {
	local pf
	for pf in "${rpids[@]}"; do
		kill "$(cat "$pf")" 2>/dev/null
	done
}
# the receivers are no reconcilerd: stop them here, then the usual cleanup
trap 'stop_receivers; dl_cleanup' EXIT

# got OUT REGEX: some datagram has a line matching REGEX
got() {
	"$E2E_PYTHON" -c '
import json, re, sys
for l in open(sys.argv[1]):
    if any(re.fullmatch(sys.argv[2], x) for x in json.loads(l).split("\n")):
        sys.exit(0)
sys.exit(1)' "$1" "$2"
}
count() {
	"$E2E_PYTHON" -c '
import json, re, sys
print(sum(1 for l in open(sys.argv[1]) if any(re.fullmatch(sys.argv[2], x) for x in json.loads(l).split("\n"))))' "$1" "$2"
}
# order OUT REGEX… : the first datagram matching each REGEX comes in this order
order() {
	"$E2E_PYTHON" -c '
import json, re, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
last = -1
for rx in sys.argv[2:]:
    idx = [i for i, m in enumerate(msgs) if i > last and any(re.fullmatch(rx, x) for x in m.split("\n"))]
    if not idx:
        sys.exit(1)
    last = idx[0]' "$@"
}

# start_notified NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID (empty: unset)
start_notified() {
	NOTIFY_SOCKET=$1 WATCHDOG_USEC=$2 WATCHDOG_PID=$3 dl_daemon_start "${DL_ARGS[@]}"
}

# 1. A socket path, a watchdog of 400 ms (a ping every 200 ms).
out=$E2E_TMP/notify.jsonl
sock=$E2E_TMP/notify.sock
check "the receiver listens on a path" receiver "$sock" "$out" "$E2E_TMP/r1.pid"
rpids+=("$E2E_TMP/r1.pid")
dl_daemon_args
check "the daemon starts" start_notified "$sock" 400000 ""
check "READY=1 arrives" rt_wait 30 got "$out" 'READY=1'
check "the first cycle converges" dl_wait_head 90 "$rev" "in-sync converged"
check "STATUS= names the services being converged" got "$out" "STATUS=converging app to ${rev:0:12}"
check "STATUS= tells how the cycle ended" rt_wait 30 got "$out" "STATUS=(converged to|in sync at) ${rev:0:12}"
check "WATCHDOG=1 pings arrive" rt_wait 10 got "$out" 'WATCHDOG=1'
w1=$(count "$out" 'WATCHDOG=1')
sleep 1.5
w2=$(count "$out" 'WATCHDOG=1')
check "the watchdog keeps pinging ($w1 then $w2)" test "$w2" -gt "$w1"
check "the log says the watchdog interval" grep -q 'watchdog: a ping every 200ms' "$DL_LOG"
check "SIGHUP reloads" dl_daemon_reload
check "RELOADING=1 then READY=1 around the reload" rt_wait 10 order "$out" 'READY=1' 'RELOADING=1' 'READY=1'
check "RELOADING=1 carries MONOTONIC_USEC" got "$out" 'MONOTONIC_USEC=[0-9]+'
dl_daemon_stop 60
check "the daemon exits 0 on SIGTERM" test "$DL_DAEMON_RC" = 0
check "STOPPING=1 arrives" rt_wait 10 got "$out" 'STOPPING=1'
check "STOPPING=1 is the last word" "$E2E_PYTHON" -c '
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l) != "WATCHDOG=1"]
sys.exit(0 if "STOPPING=1" in msgs[-1].split("\n") else 1)' "$out"

# 2. The abstract namespace; a watchdog meant for another process is ignored.
out2=$E2E_TMP/notify2.jsonl
name=@rt-sdnotify-$$-$RANDOM
check "the receiver listens in the abstract namespace" receiver "$name" "$out2" "$E2E_TMP/r2.pid"
rpids+=("$E2E_TMP/r2.pid")
check "the daemon starts again" start_notified "$name" 200000 1
check "READY=1 arrives on the abstract socket" rt_wait 30 got "$out2" 'READY=1'
check "STATUS= says in sync" rt_wait 60 got "$out2" "STATUS=in sync at ${rev:0:12}"
sleep 1
check "no WATCHDOG=1 when WATCHDOG_PID is another process" test "$(count "$out2" 'WATCHDOG=1')" = 0
sed -i "s|image: .*|image: $IMG_EXITS|" "$DL_WORK/$DL_MANIFEST"
rev2=$(dl_commit_push "sdnotify: an image that exits")
check "a revision whose container exits is degraded" dl_wait_head 120 "$rev2" degraded
check "STATUS= says degraded, with the reason" rt_wait 30 got "$out2" "STATUS=degraded: ${rev2:0:12} failed on app: .+"
dl_daemon_stop 60
check "STOPPING=1 arrives on the abstract socket" rt_wait 10 got "$out2" 'STOPPING=1'

# 3. No NOTIFY_SOCKET: nothing changes. A bad one: a warning, and the daemon runs.
check "a bad NOTIFY_SOCKET does not stop the daemon" start_notified relative/path "" ""
check "a bad NOTIFY_SOCKET is named in the log" grep -q "NOTIFY_SOCKET 'relative/path'" "$DL_LOG"
dl_daemon_stop 60

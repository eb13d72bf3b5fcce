#!/usr/bin/env bash
# The TCP listener's process model (docs/process-model.md): reconcilerd runs
# it as a child that holds only its listening socket and a channel, under a
# seccomp filter, as an unprivileged user when started as root. Checked from
# /proc: the filter, the user, the descriptors (no engine socket, nothing of
# the state or secrets directories). A signed webhook still starts a cycle
# through it; a replayed delivery starts none. Hostile clients: a crowd of
# half-open connections from one peer leaves the control socket and other
# peers served. Killing the child (SIGSEGV) or freezing it (SIGSTOP) stops no
# deployment, and the listener is back within seconds.
. "$(dirname "$0")/daemon-lib.sh"
# A sanitizer build would catch the SIGSEGV sent below and report it as a
# crash of its own: let the signal kill, as it does in a release build.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0"

dl_setup rt-listener
dl_repo_init
DL_MANIFEST=manifests/lst.yaml
mkdir -p "$DL_WORK/manifests"
tmp=$E2E_TMP/lst
mkdir -p "$tmp"

manifest() { # IMAGE
	cat >"$DL_WORK/$DL_MANIFEST" <<EOT
version: 1
project: rt-listener
services:
  api:
    image: $1
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      timeout: 5s
      retries: 3
EOT
}

printf 'gh-%s\n' "$RANDOM$RANDOM" >"$tmp/github.secret"
chmod 600 "$tmp/github.secret"
gh_secret=$(cat "$tmp/github.secret")
port=$(e2e_free_port)
cfg=$E2E_TMP/reconciler.yaml
cat >"$cfg" <<EOF
repo: $DL_REPO_URL
branch: main
manifest: $DL_MANIFEST
# long: only the first cycle, webhooks and reconcilerctl sync start cycles
poll_interval: 1h
state_dir: $DL_STATE
secrets_dir: $E2E_SECRETS
listen: 127.0.0.1:$port
webhooks:
  github_secret_file: $tmp/github.secret
EOF

manifest "$IMG_WEB_V1"
rev1=$(dl_commit_push "lst: v1")
check "the daemon starts with a listener" dl_daemon_start -c "$cfg"
check "first deploy converges" dl_wait_head 90 "$rev1" "in-sync converged"

base=http://127.0.0.1:$port
sock=$DL_STATE/reconcilerd.sock
jtrue() {
	"$E2E_PYTHON" -c 'import json, sys; d = json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2], {"d": d}) else 1)' "$1" "$2" 2>/dev/null
}
code_of() { curl -s -o /dev/null -w '%{http_code}' --max-time "${2:-5}" "$1"; }
control_code() { curl -s -o /dev/null -w '%{http_code}' --max-time "${2:-5}" --unix-socket "$sock" "http://r$1"; }
# child_pid: the daemon's child called rcd-listener
child_pid() {
	local p
	for p in $(ps -o pid= --ppid "$DL_DAEMON_PID" 2>/dev/null); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = rcd-listener ] && { echo "$p"; return 0; }
	done
	return 1
}
# a child that serves: its seccomp filter is loaded and the listener answers
child_serving() { child=$(child_pid) && grep -q '^Seccomp:[[:space:]]*2' "/proc/$child/status" && test "$(code_of "$base/healthz" 2)" = 200; }
child_other_than() { local p; p=$(child_pid) && [ "$p" != "$1" ] && grep -q '^Seccomp:[[:space:]]*2' "/proc/$p/status"; }
metric() { # NAME [LABEL=VALUE…]: the sum of the matching samples (read on the control socket)
	curl -s --max-time 10 --unix-socket "$sock" http://r/metrics | "$E2E_PYTHON" -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
name, want = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
total = 0
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        if s.name in (name, name + "_total") and all(s.labels.get(k) == v for k, v in want.items()):
            total += s.value
print(int(total))' "$@"
}
hmac() {
	"$E2E_PYTHON" -c 'import hmac, hashlib, sys; print(hmac.new(sys.argv[1].encode(), open(sys.argv[2], "rb").read(), hashlib.sha256).hexdigest())' "$1" "$2"
}
gh_push() { # DELIVERY BODYFILE: a signed GitHub push; prints the status, answer in $tmp/out
	curl -s -o "$tmp/out" -w '%{http_code}' --max-time 20 -X POST --data-binary @"$2" \
		-H "Content-Type: application/json" -H "X-GitHub-Event: push" -H "X-GitHub-Delivery: $1" \
		-H "X-Hub-Signature-256: sha256=$(hmac "$gh_secret" "$2")" "$base/hooks/github"
}
push_body() { # FILE AFTER
	printf '{"ref": "refs/heads/main", "after": "%s", "repository": {"full_name": "e/x"}}\n' "$2" >"$1"
}
webhook_cycles() { dl_log_since "$1" | grep -c 'trigger=webhook'; }

# ---- the child, as /proc shows it
check "the listener child runs and serves" rt_wait 20 child_serving
child=$(child_pid)
echo "# listener child: pid ${child:-none}, parent $DL_DAEMON_PID"
check "it is a child of reconcilerd, re-executed (not the daemon's own process)" test -n "$child" -a "$child" != "$DL_DAEMON_PID"
check "its command line names it" grep -q 'reconcilerd: listener' "/proc/$child/cmdline"
st=/proc/$child/status
check "/proc/PID/status shows its seccomp filter (Seccomp: 2, filter mode)" grep -qE '^Seccomp:[[:space:]]+2$' "$st"
check "and no_new_privs" grep -qE '^NoNewPrivs:[[:space:]]+1$' "$st"
check "and no capability" grep -qE '^CapEff:[[:space:]]+0+$' "$st"
if [ "$(id -u)" = 0 ]; then
	uid=$(awk '/^Uid:/ { print $2 " " $3 " " $4 " " $5 }' "$st")
	check "started as root, it runs as another user (Uid: $uid)" test "${uid%% *}" != 0
	check "every uid is that user's (real, effective, saved, fs)" test "$(tr ' ' '\n' <<<"$uid" | sort -u | wc -l)" = 1
	check "it has no supplementary group" grep -qE '^Groups:[[:space:]]*$' "$st"
	check "its root directory is an empty one, not the host's" test "$(readlink "/proc/$child/root")" != /
else
	echo "ok - listener: the child's user # SKIP the tests do not run as root"
fi

# Its descriptors: the listening socket, the channel, the log, libuv's own
# (epoll, eventfd, pipes, /dev/null) and connections; nothing else. (Each
# check needs the child there: an empty list proves nothing.)
fds=$(for f in /proc/"$child"/fd/*; do readlink "$f"; done)
check "its descriptors can be read ($(wc -l <<<"$fds") of them)" test -n "$child" -a "$(wc -l <<<"$fds")" -ge 5
printf '%s\n' "$fds" | sed 's/^/#   fd: /'
check "it holds nothing under the state dir ($DL_STATE)" test -n "$child" -a -z "$(grep -F "$DL_STATE" <<<"$fds")"
check "nor under the secrets dir or the webhook secret's" test -n "$child" -a -z "$(grep -e "$E2E_SECRETS" -e "$tmp" <<<"$fds")"
unix_inodes=$(awk 'NR > 1 { print $7 }' /proc/net/unix | sort -u)
child_sockets=$(grep -o 'socket:\[[0-9]*\]' <<<"$fds" | tr -dc '0-9\n' | sort -u)
child_unix=$(comm -12 <(printf '%s\n' "$child_sockets") <(printf '%s\n' "$unix_inodes"))
channel=$(readlink "/proc/$child/fd/4" | tr -dc '0-9')
check "its only unix socket is the channel (fd 4; no engine socket, no other): $(tr '\n' ' ' <<<"$child_unix")" \
	test -n "$channel" -a "$child_unix" = "$channel"
listen_inode=$(readlink "/proc/$child/fd/3" | tr -dc '0-9')
hexport=$(printf '%04X' "$port")
# shellcheck disable=SC2016 # an awk program
check "fd 3 is the listening socket on port $port" awk -v ino="$listen_inode" -v p=":$hexport" \
	'$10 == ino && $4 == "0A" && $2 ~ p "$" { f = 1 } END { exit !f }' /proc/net/tcp /proc/net/tcp6
# the same look at the parent finds what the child must not have: the check sees such things
pfds=$(for f in /proc/"$DL_DAEMON_PID"/fd/*; do readlink "$f"; done)
check "(the parent, for comparison, holds the state dir's files)" grep -qF "$DL_STATE" <<<"$pfds"
check "(the log says which user the child runs as)" grep -q 'listener child started: pid' "$DL_LOG"

# ---- a signed push goes through the child and starts a cycle; a replay does not
manifest "$IMG_WEB_V2"
rev2=$(dl_commit_push "lst: v2")
push_body "$tmp/push2.json" "$rev2"
dl_wait_quiet 2 30
delivery=$("$E2E_PYTHON" -c 'import uuid; print(uuid.uuid4())')
mark=$(dl_log_mark)
code=$(gh_push "$delivery" "$tmp/push2.json")
check "a signed push through the child is 202 ($code)" test "$code" = 202
check "and schedules a sync" jtrue "$(cat "$tmp/out")" 'd["outcome"] == "sync"'
check "the push is applied" dl_wait_head 120 "$rev2" "in-sync converged"
check "by a webhook cycle" test "$(webhook_cycles "$mark")" = 1
dl_wait_quiet 2 30
mark=$(dl_log_mark)
cyc=$(dl_cycle)
code=$(gh_push "$delivery" "$tmp/push2.json")
check "the same delivery again is answered 200 ($code)" test "$code" = 200
check "as a replay, naming the delivery" jtrue "$(cat "$tmp/out")" 'd["outcome"] == "replayed" and "'"$delivery"'" in d["message"]'
code=$(gh_push "$delivery" "$tmp/push2.json")
check "and a third time too ($code)" test "$code" = 200
sleep 3
check "the replays started no cycle ($(webhook_cycles "$mark") webhook cycles, cycle $cyc -> $(dl_cycle))" \
	test "$(webhook_cycles "$mark")" = 0 -a "$(dl_cycle)" = "$cyc"
check "reconciler_webhooks_total counts them as replayed" test "$(metric reconciler_webhooks_total outcome=replayed)" = 2
code=$(gh_push "$("$E2E_PYTHON" -c 'import uuid; print(uuid.uuid4())')" "$tmp/push2.json")
check "a new delivery ID is a new trigger ($code)" test "$code" = 202

# ---- a crowd of half-open connections from one peer: the control socket and
# other peers are still served. The daemon gets 512 descriptors, fewer than
# the crowd; the crowd reconnects whenever a connection is closed.
check "the daemon's descriptors are capped at 512 for this test" prlimit --pid "$DL_DAEMON_PID" --nofile=512:512
"$E2E_PYTHON" - "$port" 700 "$tmp/crowd.ready" "$tmp/crowd.stop" >"$tmp/crowd.log" 2>&1 <<'PY' &
import os, selectors, socket, sys, time
port, want, ready, stop = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
sel = selectors.DefaultSelector()
socks = set()
opened = 0
def top_up():
    global opened
    while len(socks) < want:
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect_ex(("127.0.0.1", port))
        except OSError:
            s.close()
            return
        socks.add(s)
        sel.register(s, selectors.EVENT_WRITE | selectors.EVENT_READ)
        opened += 1
deadline = time.monotonic() + 60
while time.monotonic() < deadline and not os.path.exists(stop):
    top_up()
    for key, ev in sel.select(timeout=0.2):
        s = key.fileobj
        try:
            if ev & selectors.EVENT_READ and not s.recv(4096):
                raise OSError("closed")
            if ev & selectors.EVENT_WRITE:
                s.send(b"POST /hooks/github HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")
                sel.modify(s, selectors.EVENT_READ)
        except OSError:
            sel.unregister(s)
            s.close()
            socks.discard(s)
    if opened >= want and not os.path.exists(ready):
        open(ready, "w").close()
    time.sleep(0.05)  # a steady crowd, not a busy loop on a shared machine
print("opened", opened)
PY
crowd=$!
check "the crowd opened its connections" rt_wait 30 test -f "$tmp/crowd.ready"
sleep 1
failures=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
	c=$(control_code /healthz 5)
	[ "$c" = 200 ] || failures=$((failures + 1))
	sleep 0.3
done
check "the control socket answers throughout ($failures of 10 failed)" test "$failures" = 0
expect_exit "reconcilerctl status works meanwhile" 0 "$RECONCILERCTL" status --state-dir "$DL_STATE"
c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --interface 127.0.0.2 "$base/healthz")
check "another peer (127.0.0.2) is served on the listener meanwhile ($c)" test "$c" = 200
c=$(control_code /readyz 5)
check "/readyz on the control socket stays 200 ($c)" test "$c" = 200
touch "$tmp/crowd.stop"
wait "$crowd"
echo "# crowd: $(cat "$tmp/crowd.log")"
check "the log says the peer was over its limit" grep -q 'too many connections from one peer' "$DL_LOG"
check "the listener serves the crowd's address again afterwards" rt_wait 15 test "$(code_of "$base/healthz" 2)" = 200

# ---- SIGSEGV in the child: it is restarted, the reason logged, the control
# socket never stops answering, and deployments go on
old=$(child_pid)
mark=$(dl_log_mark)
"$E2E_PYTHON" - "$sock" "$tmp/probe.out" "$tmp/probe.stop" <<'PY' &
import os, socket, sys, time
path, out, stop = sys.argv[1:4]
ok = bad = 0
deadline = time.monotonic() + 60
while time.monotonic() < deadline and not os.path.exists(stop):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        s.connect(path)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: r\r\n\r\n")
        data = s.recv(64)
        s.close()
        if data.startswith(b"HTTP/1.1 200"):
            ok += 1
        else:
            bad += 1
    except OSError:
        bad += 1
    time.sleep(0.05)
open(out, "w").write("%d %d\n" % (ok, bad))
PY
probe=$!
sleep 0.5
check "kill -SEGV the listener child ($old)" kill -SEGV "$old"
check "a new child serves within seconds" rt_wait 15 child_other_than "$old"
check "and the listener answers again" rt_wait 15 child_serving
check "the log says why the old one died" rt_wait 5 sh -c "tail -n +$((mark + 1)) '$DL_LOG' | grep -q 'pid $old) was killed by SIGSEGV'"
touch "$tmp/probe.stop"
wait "$probe"
read -r probe_ok probe_bad <"$tmp/probe.out"
check "the control socket answered throughout ($probe_ok answers, $probe_bad failures)" test "$probe_bad" = 0 -a "$probe_ok" -gt 5
check "reconciler_listener_restarts_total counts it" test "$(metric reconciler_listener_restarts_total)" -ge 1
check "the daemon itself still runs" dl_daemon_alive

# a frozen child holds up nothing either: a new commit is deployed meanwhile
child=$(child_pid)
check "SIGSTOP the listener child ($child)" kill -STOP "$child"
manifest "$IMG_WEB_V1"
rev3=$(dl_commit_push "lst: back to v1")
expect_exit "reconcilerctl sync (the control socket) answers while the child is frozen" 0 \
	"$RECONCILERCTL" sync --state-dir "$DL_STATE"
check "and the new commit converges" dl_wait_head 120 "$rev3" "in-sync converged"
check "SIGCONT it" kill -CONT "$child"
check "the listener answers again" rt_wait 15 child_serving

# after the restart, webhooks still work (the new child got the secret)
manifest "$IMG_WEB_V2"
rev4=$(dl_commit_push "lst: v2 again")
push_body "$tmp/push4.json" "$rev4"
code=$(gh_push "$("$E2E_PYTHON" -c 'import uuid; print(uuid.uuid4())')" "$tmp/push4.json")
check "a signed push to the restarted child is 202 ($code)" test "$code" = 202
check "and is applied" dl_wait_head 120 "$rev4" "in-sync converged"
code=$(gh_push "$delivery" "$tmp/push4.json")
check "the first delivery ID is still known after the child's restart ($code)" test "$code" = 200

# ---- the daemon stops cleanly, and its child with it
child=$(child_pid)
dl_daemon_stop 60
check "SIGTERM exits 0" test "$DL_DAEMON_RC" = 0
child_gone() { [ -n "$1" ] && rt_pid_gone "$1"; }
check "the listener child ($child) is gone too" rt_wait 10 child_gone "$child"
check "no sanitizer report in the daemon's log" sh -c "! grep -qE 'Sanitizer|runtime error' '$DL_LOG'"

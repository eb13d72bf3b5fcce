#!/usr/bin/env bash
# The operating surface of reconcilerd: the control socket (mode 0660, stale
# socket handled, size checks), /healthz, /readyz, /metrics (parsed by a real
# Prometheus text parser), /v1/status, /v1/sync, /v1/history, and proof that
# the loop answers a status request while a rollout waits on its health gate.
. "$(dirname "$0")/daemon-lib.sh"

dl_setup rt-ctl
dl_repo_init
DL_MANIFEST=manifests/ctl.yaml
mkdir -p "$DL_WORK/manifests"

manifest() { # IMAGE HEALTH-TEST
	cat >"$DL_WORK/$DL_MANIFEST" <<EOT
version: 1
project: rt-ctl
services:
  api:
    image: $1
    healthcheck:
      test: $2
      interval: 1s
      timeout: 15s
      retries: 3
EOT
}

quick='["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]'
manifest "$IMG_WEB_V1" "$quick"
rev1=$(dl_commit_push "ctl: v1")
dl_daemon_args
check "the daemon starts" dl_daemon_start "${DL_ARGS[@]}"
check "first deploy converges" dl_wait_head 90 "$rev1" "in-sync converged"

sock=$DL_STATE/reconcilerd.sock
# jtrue JSON EXPR: a Python boolean expression over the JSON text `d`.
jtrue() {
	"$E2E_PYTHON" -c 'import json, sys; d = json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2], {"d": d}) else 1)' "$1" "$2" 2>/dev/null
}
api() { curl -s --max-time 10 --unix-socket "$sock" "$@"; }
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 15 --unix-socket "$sock" "$@"; }

check "the control socket exists" test -S "$sock"
check "the control socket is mode 0660" test "$(stat -c %a "$sock")" = 660
check "/healthz answers 200" test "$(code http://r/healthz)" = 200
check "/readyz answers 200 after a good cycle" test "$(code http://r/readyz)" = 200
out=$(api http://r/v1/status)
check "/v1/status gives the daemon's state" jtrue "$out" 'd["state"] in ("in-sync", "converged") and d["head"] == "'"$rev1"'" and d["daemon"]["pid"] > 0'
out=$(api http://r/v1/history)
check "/v1/history lists the first rollout" jtrue "$out" 'd[-1]["actions"][0]["service"] == "api"'
check "an unknown path is 404" test "$(code http://r/nope)" = 404
check "a wrong method is 405" test "$(code -X DELETE http://r/v1/status)" = 405
check "a body over 1 MiB is refused with 413" test "$(head -c 1100000 /dev/zero | code -X POST --data-binary @- http://r/v1/sync)" = 413
check "a chunked body is refused" test "$(echo x | code -X POST -H 'Transfer-Encoding: chunked' --data-binary @- http://r/v1/sync)" = 501

# A slow client: half a request, then silence. The daemon answers 408 after
# its read timeout and keeps serving others meanwhile.
slow=$("$E2E_PYTHON" - "$sock" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n")
s.settimeout(30)
data = b""
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    pass
print(data.split(b"\r\n")[0].decode() if data else "closed")
PY
)
check "a slow client is cut off with 408 ($slow)" test "$slow" = "HTTP/1.1 408 Request Timeout"

# /metrics, parsed by python3-prometheus-client's own parser.
metrics() {
	api http://r/metrics | "$E2E_PYTHON" -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(sys.stdin.read())}
want = sys.argv[1]
name, _, label = want.partition("@")
total = 0
for s in fams[name].samples:
    if label and label not in s.labels.values():
        continue
    if s.name in (name, name + "_total"):
        total += s.value
print(int(total))' "$1"
}
ok_before=$(metrics "reconciler_rollouts@ok")
check "/metrics parses and counts the first rollout ($ok_before)" test "$ok_before" -ge 1
check "/metrics has build info" test "$(metrics reconciler_build_info)" = 1

# reconcilerctl talks to the socket.
expect_exit "reconcilerctl sync --wait through the socket" 0 "$RECONCILERCTL" sync --wait --state-dir "$DL_STATE"
expect_contains "sync said it asked the daemon" "sync requested from reconcilerd"
expect_exit "reconcilerctl status with a daemon" 0 "$RECONCILERCTL" status -f "$DL_WORK/$DL_MANIFEST" --state-dir "$DL_STATE"
expect_not_contains "status shows the live daemon" "no reconcilerd answers"
expect_exit "reconcilerctl history through the socket" 0 "$RECONCILERCTL" history --state-dir "$DL_STATE" --json

# A status request while a rollout waits on a slow health gate (about 6 s per
# check): it must be answered before the rollout ends.
manifest "$IMG_WEB_V2" '["CMD-SHELL", "sleep 6 && wget -q -O /dev/null http://127.0.0.1:8080/health"]'
mark=$(dl_log_mark)
rev2=$(dl_commit_push "ctl: v2 behind a slow gate")
gating() { dl_log_since "$mark" | grep -q 'service=api waiting for the health gate'; }
check "the rollout reaches its health gate" rt_wait 90 gating
t0=$(date +%s%N)
out=$(api http://r/v1/status)
t1=$(date +%s%N)
echo "# status answered in $(( (t1 - t0) / 1000000 )) ms during the health wait"
check "status answers while the rollout is in progress" jtrue "$out" 'd["daemon"]["busy"] is True'
check "and the rollout had not ended when it answered" test "$(dl_log_since "$mark" | grep -c 'service=api outcome=')" -eq 0
check "the rollout then completes" dl_wait_head 120 "$rev2" "in-sync converged"
check "the new version serves" test "$(docker exec rt-ctl-api wget -qO- http://127.0.0.1:8080/)" = "web v2"
ok_after=$(metrics "reconciler_rollouts@ok")
check "/metrics counted the rollout ($ok_before -> $ok_after)" test "$ok_after" -gt "$ok_before"

# SIGTERM: the socket and the pid file go with the daemon; a stale socket
# file left by a killed daemon does not stop the next one.
dl_daemon_stop 60
check "SIGTERM exits 0" test "$DL_DAEMON_RC" = 0
check "the socket is removed on exit" test ! -e "$sock"
check "the pid file is removed on exit" test ! -e "$DL_STATE/reconcilerd.pid"
"$E2E_PYTHON" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$sock"
check "a stale socket file is there" test -S "$sock"
check "the daemon starts over a stale socket" dl_daemon_start "${DL_ARGS[@]}"
check "and answers on it" test "$(code http://r/healthz)" = 200
dl_daemon_stop 60

# Self-heal from the engine's events: with a poll interval far beyond the test,
# a removed container comes back within seconds.
cat >"$DL_WORK/$DL_MANIFEST" <<EOT
version: 1
project: rt-ctl
services:
  api:
    image: $IMG_WEB_V1
    healthcheck:
      test: $quick
      interval: 1s
      retries: 3
  crash:
    image: $IMG_SLEEPER
    command: ["sh", "-c", "sleep 4; exit 1"]
    restart: "no"
    update: {min_ready: 1s}
EOT
rev3=$(dl_commit_push "ctl: a service that dies every few seconds")
# shellcheck disable=SC2034 # read by dl_daemon_args
DL_POLL=300s
dl_daemon_args
mark=$(dl_log_mark)
check "the daemon starts with a 300 s poll" dl_daemon_start "${DL_ARGS[@]}"
check "it converges on its first cycle" dl_wait_status 120 'd.get("head") == "'"$rev3"'"'
old=$(docker inspect -f '{{.Id}}' rt-ctl-api)
docker rm -f rt-ctl-api >/dev/null
healed() { docker inspect -f '{{.State.Health.Status}}' rt-ctl-api 2>/dev/null | grep -qx healthy; }
check "a removed container is healed long before the next poll" rt_wait 60 healed
check "by a cycle the engine's event triggered" grep -qE 'trigger=(event|retrigger)' <(dl_log_since "$mark")
check "it is a new container" test "$(docker inspect -f '{{.Id}}' rt-ctl-api)" != "$old"

# A container that keeps dying is healed a few times, then left alone and
# reported, until a retry.
flapping() { dl_status 'd.get("message") or ""' | grep -q 'failed on crash: flapping'; }
check "a service that keeps dying is reported as flapping" rt_wait 150 flapping
n1=$(dl_log_since "$mark" | grep -c 'service=crash action=start')
sleep 12
n2=$(dl_log_since "$mark" | grep -c 'service=crash action=start')
check "and is no longer healed ($n1 -> $n2 starts)" test "$n2" -eq "$n1"
check "the status says why" test -n "$(dl_status 'd["message"]')"
dl_daemon_stop 60

# A token in an https repository URL (as its user) is shown nowhere: not in
# status.json, /v1/status, the status page nor the log. (A user:password URL
# is refused by the config check; tests/cli/config-example.sh.) The remote
# does not answer: the cycle fails, and says so without the token.
DL_STATE=$E2E_TMP/state-redact
token=tok-$RANDOM$RANDOM
closed=$(e2e_free_port)
mark=$(dl_log_mark)
check "a daemon starts on an https URL with a token" dl_daemon_start --repo "https://$token@127.0.0.1:$closed/infra.git" \
	--branch main --manifest "$DL_MANIFEST" --state-dir "$DL_STATE" --secrets-dir "$E2E_SECRETS" --poll 300s
check "its first cycle fails on Git" dl_wait_status 60 'd.get("state") == "error"'
check "status.json names the repository without the token" \
	test "$(dl_status 'd["repo"]')" = "https://127.0.0.1:$closed/infra.git"
check "the Git error is there" test -n "$(dl_status 'd["errors"][0]')"
sock=$DL_STATE/reconcilerd.sock
check "no token in status.json" test -z "$(grep -F "$token" "$DL_STATE/status.json")"
check "no token in /v1/status" test -z "$(api http://r/v1/status | grep -F "$token")"
check "no token on the status page" test -z "$(api http://r/ | grep -F "$token")"
check "no token in the log" test -z "$(dl_log_since "$mark" | grep -F "$token")"
dl_daemon_stop 60

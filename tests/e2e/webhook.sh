#!/usr/bin/env bash
# Webhooks on reconcilerd's TCP listener, with real sockets: GitHub, Gitea and
# generic hooks trigger a sync only when signed (HMAC-SHA256 of the body) or
# carrying the token; pings, other branches and other events change nothing;
# bad content types, oversized bodies, slow and greedy clients are refused
# while others are served. A payload is only a trigger: the branch head in Git
# is what gets applied. Also GET /v1/diff (socket and listener, and
# `reconcilerctl diff` through it) and /metrics parsed by prometheus_client.
. "$(dirname "$0")/daemon-lib.sh"

dl_setup rt-webhook
dl_repo_init
DL_MANIFEST=manifests/hook.yaml
mkdir -p "$DL_WORK/manifests"
tmp=$E2E_TMP/hook
mkdir -p "$tmp"

manifest() { # IMAGE
	cat >"$DL_WORK/$DL_MANIFEST" <<EOT
version: 1
project: rt-webhook
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

# Secrets, each in its own file; a trailing newline is not part of them.
printf 'gh-s3cret-%s\n' "$RANDOM$RANDOM" >"$tmp/github.secret"
printf 'gitea-s3cret-%s' "$RANDOM$RANDOM" >"$tmp/gitea.secret"
printf 'tok-%s\n' "$RANDOM$RANDOM" >"$tmp/generic.token"
chmod 600 "$tmp"/*.secret "$tmp/generic.token"
gh_secret=$(cat "$tmp/github.secret")
gitea_secret=$(cat "$tmp/gitea.secret")
token=$(cat "$tmp/generic.token")

port=$(e2e_free_port)
cfg=$E2E_TMP/reconciler.yaml
write_config() { # [no-generic]
	cat >"$cfg" <<EOF
repo: $DL_REPO_URL
branch: main
manifest: $DL_MANIFEST
# long: in this test only the first cycle and webhooks start cycles
poll_interval: 1h
state_dir: $DL_STATE
secrets_dir: $E2E_SECRETS
listen: 127.0.0.1:$port
webhooks:
  github_secret_file: $tmp/github.secret
  gitea_secret_file: $tmp/gitea.secret
EOF
	[ "${1:-}" = no-generic ] || echo "  generic_token_file: $tmp/generic.token" >>"$cfg"
}
write_config

manifest "$IMG_WEB_V1"
rev1=$(dl_commit_push "hook: v1")
check "the daemon starts with a listener and webhooks" dl_daemon_start -c "$cfg"
check "first deploy converges" dl_wait_head 90 "$rev1" "in-sync converged"

base=http://127.0.0.1:$port
sock=$DL_STATE/reconcilerd.sock
jtrue() {
	"$E2E_PYTHON" -c 'import json, sys; d = json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2], {"d": d}) else 1)' "$1" "$2" 2>/dev/null
}
# hmac SECRET FILE: the hex HMAC-SHA256 of FILE's bytes.
hmac() {
	"$E2E_PYTHON" -c 'import hmac, hashlib, sys; print(hmac.new(sys.argv[1].encode(), open(sys.argv[2], "rb").read(), hashlib.sha256).hexdigest())' "$1" "$2"
}
# post FROM PATH BODYFILE CURL-ARGS…: POST from source address FROM; prints
# the status; the answer's body is in $tmp/out, its headers in $tmp/hdr.
post() {
	local from=$1 path=$2 body=$3
	shift 3
	curl -s -o "$tmp/out" -D "$tmp/hdr" -w '%{http_code}' --max-time 20 --interface "$from" \
		-X POST --data-binary @"$body" "$@" "$base$path"
}
answer() { cat "$tmp/out" 2>/dev/null; }
# push_body FILE REF [AFTER]: a GitHub/Gitea-like push payload.
push_body() {
	cat >"$1" <<EOF
{"ref": "$2", "before": "$rev1", "after": "${3:-0000000000000000000000000000000000000000}",
 "repository": {"full_name": "example/infra"}, "pusher": {"name": "rt"}, "commits": []}
EOF
}
gh_post() { # FROM EVENT BODYFILE [CURL-ARGS…]; the content type is $ct or JSON
	local from=$1 event=$2 body=$3
	shift 3
	post "$from" /hooks/github "$body" -H "Content-Type: ${ct:-application/json}" \
		-H "X-GitHub-Event: $event" -H "X-GitHub-Delivery: $RANDOM" \
		-H "X-Hub-Signature-256: sha256=$(hmac "$gh_secret" "$body")" "$@"
}
webhook_cycles() { dl_log_since "$1" | grep -c 'trigger=webhook'; }
metric() { # NAME [LABEL=VALUE…]: the sum of the matching samples
	curl -s --max-time 10 "$base/metrics" | "$E2E_PYTHON" -c '
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

# ---- /metrics parses; a baseline
cycles0=$(metric reconciler_sync_cycles_total)
ok0=$(metric reconciler_rollouts_total outcome=ok)
check "/metrics parses with prometheus_client ($cycles0 cycles, $ok0 rollouts)" test "$cycles0" -ge 1 -a "$ok0" -ge 1
check "reconciler_webhooks_total is there, all zero" test "$(metric reconciler_webhooks_total)" = 0

# ---- GET /v1/diff, on the socket and the listener, and reconcilerctl diff
curl -s --max-time 30 --unix-socket "$sock" http://r/v1/diff >"$tmp/diff.json"
check "GET /v1/diff on the socket is a valid diff document, in sync" test "$(e2e_plan "$tmp/diff.json")" = in-sync
check "it is in sync at the applied revision" jtrue "$(cat "$tmp/diff.json")" 'd["in_sync"] and d["revision"] == "'"$rev1"'" and d["project"] == "rt-webhook"'
check "GET /v1/diff on the listener answers 200" test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$base/v1/diff")" = 200
expect_exit "reconcilerctl diff asks the daemon (in sync: exit 0)" 0 "$RECONCILERCTL" diff --state-dir "$DL_STATE" --no-color
expect_contains "and says so" "(from reconcilerd, at revision ${rev1:0:12})"
"$RECONCILERCTL" diff --state-dir "$DL_STATE" --json >"$tmp/ctl.json" 2>"$tmp/ctl.err"
check "reconcilerctl diff --json through the daemon is a valid document" test "$(e2e_plan "$tmp/ctl.json")" = in-sync
expect_exit "with no daemon there, reconcilerctl diff falls back and says so" 2 "$RECONCILERCTL" diff --state-dir "$E2E_TMP/nowhere" --no-color
expect_contains "the fallback note" "no reconcilerd answers"
# Diffs run in the thread pool: the loop keeps answering meanwhile, and a
# crowd of them is told to come back rather than queued without bound.
pids=()
for i in 1 2 3 4 5 6; do
	curl -s -o "$tmp/par$i" -w '%{http_code}\n' --max-time 30 "$base/v1/diff" >"$tmp/par$i.code" &
	pids+=($!)
done
hz=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$base/healthz")
wait "${pids[@]}"
check "/healthz answers while diffs are computed ($hz)" test "$hz" = 200
codes=$(cat "$tmp"/par?.code | sort | uniq -c | tr -s ' \n' ' ')
check "parallel diffs answer 200 or 429, never hang ($codes)" test -z "$(cat "$tmp"/par?.code | grep -vxE '200|429')"

# ---- a new commit, not yet applied: the poll interval is an hour
manifest "$IMG_WEB_V2"
rev2=$(dl_commit_push "hook: v2")
mark=$(dl_log_mark)
cyc=$(dl_cycle)

# ---- refused requests (from 127.0.0.3): none starts a cycle
neg=127.0.0.3
push_body "$tmp/push-main.json" refs/heads/main "$rev2"
code=$(post $neg /hooks/github "$tmp/push-main.json" -H "Content-Type: application/json" \
	-H "X-GitHub-Event: push" -H "X-Hub-Signature-256: sha256=$(hmac wrong-secret "$tmp/push-main.json")")
check "github: a bad signature is 401 ($code)" test "$code" = 401
check "and the answer says why" jtrue "$(answer)" '"does not match" in d["error"]'
code=$(post $neg /hooks/github "$tmp/push-main.json" -H "Content-Type: application/json" -H "X-GitHub-Event: push")
check "github: a missing signature is 401 ($code)" test "$code" = 401
check "and the answer names the header" jtrue "$(answer)" '"X-Hub-Signature-256" in d["error"]'
code=$(post $neg /hooks/github "$tmp/push-main.json" -H "Content-Type: application/json" \
	-H "X-GitHub-Event: push" -H "X-Hub-Signature-256: sha1=$(hmac "$gh_secret" "$tmp/push-main.json")")
check "github: a signature with the wrong prefix is 401 ($code)" test "$code" = 401
code=$(post $neg /hooks/gitea "$tmp/push-main.json" -H "Content-Type: application/json" \
	-H "X-Gitea-Event: push" -H "X-Gitea-Signature: $(hmac "$gh_secret" "$tmp/push-main.json")")
check "gitea: a signature made with another secret is 401 ($code)" test "$code" = 401
: >"$tmp/empty"
code=$(post $neg /hooks/generic "$tmp/empty" -H "Authorization: Bearer not-$token")
check "generic: a wrong token is 401 ($code)" test "$code" = 401
code=$(ct=text/plain gh_post $neg push "$tmp/push-main.json")
check "a signed push as text/plain is 415 ($code)" test "$code" = 415
printf 'payload=%s' "$("$E2E_PYTHON" -c 'import sys, urllib.parse; print(urllib.parse.quote(open(sys.argv[1]).read()))' "$tmp/push-main.json")" >"$tmp/form"
code=$(ct=application/x-www-form-urlencoded gh_post $neg push "$tmp/form")
check "a form-encoded payload is 415 ($code)" test "$code" = 415
check "and the answer says to choose application/json" jtrue "$(answer)" '"content type to application/json" in d["error"]'
echo '{"zen": "Keep it logically awesome.", "hook_id": 1}' >"$tmp/ping.json"
code=$(gh_post $neg ping "$tmp/ping.json")
check "github: ping is 200 ($code)" test "$code" = 200
check "and the answer is a pong" jtrue "$(answer)" 'd["outcome"] == "ping"'
push_body "$tmp/push-dev.json" refs/heads/dev
code=$(gh_post $neg push "$tmp/push-dev.json")
check "github: a push to another branch is acknowledged ($code)" test "$code" = 202
check "and ignored, with the reason" jtrue "$(answer)" 'd["outcome"] == "ignored" and "refs/heads/dev" in d["message"]'
push_body "$tmp/push-tag.json" refs/tags/v2
code=$(gh_post $neg push "$tmp/push-tag.json")
check "github: a tag push is ignored ($code)" jtrue "$(answer)" 'd["outcome"] == "ignored"'
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$base/hooks/github")
check "GET on a hook is 405 ($code)" test "$code" = 405
code=$(post $neg /hooks/gitlab "$tmp/empty")
check "an unknown hook is 404 ($code)" test "$code" = 404
head -c 1100000 /dev/zero | tr '\0' ' ' >"$tmp/big"
code=$(gh_post $neg push "$tmp/big")
check "a body over 1 MiB is 413 ($code)" test "$code" = 413
sleep 2
check "no refused request started a cycle" test "$(webhook_cycles "$mark")" -eq 0 -a "$(dl_cycle)" = "$cyc"
check "the head is still the old one" test "$(dl_status 'd["head"]')" = "$rev1"

# ---- a slow client (half a body, then silence) is cut off after the read
# timeout, and is no obstacle to the others meanwhile
"$E2E_PYTHON" - "$port" >"$tmp/slow" <<'PY' &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /hooks/github HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"X-GitHub-Event: push\r\nContent-Length: 100\r\n\r\n{\"ref\":")
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
slow_pid=$!
sleep 0.5
code=$(gh_post 127.0.0.4 ping "$tmp/ping.json")
check "another client is served while the slow one hangs ($code)" test "$code" = 200
wait "$slow_pid"
slow=$(cat "$tmp/slow")
check "the slow client gets 408 ($slow)" test "$slow" = "HTTP/1.1 408 Request Timeout"

# ---- a signed GitHub push to main: a sync, and the head in Git wins over
# the payload's "after" (which names the old commit here)
push_body "$tmp/push-stale.json" refs/heads/main "$rev1"
mark=$(dl_log_mark)
code=$(gh_post 127.0.0.1 push "$tmp/push-stale.json")
check "github: a signed push to main is 202 ($code)" test "$code" = 202
check "and schedules a sync" jtrue "$(answer)" 'd["outcome"] == "sync"'
check "the branch head is applied, not the payload's commit" dl_wait_head 120 "$rev2" "in-sync converged"
check "by a webhook cycle" test "$(webhook_cycles "$mark")" -ge 1
check "the new version serves" test "$(docker exec rt-webhook-api wget -qO- http://127.0.0.1:8080/ 2>/dev/null)" = "web v2"

# ---- Gitea: a signed push (bare hex in X-Gitea-Signature)
manifest "$IMG_WEB_V1"
rev3=$(dl_commit_push "hook: back to v1")
push_body "$tmp/gitea.json" refs/heads/main "$rev3"
mark=$(dl_log_mark)
code=$(post 127.0.0.1 /hooks/gitea "$tmp/gitea.json" -H "Content-Type: application/json" \
	-H "X-Gitea-Event: push" -H "X-Gitea-Signature: $(hmac "$gitea_secret" "$tmp/gitea.json")")
check "gitea: a signed push is 202 ($code)" test "$code" = 202
check "gitea: the push is applied" dl_wait_head 120 "$rev3" "in-sync converged"

# ---- generic: a bearer token and no body
manifest "$IMG_WEB_V2"
rev4=$(dl_commit_push "hook: v2 again")
code=$(post 127.0.0.1 /hooks/generic "$tmp/empty" -H "Authorization: Bearer $token")
check "generic: the token is 202 ($code)" test "$code" = 202
check "generic: the head is applied" dl_wait_head 120 "$rev4" "in-sync converged"
curl -s --max-time 30 "$base/v1/diff" >"$tmp/diff4.json"
check "GET /v1/diff follows the applied revision" jtrue "$(cat "$tmp/diff4.json")" 'd["in_sync"] and d["revision"] == "'"$rev4"'"'

# ---- rate limit: a greedy source (127.0.0.2) is told to wait; others are not
n429=0
for i in $(seq 1 14); do
	c=$(post 127.0.0.2 /hooks/generic "$tmp/empty" -H "Authorization: Bearer wrong")
	[ "$c" = 429 ] && n429=$((n429 + 1)) && retry=$(grep -i '^Retry-After:' "$tmp/hdr" | tr -d '\r' | awk '{print $2}')
done
check "a burst from one source is answered 429 ($n429 of 14)" test "$n429" -ge 1
check "with a Retry-After header (${retry:-none})" test "${retry:-0}" -ge 1
code=$(post 127.0.0.1 /hooks/generic "$tmp/empty" -H "Authorization: Bearer wrong")
check "another source is not limited ($code)" test "$code" = 401

# ---- the counters, through a real Prometheus text parser
check "webhooks_total counts github syncs" test "$(metric reconciler_webhooks_total source=github outcome=sync)" -ge 1
check "webhooks_total counts unauthorized requests" test "$(metric reconciler_webhooks_total outcome=unauthorized)" -ge 5
check "webhooks_total counts rate-limited requests" test "$(metric reconciler_webhooks_total outcome=rate_limited)" -eq "$n429"
check "webhooks_total counts pings and ignored pushes" test "$(metric reconciler_webhooks_total outcome=ping)" -ge 2 -a "$(metric reconciler_webhooks_total outcome=ignored)" -ge 2
cycles1=$(metric reconciler_sync_cycles_total)
ok1=$(metric reconciler_rollouts_total outcome=ok)
check "cycles went up with the webhooks ($cycles0 -> $cycles1)" test "$cycles1" -ge $((cycles0 + 3))
check "rollouts went up with them ($ok0 -> $ok1)" test "$ok1" -ge $((ok0 + 3))

# ---- the listener has no authentication: a POST under /v1/ (a cycle, a
# backup run that pushes older dumps out of retention) is the control
# socket's alone; GETs and the signed hooks stay on the listener
code=$(post 127.0.0.6 /v1/sync "$tmp/empty")
check "POST /v1/sync on the listener is 403 ($code)" test "$code" = 403
check "and the answer names the control socket" jtrue "$(answer)" '"control socket '"$sock"'" in d["error"] and "reconcilerctl sync" in d["error"]'
code=$(post 127.0.0.6 /v1/backups/db/run "$tmp/empty")
check "POST /v1/backups/NAME/run on the listener is 403 ($code)" test "$code" = 403
code=$(post 127.0.0.6 /v1/anything "$tmp/empty")
check "any other POST under /v1/ on the listener is 403 ($code)" test "$code" = 403
check "GET /v1/status on the listener still answers 200" test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$base/v1/status")" = 200
check "GET /v1/backups on the listener still answers 200" test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$base/v1/backups")" = 200
check "POST /v1/sync on the control socket is 202" test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --unix-socket "$sock" -X POST http://r/v1/sync)" = 202
expect_exit "reconcilerctl sync (the control socket) still works" 0 "$RECONCILERCTL" sync --state-dir "$DL_STATE"

# ---- a hook whose secret is not configured (after a reload) is 404
write_config no-generic
check "the config without the generic token is reloaded" dl_daemon_reload
code=$(post 127.0.0.5 /hooks/generic "$tmp/empty" -H "Authorization: Bearer $token")
check "an unconfigured hook is 404 ($code)" test "$code" = 404
check "and the answer names the key to set" jtrue "$(answer)" '"generic_token_file" in d["error"]'
check "no secret appears in the log" test -z "$(grep -F -e "$gh_secret" -e "$gitea_secret" -e "$token" "$DL_LOG")"

dl_daemon_stop 60
check "SIGTERM exits 0" test "$DL_DAEMON_RC" = 0

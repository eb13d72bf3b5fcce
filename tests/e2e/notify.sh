#!/usr/bin/env bash
# Notifications: a local receiver (a small HTTP server recording what it gets)
# stands in for Discord and a generic webhook. Exactly one message per event,
# none while nothing changes, the webhook's HMAC signature checks out, and no
# secret (the URLs' tokens, the HMAC key, an env secret) appears in any body.
. "$(dirname "$0")/daemon-lib.sh"

dl_setup rt-notify
dl_repo_init
DL_MANIFEST=manifests/n.yaml
mkdir -p "$DL_WORK/manifests"

rec=$E2E_TMP/received.jsonl
dl_receiver_start "$rec" hmac-key-0123
port=$DL_RECEIVER_PORT

printf 'http://127.0.0.1:%s/discord/token-SECRET-d1\n' "$port" >"$E2E_SECRETS/discord_url"
printf 'http://127.0.0.1:%s/hook/token-SECRET-w2\n' "$port" >"$E2E_SECRETS/hook_url"
printf 'hmac-key-0123\n' >"$E2E_SECRETS/hook_hmac"
printf 'env-SECRET-v3\n' >"$E2E_SECRETS/token"

manifest() { # IMAGE
	cat >"$DL_WORK/$DL_MANIFEST" <<EOT
version: 1
project: rt-notify
services:
  api:
    image: $1
    environment: {TOKEN: {secret: token}}
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      retries: 2
notifications:
  chat:
    type: discord
    url: {secret: discord_url}
  ops:
    type: webhook
    url: {secret: hook_url}
    hmac_secret: {secret: hook_hmac}
    events: [rollout_succeeded, rollout_failed, manifest_invalid]
EOT
}
count() { # PATH-PREFIX EVENT
	[ -f "$rec" ] || { echo 0; return; }
	"$E2E_PYTHON" -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["path"].startswith(sys.argv[2]) and sys.argv[3] in r["body"]:
        n += 1
print(n)' "$rec" "$1" "$2"
}
seen() { [ "$(count "$1" "$2")" -ge 1 ]; }

manifest "$IMG_WEB_V1"
rev1=$(dl_commit_push "notify: v1")
dl_daemon_args
check "the daemon starts" dl_daemon_start "${DL_ARGS[@]}"
check "first deploy converges" dl_wait_head 90 "$rev1" "in-sync converged"
check "discord got rollout_succeeded" rt_wait 30 seen /discord rollout_succeeded
check "the webhook got rollout_succeeded" rt_wait 30 seen /hook rollout_succeeded
dl_wait_cycles 30 3 >/dev/null
check "one message each, not one per cycle" test "$(count /discord rollout_succeeded)-$(count /hook rollout_succeeded)" = 1-1

manifest "$IMG_UNHEALTHY"
rev2=$(dl_commit_push "notify: broken")
check "the broken revision is degraded" dl_wait_head 120 "$rev2" degraded
check "discord got rollout_failed" rt_wait 30 seen /discord rollout_failed
check "discord got revision_quarantined" rt_wait 30 seen /discord revision_quarantined
check "the webhook got rollout_failed" rt_wait 30 seen /hook rollout_failed
dl_wait_cycles 30 3 >/dev/null
check "rollout_failed once, though the revision stays degraded" test "$(count /discord rollout_failed)" = 1
check "the webhook did not get an event it did not ask for" test "$(count /hook revision_quarantined)" = 0

printf 'version: 1\nproject: rt-notify\nservices:\n  api:\n    image: nginx:latest\n' >"$DL_WORK/$DL_MANIFEST"
rev3=$(dl_commit_push "notify: invalid")
check "discord got manifest_invalid" rt_wait 60 seen /discord manifest_invalid
dl_wait_cycles 30 3 >/dev/null
check "manifest_invalid once for that commit" test "$(count /discord manifest_invalid)" = 1
check "the message names file:line:col" grep -q 'n.yaml@[0-9a-f]*:5:12' "$rec"
check "every webhook body is correctly signed" "$E2E_PYTHON" -c '
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1]) if "/hook" in l]
sys.exit(0 if rs and all(r["signed"] for r in rs) else 1)' "$rec"
check "no secret in any body" test "$(grep -c 'SECRET\|hmac-key' <(sed 's/"path": "[^"]*"//' "$rec"))" = 0
check "no secret in the daemon's log" test "$(grep -c 'SECRET\|hmac-key' "$DL_LOG")" = 0
dl_daemon_stop 60
: "$rev3"

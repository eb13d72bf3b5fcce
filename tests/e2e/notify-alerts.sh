#!/usr/bin/env bash
# Rollout notifications people can act on: each carries the service, the old
# and new image by digest, the revision and its subject, and the reason; a
# failure (revision, service) is told once however many cycles see it, then
# reminded (the interval shortened by RECONCILER_TEST_REMIND_MS, for tests
# only), and `recovered` is told once when a fixed commit runs healthy.
. "$(dirname "$0")/daemon-lib.sh"

dl_setup rt-alerts
dl_repo_init
DL_MANIFEST=manifests/a.yaml
mkdir -p "$DL_WORK/manifests"

rec=$E2E_TMP/received.jsonl
dl_receiver_start "$rec"
printf 'http://127.0.0.1:%s/hook/token-SECRET-a1\n' "$DL_RECEIVER_PORT" >"$E2E_SECRETS/alerts_url"

manifest() { # IMAGE
	cat >"$DL_WORK/$DL_MANIFEST" <<EOT
version: 1
project: rt-alerts
services:
  api:
    image: $1
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      retries: 2
notifications:
  ops:
    type: webhook
    url: {secret: alerts_url}
    events: [rollout_succeeded, rollout_failed, revision_quarantined, recovered]
EOT
}
# pick EVENT [REMINDER] [REVISION]: the webhook bodies of EVENT, one JSON a line
pick() {
	[ -f "$rec" ] || return 0
	"$E2E_PYTHON" -c '
import json, sys
want = sys.argv[2:]
for line in open(sys.argv[1]):
    b = json.loads(json.loads(line)["body"])
    if b["event"] != want[0]:
        continue
    if len(want) > 1 and want[1] != "" and str(b.get("reminder")).lower() != want[1]:
        continue
    if len(want) > 2 and b["revision"] != want[2]:
        continue
    print(json.dumps(b))' "$rec" "$@"
}
count() { pick "$@" | grep -c . || true; }
seen() { [ "$(count "$@")" -ge 1 ]; }
# get EVENT REVISION KEY: that field of the first such body
get() { pick "$1" "" "$2" | head -n 1 | "$E2E_PYTHON" -c '
import json, sys
line = sys.stdin.readline()
print(json.loads(line).get(sys.argv[1]) if line else "")' "$3"; }

manifest "$IMG_WEB_V1"
rev1=$(dl_commit_push "alerts: v1")
dl_daemon_args
RECONCILER_TEST_REMIND_MS=8000 check "the daemon starts" dl_daemon_start "${DL_ARGS[@]}"
check "first deploy converges" dl_wait_head 90 "$rev1" "in-sync converged"

manifest "$IMG_WEB_V2"
rev2=$(dl_commit_push "alerts: v2")
check "v2 converges" dl_wait_head 90 "$rev2" "in-sync converged"
check "rollout_succeeded for v2" rt_wait 30 seen rollout_succeeded "" "$rev2"
check "it names the service" test "$(get rollout_succeeded "$rev2" service)" = api
check "old_image is v1 by digest" test "$(get rollout_succeeded "$rev2" old_image)" = "$IMG_WEB_V1"
check "new_image is v2 by digest" test "$(get rollout_succeeded "$rev2" new_image)" = "$IMG_WEB_V2"
check "the images are sha256 digests" grep -q '@sha256:[0-9a-f]\{64\}$' <<<"$(get rollout_succeeded "$rev2" new_image)"
check "the subject is the commit's" test "$(get rollout_succeeded "$rev2" subject)" = "alerts: v2"
check "the reason says what changed" grep -q . <<<"$(get rollout_succeeded "$rev2" reason)"

manifest "$IMG_UNHEALTHY"
rev3=$(dl_commit_push "alerts: broken")
check "the broken revision is degraded" dl_wait_head 120 "$rev3" degraded
check "rollout_failed told" rt_wait 30 seen rollout_failed false "$rev3"
check "its reason is the gate's" grep -q . <<<"$(get rollout_failed "$rev3" reason)"
check "old_image is what ran (v2)" test "$(get rollout_failed "$rev3" old_image)" = "$IMG_WEB_V2"
check "new_image is the one refused" test "$(get rollout_failed "$rev3" new_image)" = "$IMG_UNHEALTHY"
check "the subject is the broken commit's" test "$(get rollout_failed "$rev3" subject)" = "alerts: broken"
for _ in 1 2; do
	expect_exit "reconcilerctl sync --wait forces a cycle (still failing: exit 1)" 1 "$RECONCILERCTL" sync --wait --timeout 60s --state-dir "$DL_STATE"
done
check "a reminder while it lasts (interval 8 s here)" rt_wait 30 seen rollout_failed true "$rev3"
check "rollout_failed told once, though several cycles saw it" test "$(count rollout_failed false "$rev3")" = 1
check "revision_quarantined told once" test "$(count revision_quarantined "" "$rev3")" = 1
check "no recovered yet" test "$(count recovered)" = 0

manifest "$IMG_WEB_V2"
rev4=$(dl_commit_push "alerts: fixed")
check "the fix converges" dl_wait_head 120 "$rev4" "in-sync converged"
check "recovered told" rt_wait 30 seen recovered "" "$rev4"
check "recovered names the service" test "$(get recovered "$rev4" service)" = api
check "recovered says what runs now" test "$(get recovered "$rev4" new_image)" = "$IMG_WEB_V2"
dl_wait_cycles 30 3 >/dev/null
reminders=$(count rollout_failed true)
sleep 10
check "recovered once" test "$(count recovered)" = 1
check "no reminder once it cleared" test "$(count rollout_failed true)" = "$reminders"
check "no secret in the daemon's log" test "$(grep -c 'SECRET' "$DL_LOG")" = 0
dl_daemon_stop 60

#!/usr/bin/env bash
# Secrets kept in Git, encrypted with age, on the real engine and a real
# daemon: a file `age -e` made is decrypted with the identity of the
# daemon's config (age_identity) into a service's environment; the plaintext
# reaches no file of the state dir, no log line, no label and not the
# journal; the same plaintext encrypted again (`reconcilerctl secret set`, a
# new commit) recreates nothing; a changed one recreates exactly the service
# that uses it; a commit whose file does not decrypt (encrypted to another
# recipient) is an invalid revision: the error names the secret and its
# file, the last good revision keeps running, and a fixed commit converges.
#
# Needs tests/env/up.sh and age. Run: TIERS=e2e E2E=secrets-git tests/run.sh
set -uo pipefail

# shellcheck source=daemon-lib.sh
. "$(dirname "$0")/daemon-lib.sh"

P=rt-agesec
dl_setup "$P"
if ! command -v age >/dev/null || ! command -v age-keygen >/dev/null; then
	fail "setup: age is not installed (make deps)"
	exit 1
fi
dl_repo_init || {
	fail "setup: git repositories"
	exit 1
}
DL_MANIFEST=manifests/agesec.yaml
mf=$DL_WORK/$DL_MANIFEST
mkdir -p "$(dirname "$mf")" "$DL_WORK/secrets"

id=$E2E_TMP/age.key
stranger=$E2E_TMP/stranger.key
if ! age-keygen -o "$id" 2>/dev/null || ! age-keygen -o "$stranger" 2>/dev/null; then
	fail "setup: age-keygen"
	exit 1
fi
chmod 0600 "$id" "$stranger"
age-keygen -y "$id" >"$DL_WORK/secrets/recipients.txt"
plain1=tok1-$RANDOM$RANDOM-8f3a
plain2=tok2-$RANDOM$RANDOM-c41e
plain3=tok3-$RANDOM$RANDOM-77d0

cat >"$mf" <<EOT
# $P: written by tests/e2e/secrets-git.sh
version: 1
project: $P
services:
  app:
    image: $IMG_SLEEPER
    environment:
      TOKEN: {secret: token}
  other:
    image: $IMG_SLEEPER
secrets:
  token:
    file: secrets/token.age
EOT

cat >"$E2E_TMP/reconciler.yaml" <<EOT
age_identity: $id
EOT

env_of() { docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$1" 2>/dev/null; }
set_secret() { # VALUE: reconcilerctl secret set, into the work tree
	printf '%s\n' "$1" | "$RECONCILERCTL" secret set token -f "$mf" >/dev/null
}
# leaks VALUE: where a plaintext must never be, each checked
leaks() {
	local v=$1 where="" out
	grep -rqaF -- "$v" "$DL_STATE" && where="$where state-dir"
	grep -qaF -- "$v" "$DL_LOG" && where="$where log"
	out=$(docker inspect --format '{{json .Config.Labels}}' "$P-app" "$P-other" 2>/dev/null)
	grep -qF -- "$v" <<<"$out" && where="$where labels"
	out=$("$RECONCILERCTL" history --json --state-dir "$DL_STATE" 2>&1)
	grep -qF -- "$v" <<<"$out" && where="$where history"
	printf '%s\n' "$where"
}

# ------------------------------------------------- age -e made, daemon decrypts

printf '%s\n' "$plain1" | age -e -R "$DL_WORK/secrets/recipients.txt" \
	-o "$DL_WORK/secrets/token.age" || fail "setup: age -e"
rev1=$(dl_commit_push "agesec: token v1")
dl_daemon_args
check "the daemon starts with age_identity in its config" \
	dl_daemon_start -c "$E2E_TMP/reconciler.yaml" "${DL_ARGS[@]}"
if ! dl_wait_head 120 "$rev1" "in-sync converged"; then
	fail "a revision with a secret kept in Git converges"
	dl_diag
	exit 1
fi
ok "a revision with a secret kept in Git converges (age -e made the file)"
env=$(env_of "$P-app")
check "the container's environment has the decrypted value" grep -qxF "TOKEN=$plain1" <<<"$env"
is "the plaintext is nowhere else (state dir, log, labels, history)" "$(leaks "$plain1")" ""
app1=$(e2e_cid "$P-app")
other1=$(e2e_cid "$P-other")

# GET /v1/diff reuses the cycle's desired state: no clone read, no age run
curl -s --max-time 30 --unix-socket "$DL_STATE/reconcilerd.sock" http://r/v1/diff \
	>"$E2E_TMP/diff1.json"
is "GET /v1/diff: in sync at the applied revision" \
	"$(e2e_jq "$E2E_TMP/diff1.json" "d['in_sync'] and d['revision'] == '$rev1'")" true
metrics=$(curl -s --max-time 30 --unix-socket "$DL_STATE/reconcilerd.sock" http://r/metrics)
check "  answered from the cycle's snapshot (no age run)" \
	grep -qxF 'reconciler_diff_requests_total{from="cycle"} 1' <<<"$metrics"
check "  and nothing read again" \
	grep -qxF 'reconciler_diff_requests_total{from="manifest"} 0' <<<"$metrics"

out=$(e2e_ctl diff -f "$mf" --age-identity "$id" 2>&1)
rc=$?
is "diff -f --age-identity decrypts the work tree's file: in sync (exit 0)" "$rc" 0
[ "$rc" = 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
out=$(e2e_ctl diff -f "$mf" 2>&1)
rc=$?
is "diff without an identity is an error (exit 2)" "$rc" 2
check "  naming the secret and its file" grep -qF "secret 'token' (secrets/token.age)" <<<"$out"
cp "$id" "$E2E_TMP/open.key"
chmod 0644 "$E2E_TMP/open.key"
out=$(e2e_ctl diff -f "$mf" --age-identity "$E2E_TMP/open.key" 2>&1)
rc=$?
is "an identity file others may read is refused (exit 2)" "$rc" 2
check "  saying chmod 600" grep -qF "is open to group or others (mode 0644) and holds a credential: chmod 600" <<<"$out"
rm -f "$E2E_TMP/open.key"

# ------------------------------------------------- the same plaintext again

set_secret "$plain1" || fail "secret set (the same value)"
rev2=$(dl_commit_push "agesec: token re-encrypted, same value")
if dl_wait_head 120 "$rev2" "in-sync converged"; then
	ok "the re-encrypted file's revision is applied"
else
	fail "the re-encrypted file's revision is applied"
	dl_diag
fi
is "the same plaintext recreates nothing: app" "$(e2e_cid "$P-app")" "$app1"
is "the same plaintext recreates nothing: other" "$(e2e_cid "$P-other")" "$other1"

# ------------------------------------------------- a changed plaintext

set_secret "$plain2" || fail "secret set (a new value)"
rev3=$(dl_commit_push "agesec: token v2")
if dl_wait_head 120 "$rev3" "in-sync converged"; then
	ok "the changed secret's revision converges"
else
	fail "the changed secret's revision converges"
	dl_diag
fi
app3=$(e2e_cid "$P-app")
check "a changed plaintext recreates the service that uses it" test "$app3" != "$app1"
is "and only that one (other keeps its container)" "$(e2e_cid "$P-other")" "$other1"
env=$(env_of "$P-app")
check "the new container has the new value" grep -qxF "TOKEN=$plain2" <<<"$env"

# ------------------------------------------------- a file that does not decrypt

age-keygen -y "$stranger" >"$E2E_TMP/stranger.txt"
printf '%s\n' "$plain3" | age -e -R "$E2E_TMP/stranger.txt" -o "$DL_WORK/secrets/token.age"
rev4=$(dl_commit_push "agesec: token for another host")
if dl_wait_status 120 "d.get('head') == '$rev4' and any('token.age' in e for e in d.get('errors', []))"; then
	ok "a file that does not decrypt makes its revision invalid"
else
	fail "a file that does not decrypt makes its revision invalid"
	dl_diag
fi
err=$(dl_status 'd.get("errors", [""])[0]')
check "  the error names the revision, the secret and its file" \
	grep -qF "invalid revision ${rev4:0:12}: secret 'token': secrets/token.age does not decrypt" <<<"$err"
check "  and age's reason" grep -qiF "no identity matched" <<<"$err"
is "  the last good revision keeps running" "$(dl_status 'd.get("last_good")')" "$rev3"
is "  app is untouched" "$(e2e_cid "$P-app")" "$app3"
is "  other is untouched" "$(e2e_cid "$P-other")" "$other1"
st=$("$E2E_PYTHON" - "$DL_STATE/journal.db" "$rev4" <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
row = db.execute("SELECT status FROM revisions WHERE commit_id = ?", (sys.argv[2],)).fetchone()
print(row[0] if row else "")
EOF
)
is "  the journal calls the revision invalid" "$st" invalid

# ------------------------------------------------- fixed

set_secret "$plain3" || fail "secret set (the fix)"
rev5=$(dl_commit_push "agesec: token v3, for this host")
if dl_wait_head 120 "$rev5" "in-sync converged"; then
	ok "a fixed commit converges"
else
	fail "a fixed commit converges"
	dl_diag
fi
env=$(env_of "$P-app")
check "  app runs the fixed value" grep -qxF "TOKEN=$plain3" <<<"$env"
is "  other still untouched" "$(e2e_cid "$P-other")" "$other1"
for v in "$plain1" "$plain2" "$plain3"; do
	is "no plaintext in the state dir, log, labels or history (${v:0:4})" "$(leaks "$v")" ""
done
dl_daemon_stop

#!/usr/bin/env bash
# Signed commits (reconcilerd's signatures:), with real keys and commits
# signed by git itself, against the real engine:
#   verify: head applies a head signed by a trusted ssh key or OpenPGP key
#   (and one `set-image --sign` made); an unsigned head, a head signed by a
#   key no one trusted, a tampered commit and a force push to an unsigned
#   commit change nothing: the last good revision keeps running, and the
#   status, /metrics, the journal and one notification name the commit, the
#   key and why. verify: all refuses a signed head with an unsigned commit
#   between it and the revision applied last, and takes a range all signed.
#
# Needs tests/env/up.sh. Run: TIERS=e2e E2E=signed tests/run.sh
set -uo pipefail

# shellcheck source=daemon-lib.sh
. "$(dirname "$0")/daemon-lib.sh"

P=rt-signed
dl_setup "$P"
dl_repo_init || {
	fail "setup: git repositories"
	exit 1
}
for tool in ssh-keygen gpg gpgv; do
	command -v "$tool" >/dev/null || {
		fail "setup: $tool is missing (tests/env/deps.sh installs it)"
		exit 1
	}
done
DL_MANIFEST=manifests/signed.yaml
mf=$DL_WORK/$DL_MANIFEST
mkdir -p "$(dirname "$mf")"
K=$E2E_TMP/keys
mkdir -p "$K"
chmod 700 "$K"

# keys: a trusted ssh key (ci), one nobody trusts (mallory), an OpenPGP key
ssh-keygen -q -t ed25519 -N '' -C ci@example.com -f "$K/ci"
ssh-keygen -q -t ed25519 -N '' -C mallory@example.com -f "$K/mallory"
printf 'ci@example.com namespaces="git" %s\n' "$(cat "$K/ci.pub")" >"$K/allowed_signers"
ci_fp=$(ssh-keygen -lf "$K/ci.pub" | awk '{ print $2 }')
mallory_fp=$(ssh-keygen -lf "$K/mallory.pub" | awk '{ print $2 }')
export GNUPGHOME=$K/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Release Signer <release@example.com>' \
	ed25519 sign 2>/dev/null
gpg_fp=$(gpg --batch --with-colons --list-keys release@example.com 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')
gpg --batch --export release@example.com >"$K/trusted.gpg"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Stranger <stranger@example.com>' \
	ed25519 sign 2>/dev/null
stranger_fp=$(gpg --batch --with-colons --list-keys stranger@example.com 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')
check "the keys were made (ssh $ci_fp, OpenPGP $gpg_fp)" test -n "$ci_fp" -a -n "$gpg_fp"

rec=$E2E_TMP/received.jsonl
dl_receiver_start "$rec"
printf 'http://127.0.0.1:%s/hook/signed\n' "$DL_RECEIVER_PORT" >"$E2E_SECRETS/hook_url"

manifest() { # IMAGE
	cat >"$mf" <<EOT
# $P: written by tests/e2e/signed.sh
version: 1
project: $P
services:
  api:
    image: $1
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      retries: 3
notifications:
  ops:
    type: webhook
    url: {secret: hook_url}
    events: [revision_unverified, manifest_invalid]
EOT
}

g() { _dl_git -C "$DL_WORK" "$@"; }
# commit_as KEY|gpg|none MSG [--force]: commit what changed, signed as told,
# push it; prints the commit
commit_as() {
	local how=$1 msg=$2 force=${3:-}
	g add -A >&2
	case $how in
	none) g commit -q --allow-empty -m "$msg" >&2 ;;
	gpg) g -c user.signingkey=release@example.com commit -q -S --allow-empty -m "$msg" >/dev/null 2>&1 ;;
	stranger) g -c user.signingkey=stranger@example.com commit -q -S --allow-empty -m "$msg" >/dev/null 2>&1 ;;
	*) g -c gpg.format=ssh -c user.signingkey="$K/$how" commit -q -S --allow-empty -m "$msg" >&2 ;;
	esac
	g push -q ${force:+"$force"} origin HEAD:refs/heads/main >&2
	g rev-parse HEAD
}

cat >"$E2E_TMP/reconciler.yaml" <<EOT
signatures:
  verify: head
  allowed_signers: $K/allowed_signers
  gpg_keyring: $K/trusted.gpg
EOT
sock=$DL_STATE/reconcilerd.sock
api() { curl -s --max-time 10 --unix-socket "$sock" "$@"; }
sql() { sqlite3 -cmd '.timeout 5000' "$DL_STATE/journal.db" "$1"; }
image_of() { docker inspect --format '{{.Config.Image}}' "$1" 2>/dev/null; }
sig() { dl_status "d.get('signature', {}).get('$1', '')"; }
received() { # EVENT COMMIT: how many such notifications arrived
	[ -f "$rec" ] || {
		echo 0
		return
	}
	"$E2E_PYTHON" - "$rec" "$1" "$2" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    b = json.loads(json.loads(line)["body"])
    if b.get("event") == sys.argv[2] and b.get("revision") == sys.argv[3]:
        n += 1
print(n)
PY
}
# refused COMMIT VERDICT KEY WHAT: the head is refused, v1 keeps running, and
# the status, /metrics, the journal and one notification say so
refused() {
	local c=$1 verdict=$2 key=$3 what=$4 errs m
	if ! dl_wait_status 60 "d.get('head') == '$c' and d.get('signature', {}).get('commit') == '$c' and d.get('state') == 'error'"; then
		fail "$what: the head $c is refused"
		dl_diag
		return
	fi
	ok "$what: the head is refused"
	is "  its verdict" "$(sig verdict)" "$verdict"
	[ -z "$key" ] || is "  the key is named" "$(sig key)" "$key"
	errs=$(dl_status "d['errors'][0]")
	expect_contains_in "  the status error names the commit" "$errs" "revision ${c:0:12} is not trusted: $verdict"
	is "  the last good revision still runs" "$(image_of "$P-api")" "$good_image"
	is "  and is the one applied" "$(dl_status "d.get('revision')")" "$good"
	m=$(api http://r/metrics)
	expect_contains_in "  /metrics gives the verdict" "$m" "reconciler_head_signature{revision=\"$c\",verdict=\"$verdict\""
	is "  the journal marks the revision" "$(sql "SELECT status FROM revisions WHERE commit_id = '$c'")" unverified
	rt_wait 20 test "$(received revision_unverified "$c")" -ge 1
	is "  one revision_unverified notification" "$(received revision_unverified "$c")" 1
	m=$(told revision_unverified "$c")
	expect_contains_in "  it names the commit and why" "$m" "revision ${c:0:12} is not trusted: $verdict"
	[ -z "$key" ] || expect_contains_in "  and the key" "$m" "key $key"
}
told() { # EVENT COMMIT: the message of that notification
	"$E2E_PYTHON" - "$rec" "$1" "$2" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    b = json.loads(json.loads(line)["body"])
    if b.get("event") == sys.argv[2] and b.get("revision") == sys.argv[3]:
        print(b.get("message", ""))
PY
}
expect_contains_in() { # NAME TEXT WANT
	case $2 in
	*"$3"*) ok "$1" ;;
	*) fail "$1 (wanted '$3' in: $(head -c 400 <<<"$2"))" ;;
	esac
}

# ---------------------------------------------------------------- head mode
manifest "$IMG_WEB_V1"
good=$(commit_as ci "v1, signed by ci")
good_image=$IMG_WEB_V1
dl_daemon_args
dl_daemon_start -c "$E2E_TMP/reconciler.yaml" "${DL_ARGS[@]}"
if dl_wait_head 90 "$good" in-sync; then
	ok "a head signed by a trusted ssh key is applied"
else
	fail "a head signed by a trusted ssh key is applied"
	dl_diag
fi
is "  its verdict is good" "$(sig verdict)" good
is "  the signer is the allowed signers' principal" "$(sig signer)" ci@example.com
is "  the key is named" "$(sig key)" "$ci_fp"
is "  v1 runs" "$(image_of "$P-api")" "$IMG_WEB_V1"
v1_id=$(e2e_cid "$P-api")
# reconcilerd -n judges the head too (a state dir of its own)
check_n() {
	"$RECONCILERD" -n -c "$E2E_TMP/reconciler.yaml" --repo "$DL_REPO_URL" --manifest "$DL_MANIFEST" \
		--state-dir "$E2E_TMP/check-state" --secrets-dir "$E2E_SECRETS" 2>&1
}
out=$(check_n)
expect_contains_in "reconcilerd -n names the signer" "$out" "signed by ci@example.com (ssh key $ci_fp)"

manifest "$IMG_WEB_V2"
c=$(commit_as none "v2, unsigned")
refused "$c" unsigned "" "an unsigned head"
is "  the v1 container was not touched" "$(e2e_cid "$P-api")" "$v1_id"
out=$(check_n)
expect_contains_in "  reconcilerd -n refuses it too" "$out" "revision ${c:0:12} is not trusted: unsigned"
before=$(dl_cycle)
dl_wait_cycles 30 3 "$before" >/dev/null
is "  a refused head is told once, not every poll" "$(received revision_unverified "$c")" 1
log=$(cat "$DL_LOG")
n=$(grep -c "revision ${c:0:12} is not trusted" <<<"$log")
check "  the log tells the refusal once ($n)" test "$n" -eq 1

c=$(commit_as mallory "v2, signed by a key nobody trusts")
refused "$c" untrusted "$mallory_fp" "a head signed by an untrusted key"

# a tampered commit: a signed commit's content changed, its signature kept
manifest "$IMG_WEB_V2"
signed=$(commit_as ci "v2, signed by ci, to be tampered with")
# (that head is good and converges; tamper a copy of it, then push the copy)
dl_wait_head 90 "$signed" in-sync >/dev/null || dl_diag
good=$signed
good_image=$IMG_WEB_V2
tampered=$(g cat-file commit "$signed" | sed 's/to be tampered with/tampered: v1 again/' |
	g hash-object -t commit -w --stdin)
g push -q -f origin "$tampered:refs/heads/main"
refused "$tampered" bad "$ci_fp" "a tampered commit"

# OpenPGP: a head signed by the trusted OpenPGP key
g reset -q --hard "$signed"
manifest "$IMG_WEB_V1"
c=$(commit_as gpg "v1, signed with OpenPGP" -f)
if dl_wait_head 90 "$c" in-sync; then
	ok "a head signed by a trusted OpenPGP key is applied"
else
	fail "a head signed by a trusted OpenPGP key is applied"
	dl_diag
fi
is "  its format is openpgp" "$(sig format)" openpgp
is "  its key is the fingerprint" "$(sig key)" "$gpg_fp"
is "  v1 runs again" "$(image_of "$P-api")" "$IMG_WEB_V1"
good=$c
good_image=$IMG_WEB_V1
manifest "$IMG_WEB_V2"
c=$(commit_as stranger "v2, signed with an OpenPGP key not in the keyring")
refused "$c" untrusted "$stranger_fp" "a head signed by an untrusted OpenPGP key"
g reset -q --hard "$good"
g push -q -f origin HEAD:refs/heads/main
dl_wait_head 60 "$good" in-sync >/dev/null || dl_diag

# set-image --sign: CI's bump, signed with the ssh key, passes
out=$("$RECONCILERCTL" set-image --sign "$K/ci" "$mf" api "$IMG_WEB_V2" 2>&1)
expect_contains_in "set-image --sign commits signed" "$out" "(signed)"
g push -q origin HEAD:refs/heads/main
c=$(g rev-parse HEAD)
git_verifies() { g -c gpg.ssh.allowedSignersFile="$K/allowed_signers" verify-commit "$1" >/dev/null 2>&1; }
check "  git itself verifies it" git_verifies "$c"
if dl_wait_head 90 "$c" in-sync; then
	ok "  the daemon applies it"
else
	fail "  the daemon applies it"
	dl_diag
fi
is "  v2 runs" "$(image_of "$P-api")" "$IMG_WEB_V2"
good=$c
good_image=$IMG_WEB_V2

# a force push to an unsigned commit (history rewritten under the daemon)
g reset -q --hard HEAD~1
manifest "$IMG_WEB_V1"
c=$(commit_as none "rewritten, unsigned" -f)
refused "$c" unsigned "" "a force push to an unsigned commit"

# ---------------------------------------------------------------- all mode
sed -i 's/verify: head/verify: all/' "$E2E_TMP/reconciler.yaml"
g reset -q --hard "$good"
g push -q -f origin HEAD:refs/heads/main
dl_wait_head 60 "$good" in-sync >/dev/null || dl_diag
check "verify: all is taken on reload" dl_daemon_reload
manifest "$IMG_WEB_V1"
hole=$(commit_as none "unsigned, between two signed")
c=$(commit_as ci "signed on top of an unsigned one")
if dl_wait_status 60 "d.get('head') == '$c' and d.get('signature', {}).get('commit') == '$hole'"; then
	ok "verify: all refuses a signed head with an unsigned commit below it"
else
	fail "verify: all refuses a signed head with an unsigned commit below it"
	dl_diag
fi
errs=$(dl_status "d['errors'][0]")
expect_contains_in "  the error names the unsigned commit" "$errs" "commit ${hole:0:12}, between the revision applied last and the head"
is "  v2 keeps running" "$(image_of "$P-api")" "$IMG_WEB_V2"
g reset -q --hard "$good"
manifest "$IMG_WEB_V1"
mark=$(dl_log_mark)
commit_as ci "signed one" -f >/dev/null
c=$(commit_as ci "signed two" -f)
if dl_wait_head 90 "$c" in-sync; then
	ok "verify: all applies a range signed throughout"
else
	fail "verify: all applies a range signed throughout"
	dl_diag
fi
expect_contains_in "  both were checked" "$(dl_log_since "$mark")" "revision=${c:0:12} signed by ci@example.com (ssh key $ci_fp); 2 commits checked"
is "  the status names the head's signer" "$(sig signer)" ci@example.com
is "  v1 runs" "$(image_of "$P-api")" "$IMG_WEB_V1"

if grep -q "AddressSanitizer\|runtime error" "$DL_LOG"; then
	fail "the daemon's log has a sanitizer report"
else
	ok "the daemon's log has no sanitizer report"
fi
dl_daemon_stop
gpgconf --kill gpg-agent 2>/dev/null || true

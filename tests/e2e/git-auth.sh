#!/usr/bin/env bash
# Git credentials against a real smart HTTP server on loopback (git
# http-backend behind Basic auth, tests/e2e/git-http.py): a refused token is
# offered once, not again and again (a few requests, not thousands), and the
# error says what to check. `reconcilerctl diff --repo` reads with the same
# credentials as reconcilerd (its config's git.* keys, or --token-file).
. "$(dirname "$0")/daemon-lib.sh"

dl_setup rt-gitauth
dl_repo_init
DL_MANIFEST=manifests/a.yaml
mkdir -p "$DL_WORK/manifests"
cat >"$DL_WORK/$DL_MANIFEST" <<EOT
version: 1
project: rt-gitauth
services:
  app:
    image: $IMG_SLEEPER
EOT
dl_commit_push "auth: one service" >/dev/null

token=tok-$RANDOM$RANDOM-SECRET-51c2e8
printf '%s\n' "$token" >"$E2E_TMP/token"
printf 'wrong-%s\n' "$token" >"$E2E_TMP/token.bad"
chmod 0600 "$E2E_TMP/token" "$E2E_TMP/token.bad"
hport=$(e2e_free_port)
hlog=$E2E_TMP/http.log
"$E2E_PYTHON" "$E2E_DIR/git-http.py" "$hport" "$(dirname "$DL_REMOTE")" "$E2E_TMP/token" "$hlog" \
	</dev/null >>"$E2E_TMP/http.err" 2>&1 &
hpid=$!
# the HTTP server is no reconcilerd: stop it here (by its PID), then the usual cleanup
trap 'kill "$hpid" 2>/dev/null; dl_cleanup' EXIT
check "the smart HTTP server with a token answers" rt_wait 20 _dl_port_open "$hport"
url=http://127.0.0.1:$hport/$(basename "$DL_REMOTE")

cfg() { # FILE TOKEN_FILE [REPO]
	cat >"$1" <<EOT
repo: ${3:-$url}
branch: main
manifest: $DL_MANIFEST
state_dir: $E2E_TMP/hstate
secrets_dir: $E2E_SECRETS
git:
  token_file: $2
  token_user: x-access-token
EOT
}
cfg "$E2E_TMP/good.yaml" "$E2E_TMP/token"
cfg "$E2E_TMP/bad.yaml" "$E2E_TMP/token.bad"
cfg "$E2E_TMP/other.yaml" "$E2E_TMP/token" "http://127.0.0.1:1/other.git"
diag_out() { printf '%s\n' "$out" | tail -n 15 | sed 's/^/#   /'; }
requests() { wc -l <"$hlog"; }
no_token() { ! grep -qF "$token" <<<"$out"; }

# reconcilerd with a refused token: one offer per operation, then a clear error.
: >"$hlog"
out=$(timeout 300 "$RECONCILERD" --once -c "$E2E_TMP/bad.yaml" 2>&1)
rc=$?
n=$(requests)
check "reconcilerd --once with a refused token fails (exit $rc)" test "$rc" = 2
check "the server was asked a handful of times, not thousands ($n requests)" test "$n" -le 6
check "it was offered the wrong token" grep -q ' bad$' "$hlog"
if ! grep -q "the remote refused the token in '$E2E_TMP/token.bad' (user 'x-access-token')" <<<"$out"; then
	fail "the error names the token file and the user"
	diag_out
else
	ok "the error names the token file and the user"
fi
check "neither token is in its output" no_token

# reconcilerctl diff --repo reads as reconcilerd does: the config's token.
: >"$hlog"
out=$("$RECONCILERCTL" diff --repo "$url" --path "$DL_MANIFEST" --config "$E2E_TMP/good.yaml" \
	--secrets-dir "$E2E_SECRETS" --state-dir "$E2E_STATE" --no-color 2>&1)
rc=$?
if [ "$rc" = 1 ] && grep -q 'app' <<<"$out"; then
	ok "diff --repo --config reads with reconcilerd's token: the service to create (exit $rc)"
else
	fail "diff --repo --config reads with reconcilerd's token: the service to create (exit $rc)"
	diag_out
fi
check "the server saw the token" grep -q '^POST /remote.git/git-upload-pack good$' "$hlog"
check "and no refused request" test -z "$(grep -v ' good$' "$hlog" | grep -v ' none$')"

# and --token-file, as set-image has
: >"$hlog"
out=$("$RECONCILERCTL" diff --repo "$url" --path "$DL_MANIFEST" --token-file "$E2E_TMP/token" \
	--secrets-dir "$E2E_SECRETS" --state-dir "$E2E_STATE" --no-color 2>&1)
rc=$?
check "diff --repo --token-file reads too (exit $rc)" test "$rc" = 1
: >"$hlog"
out=$("$RECONCILERCTL" diff --repo "$url" --path "$DL_MANIFEST" --token-file "$E2E_TMP/token.bad" \
	--secrets-dir "$E2E_SECRETS" --state-dir "$E2E_STATE" --no-color 2>&1)
rc=$?
n=$(requests)
check "diff --repo with a refused token fails (exit $rc)" test "$rc" = 2
check "after a handful of requests ($n)" test "$n" -le 4
check "saying the token was refused" grep -q 'the remote refused the token in' <<<"$out"
check "without the token" no_token

# the daemon's config names another repository: its token is not sent here
: >"$hlog"
out=$("$RECONCILERCTL" diff --repo "$url" --path "$DL_MANIFEST" --config "$E2E_TMP/other.yaml" \
	--secrets-dir "$E2E_SECRETS" --state-dir "$E2E_STATE" --no-color 2>&1)
rc=$?
check "--config of another repository is refused (exit $rc)" test "$rc" = 2
check "saying whose credentials they are" grep -q 'is not the repository of' <<<"$out"
check "and nothing was asked of the server" test "$(requests)" = 0
check "no container was created" test -z "$(docker ps -aq --filter label=io.reconciler.project=rt-gitauth)"

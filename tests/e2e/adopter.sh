#!/usr/bin/env bash
# The adopters' CI scripts against real remotes: reconcilerd watches an
# infrastructure repository served by `git daemon`; contrib/ci/bump-digest.sh,
# as an application's CI runs it, pushes a new digest over smart HTTP with a
# token (git http-backend behind Basic auth), and the daemon rolls it out.
# The token never shows in the script's output. contrib/ci/validate-pr.sh
# turns a bad manifest into ::error annotations.
. "$(dirname "$0")/daemon-lib.sh"

dl_setup rt-adopter
dl_repo_init
DL_MANIFEST=manifests/prod.yaml
mkdir -p "$DL_WORK/manifests"
bump=$E2E_TOP/contrib/ci/bump-digest.sh
validate=$E2E_TOP/contrib/ci/validate-pr.sh

cat >"$DL_WORK/$DL_MANIFEST" <<EOT
version: 1
project: rt-adopter
services:
  web:
    # the application's image, pinned by CI
    image: $IMG_WEB_V1
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      retries: 3
EOT
rev1=$(dl_commit_push "infra: web v1")

check "git daemon serves the infrastructure repository" dl_git_daemon_start
DL_REPO_URL=$DL_GIT_URL
dl_daemon_args
check "reconcilerd starts on $DL_GIT_URL" dl_daemon_start "${DL_ARGS[@]}"
check "and deploys v1" dl_wait_head 90 "$rev1" "in-sync converged"

# Smart HTTP with a token, as a Git host serves it: git http-backend behind
# Basic auth (user x-access-token), on loopback.
token=tok-$RANDOM$RANDOM-SECRET-7f3a9c
printf '%s\n' "$token" >"$E2E_TMP/token"
chmod 600 "$E2E_TMP/token"
hport=$(e2e_free_port)
hpidf=$E2E_TMP/http.pid
"$E2E_PYTHON" "$E2E_DIR/git-http.py" "$hport" "$(dirname "$DL_REMOTE")" "$E2E_TMP/token" \
	"$E2E_TMP/http.log" </dev/null >>"$E2E_TMP/http.err" 2>&1 &
echo $! >"$hpidf"
# the HTTP server is no reconcilerd: stop it here, then the usual cleanup
trap 'kill "$(cat "$hpidf")" 2>/dev/null; dl_cleanup' EXIT
check "the smart HTTP server with a token answers" rt_wait 20 _dl_port_open "$hport"
infra=http://127.0.0.1:$hport/$(basename "$DL_REMOTE")

# bump ARGS…: bump-digest.sh with the settings an application's CI has;
# status in $rc, stdout and stderr together in $out.
bump() {
	out=$(INFRA_REPO=${INFRA_REPO:-$infra} INFRA_BRANCH=main MANIFEST=$DL_MANIFEST \
		INFRA_TOKEN=${INFRA_TOKEN-$token} GIT_AUTHOR="App CI <ci@app.example>" \
		RECONCILERCTL=$RECONCILERCTL RUNNER_TEMP=$E2E_TMP "$@" 2>&1 </dev/null)
	rc=$?
}
remote_head() { git --git-dir="$DL_REMOTE" rev-parse refs/heads/main; }
# no_token: the token is nowhere in $out, except on ::add-mask:: lines.
no_token() { ! grep -v '^::add-mask::' <<<"$out" | grep -qF "$token"; }
diag_out() { printf '%s\n' "$out" | sed 's/^/#   /'; }
# check_or DIAG NAME COMMAND…: check, and run DIAG when it fails.
check_or() {
	local diag=$1 name=$2
	shift 2
	if "$@"; then ok "$name"; else fail "$name"; "$diag"; fi
}

# Refusals first: nothing is pushed and nothing is said of the token.
INFRA_TOKEN=wrong-$token bump bash "$bump" web "$IMG_WEB_V2"
check "a wrong token fails (exit $rc)" test "$rc" = 1
check "and the remote is untouched" test "$(remote_head)" = "$rev1"
check_or diag_out "the wrong token is not in the output" test -z "$(grep -F "wrong-$token" <<<"$out")"
check "the server was asked with the wrong credentials" grep -q ' bad$' "$E2E_TMP/http.log"
INFRA_REPO=http://x-access-token:$token@127.0.0.1:$hport/remote.git bump bash "$bump" web "$IMG_WEB_V2"
check "a token in the URL is refused (exit $rc)" test "$rc" = 2
check_or diag_out "without printing it" no_token
bump bash "$bump" web "${IMG_WEB_V2%@*}:v2"
check "a tag is refused: a digest is wanted (exit $rc)" test "$rc" = 2
bump bash "$bump" nope "$IMG_WEB_V2"
check "an unknown service is refused at once (exit $rc)" test "$rc" = 1
check "without a retry" test -z "$(grep 'fetching main again' <<<"$out")"
check "and says so" grep -q 'refused the change' <<<"$out"

# The deploy: under Actions, with its output files.
: >"$E2E_TMP/gh_output"
: >"$E2E_TMP/gh_summary"
mark=$(dl_log_mark)
bump env GITHUB_ACTIONS=true GITHUB_OUTPUT="$E2E_TMP/gh_output" \
	GITHUB_STEP_SUMMARY="$E2E_TMP/gh_summary" GITHUB_REPOSITORY=acme/app GITHUB_SHA=0123abc \
	bash "$bump" web "$IMG_WEB_V2"
check_or diag_out "bump-digest.sh pushes the new digest (exit $rc)" test "$rc" = 0
echo "# what bump-digest.sh said (the mask line is the runner's, never shown):"
grep -v '^::add-mask::' <<<"$out" | sed 's/^/#   /'
check "the token is masked for the runner" grep -qxF "::add-mask::$token" <<<"$out"
check_or diag_out "and appears nowhere else in the output" no_token
check "the server saw the token" grep -q '^POST /remote.git/git-receive-pack good$' "$E2E_TMP/http.log"
rev2=$(remote_head)
check "the remote moved" test "$rev2" != "$rev1"
check "the step's output names the commit" grep -qx "commit=$rev2" "$E2E_TMP/gh_output"
check "the step summary names the digest" grep -qF "${IMG_WEB_V2#*@}" "$E2E_TMP/gh_summary"
check "the commit changes the manifest only" \
	test "$(git --git-dir="$DL_REMOTE" diff --name-only "$rev1" "$rev2")" = "$DL_MANIFEST"
check "by the CI's author" \
	test "$(git --git-dir="$DL_REMOTE" log -1 --format='%an <%ae>' "$rev2")" = "App CI <ci@app.example>"
check "saying what and from where" \
	grep -q "acme/app@0123abc" <(git --git-dir="$DL_REMOTE" log -1 --format=%B "$rev2")
check "the manifest pins v2" \
	grep -qF "image: $IMG_WEB_V2" <(git --git-dir="$DL_REMOTE" show "$rev2:$DL_MANIFEST")
check "no work tree or token file is left" test -z "$(find "$E2E_TMP" -maxdepth 1 -name 'bump-digest.*')"

# reconcilerd picks the commit up from git daemon and rolls it out.
check_or dl_diag "reconcilerd rolls the bump out" dl_wait_head 120 "$rev2" "in-sync converged"
check "the service runs the new digest" \
	test "$(docker inspect -f '{{.Config.Image}}' rt-adopter-web 2>/dev/null)" = "$IMG_WEB_V2"
check "and serves v2" test "$(docker exec rt-adopter-web wget -qO- http://127.0.0.1:8080/)" = "web v2"
check "the journal says why" grep -q 'service=web' <(dl_log_since "$mark")

# The same digest again (a re-run job): nothing to do, nothing pushed.
bump bash "$bump" web "$IMG_WEB_V2"
check_or diag_out "a re-run is a no-op (exit $rc)" test "$rc" = 0
check "it says the digest is already set" grep -q 'already set' <<<"$out"
check "and pushes nothing" test "$(remote_head)" = "$rev2"

# A push refused once (the branch moved, a hook, a flaky host) is retried
# from the remote's new head. This one goes through git daemon, without a token.
hook=$DL_REMOTE/hooks/pre-receive
cat >"$hook" <<EOF
#!/bin/sh
[ -e "$E2E_TMP/refused" ] && exit 0
touch "$E2E_TMP/refused"
echo "busy, try again" >&2
exit 1
EOF
chmod +x "$hook"
INFRA_REPO=$DL_GIT_URL INFRA_TOKEN='' bump env BUMP_TRIES=3 bash "$bump" web "$IMG_WEB_V1"
check_or diag_out "a push refused once is retried (exit $rc)" test "$rc" = 0
check "the retry is said" grep -q 'push 1 failed' <<<"$out"
rev3=$(remote_head)
check "the retried push landed" grep -qF "image: $IMG_WEB_V1" <(git --git-dir="$DL_REMOTE" show "$rev3:$DL_MANIFEST")
check "on top of the previous deploy" test "$(git --git-dir="$DL_REMOTE" rev-parse "$rev3^")" = "$rev2"
rm -f "$hook"
check_or dl_diag "and is rolled out too" dl_wait_head 120 "$rev3" "in-sync converged"
check "back on v1" test "$(docker exec rt-adopter-web wget -qO- http://127.0.0.1:8080/)" = "web v1"

# INFRA_SIGNING_KEY: the bump is signed with CI's ssh key (for hosts whose
# reconcilerd verifies signatures), and the key is never printed.
ssh-keygen -q -t ed25519 -N '' -C ci@app.example -f "$E2E_TMP/signing"
printf 'ci@app.example namespaces="git" %s\n' "$(cat "$E2E_TMP/signing.pub")" >"$E2E_TMP/allowed_signers"
bump env INFRA_SIGNING_KEY="$(cat "$E2E_TMP/signing")" bash "$bump" web "$IMG_WEB_V2"
check_or diag_out "a bump with INFRA_SIGNING_KEY pushes (exit $rc)" test "$rc" = 0
rev4=$(remote_head)
signed_ok() {
	git --git-dir="$DL_REMOTE" -c gpg.ssh.allowedSignersFile="$E2E_TMP/allowed_signers" \
		verify-commit "$rev4" >/dev/null 2>&1
}
check "its commit is signed by CI's key (git verify-commit)" signed_ok
check "the signing key is not in the output" test -z "$(grep -F "$(sed -n 2p "$E2E_TMP/signing")" <<<"$out")"
check_or dl_diag "and is rolled out" dl_wait_head 120 "$rev4" "in-sync converged"
dl_daemon_stop 60
check "reconcilerd exits 0 on SIGTERM" test "$DL_DAEMON_RC" = 0

# reconcilerd itself reads the repository over smart HTTP with a token file
# (git.token_file), as from a Git host: one cycle from a fresh state dir.
hcfg() { # TOKEN_FILE: a config for the HTTP remote
	cat >"$E2E_TMP/http.yaml" <<EOT
repo: http://127.0.0.1:$hport/$(basename "$DL_REMOTE")
branch: main
manifest: $DL_MANIFEST
state_dir: $E2E_TMP/hstate
secrets_dir: $E2E_SECRETS
git:
  token_file: $1
  token_user: x-access-token
EOT
}
hcfg "$E2E_TMP/token"
: >"$E2E_TMP/http.log"
out=$("$RECONCILERD" --once -c "$E2E_TMP/http.yaml" 2>&1)
rc=$?
check_or diag_out "reconcilerd --once over smart HTTP with the token: in sync at the head (exit $rc)" \
	test "$rc" = 0
check "it fetched with the token" grep -q '^POST /remote.git/git-upload-pack good$' "$E2E_TMP/http.log"
check "and checked out $rev4" grep -q "revision=${rev4:0:12}" <<<"$out"
check_or diag_out "the token is not in its log" no_token
printf 'wrong-%s\n' "$token" >"$E2E_TMP/token.bad"
chmod 600 "$E2E_TMP/token.bad"
hcfg "$E2E_TMP/token.bad"
rm -rf "$E2E_TMP/hstate"
out=$("$RECONCILERD" --once -c "$E2E_TMP/http.yaml" 2>&1)
rc=$?
check_or diag_out "with a wrong token it fails with an error (exit $rc)" test "$rc" = 2
check "the server refused it" grep -q ' bad$' "$E2E_TMP/http.log"
check_or diag_out "neither token is in its log" no_token
check "nothing of the project was touched" \
	test "$(docker exec rt-adopter-web wget -qO- http://127.0.0.1:8080/)" = "web v2"
# A token file group or others may read is refused, as ssh refuses such a
# key: the error names the file and the fix, and the token is never sent.
cp "$E2E_TMP/token" "$E2E_TMP/token.open"
chmod 644 "$E2E_TMP/token.open"
hcfg "$E2E_TMP/token.open"
rm -rf "$E2E_TMP/hstate"
: >"$E2E_TMP/http.log"
out=$("$RECONCILERD" --once -c "$E2E_TMP/http.yaml" 2>&1)
rc=$?
check_or diag_out "a token file open to others fails the cycle (exit $rc)" test "$rc" = 2
check_or diag_out "the error names the file, its mode and chmod 600" \
	grep -qF "'$E2E_TMP/token.open' is open to group or others (mode 0644) and holds a credential: chmod 600" <<<"$out"
check "the token was never sent" test -z "$(grep ' good$' "$E2E_TMP/http.log")"
check_or diag_out "nor logged" no_token

# validate-pr.sh: a pull request with a bad manifest gets annotations.
pr=$E2E_TMP/pr
mkdir -p "$pr/manifests"
git --git-dir="$DL_REMOTE" show "$rev3:$DL_MANIFEST" >"$pr/manifests/prod.yaml"
cat >"$pr/manifests/bad.yaml" <<'EOT'
version: 1
project: rt-adopter
services:
  web:
    image: nginx:latest
    restrat: always
EOT
out=$(cd "$pr" && RECONCILERCTL=$RECONCILERCTL GITHUB_ACTIONS=true \
	GITHUB_STEP_SUMMARY="$E2E_TMP/pr_summary" bash "$validate" 2>&1)
rc=$?
check "validate-pr.sh fails on a bad manifest (exit $rc)" test "$rc" = 1
check_or diag_out "the unpinned image is annotated on its line" grep -qE \
	"^::error file=manifests/bad.yaml,line=5,col=12::services\.web\.image: image 'nginx:latest' is not pinned by digest" <<<"$out"
check_or diag_out "the typo too, with a hint" grep -qE \
	"^::error file=manifests/bad.yaml,line=6,col=5::services\.web\.restrat: unknown key 'restrat' \(did you mean 'restart'\?\)" <<<"$out"
check "the good manifest has none" test -z "$(grep 'file=manifests/prod.yaml' <<<"$out")"
check "the summary counts the errors" grep -q 'invalid: 2 error' "$E2E_TMP/pr_summary"
rm "$pr/manifests/bad.yaml"
out=$(cd "$pr" && RECONCILERCTL=$RECONCILERCTL bash "$validate" 2>&1)
rc=$?
check_or diag_out "validate-pr.sh passes on valid manifests (exit $rc)" test "$rc" = 0
out=$(cd "$E2E_TMP" && RECONCILERCTL=$RECONCILERCTL bash "$validate" 2>&1)
rc=$?
check "and says when there is nothing to check (exit $rc)" test "$rc" = 2

#!/usr/bin/env bash
# Hostile files through reconcilerd --once, against the real engine: a
# malformed or non-UTF-8 line of a secret env file fails the cycle with the
# file and line, and its content reaches neither the log nor status.json; a
# host key that exists but cannot be read (a directory in its place, a file
# cut short) fails the cycle naming it and is never replaced, so the service
# is not recreated when the key is back.
. "$(dirname "$0")/daemon-lib.sh"

dl_setup rt-hfiles
P=rt-hfiles
dl_repo_init
DL_MANIFEST=manifests/h.yaml
mkdir -p "$DL_WORK/manifests"
cat >"$DL_WORK/$DL_MANIFEST" <<EOT
version: 1
project: $P
services:
  app:
    image: $IMG_SLEEPER
    env_files: [app.env]
    environment: {TOKEN: {secret: token}}
    update: {min_ready: 1s}
EOT
dl_commit_push "hostile files: one service" >/dev/null
printf 'tok-1\n' >"$E2E_SECRETS/token"
dl_daemon_args
key=$DL_STATE/hmac.key

# no_leak WHAT: SECRETVALUE is in neither the log nor status.json
no_leak() {
	check "$1: the content is not in the log" test -z "$(grep -F SECRETVALUE "$DL_LOG")"
	check "$1: nor in status.json" test -z "$(grep -F SECRETVALUE "$DL_STATE/status.json")"
}

# ---- item 7: errors about a secret env file give its line, not its content
printf '# app\nA=1\n  SECRETVALUE-xyz\n' >"$E2E_SECRETS/app.env"
dl_once "${DL_ARGS[@]}"
check "malformed line: the cycle fails ($DL_ONCE_RC)" test "$DL_ONCE_RC" != 0
out=$(dl_status 'd.get("message") or ""')
expect_contains "malformed line: status names the file and line" "env file 'app.env', line 3: expected KEY=VALUE"
no_leak "malformed line"
check "malformed line: nothing was created" test "$(e2e_state "$P-app")" = missing

printf 'A=1\nB=SECRETVALUE-\377\n' >"$E2E_SECRETS/app.env"
dl_once "${DL_ARGS[@]}"
check "not UTF-8: the cycle fails ($DL_ONCE_RC)" test "$DL_ONCE_RC" != 0
out=$(dl_status 'd.get("message") or ""')
expect_contains "not UTF-8: status names the file and line" "env file 'app.env', line 2: not valid UTF-8"
no_leak "not UTF-8"
check "not UTF-8: nothing was created" test "$(e2e_state "$P-app")" = missing

printf 'A=1\nB=caf\303\251\n' >"$E2E_SECRETS/app.env"
dl_once "${DL_ARGS[@]}"
check "valid again: the cycle converges ($DL_ONCE_RC: 3 converged)" test "$DL_ONCE_RC" = 3
check "valid again: the container has the UTF-8 value" \
	test "$(docker exec "$P-app" sh -c 'printf %s "$B"')" = "café"
check "valid again: and the {secret:} one" \
	test "$(docker exec "$P-app" sh -c 'printf %s "$TOKEN"')" = "tok-1"
cid=$(e2e_cid "$P-app")
check "the host key was made (0600, 32 bytes)" test "$(stat -c '%a %s' "$key")" = "600 32"
cp "$key" "$E2E_TMP/key.saved"

# ---- item 5: a key that cannot be read fails the cycle and is not replaced
mv "$key" "$E2E_TMP/key.moved"
mkdir "$key"
dl_once "${DL_ARGS[@]}"
check "key is a directory: the cycle fails ($DL_ONCE_RC)" test "$DL_ONCE_RC" != 0
out=$(dl_status 'd.get("message") or ""')
expect_contains "key is a directory: status names the key and why" "'$key': Is a directory"
check "key is a directory: it is still one" test -d "$key"
rmdir "$key"
head -c 5 "$E2E_TMP/key.saved" >"$key"
dl_once "${DL_ARGS[@]}"
check "key cut short: the cycle fails ($DL_ONCE_RC)" test "$DL_ONCE_RC" != 0
out=$(dl_status 'd.get("message") or ""')
expect_contains "key cut short: status says so" "the host key '$key' is 5 bytes, not 32"
check "key cut short: it is not replaced" test "$(stat -c %s "$key")" = 5
check "the service was left alone meanwhile" test "$(e2e_cid "$P-app")" = "$cid"
mv "$E2E_TMP/key.moved" "$key"
dl_once "${DL_ARGS[@]}"
check "key back: in sync ($DL_ONCE_RC)" test "$DL_ONCE_RC" = 0
check "key back: the same key" cmp -s "$key" "$E2E_TMP/key.saved"
check "key back: the service was not recreated" test "$(e2e_cid "$P-app")" = "$cid"
check "no temporary file is left in the state dir" test -z "$(find "$DL_STATE" -name '*.tmp.*')"

#!/usr/bin/env bash
# Hostile secret files through `reconcilerctl diff` (no engine: the specs fail
# before it is asked). An env file's malformed or non-UTF-8 line is named by
# file and line, and nothing of its content is printed; a secret file every
# user can read is warned about; the host key is never replaced when it
# cannot be read.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/rt-cli-secrets.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -m 0700 "$tmp/secrets" "$tmp/state"
cat >"$tmp/m.yaml" <<'EOF'
version: 1
project: demo
services:
  web:
    image: registry.example/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    env_files: [app.env]
EOF
diff_() {
	"$RECONCILERCTL" diff -f "$tmp/m.yaml" --secrets-dir "$tmp/secrets" --state-dir "$tmp/state" \
		-H unix:///nonexistent/docker.sock "$@"
}

printf '# db\nA=1\n\n  SECRETVALUE-xyz\nB=2\n' >"$tmp/secrets/app.env"
chmod 600 "$tmp/secrets/app.env"
expect_exit "a malformed env file line fails the diff" 2 diff_
expect_contains "the error names the file and the line" "env file 'app.env', line 4: expected KEY=VALUE"
expect_not_contains "and quotes nothing of it" "SECRETVALUE"
expect_exit "the same with --json" 2 diff_ --json
expect_not_contains "--json quotes nothing of it" "SECRETVALUE"

printf 'A=1\nB=SECRETVALUE-\377\376\n' >"$tmp/secrets/app.env"
expect_exit "a value that is not UTF-8 fails the diff" 2 diff_
expect_contains "the error names the file, the line and why" \
	"env file 'app.env', line 2: not valid UTF-8"
expect_not_contains "and quotes nothing of it" "SECRETVALUE"

printf 'A=1\n' >"$tmp/secrets/app.env"
chmod 644 "$tmp/secrets/app.env"
diff_ >/dev/null 2>"$tmp/err"
out=$(cat "$tmp/err")
expect_not_contains "a 0644 file in a 0700 directory is not warned about" "readable by every user"
chmod 755 "$tmp/secrets"
diff_ >/dev/null 2>"$tmp/err"
out=$(cat "$tmp/err")
expect_contains "in a 0755 one, a secret file every user can read is warned about" \
	"secret file '$tmp/secrets/app.env' is readable by every user of the host (mode 0644)"
chmod 640 "$tmp/secrets/app.env"
diff_ >/dev/null 2>"$tmp/err"
out=$(cat "$tmp/err")
expect_not_contains "a group-readable one is not" "readable by every user"
chmod 700 "$tmp/secrets"

# The host key: read errors fail, a missing key is made, nothing is replaced.
key=$tmp/state/hmac.key
check "the first diff made the host key" test "$(stat -c '%a %s' "$key")" = "600 32"
cp "$key" "$tmp/key.saved"
rm "$key"
mkdir "$key"
expect_exit "a directory in the key's place fails the diff" 2 diff_
expect_contains "naming the key and why" "'$key': Is a directory"
check "the directory is still there" test -d "$key"
rmdir "$key"
head -c 5 "$tmp/key.saved" >"$key"
expect_exit "a short key fails the diff" 2 diff_
expect_contains "saying so" "the host key '$key' is 5 bytes, not 32"
check "and is not replaced" cmp -s "$key" <(head -c 5 "$tmp/key.saved")
cp "$tmp/key.saved" "$key"
diff_ >/dev/null 2>&1
check "the key is kept as it was" cmp -s "$key" "$tmp/key.saved"
check "no temporary file is left in the state dir" test -z "$(find "$tmp/state" -name '*.tmp.*')"

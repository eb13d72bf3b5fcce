#!/usr/bin/env bash
# set-image --sign: the bump is committed signed with an ssh key, a signature
# git itself verifies (gpg.format=ssh); the first commit of a repository and
# a detached HEAD are signed too; a key that cannot sign (a passphrase, a
# missing file) leaves no commit and says why. No engine, no network.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/rt-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

g() { git -c user.name=t -c user.email=t@localhost -c init.defaultBranch=main -C "$tmp/w" "$@"; }
digest() { printf '%064x' "$1"; }
ssh-keygen -q -t ed25519 -N '' -C ci@example.com -f "$tmp/ci"
ssh-keygen -q -t ed25519 -N 'a passphrase' -C locked@example.com -f "$tmp/locked"
printf 'ci@example.com namespaces="git" %s\n' "$(cat "$tmp/ci.pub")" >"$tmp/allowed"
verified() { g -c gpg.ssh.allowedSignersFile="$tmp/allowed" verify-commit "$1" >/dev/null 2>&1; }

mkdir -p "$tmp/w"
g init -q
printf 'version: 1\nproject: rt-sign\nservices:\n  api:\n    image: r.example/api@sha256:%s\n' \
	"$(digest 1)" >"$tmp/w/m.yaml"
expect_exit "the first commit of a repository, signed" 0 "$RECONCILERCTL" set-image --sign "$tmp/ci" \
	"$tmp/w/m.yaml" api "r.example/api@sha256:$(digest 2)"
expect_contains "it says signed" "(signed)"
check "git verifies it" verified HEAD
check "the branch moved to it" test "$(g rev-parse main)" = "$(g rev-parse HEAD)"
check "the work tree is clean" test -z "$(g status --porcelain)"

expect_exit "a second bump, signed" 0 "$RECONCILERCTL" set-image --sign "$tmp/ci" \
	"$tmp/w/m.yaml" api "r.example/api@sha256:$(digest 3)"
check "git verifies it" verified HEAD
check "on top of the first" test "$(g rev-list --count HEAD)" = 2

before=$(g rev-parse HEAD)
expect_exit "a key with a passphrase cannot sign" 1 "$RECONCILERCTL" set-image --sign "$tmp/locked" \
	"$tmp/w/m.yaml" api "r.example/api@sha256:$(digest 4)"
expect_contains "the error names the key" "cannot sign with $tmp/locked"
check "no commit was made" test "$(g rev-parse HEAD)" = "$before"
g checkout -q m.yaml
expect_exit "a missing key cannot sign" 1 "$RECONCILERCTL" set-image --sign "$tmp/nokey" \
	"$tmp/w/m.yaml" api "r.example/api@sha256:$(digest 5)"
expect_contains "the error names it" "cannot sign with $tmp/nokey"
check "no commit was made" test "$(g rev-parse HEAD)" = "$before"
g checkout -q m.yaml

g checkout -q --detach
expect_exit "on a detached HEAD, signed" 0 "$RECONCILERCTL" set-image --sign "$tmp/ci" \
	"$tmp/w/m.yaml" api "r.example/api@sha256:$(digest 6)"
check "git verifies it" verified HEAD
check "main stayed where it was" test "$(g rev-parse main)" = "$before"

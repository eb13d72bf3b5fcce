#!/usr/bin/env bash
# reconcilerctl secret set: a value from stdin encrypted with age to the
# repository's recipients (interoperable with `age -d` both ways), written
# atomically into the file the manifest's secrets section names, committed
# with --commit; and its refusals. Needs age (make deps).
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/rt-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if ! command -v age >/dev/null || ! command -v age-keygen >/dev/null; then
	fail "age is not installed (make deps)"
	exit 0
fi
ctl=$(cd "$(dirname "$RECONCILERCTL")" && pwd)/${RECONCILERCTL##*/}
repo=$tmp/repo
mkdir -p "$repo/manifests" "$repo/secrets"
git -C "$repo" init -q -b main
git -C "$repo" config user.name "rt cli"
git -C "$repo" config user.email "rt-cli@localhost"
age-keygen -o "$tmp/id.key" 2>/dev/null
age-keygen -o "$tmp/other.key" 2>/dev/null
chmod 0600 "$tmp/id.key" "$tmp/other.key"
age-keygen -y "$tmp/id.key" >"$repo/secrets/recipients.txt"
cat >"$repo/manifests/prod.yaml" <<EOT
version: 1
project: agecli
services:
  app:
    image: r/app@sha256:$(printf '0%.0s' {1..64})
    environment:
      TOKEN: {secret: token}
secrets:
  token:
    file: secrets/token.age
EOT
git -C "$repo" add -A && git -C "$repo" commit -q -m init

value="s3cret-$RANDOM-value"
set_value() { # VALUE ARGS…: the value on stdin
	local v=$1
	shift
	printf '%s\n' "$v" | "$ctl" secret set "$@"
}
in_repo() { (cd "$repo" && "$@"); }

expect_exit "secret set encrypts the value" 0 in_repo set_value "$value" token
expect_contains "  and names the file" "secrets/token.age: secret 'token' encrypted"
check "  the file is an age file" grep -q "age-encryption.org/v1" <(head -c 64 "$repo/secrets/token.age")
check "  the value is not in it in clear" test "$(grep -c -aF "$value" "$repo/secrets/token.age")" = 0
out=$(age -d -i "$tmp/id.key" "$repo/secrets/token.age" 2>&1)
check "age -d gives the value back, its newline kept" test "$out" = "$value"
check "  byte for byte" cmp -s <(printf '%s\n' "$value") <(age -d -i "$tmp/id.key" "$repo/secrets/token.age")
check "no temporary file is left" test "$(ls "$repo/secrets")" = "$(printf 'recipients.txt\ntoken.age')"

# the other way: a file age -e made is decrypted by reconcilerctl (diff reads
# the secrets before the engine: an engine that does not answer comes after)
printf 'from-age\n' | age -e -R "$repo/secrets/recipients.txt" -o "$repo/secrets/token.age"
expect_exit "diff decrypts a file age -e made" 2 "$ctl" diff -f "$repo/manifests/prod.yaml" \
	--age-identity "$tmp/id.key" -H unix://"$tmp"/no.sock --state-dir "$tmp"
expect_not_contains "  (it gets as far as the engine)" "does not decrypt"
expect_exit "diff with another identity" 2 "$ctl" diff -f "$repo/manifests/prod.yaml" \
	--age-identity "$tmp/other.key" -H unix://"$tmp"/no.sock --state-dir "$tmp"
expect_contains "  says the file does not decrypt, and age's reason" \
	"secret 'token': secrets/token.age does not decrypt with the identity $tmp/other.key: age: no identity matched any of the recipients"

# --commit
expect_exit "secret set --commit" 0 in_repo set_value "v2-$value" token --commit -m "secrets: rotate token"
expect_contains "  says the commit" "committed "
check "  the commit holds the file" test "$(git -C "$repo" show --name-only --format=%s HEAD)" = "$(printf 'secrets: rotate token\n\nsecrets/token.age')"
check "  and the work tree is clean" test -z "$(git -C "$repo" status --porcelain)"
out=$(age -d -i "$tmp/id.key" "$repo/secrets/token.age" 2>&1)
check "  the committed file decrypts to the new value" test "$out" = "v2-$value"

# -f from elsewhere, --recipients
mkdir -p "$tmp/elsewhere"
age-keygen -y "$tmp/other.key" >"$tmp/other.txt"
from_elsewhere() {
	(cd "$tmp/elsewhere" && printf x |
		"$ctl" secret set token -f "$repo/manifests/prod.yaml" --recipients "$tmp/other.txt")
}
expect_exit "-f and --recipients from another directory" 0 from_elsewhere
out=$(age -d -i "$tmp/other.key" "$repo/secrets/token.age" 2>&1)
check "  the file is for those recipients" test "$out" = x

# refusals
before=$(cksum <"$repo/secrets/token.age")
expect_exit "a name the secrets section does not declare" 1 in_repo set_value x nope
expect_contains "  names the YAML to add" "nope:"
expect_contains "  with its file" "file: secrets/nope.age"
empty_stdin() { : | "$ctl" secret set token; }
expect_exit "an empty stdin" 1 in_repo empty_stdin
expect_contains "  says it is empty" "the value on stdin is empty"
expect_exit "a missing recipients file" 1 in_repo set_value x token --recipients "$tmp/none.txt"
expect_contains "  names it and how to make it" "age-keygen -y"
expect_exit "an invalid name" 2 in_repo set_value x ../x
expect_exit "wrong arguments" 2 "$ctl" secret get token
check "refusals leave the file alone" test "$(cksum <"$repo/secrets/token.age")" = "$before"

#!/usr/bin/env bash
# reconcilerctl validate: exit codes, output forms.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/rt-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

expect_exit "prod.yaml is valid" 0 "$RECONCILERCTL" validate manifests/prod.yaml
expect_contains "prod.yaml summary" "manifests/prod.yaml: valid (7 services)"
expect_exit "demo.yaml is valid" 0 "$RECONCILERCTL" validate manifests/demo.yaml
expect_exit "a missing file is an I/O error" 2 "$RECONCILERCTL" validate "$tmp/nope.yaml"
expect_contains "the I/O error names the file" "$tmp/nope.yaml"
expect_exit "no file is a usage error" 2 "$RECONCILERCTL" validate
expect_exit "unknown option is a usage error" 2 "$RECONCILERCTL" validate --bogus x

printf 'version: 1\nproject: t\nservices:\n  web:\n    image: nginx:latest\n    restrat: always\n' >"$tmp/bad.yaml"
expect_exit "an invalid manifest exits 1" 1 "$RECONCILERCTL" validate "$tmp/bad.yaml"
expect_contains "errors name file:line:col and the key" "$tmp/bad.yaml:5:12: services.web.image: image 'nginx:latest' is not pinned by digest"
expect_contains "all errors at once, with a hint" "$tmp/bad.yaml:6:5: services.web.restrat: unknown key 'restrat' (did you mean 'restart'?)"

expect_exit "--json on an invalid manifest" 1 "$RECONCILERCTL" validate --json "$tmp/bad.yaml"
# shellcheck disable=SC2154 # $out is set by expect_exit
if /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["valid"] is False; e=d["files"][0]["errors"]; assert e[0]["line"]==5 and e[0]["column"]==12 and e[0]["path"]=="services.web.image", e' <<<"$out"; then
	ok "--json is machine-readable"
else
	fail "--json is machine-readable"; printf '%s\n' "$out" | sed 's/^/#   /'
fi
expect_exit "--github annotations" 1 "$RECONCILERCTL" validate --github "$tmp/bad.yaml"
expect_contains "--github annotation format" "::error file=$tmp/bad.yaml,line=5,col=12::services.web.image: image 'nginx:latest'"

expect_exit "several files: worst result wins" 1 "$RECONCILERCTL" validate manifests/prod.yaml "$tmp/bad.yaml"
expect_exit "version" 0 "$RECONCILERCTL" version
expect_contains "version prints a version" "reconcilerctl "
expect_exit "unknown command" 2 "$RECONCILERCTL" frobnicate
expect_exit "help" 0 "$RECONCILERCTL" help
expect_contains "help lists validate" "validate"

# A file name with the characters workflow commands reserve stays one annotation.
cp "$tmp/bad.yaml" "$tmp/b,a:d%.yaml"
expect_exit "--github with a name to escape" 1 "$RECONCILERCTL" validate --github "$tmp/b,a:d%.yaml"
expect_contains "the file property is escaped" "::error file=$tmp/b%2Ca%3Ad%25.yaml,line=5,col=12::services.web.image:"

# The size limit, whatever the size: the error names the size and the limit.
for size in 1048577 1100000 3000000; do
	head -c "$size" /dev/zero | tr '\0' '#' >"$tmp/big.yaml"
	expect_exit "a manifest of $size bytes is invalid" 1 "$RECONCILERCTL" validate "$tmp/big.yaml"
	expect_contains "its error names the size and the limit ($size bytes)" \
		"$tmp/big.yaml: document is $size bytes, more than the limit of 1048576 bytes"
done

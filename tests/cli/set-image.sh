#!/usr/bin/env bash
# reconcilerctl set-image: only the bytes of one image value change.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/rt-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

new="ghcr.io/maicivy/maicivy-backend@sha256:$(printf 'ab%.0s' {1..32})"
cp manifests/prod.yaml "$tmp/prod.yaml"
chmod 0640 "$tmp/prod.yaml"
old=$(grep -m1 -o 'ghcr.io/maicivy/maicivy-backend@sha256:[0-9a-f]*' manifests/prod.yaml)

expect_exit "set-image on prod.yaml" 0 "$RECONCILERCTL" set-image "$tmp/prod.yaml" backend "$new"
expect_contains "set-image reports the change" "services.backend.image updated"

# Everything before and after the value is byte-for-byte the original.
off=$(grep -b -o -F "$old" manifests/prod.yaml | head -1 | cut -d: -f1)
olen=${#old}
nlen=${#new}
total=$(stat -c %s manifests/prod.yaml)
check "bytes before the image are unchanged" cmp -s -n "$off" manifests/prod.yaml "$tmp/prod.yaml"
check "bytes after the image are unchanged" cmp -s <(tail -c +$((off + olen + 1)) manifests/prod.yaml) <(tail -c +$((off + nlen + 1)) "$tmp/prod.yaml")
check "the new value is in place" test "$(dd if="$tmp/prod.yaml" bs=1 skip="$off" count="$nlen" 2>/dev/null)" = "$new"
check "the size changed by the value's length only" test "$(stat -c %s "$tmp/prod.yaml")" -eq $((total - olen + nlen))
check "the file mode is kept" test "$(stat -c %a "$tmp/prod.yaml")" = 640
check "no temporary file is left" test "$(ls "$tmp")" = prod.yaml
expect_exit "the edited file validates" 0 "$RECONCILERCTL" validate "$tmp/prod.yaml"

cp "$tmp/prod.yaml" "$tmp/before.yaml"
expect_exit "a tag is refused" 1 "$RECONCILERCTL" set-image "$tmp/prod.yaml" backend ghcr.io/x/y:latest
expect_contains "the refusal says why" "not pinned by digest"
expect_exit "an unknown service is refused" 1 "$RECONCILERCTL" set-image "$tmp/prod.yaml" nope "$new"
expect_contains "the refusal names the service" "unknown service 'nope'"
check "refusals leave the file alone" cmp -s "$tmp/before.yaml" "$tmp/prod.yaml"
expect_exit "setting the same digest again" 0 "$RECONCILERCTL" set-image "$tmp/prod.yaml" backend "$new"
expect_contains "an unchanged value is said" "already set"
expect_exit "a missing file" 1 "$RECONCILERCTL" set-image "$tmp/none.yaml" backend "$new"
expect_exit "wrong arguments" 2 "$RECONCILERCTL" set-image "$tmp/prod.yaml" backend

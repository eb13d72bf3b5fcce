#!/usr/bin/env bash
# Runs each libFuzzer target given for FUZZ_SECONDS (default 10) on a copy of
# its seed corpus; prints one TAP line per target. A crash keeps its input in
# build-fuzz/artifacts/. The manifest target takes inputs up to the 1 MiB cap
# on a manifest (YT_MAX_SIZE), where slow paths show; the others up to 64 KiB.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${FUZZ_SECONDS:-10}
mkdir -p "$top/build-fuzz/artifacts"
for bin in "$@"; do
	name=$(basename "$bin")
	target=${name#fuzz_}
	work=$(mktemp -d /tmp/rt-fuzz.XXXXXX)
	seeds="$top/tests/fuzz/seeds/$target"
	[ -d "$seeds" ] && cp -r "$seeds/." "$work/"
	case $target in
	manifest) max_len=1048576 ;;
	*) max_len=65536 ;;
	esac
	if "$bin" -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$top/build-fuzz/artifacts/$name-" "$work" >"$work.log" 2>&1; then
		runs=$(grep -o 'Done [0-9]* runs' "$work.log" | tail -1)
		echo "ok - fuzz: $name ${runs:-ran} in ${secs}s"
	else
		echo "not ok - fuzz: $name found a problem"
		grep -E 'ERROR|SUMMARY|Test unit written' "$work.log" | head -5 | sed 's/^/#   /'
	fi
	rm -rf "$work" "$work.log"
done

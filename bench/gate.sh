#!/usr/bin/env bash
# Benchmark: how long after the engine knows a container is healthy the health
# gate lets it through: from the end of its first passing check (the engine's
# State.Health.Log[].End) to the apply's "rollout service=gated outcome=ok"
# line, right after the gate, for the gate that follows the engine's events
# and for the old one that inspected every 200 ms (RECONCILER_GATE_POLL=1, a
# test hook), interleaved, on the real engine of tests/env/up.sh (which it
# runs first).
#
#   bench/gate.sh [-n N]      N gates each way (default 5, or BENCH_N=N)
#
# Each run removes the container of the project rt-bench-gate and applies it
# again with reconcilerctl apply (a create behind the gate: a check every
# second, passing at its first run). Everything is removed at the end, also
# on failure or interrupt.
set -euo pipefail
export LC_ALL=C

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../tests/env/lib.sh
. "$top/tests/env/lib.sh"

N=${BENCH_N:-5}
if [ "${1:-}" = -n ]; then
	N=${2:?"-n needs a number"}
fi
P=rt-bench-gate
tmp=$(mktemp -d /tmp/rt-bench-gate.XXXXXX)

cleanup() {
	local ids
	ids=$(docker ps -aq --filter "label=io.reconciler.project=$P" 2>/dev/null || true)
	# shellcheck disable=SC2086 # a list of IDs
	[ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

RT_QUIET=1 "$top/tests/env/up.sh" >/dev/null
# shellcheck disable=SC1090 # written by tests/env/up.sh
. "$RT_IMAGES_ENV"
[ -x "$top/build/reconcilerctl" ] || make -C "$top" -s -j2 all
cp "$top/build/reconcilerctl" "$tmp/reconcilerctl"

cat >"$tmp/gate.yaml" <<EOF
version: 1
project: $P
services:
  gated:
    image: $IMG_WEB_V1
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      timeout: 1s
      retries: 3
EOF

# one MODE: the delay in ms
one() {
	local out
	docker rm -f "$P-gated" >/dev/null 2>&1 || true
	if [ "$1" = poll ]; then
		out=$(RECONCILER_GATE_POLL=1 "$tmp/reconcilerctl" apply -f "$tmp/gate.yaml" \
			--state-dir "$tmp/state" --secrets-dir "$tmp/secrets" 2>&1)
	else
		out=$("$tmp/reconcilerctl" apply -f "$tmp/gate.yaml" --state-dir "$tmp/state" \
			--secrets-dir "$tmp/secrets" 2>&1)
	fi
	docker inspect --type container "$P-gated" |
		python3 -c '
import datetime, json, re, sys
ok = [l for l in sys.argv[1].splitlines() if "rollout service=gated outcome=ok" in l]
if not ok:
    sys.exit("no outcome=ok line:\n" + sys.argv[1])
def t(s):
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", s)
    base = datetime.datetime.fromisoformat(m.group(1) + (m.group(3).replace("Z", "+00:00")))
    return base.timestamp() + float(m.group(2) or 0)
h = json.load(sys.stdin)[0]["State"]["Health"]["Log"]
end = next(e["End"] for e in h if e["ExitCode"] == 0)
print(round((t(ok[-1].split()[0]) - t(end)) * 1000))
' "$out"
}

declare -a poll events
for _ in $(seq "$N"); do
	events+=("$(one events)")
	poll+=("$(one poll)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
printf 'health gate: from the passing check to the gate'"'"'s return, median of %s (ms)\n' "$N"
printf '  %-34s %6s   (all: %s)\n' "events (this build)" "$(median "${events[@]}")" "${events[*]}"
printf '  %-34s %6s   (all: %s)\n' "poll every 200 ms (GATE_POLL=1)" "$(median "${poll[@]}")" "${poll[*]}"

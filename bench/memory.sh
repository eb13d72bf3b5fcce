#!/usr/bin/env bash
# Memory of reconcilerd on the 7-service manifest shaped like
# manifests/prod.yaml (bench/lib.sh's write_ref), against the real engine,
# registry and a local Git remote. See bench/README.md.
#
#   bench/memory.sh [-c CYCLES]     soak length in cycles (default 10000)
#
# Printed, from /proc/PID/smaps_rollup and /proc/PID/status (KiB shown as MiB):
#   idle        15 s after the first converge (--poll 1s): Private_Dirty,
#               Anonymous, Pss, VmRSS, VmHWM
#   fetch       peak (VmHWM after clear_refs) while a pushed commit that
#               changes no service is fetched, read, listed and diffed
#   rollout     peak while a push that rolls backend and frontend converges
#   soak        the daemon restarted on the same state with a poll of
#               RECONCILER_TEST_POLL_MS (SOAK_POLL_MS, default 20 ms), then
#               CYCLES real cycles (fetch, list, diff, in sync), counted by its
#               /metrics, the curve's points: floor (the least of 25 reads
#               10 ms apart: what stays between cycles) and high; then start
#               -> end, and the second half's points with their slope
#
# Everything it creates (project rt-bench-mem, its volumes, a temp dir) is
# removed at the end.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
C=10000
SOAK_POLL_MS=${SOAK_POLL_MS:-20}
while [ $# -gt 0 ]; do
	case $1 in
	-c) C=$2; shift ;;
	-c*) C=${1#-c} ;;
	-h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: bench/memory.sh [-c CYCLES]" >&2; exit 2 ;;
	esac
	shift
done
case $C in '' | *[!0-9]* | 0) echo "bench/memory.sh: CYCLES must be a positive integer" >&2; exit 2 ;; esac

# shellcheck source=../tests/env/lib.sh disable=SC1091
RT_QUIET=1 . "$top/tests/env/lib.sh"
# shellcheck source=lib.sh
. "$top/bench/lib.sh"
PY=${BENCH_PYTHON:-/usr/bin/python3}
PR=rt-bench-mem

for b in reconcilerd reconcilerctl; do
	[ -x "$top/$BUILD/$b" ] || { echo "bench/memory.sh: $top/$BUILD/$b missing (run make)" >&2; exit 2; }
done
"$top/tests/env/up.sh" >/dev/null
rt_images_load

tmp=$(mktemp -d /tmp/rt-bench-mem.XXXXXX)
# private copies: a rebuild during the run must not change the programs
mkdir -p "$tmp/bin"
cp "$top/$BUILD/reconcilerd" "$top/$BUILD/reconcilerctl" "$tmp/bin/"
RECONCILERD=$tmp/bin/reconcilerd
RECONCILERCTL=$tmp/bin/reconcilerctl
DPIDS=()

docker_cleanup() {
	local ids
	"$top/tests/env/down.sh" --project "$PR" >/dev/null 2>&1 || true
	ids=$(docker volume ls -q --filter "label=io.reconciler.project=$PR")
	# shellcheck disable=SC2086
	[ -z "$ids" ] || docker volume rm -f $ids >/dev/null 2>&1 || true
}

bench_cleanup_on_exit

kib() { awk -v k="$1" 'BEGIN { printf "%.2f", k / 1024 }'; }
# line LABEL PD ANON PSS RSS HWM: one row of the report
line() { printf '  %-34s %8s %8s %8s %8s %8s\n' "$1" "$(kib "$2")" "$(kib "$3")" "$(kib "$4")" "$(kib "$5")" "$(kib "$6")"; }

HC_TEST='["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]'
R=$tmp/ref
repo_init "$R"
read -r PORT_NGINX PORT_PROM PORT_GRAF < <(bench free-ports 3)
for s in database_url redis_url claude_api_key openai_api_key jwt_secret postgres_password \
	redis_password grafana_password; do
	printf 'bench-%s-%s\n' "$s" "$RANDOM" >"$R/secrets/$s"
done
SOCK=$R/state/reconcilerd.sock

# ---------------------------------------------------------------- first converge, idle

say "reconcilerd --poll 1s on the 7-service shape: first converge"
write_ref "$IMG_WEB_V1" "$IMG_WEB_V1"
commit_manifest "$R" "bench-mem: v1"
git_w "$R/work" push -q origin main
t0=$(date +%s%N)
start_daemon "$R" --poll 1s
bench wait-status "$R/state/status.json" "$HEAD" 300 "$DPID"
first_ms=$((($(date +%s%N) - t0) / 1000000))
read -r _ _ _ _ first_hwm < <(bench mem "$DPID")
say "idle: 15 s of 1 s polls"
sleep 15
read -r idle_pd idle_anon idle_pss idle_rss idle_hwm < <(bench mem "$DPID")

# ---------------------------------------------------------------- fetch

say "fetch: a commit that changes no service"
write_ref "$IMG_WEB_V1" "$IMG_WEB_V1"
echo "# bench-mem: fetched" >>"$R/work/manifests/m.yaml"
commit_manifest "$R" "bench-mem: a comment"
bench clear-hwm "$DPID"
read -r _ _ _ fetch_base _ < <(bench mem "$DPID")
git_w "$R/work" push -q origin main
bench wait-status "$R/state/status.json" "$HEAD" 60 "$DPID"
read -r fetch_pd fetch_anon fetch_pss fetch_rss fetch_hwm < <(bench mem "$DPID")

# ---------------------------------------------------------------- rollout

say "rollout: backend and frontend to v2"
write_ref "$IMG_WEB_V2" "$IMG_WEB_V2"
commit_manifest "$R" "bench-mem: backend and frontend v2"
bench clear-hwm "$DPID"
read -r _ _ _ roll_base _ < <(bench mem "$DPID")
t0=$(date +%s%N)
git_w "$R/work" push -q origin main
bench wait-status "$R/state/status.json" "$HEAD" 300 "$DPID"
roll_ms=$((($(date +%s%N) - t0) / 1000000))
read -r roll_pd roll_anon roll_pss roll_rss roll_hwm < <(bench mem "$DPID")
sleep 10
read -r after_pd after_anon after_pss after_rss after_hwm < <(bench mem "$DPID")
ncont=$(docker ps -q --filter "label=io.reconciler.project=$PR" | wc -l)
stop_daemon "$DPID"

# ---------------------------------------------------------------- soak

say "soak: $C cycles, poll ${SOAK_POLL_MS} ms (RECONCILER_TEST_POLL_MS)"
export RECONCILER_TEST_POLL_MS=$SOAK_POLL_MS
start_daemon "$R"
unset RECONCILER_TEST_POLL_MS
bench wait-status "$R/state/status.json" "$HEAD" 120 "$DPID"
bench soak "$DPID" "$SOCK" "$C" 1800 >"$tmp/soak.txt"
soak_pid=$DPID
stop_daemon "$DPID"

# ---------------------------------------------------------------- report

echo
echo "memory of reconcilerd $("$RECONCILERD" -V | awk '{ print $2, $3 }'), 7 services (prod.yaml shape, $ncont containers running)"
echo "MiB; private = Private_Dirty (held to 4 MiB), from /proc/PID/smaps_rollup"
printf '  %-34s %8s %8s %8s %8s %8s\n' "" private anon Pss VmRSS VmHWM
echo "  first converge from nothing: $first_ms ms, VmHWM $(kib "$first_hwm")"
line "idle (15 s of 1 s polls)" "$idle_pd" "$idle_anon" "$idle_pss" "$idle_rss" "$idle_hwm"
line "after a fetch (peak: VmHWM)" "$fetch_pd" "$fetch_anon" "$fetch_pss" "$fetch_rss" "$fetch_hwm"
echo "    fetch peak over the RSS before it: +$(kib $((fetch_hwm - fetch_base))) MiB"
line "after a 2-service rollout (peak)" "$roll_pd" "$roll_anon" "$roll_pss" "$roll_rss" "$roll_hwm"
echo "    rollout: push -> converged $roll_ms ms; peak over the RSS before it: +$(kib $((roll_hwm - roll_base))) MiB"
line "idle 10 s after the rollout" "$after_pd" "$after_anon" "$after_pss" "$after_rss" "$after_hwm"
echo
echo "soak: $C cycles (fetch, list, diff, in sync), poll ${SOAK_POLL_MS} ms, pid $soak_pid"
printf '  %8s %8s %10s %8s %10s %8s %8s %8s\n' cycle s private anon 'high priv' VmRSS Pss VmHWM
grep -v '^outcomes' "$tmp/soak.txt" | while read -r cy el pd an hi rs ps hw; do
	printf '  %8s %8s %10s %8s %10s %8s %8s %8s\n' "$cy" "$el" "$(kib "$pd")" "$(kib "$an")" \
		"$(kib "$hi")" "$(kib "$rs")" "$(kib "$ps")" "$(kib "$hw")"
done
awk 'NR == 1 { s = $3 } !/^outcomes/ { e = $3; c = $1 } END {
	printf "  private, start -> end: %.2f -> %.2f MiB (%+d KiB over %d cycles)\n", s / 1024, e / 1024, e - s, c }' "$tmp/soak.txt"
# after warm-up: the points of the soak's second half, and their least-squares
# slope (a cache that fills to its cap flattens there; a leak does not)
awk -v h=$((C / 2)) '!/^outcomes/ && $1 >= h { n++; x[n] = $1; y[n] = $3 } END {
	if (n < 2) exit
	for (i = 1; i <= n; i++) { sx += x[i]; sy += y[i] }
	mx = sx / n; my = sy / n
	for (i = 1; i <= n; i++) { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) ^ 2 }
	printf "  private, second half (cycle %d -> %d, %d points): %.2f -> %.2f MiB, slope %+.1f KiB per 1,000 cycles\n",
	    x[1], x[n], n, y[1] / 1024, y[n] / 1024, sxx ? 1000 * sxy / sxx : 0 }' "$tmp/soak.txt"
echo "  cycles by outcome: $(sed -n 's/^outcomes //p' "$tmp/soak.txt")"

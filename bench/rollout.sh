#!/usr/bin/env bash
# Rollout latency and memory of reconcilerd against the real engine, registry
# and a local Git remote, compared with the physical limit and with the old
# SSH-style deploy flow (docker-compose 1.29). See bench/README.md.
#
#   bench/rollout.sh [-n N]        N rollouts per measure (default 5, or BENCH_N)
#
# Per rollout of one start-first service changing digest (web v1 <-> v2,
# healthcheck interval 1s, timeout 1s, retries 3):
#   physical    `docker run -d` of the new image with the same healthcheck
#               flags, until Docker says healthy
#   compose     edit the image in a compose file, `docker-compose up -d`, until
#               the service's container runs the new image and is healthy
#   poll        `git push` of the bump commit -> reconcilerd (--poll 1s) has
#               <project>-api running the new image, healthy ("serving"), and
#               -> status.json says converged for that commit ("converged")
#   sync        the same, with `reconcilerctl sync` right after the push
# and the daemon's VmRSS / VmHWM (idle and peak) on a 7-service manifest
# shaped like manifests/prod.yaml, on the test images.
#
# Everything it creates (projects rt-bench, rt-bench-compose, rt-bench-ref,
# containers labelled rt.bench.owner=rt-bench, a temp dir) is removed at the end.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
N=${BENCH_N:-5}
while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift ;;
	-n*) N=${1#-n} ;;
	-h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: bench/rollout.sh [-n N]" >&2; exit 2 ;;
	esac
	shift
done
case $N in '' | *[!0-9]* | 0) echo "bench/rollout.sh: N must be a positive integer" >&2; exit 2 ;; esac

# shellcheck source=../tests/env/lib.sh disable=SC1091
RT_QUIET=1 . "$top/tests/env/lib.sh"
# shellcheck source=lib.sh
. "$top/bench/lib.sh"
PY=${BENCH_PYTHON:-/usr/bin/python3}
P=rt-bench
PC=rt-bench-compose
PR=rt-bench-ref
OWNER=rt.bench.owner=rt-bench

for b in reconcilerd reconcilerctl; do
	[ -x "$top/$BUILD/$b" ] || { echo "bench/rollout.sh: $top/$BUILD/$b missing (run make)" >&2; exit 2; }
done
command -v docker-compose >/dev/null || { echo "bench/rollout.sh: docker-compose missing (apt-get install docker-compose)" >&2; exit 2; }
"$top/tests/env/up.sh" >/dev/null
rt_images_load

tmp=$(mktemp -d /tmp/rt-bench.XXXXXX)
# private copies: a rebuild during the run must not change the programs
mkdir -p "$tmp/bin"
cp "$top/$BUILD/reconcilerd" "$top/$BUILD/reconcilerctl" "$tmp/bin/"
RECONCILERD=$tmp/bin/reconcilerd
RECONCILERCTL=$tmp/bin/reconcilerctl
DPIDS=()


docker_cleanup() {
	local ids
	"$top/tests/env/down.sh" --project "$P" >/dev/null 2>&1 || true
	"$top/tests/env/down.sh" --project "$PR" >/dev/null 2>&1 || true
	if [ -f "$tmp/compose/docker-compose.yml" ]; then
		docker-compose -p "$PC" -f "$tmp/compose/docker-compose.yml" down -t 2 >/dev/null 2>&1 || true
	fi
	ids=$(docker ps -aq --filter "label=$OWNER")
	# shellcheck disable=SC2086
	[ -z "$ids" ] || docker rm -f -v $ids >/dev/null 2>&1 || true
	ids=$(docker network ls -q --filter "label=com.docker.compose.project=$PC"
		docker network ls -q --filter "label=$OWNER")
	# shellcheck disable=SC2086
	[ -z "$ids" ] || docker network rm $ids >/dev/null 2>&1 || true
	ids=$(docker volume ls -q --filter "label=io.reconciler.project=$P"; docker volume ls -q --filter "label=io.reconciler.project=$PR")
	# shellcheck disable=SC2086
	[ -z "$ids" ] || docker volume rm -f $ids >/dev/null 2>&1 || true
}

bench_cleanup_on_exit

# ---------------------------------------------------------------- helper


HC_TEST='["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]'
# t0_of LINE: the wall-clock start (third column) of a `bench measure` line
t0_of() { awk '{ print $3 }' <<<"$1"; }
img_for() { if [ $(($1 % 2)) = 1 ]; then echo "$IMG_WEB_V2"; else echo "$IMG_WEB_V1"; fi; }
res=$tmp/results
mkdir -p "$res"

# ---------------------------------------------------------------- physical

# phys_runs SUFFIX [FLAGS...]: N runs of `docker run -d FLAGS` of the new image
# with the service's healthcheck, until healthy, into physicalSUFFIX.txt and
# its step times.
phys_runs() {
	local suffix=$1 i img line
	shift
	for i in $(seq 1 "$N"); do
		img=$(img_for "$i")
		docker rm -f rt-bench-phys >/dev/null 2>&1 || true
		line=$(bench measure "$img" '{"name": ["rt-bench-phys"]}' rt-bench-phys - - 120 \
			"docker run -d --name rt-bench-phys --label $OWNER $* --health-cmd 'wget -q -O /dev/null http://127.0.0.1:8080/health' --health-interval 1s --health-timeout 1s --health-retries 3 $img")
		echo "$line" >>"$res/physical$suffix.txt"
		bench phys-steps rt-bench-phys "$(t0_of "$line")" >>"$res/physical$suffix-steps.jsonl"
		docker rm -f rt-bench-phys >/dev/null
	done
}

say "physical limit: docker run + healthy, $N runs"
phys_runs ""

# The same on a user network under an alias, as the service runs: there the
# engine takes longer from create to start than on the default bridge.
say "physical limit on a user network, with an alias: docker run + healthy, $N runs"
docker network create --label "$OWNER" rt-bench-phys-net >/dev/null
phys_runs -net --network rt-bench-phys-net --network-alias api
docker network rm rt-bench-phys-net >/dev/null

# stop-first: the old container holds a host port; stop it, run the new one
read -r PORT_PHYS PORT_WEB < <(bench free-ports 2)
HC_FLAGS="--health-cmd 'wget -q -O /dev/null http://127.0.0.1:8080/health' --health-interval 1s --health-timeout 1s --health-retries 3"
say "physical limit, stop-first: docker stop + docker run + healthy, $N runs"
for i in $(seq 1 "$N"); do
	img=$(img_for "$i")
	docker rm -f rt-bench-phys rt-bench-phys-old >/dev/null 2>&1 || true
	eval "docker run -d --name rt-bench-phys-old --label $OWNER -p 127.0.0.1:$PORT_PHYS:8080 $HC_FLAGS $(img_for $((i + 1)))" >/dev/null
	bench measure "$(img_for $((i + 1)))" '{"name": ["rt-bench-phys-old"]}' rt-bench-phys-old - - 120 true >/dev/null
	line=$(bench measure "$img" '{"name": ["rt-bench-phys"]}' rt-bench-phys - - 120 \
		"docker stop rt-bench-phys-old" \
		"docker run -d --name rt-bench-phys --label $OWNER -p 127.0.0.1:$PORT_PHYS:8080 $HC_FLAGS $img")
	echo "$line" >>"$res/physical-stop.txt"
	bench phys-steps rt-bench-phys "$(t0_of "$line")" rt-bench-phys-old >>"$res/physical-stop-steps.jsonl"
	docker rm -f rt-bench-phys rt-bench-phys-old >/dev/null
done

# ---------------------------------------------------------------- compose

say "compose flow: docker-compose $(docker-compose version --short 2>/dev/null) up -d + healthy, $N runs"
mkdir -p "$tmp/compose"
write_compose() {
	cat >"$tmp/compose/docker-compose.yml" <<EOF
# the old SSH-style deploy: the image is edited in place, then up -d
version: "2.4"
services:
  api:
    image: $1
    labels:
      $OWNER_KEY: "rt-bench"
    healthcheck:
      test: $HC_TEST
      interval: 1s
      timeout: 1s
      retries: 3
EOF
}
OWNER_KEY=${OWNER%%=*}
write_compose "$IMG_WEB_V1"
docker-compose -p "$PC" -f "$tmp/compose/docker-compose.yml" up -d >/dev/null 2>&1
bench measure "$IMG_WEB_V1" "{\"label\": [\"com.docker.compose.project=$PC\"]}" - - - 120 true >/dev/null
for i in $(seq 1 "$N"); do
	img=$(img_for "$i")
	bench measure "$img" "{\"label\": [\"com.docker.compose.project=$PC\", \"com.docker.compose.service=api\"]}" - - - 120 \
		"sed -i 's|^    image: .*|    image: $img|' $tmp/compose/docker-compose.yml" \
		"docker-compose -p $PC -f $tmp/compose/docker-compose.yml up -d 2>/dev/null" \
		>>"$res/compose.txt"
done
docker-compose -p "$PC" -f "$tmp/compose/docker-compose.yml" down -t 2 >/dev/null 2>&1

# ---------------------------------------------------------------- reconcilerd





B=$tmp/one
repo_init "$B"
write_one() {
	cat >"$B/work/manifests/m.yaml" <<EOF
version: 1
project: $P
services:
  api:
    image: $1
    networks:
      app:
        aliases: [api-internal]
    healthcheck:
      test: $HC_TEST
      interval: 1s
      timeout: 1s
      retries: 3
  web:
    image: ${2:-$IMG_WEB_V1}
    ports: ["127.0.0.1:$PORT_WEB:8080"]
    networks: [app]
    healthcheck:
      test: $HC_TEST
      interval: 1s
      timeout: 1s
      retries: 3
networks:
  app: {}
EOF
}
write_one "$IMG_WEB_V1"
commit_manifest "$B" "bench: v1"
git_w "$B/work" push -q origin main
start_daemon "$B" --poll 1s
bench wait-status "$B/state/status.json" "$HEAD" 120 "$DPID"
sleep 3
read -r one_idle_rss _ < <(bench rss "$DPID")

k=0 # rollouts so far: v1 -> v2 -> v1 ... across both modes
for mode in poll sync; do
	say "reconcilerd ($mode): git push -> serving / converged, $N runs"
	for i in $(seq 1 "$N"); do
		k=$((k + 1))
		img=$(img_for "$k")
		write_one "$img"
		commit_manifest "$B" "bench: $mode $i"
		cmds=("git -C $B/work push -q origin main")
		[ "$mode" = sync ] && cmds+=("$RECONCILERCTL sync --state-dir $B/state")
		line=$(bench measure "$img" "{\"name\": [\"^/$P-api\$\"]}" "$P-api" "$B/state/status.json" \
			"$HEAD" 300 "${cmds[@]}")
		echo "$line" >>"$res/$mode.txt"
		"$RECONCILERCTL" history --json --limit 5 --state-dir "$B/state" >"$tmp/history.json"
		bench run-steps "$tmp/history.json" "$HEAD" api "$(t0_of "$line")" >>"$res/$mode-steps.jsonl"
		# let the next cycle see "in sync" before the next push
		sleep 1.5
	done
done
api_img=$img
say "reconcilerd (sync), stop-first service (host port): git push -> serving / converged, $N runs"
for i in $(seq 1 "$N"); do
	img=$(img_for "$i")
	write_one "$api_img" "$img"
	commit_manifest "$B" "bench: stop-first $i"
	line=$(bench measure "$img" "{\"name\": [\"^/$P-web\$\"]}" "$P-web" "$B/state/status.json" \
		"$HEAD" 300 "git -C $B/work push -q origin main" "$RECONCILERCTL sync --state-dir $B/state")
	echo "$line" >>"$res/sync-stop.txt"
	"$RECONCILERCTL" history --json --limit 5 --state-dir "$B/state" >"$tmp/history.json"
	bench run-steps "$tmp/history.json" "$HEAD" web "$(t0_of "$line")" >>"$res/sync-stop-steps.jsonl"
	sleep 1.5
done
read -r one_rss one_hwm < <(bench rss "$DPID")
stop_daemon "$DPID"
"$top/tests/env/down.sh" --project "$P" >/dev/null 2>&1 || true

# ---------------------------------------------------------------- memory, 7 services

say "memory: reconcilerd on a 7-service manifest shaped like manifests/prod.yaml"
R=$tmp/ref
repo_init "$R"
read -r PORT_NGINX PORT_PROM PORT_GRAF < <(bench free-ports 3)
for s in database_url redis_url claude_api_key openai_api_key jwt_secret postgres_password \
	redis_password grafana_password; do
	printf 'bench-%s-%s\n' "$s" "$RANDOM" >"$R/secrets/$s"
done
write_ref "$IMG_WEB_V1" "$IMG_WEB_V1"
commit_manifest "$R" "bench-ref: v1"
git_w "$R/work" push -q origin main
t0=$(date +%s%N)
start_daemon "$R" --poll 1s
bench wait-status "$R/state/status.json" "$HEAD" 300 "$DPID"
ref_first_ms=$((($(date +%s%N) - t0) / 1000000))
REF1=$HEAD
read -r _ ref_hwm_first < <(bench rss "$DPID")
sleep 15 # ~15 idle cycles: fetch, list, diff, in sync
read -r ref_idle_rss ref_idle_hwm < <(bench rss "$DPID")
write_ref "$IMG_WEB_V2" "$IMG_WEB_V2"
commit_manifest "$R" "bench-ref: backend and frontend v2"
t0=$(date +%s%N)
git_w "$R/work" push -q origin main
bench wait-status "$R/state/status.json" "$HEAD" 300 "$DPID"
ref_roll_ms=$((($(date +%s%N) - t0) / 1000000))
sleep 5
read -r ref_rss ref_hwm < <(bench rss "$DPID")
# the longest depends_on chain, each service from its rollout's start to serving
REF_DEPS='{"backend": ["postgres", "redis"], "frontend": ["backend"], "nginx": ["backend", "frontend"], "grafana": ["prometheus"]}'
"$RECONCILERCTL" history --json --limit 20 --state-dir "$R/state" >"$tmp/history.json"
read -r ref_first_cp ref_first_chain < <(bench critical-path "$tmp/history.json" "$REF1" "$REF_DEPS")
read -r ref_roll_cp ref_roll_chain < <(bench critical-path "$tmp/history.json" "$HEAD" "$REF_DEPS")
ncont=$(docker ps -q --filter "label=io.reconciler.project=$PR" | wc -l)
stop_daemon "$DPID"

# ---------------------------------------------------------------- report

echo
bench report "$res" "$N"
echo
bench step-report "$res" physical-steps sync-steps "start-first"
echo
bench step-report "$res" physical-net-steps sync-steps "start-first, against the user-network limit"
echo
bench step-report "$res" physical-stop-steps sync-stop-steps "stop-first"
echo
kib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
echo "memory of reconcilerd (/proc/PID/status)"
echo "  1 service, idle after the first converge : VmRSS $(kib "$one_idle_rss")"
echo "  1 service, after $((2 * N)) rollouts             : VmRSS $(kib "$one_rss"), VmHWM (peak) $(kib "$one_hwm")"
echo "  7 services (prod.yaml shape, $ncont containers running):"
echo "    first converge from nothing  : $ref_first_ms ms, VmHWM $(kib "$ref_hwm_first")"
echo "      its critical path          : $ref_first_cp ms ($ref_first_chain)"
echo "    idle (15 s of 1 s polls)     : VmRSS $(kib "$ref_idle_rss"), VmHWM $(kib "$ref_idle_hwm")"
echo "    push -> converged, 2 services rolled (backend, frontend): $ref_roll_ms ms"
echo "      its critical path          : $ref_roll_cp ms ($ref_roll_chain)"
echo "    after it                     : VmRSS $(kib "$ref_rss"), VmHWM (peak) $(kib "$ref_hwm")"

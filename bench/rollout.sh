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

say() { printf '# %s\n' "$*" >&2; }

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
	ids=$(docker network ls -q --filter "label=com.docker.compose.project=$PC")
	# shellcheck disable=SC2086
	[ -z "$ids" ] || docker network rm $ids >/dev/null 2>&1 || true
	ids=$(docker volume ls -q --filter "label=io.reconciler.project=$P"; docker volume ls -q --filter "label=io.reconciler.project=$PR")
	# shellcheck disable=SC2086
	[ -z "$ids" ] || docker volume rm -f $ids >/dev/null 2>&1 || true
}

stop_daemon() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 150); do
		[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
		[ -e "/proc/$pid" ] || break
		sleep 0.2
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	for pid in "${DPIDS[@]}"; do
		stop_daemon "$pid"
	done
	docker_cleanup
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
docker_cleanup

# ---------------------------------------------------------------- helper

cat >"$tmp/bench.py" <<'EOF'
"""Timing and memory helper of bench/rollout.sh (stdlib only)."""
import http.client, json, os, socket, statistics, subprocess, sys, time, urllib.parse

SOCK = os.environ.get("RT_DOCKER_SOCK", "/var/run/docker.sock")


class UnixConn(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.path)
        self.sock = s


def containers(filters):
    c = UnixConn(SOCK)
    q = urllib.parse.quote(json.dumps(filters))
    c.request("GET", f"/containers/json?all=1&filters={q}")
    r = c.getresponse()
    body = r.read()
    c.close()
    return json.loads(body) if r.status == 200 else []


def healthy_with(filters, image, name=None):
    for ct in containers(filters):
        if name and ("/" + name) not in ct.get("Names", []):
            continue
        if ct.get("Image") == image and ct.get("State") == "running" and "(healthy)" in ct.get("Status", ""):
            return True
    return False


def status(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def run_cmds(cmds):
    for c in cmds:
        subprocess.run(c, shell=True, check=True, stdout=subprocess.DEVNULL)


def measure(argv):
    """measure IMAGE FILTERS-JSON NAME|- STATUS|- HEAD|- TIMEOUT CMD... :
    run the commands one after the other (t0 just before the first), then poll
    every 20 ms; print "serving_ms converged_ms" (converged_ms "-" without a
    status file; from status.json's own "cycle" timestamp)."""
    image, filters, name, spath, head, timeout = argv[:6]
    cmds = argv[6:]
    filters = json.loads(filters)
    name = None if name == "-" else name
    t0m, t0r = time.monotonic(), time.time()
    run_cmds(cmds)
    serving = conv = None
    deadline = t0m + float(timeout)
    while time.monotonic() < deadline:
        if serving is None and healthy_with(filters, image, name):
            serving = (time.monotonic() - t0m) * 1000
        if spath != "-" and conv is None:
            st = status(spath)
            if st and st.get("head") == head and st.get("state") in ("converged", "in-sync"):
                cyc = st.get("cycle")
                conv = (cyc - t0r * 1000) if isinstance(cyc, int) else (time.monotonic() - t0m) * 1000
        if serving is not None and (spath == "-" or conv is not None):
            break
        time.sleep(0.02)
    if serving is None or (spath != "-" and conv is None):
        print("timeout", file=sys.stderr)
        sys.exit(1)
    print(f"{serving:.0f} {conv:.0f}" if conv is not None else f"{serving:.0f} -")


def wait_status(argv):
    """wait-status FILE HEAD TIMEOUT [PID]: until state in-sync/converged at HEAD."""
    path, head, timeout = argv[0], argv[1], float(argv[2])
    pid = int(argv[3]) if len(argv) > 3 else None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = status(path)
        if st and st.get("head") == head and st.get("state") in ("converged", "in-sync") and \
                (pid is None or st.get("pid") == pid):
            return
        time.sleep(0.05)
    st = status(path)
    print(f"timeout waiting for {head[:12]}: status {st and st.get('state')} "
          f"{st and st.get('message')}", file=sys.stderr)
    sys.exit(1)


def rss(argv):
    """rss PID: "VmRSS VmHWM" in KiB."""
    vals = {}
    with open(f"/proc/{argv[0]}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                vals[k] = int(v.split()[0])
    print(vals["VmRSS"], vals["VmHWM"])


def free_ports(argv):
    """free-ports N: N distinct TCP ports >= 20000 free on 127.0.0.1."""
    import random
    out = set()
    while len(out) < int(argv[0]):
        p = random.randrange(20000, 30000)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
            out.add(p)
        except OSError:
            pass
        finally:
            s.close()
    print(" ".join(map(str, sorted(out))))


def report(argv):
    """report DIR N: the summary, from DIR/<measure>.txt files."""
    d, n = argv[0], int(argv[1])

    def load(name, col):
        try:
            with open(os.path.join(d, name + ".txt")) as f:
                return [float(l.split()[col]) for l in f if l.strip()]
        except FileNotFoundError:
            return []

    def med(v):
        return statistics.median(v) if v else float("nan")

    rows = [
        ("physical limit: docker run + healthy", load("physical", 0)),
        ("compose flow: edit + docker-compose up -d + healthy", load("compose", 0)),
        ("reconcilerd --poll 1s: push -> new version serving", load("poll", 0)),
        ("reconcilerd --poll 1s: push -> status converged", load("poll", 1)),
        ("reconcilerd + ctl sync: push -> new version serving", load("sync", 0)),
        ("reconcilerd + ctl sync: push -> status converged", load("sync", 1)),
    ]
    print(f"rollout of one start-first service, healthcheck interval 1s; {n} runs each; ms")
    print(f"{'measure':<54} {'median':>7} {'min':>7} {'max':>7}  runs")
    for label, v in rows:
        if v:
            print(f"{label:<54} {med(v):7.0f} {min(v):7.0f} {max(v):7.0f}  "
                  + " ".join(f"{x:.0f}" for x in v))
        else:
            print(f"{label:<54} {'-':>7}")
    phys, comp = med(rows[0][1]), med(rows[1][1])
    print()
    print("ratios (medians)")
    for tag, i in (("poll", 2), ("poll", 3), ("sync", 4), ("sync", 5)):
        what = "serving" if i % 2 == 0 else "converged"
        m = med(rows[i][1])
        print(f"  reconcilerd {tag:<4} {what:<9}: overhead over the physical limit "
              f"{m - phys:+6.0f} ms ({m / phys:4.2f}x); vs the compose flow "
              f"{m - comp:+6.0f} ms ({m / comp:4.2f}x)")
    print(f"  compose flow            : overhead over the physical limit {comp - phys:+6.0f} ms "
          f"({comp / phys:4.2f}x)")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"measure": measure, "wait-status": wait_status, "rss": rss, "free-ports": free_ports,
     "report": report}[cmd.replace("_", "-")](args)
EOF
bench() { "$PY" "$tmp/bench.py" "$@"; }

HC_TEST='["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]'
img_for() { if [ $(($1 % 2)) = 1 ]; then echo "$IMG_WEB_V2"; else echo "$IMG_WEB_V1"; fi; }
res=$tmp/results
mkdir -p "$res"

# ---------------------------------------------------------------- physical

say "physical limit: docker run + healthy, $N runs"
for i in $(seq 1 "$N"); do
	img=$(img_for "$i")
	docker rm -f rt-bench-phys >/dev/null 2>&1 || true
	bench measure "$img" '{"name": ["rt-bench-phys"]}' rt-bench-phys - - 120 \
		"docker run -d --name rt-bench-phys --label $OWNER --health-cmd 'wget -q -O /dev/null http://127.0.0.1:8080/health' --health-interval 1s --health-timeout 1s --health-retries 3 $img" \
		>>"$res/physical.txt"
	docker rm -f rt-bench-phys >/dev/null
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

git_w() { git -C "$1" -c user.name=rt-bench -c user.email=rt-bench@localhost "${@:2}"; }

# repo_init DIR: bare remote DIR/remote.git and work tree DIR/work.
repo_init() {
	git init -q --bare -b main "$1/remote.git"
	git init -q -b main "$1/work"
	git_w "$1/work" remote add origin "$1/remote.git"
	mkdir -p "$1/work/manifests" "$1/state" "$1/secrets"
	chmod 0700 "$1/state" "$1/secrets"
}

# commit_manifest DIR MSG: commit manifests/m.yaml (written by the caller);
# $HEAD is the commit. The push is the caller's (it is what is timed).
commit_manifest() {
	"$RECONCILERCTL" validate "$1/work/manifests/m.yaml" >/dev/null
	git_w "$1/work" add manifests/m.yaml
	git_w "$1/work" commit -q -m "$2"
	HEAD=$(git_w "$1/work" rev-parse HEAD)
}

start_daemon() {
	local dir=$1
	shift
	"$RECONCILERD" --repo "file://$dir/remote.git" --branch main --manifest manifests/m.yaml \
		--state-dir "$dir/state" --secrets-dir "$dir/secrets" "$@" >>"$dir/reconcilerd.log" 2>&1 &
	DPID=$!
	DPIDS+=("$DPID")
}

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
		bench measure "$img" "{\"name\": [\"^/$P-api\$\"]}" "$P-api" "$B/state/status.json" "$HEAD" 300 \
			"${cmds[@]}" >>"$res/$mode.txt"
		# let the next cycle see "in sync" before the next push
		sleep 1.5
	done
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
write_ref() {
	cat >"$R/work/manifests/m.yaml" <<EOF
# manifests/prod.yaml's shape on the test images
version: 1
project: $PR

x-health: &health
  test: $HC_TEST
  interval: 1s
  timeout: 1s
  retries: 3

x-data-health: &data-health
  test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/boot.log"]
  interval: 1s
  timeout: 1s
  retries: 3

services:
  backend:
    image: $1
    environment:
      DATABASE_URL: {secret: database_url}
      REDIS_URL: {secret: redis_url}
      CLAUDE_API_KEY: {secret: claude_api_key}
      OPENAI_API_KEY: {secret: openai_api_key}
      JWT_SECRET: {secret: jwt_secret}
      LOG_LEVEL: info
      ENVIRONMENT: production
    depends_on: [postgres, redis]
    networks:
      maicivy-network:
        aliases: [api]
    healthcheck:
      <<: *health
      start_period: 40s
    hooks:
      pre_deploy:
        - name: migrate
          command: ["true"]
          timeout: 5m

  frontend:
    image: $2
    environment:
      NEXT_PUBLIC_API_URL: http://backend:8080
    depends_on: [backend]
    networks: [maicivy-network]
    healthcheck: *health

  nginx:
    image: $IMG_WEB_V1
    ports:
      - "127.0.0.1:$PORT_NGINX:8080"
    depends_on: [backend, frontend]
    networks: [maicivy-network]
    healthcheck: *health
    on_dependency_update:
      - service: backend
        exec: ["true"]
      - service: frontend
        exec: ["true"]

  postgres:
    image: $IMG_STATEFUL
    environment:
      POSTGRES_USER: maicivy
      POSTGRES_PASSWORD: {secret: postgres_password}
      POSTGRES_DB: maicivy
    volumes:
      - postgres-data:/data
    networks: [maicivy-network]
    healthcheck: *data-health
    stop_grace_period: 30s

  redis:
    image: $IMG_STATEFUL
    secrets: [redis_password]
    volumes:
      - redis-data:/data
    networks: [maicivy-network]
    healthcheck: *data-health

  prometheus:
    image: $IMG_WEB_V1
    volumes:
      - prometheus-data:/prometheus
    networks: [maicivy-network]
    ports:
      - "127.0.0.1:$PORT_PROM:8080"
    healthcheck: *health

  grafana:
    image: $IMG_WEB_V1
    environment:
      GF_SECURITY_ADMIN_PASSWORD: {secret: grafana_password}
      GF_AUTH_ANONYMOUS_ENABLED: "true"
    volumes:
      - grafana-data:/var/lib/grafana
    networks: [maicivy-network]
    ports:
      - "127.0.0.1:$PORT_GRAF:8080"
    depends_on: [prometheus]
    healthcheck: *health

networks:
  maicivy-network:
    driver: bridge

volumes:
  postgres-data:
  redis-data:
  prometheus-data:
  grafana-data:

backups:
  postgres-weekly:
    service: postgres
    schedule: "0 3 * * 0"
    command: ["tar", "-C", "/data", "-cf", "-", "."]
    compress: gzip
    destination: $R/backups
    retention: {keep_last: 8}
EOF
}
write_ref "$IMG_WEB_V1" "$IMG_WEB_V1"
commit_manifest "$R" "bench-ref: v1"
git_w "$R/work" push -q origin main
t0=$(date +%s%N)
start_daemon "$R" --poll 1s
bench wait-status "$R/state/status.json" "$HEAD" 300 "$DPID"
ref_first_ms=$((($(date +%s%N) - t0) / 1000000))
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
ncont=$(docker ps -q --filter "label=io.reconciler.project=$PR" | wc -l)
stop_daemon "$DPID"

# ---------------------------------------------------------------- report

echo
bench report "$res" "$N"
echo
kib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
echo "memory of reconcilerd (/proc/PID/status)"
echo "  1 service, idle after the first converge : VmRSS $(kib "$one_idle_rss")"
echo "  1 service, after $((2 * N)) rollouts             : VmRSS $(kib "$one_rss"), VmHWM (peak) $(kib "$one_hwm")"
echo "  7 services (prod.yaml shape, $ncont containers running):"
echo "    first converge from nothing  : $ref_first_ms ms, VmHWM $(kib "$ref_hwm_first")"
echo "    idle (15 s of 1 s polls)     : VmRSS $(kib "$ref_idle_rss"), VmHWM $(kib "$ref_idle_hwm")"
echo "    push -> converged, 2 services rolled (backend, frontend): $ref_roll_ms ms"
echo "    after it                     : VmRSS $(kib "$ref_rss"), VmHWM (peak) $(kib "$ref_hwm")"

#!/usr/bin/env bash
# Rollout latency of reconcilerd's Swarm backend against `docker stack deploy`
# of the equivalent stack file, on the test swarm (tests/env/swarm-up.sh),
# same images, same machine. See bench/README.md.
#
#   bench/swarm.sh [-n N]          N rollouts per measure (default 5, or BENCH_N)
#
# Per rollout of one Swarm service changing digest (web v1 <-> v2, start-first,
# healthcheck wget /health interval 1s, timeout 1s, retries 3, Swarm monitor
# 5s), with 1 replica, then 3 replicas updated one at a time:
#   stack     `docker stack deploy -c stack.yml` with the image edited, until
#             the service's update is completed and every task it wants
#             running runs the new image ("updated")
#   poll      `git push` of the bump commit -> reconcilerd (--poll 1s,
#             backend: swarm): "updated" as above, and status.json says
#             converged for that commit ("converged")
#   sync      the same, with `reconcilerctl sync` right after the push
# in interleaved rounds (stack, poll, sync), observed through the engine API.
#
# Everything it creates (Swarm services, networks and secrets of the project
# rt-bench-sw and of the stack rt-bench-sw-stack, the daemon by its pidfile,
# a temp dir) is removed at the end, also on failure or Ctrl-C.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
N=${BENCH_N:-5}
while [ $# -gt 0 ]; do
	case $1 in
	-n) [ $# -ge 2 ] || { echo "usage: bench/swarm.sh [-n N]" >&2; exit 2; }; N=$2; shift ;;
	-n*) N=${1#-n} ;;
	-h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: bench/swarm.sh [-n N]" >&2; exit 2 ;;
	esac
	shift
done
case $N in '' | *[!0-9]* | 0) echo "bench/swarm.sh: N must be a positive integer" >&2; exit 2 ;; esac

# shellcheck source=../tests/env/lib.sh disable=SC1091
RT_QUIET=1 . "$top/tests/env/lib.sh"
PY=${BENCH_PYTHON:-/usr/bin/python3}
P=rt-bench-sw        # reconcilerd's project: service rt-bench-sw-web
PS=rt-bench-sw-stack # the stack: service rt-bench-sw-stack_web

for b in reconcilerd reconcilerctl; do
	[ -x "$top/$BUILD/$b" ] || { echo "bench/swarm.sh: $top/$BUILD/$b missing (run make)" >&2; exit 2; }
done
command -v docker >/dev/null || { echo "bench/swarm.sh: the docker CLI is missing" >&2; exit 2; }
"$top/tests/env/up.sh" >/dev/null
rt_images_load

say() { printf '# %s\n' "$*" >&2; }

# The swarm: tests/env/swarm-up.sh when there is one (keeping the number of
# nodes already up: other runs may use the workers), else the env file it
# wrote, else nothing to measure on.
swarm_env=$RT_STATE/swarm.env
if [ -x "$top/tests/env/swarm-up.sh" ]; then
	nodes=1
	if [ -f "$swarm_env" ]; then
		nodes=$(sed -n 's/^RT_SWARM_NODES=\([0-9]*\)$/\1/p' "$swarm_env")
		case $nodes in 3) ;; *) nodes=1 ;; esac
	fi
	say "swarm: tests/env/swarm-up.sh --nodes $nodes"
	swarm_env=$(RT_QUIET=1 "$top/tests/env/swarm-up.sh" --nodes "$nodes" | tail -n 1)
fi
if [ ! -f "$swarm_env" ]; then
	echo "bench/swarm.sh: no test swarm: tests/env/swarm-up.sh is not there and $RT_STATE/swarm.env is missing (bring a one-node swarm up first)" >&2
	exit 2
fi
# shellcheck source=/dev/null
. "$swarm_env"
SW=${RT_SWARM_HOST:-}
case $SW in
unix://*) ;;
*) echo "bench/swarm.sh: $swarm_env gives no RT_SWARM_HOST=unix://… (got '$SW')" >&2; exit 2 ;;
esac
sw() { docker -H "$SW" "$@"; }
if [ "$(sw info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null)" != true ]; then
	echo "bench/swarm.sh: $SW is not a swarm manager" >&2
	exit 2
fi

tmp=$(mktemp -d /tmp/rt-bench-sw.XXXXXX)
# private copies: a rebuild during the run must not change the programs
mkdir -p "$tmp/bin"
cp "$top/$BUILD/reconcilerd" "$top/$BUILD/reconcilerctl" "$tmp/bin/"
RECONCILERD=$tmp/bin/reconcilerd
RECONCILERCTL=$tmp/bin/reconcilerctl
PIDFILE=$tmp/reconcilerd.bench.pid

_no_tasks() {
	[ -z "$(sw ps -aq --filter "label=io.reconciler.project=$P")" ] &&
		[ -z "$(sw ps -aq --filter "label=com.docker.stack.namespace=$PS")" ]
}

# Everything of the project and of the stack on the swarm, by label (and the
# stack by name): services first, then, once their tasks' containers are gone,
# secrets and networks.
swarm_cleanup() {
	local ids
	sw stack rm "$PS" >/dev/null 2>&1 || true
	ids=$(sw service ls -q --filter "label=io.reconciler.project=$P"
		sw service ls -q --filter "label=com.docker.stack.namespace=$PS")
	# shellcheck disable=SC2086 # one ID per word
	[ -z "$ids" ] || sw service rm $ids >/dev/null 2>&1 || true
	rt_wait 60 _no_tasks || true
	ids=$(sw secret ls -q --filter "label=io.reconciler.project=$P"
		sw secret ls -q --filter "label=com.docker.stack.namespace=$PS")
	# shellcheck disable=SC2086
	[ -z "$ids" ] || sw secret rm $ids >/dev/null 2>&1 || true
	ids=$(sw network ls -q --filter "label=io.reconciler.project=$P"
		sw network ls -q --filter "label=com.docker.stack.namespace=$PS")
	# shellcheck disable=SC2086
	[ -z "$ids" ] || rt_wait 30 sw network rm $ids >/dev/null 2>&1 || true
}

leftovers() {
	local l
	for l in "io.reconciler.project=$P" "com.docker.stack.namespace=$PS"; do
		sw service ls --filter "label=$l" --format 'service {{.Name}}'
		sw ps -a --filter "label=$l" --format 'container {{.Names}}'
		sw secret ls --filter "label=$l" --format 'secret {{.Name}}'
		sw network ls --filter "label=$l" --format 'network {{.Name}}'
	done 2>/dev/null
}

cleanup() {
	local rc=$? left
	trap - EXIT INT TERM
	rt_stop_pidfile "$PIDFILE" reconcilerd 30 >/dev/null 2>&1 || true
	if [ "$rc" != 0 ] && [ -f "$tmp/reconcilerd.log" ]; then
		say "reconcilerd log (last 20 lines):"
		tail -n 20 "$tmp/reconcilerd.log" | sed 's/^/#   /' >&2
	fi
	swarm_cleanup
	left=$(leftovers)
	[ -z "$left" ] || say "cleanup: still on the swarm: $(echo "$left" | tr '\n' ' ')"
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
swarm_cleanup

# ---------------------------------------------------------------- helper

cat >"$tmp/bench.py" <<'EOF'
"""Timing helper of bench/swarm.sh (stdlib only): the swarm's engine API."""
import http.client, json, os, socket, statistics, subprocess, sys, time, urllib.parse

SOCK = os.environ["BENCH_SWARM_SOCK"]
POLL = 0.025


class UnixConn(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.path)
        self.sock = s


def get(path):
    c = UnixConn(SOCK)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return json.loads(body) if r.status == 200 else None


def digest(image):
    return image.partition("@")[2] or image


def look(name, image, replicas):
    """(svc, tasks_ok): tasks_ok when the tasks Swarm wants running are at
    least `replicas`, all run `image` and are running."""
    svc = get(f"/services/{urllib.parse.quote(name)}")
    if not svc:
        return None, False
    q = urllib.parse.quote(json.dumps({"service": [svc["ID"]], "desired-state": ["running"]}))
    tasks = get(f"/tasks?filters={q}") or []
    want = [t for t in tasks if t.get("DesiredState") == "running"]
    new_running = [t for t in want
                   if digest(image) in t["Spec"]["ContainerSpec"].get("Image", "")
                   and t["Status"].get("State") == "running"]
    return svc, len(want) >= replicas and len(new_running) == len(want)


def update(svc):
    us = svc.get("UpdateStatus") or {}
    return us.get("State"), us.get("StartedAt"), us.get("Message", "")


def status(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def run_cmds(cmds):
    for c in cmds:
        r = subprocess.run(c, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if r.returncode:
            sys.stderr.write(r.stderr.decode(errors="replace"))
            print(f"failed ({r.returncode}): {c}", file=sys.stderr)
            sys.exit(1)


def measure(argv):
    """measure SERVICE IMAGE REPLICAS STATUS|- HEAD|- TIMEOUT CMD... : run the
    commands one after the other (t0 just before the first), then poll every
    25 ms; print "running_ms updated_ms converged_ms command_ms":
      running   the tasks Swarm wants running all run IMAGE, and are running
      updated   that, and the service's UpdateStatus is "completed" for an
                update started after t0, its spec on IMAGE
      converged status.json says converged (or in sync) at HEAD, from its own
                "cycle" timestamp ("-" without a status file)
      command   when the last command returned"""
    name, image, replicas, spath, head, timeout = argv[:6]
    replicas, cmds = int(replicas), argv[6:]
    svc, _ = look(name, image, replicas)
    prev = update(svc)[1] if svc else None
    t0m, t0r = time.monotonic(), time.time()
    run_cmds(cmds)
    cmd_ms = (time.monotonic() - t0m) * 1000
    running = updated = conv = None
    deadline = t0m + float(timeout)
    while time.monotonic() < deadline:
        now = (time.monotonic() - t0m) * 1000
        if updated is None:
            svc, ok = look(name, image, replicas)
            if ok and running is None:
                running = now
            if svc:
                state, started, msg = update(svc)
                if state and started != prev and (state.startswith("rollback") or state == "paused"):
                    print(f"{name}: update {state}: {msg}", file=sys.stderr)
                    sys.exit(1)
                spec_img = svc["Spec"]["TaskTemplate"]["ContainerSpec"].get("Image", "")
                if ok and state == "completed" and started != prev and digest(image) in spec_img:
                    updated = now
        if spath != "-" and conv is None:
            st = status(spath)
            if st and st.get("head") == head and st.get("state") in ("converged", "in-sync"):
                cyc = st.get("cycle")
                conv = (cyc - t0r * 1000) if isinstance(cyc, int) else now
            elif st and st.get("head") == head and st.get("state") in ("failed", "degraded"):
                print(f"status {st.get('state')}: {st.get('message')}", file=sys.stderr)
                sys.exit(1)
        if updated is not None and (spath == "-" or conv is not None):
            break
        time.sleep(POLL)
    if updated is None or (spath != "-" and conv is None):
        print(f"timeout after {timeout} s: running {running}, updated {updated}, "
              f"converged {conv}", file=sys.stderr)
        sys.exit(1)
    print(f"{running:.0f} {updated:.0f} " + (f"{conv:.0f}" if conv is not None else "-")
          + f" {cmd_ms:.0f}")


def wait_ready(argv):
    """wait-ready SERVICE IMAGE REPLICAS TIMEOUT: the tasks run IMAGE and no
    update is under way (a first deploy has none)."""
    name, image, replicas, timeout = argv[0], argv[1], int(argv[2]), float(argv[3])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        svc, ok = look(name, image, replicas)
        if ok and update(svc)[0] in (None, "completed"):
            return
        time.sleep(0.1)
    print(f"timeout waiting for {name} on {image}", file=sys.stderr)
    sys.exit(1)


def wait_status(argv):
    """wait-status FILE HEAD TIMEOUT: until state in-sync/converged at HEAD."""
    path, head, timeout = argv[0], argv[1], float(argv[2])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = status(path)
        if st and st.get("head") == head and st.get("state") in ("converged", "in-sync"):
            return
        time.sleep(0.05)
    st = status(path)
    print(f"timeout waiting for {head[:12]}: status {st and st.get('state')} "
          f"{st and st.get('message')}", file=sys.stderr)
    sys.exit(1)


def update_config(argv):
    """update-config SERVICE: its update settings, one line."""
    svc = get(f"/services/{urllib.parse.quote(argv[0])}")
    u = svc["Spec"].get("UpdateConfig") or {}
    hc = svc["Spec"]["TaskTemplate"]["ContainerSpec"].get("Healthcheck") or {}
    rp = (svc["Spec"]["TaskTemplate"].get("RestartPolicy") or {}).get("Condition", "any")
    s = lambda ns: f"{(ns or 0) / 1e9:g}s"
    print(f"parallelism {u.get('Parallelism', 1)}, order {u.get('Order', 'stop-first')}, "
          f"delay {s(u.get('Delay'))}, monitor {s(u.get('Monitor')) if 'Monitor' in u else 'default'}, "
          f"on failure {u.get('FailureAction', 'pause')}; healthcheck interval "
          f"{s(hc.get('Interval'))} timeout {s(hc.get('Timeout'))} retries {hc.get('Retries')}; "
          f"restart {rp}")


def report(argv):
    """report DIR N: the summary, from DIR/<measure>-<replicas>.txt files."""
    d, n = argv[0], int(argv[1])

    def load(name, col):
        try:
            with open(os.path.join(d, name + ".txt")) as f:
                return [float(l.split()[col]) for l in f if l.strip()]
        except FileNotFoundError:
            return []

    def med(v):
        return statistics.median(v) if v else float("nan")

    def row(label, v):
        if v:
            print(f"{label:<56} {med(v):7.0f} {min(v):7.0f} {max(v):7.0f}  "
                  + " ".join(f"{x:.0f}" for x in v))
        else:
            print(f"{label:<56} {'-':>7}")

    print(f"rollout of one Swarm service changing digest, start-first, healthcheck interval 1s; "
          f"{n} runs each; ms")
    ratios = []
    for r, title in (("1", "1 replica"), ("3", "3 replicas, parallelism 1")):
        stack_run, stack_upd = load(f"stack-{r}", 0), load(f"stack-{r}", 1)
        if not stack_upd:
            continue
        print()
        print(f"{title:<56} {'median':>7} {'min':>7} {'max':>7}  runs")
        row("docker stack deploy: the command itself", load(f"stack-{r}", 3))
        row("docker stack deploy: deploy -> tasks run it", stack_run)
        row("docker stack deploy: deploy -> updated", stack_upd)
        for tag, what in (("poll", "reconcilerd --poll 1s"), ("sync", "reconcilerd + ctl sync")):
            run_, upd, conv = load(f"{tag}-{r}", 0), load(f"{tag}-{r}", 1), load(f"{tag}-{r}", 2)
            row(f"{what}: push -> tasks run it", run_)
            row(f"{what}: push -> updated", upd)
            row(f"{what}: push -> status converged", conv)
            for line, v, ref in (("tasks run it", run_, stack_run), ("updated", upd, stack_upd),
                                 ("converged", conv, stack_upd), ("converged", conv, stack_run)):
                if v:
                    vs = "stack tasks run it" if ref is stack_run else "stack updated"
                    ratios.append((title, f"{what} {line}", med(v), med(ref), vs))
    print()
    print("ratios reconcilerd / docker stack deploy (medians)")
    for title, what, m, ref, vs in ratios:
        print(f"  {title[:10]:<10} {what:<38}: {m - ref:+6.0f} ms ({m / ref:4.2f}x) vs {vs}")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"measure": measure, "wait-ready": wait_ready, "wait-status": wait_status,
     "update-config": update_config, "report": report}[cmd](args)
EOF
export BENCH_SWARM_SOCK=${SW#unix://}
bench() { "$PY" "$tmp/bench.py" "$@"; }

HC_TEST='["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]'
img_for() { if [ $(($1 % 2)) = 1 ]; then echo "$IMG_WEB_V2"; else echo "$IMG_WEB_V1"; fi; }
res=$tmp/results
mkdir -p "$res"

# Both images on the manager beforehand: no pull is timed.
for img in "$IMG_WEB_V1" "$IMG_WEB_V2"; do
	sw pull -q "$img" >/dev/null
done

# ---------------------------------------------------------------- the stack

DEPLOY_FLAGS=()
if docker stack deploy --help 2>/dev/null | grep -q -- '--detach'; then
	DEPLOY_FLAGS+=(--detach=true) # the waiting is ours, the same for both
fi
write_stack() {
	cat >"$tmp/stack.yml" <<EOF
version: "3.8"
services:
  web:
    image: $1
    networks: [app]
    healthcheck:
      test: $HC_TEST
      interval: 1s
      timeout: 1s
      retries: 3
    deploy:
      replicas: $2
      placement:
        constraints: ["node.role == manager"]
      update_config:
        parallelism: 1
        delay: 0s
        order: start-first
        failure_action: rollback
        monitor: 5s
      rollback_config:
        parallelism: 1
        order: start-first
        failure_action: pause
        monitor: 5s
networks:
  app:
    driver: overlay
EOF
}
stack_deploy() { sw stack deploy "${DEPLOY_FLAGS[@]}" -c "$tmp/stack.yml" "$PS"; }

# ---------------------------------------------------------------- reconcilerd

git_w() { git -C "$1" -c user.name=rt-bench -c user.email=rt-bench@localhost -c commit.gpgsign=false "${@:2}"; }

B=$tmp/one
git init -q --bare -b main "$B/remote.git"
git init -q -b main "$B/work"
git_w "$B/work" remote add origin "$B/remote.git"
mkdir -p "$B/work/manifests" "$B/state" "$B/secrets"
chmod 0700 "$B/state" "$B/secrets"
cat >"$B/reconciler.yaml" <<EOF
backend: swarm
docker_host: $SW
EOF

write_one() {
	cat >"$B/work/manifests/m.yaml" <<EOF
version: 1
project: $P
services:
  web:
    image: $1
    networks: [app]
    healthcheck:
      test: $HC_TEST
      interval: 1s
      timeout: 1s
      retries: 3
    update: {strategy: start-first, parallelism: 1}
    deploy:
      replicas: $2
      placement:
        constraints: ["node.role == manager"]
networks:
  app: {}
EOF
}

# commit_manifest MSG: commit manifests/m.yaml (written by the caller); $HEAD
# is the commit. The push is the caller's (it is what is timed).
commit_manifest() {
	"$RECONCILERCTL" validate --backend swarm "$B/work/manifests/m.yaml" >/dev/null
	git_w "$B/work" add manifests/m.yaml
	git_w "$B/work" commit -q -m "$1"
	HEAD=$(git_w "$B/work" rev-parse HEAD)
}

write_one "$IMG_WEB_V1" 1
commit_manifest "bench: v1"
git_w "$B/work" push -q origin main
write_stack "$IMG_WEB_V1" 1

say "first deploys (untimed): reconcilerd ($P) and docker stack deploy ($PS), web v1"
"$RECONCILERD" -c "$B/reconciler.yaml" --repo "file://$B/remote.git" --branch main \
	--manifest manifests/m.yaml --state-dir "$B/state" --secrets-dir "$B/secrets" --poll 1s \
	</dev/null >>"$tmp/reconcilerd.log" 2>&1 &
echo $! >"$PIDFILE"
stack_deploy >/dev/null 2>&1
bench wait-status "$B/state/status.json" "$HEAD" 180
bench wait-ready "$P-web" "$IMG_WEB_V1" 1 120
bench wait-ready "${PS}_web" "$IMG_WEB_V1" 1 120
cfg_rd=$(bench update-config "$P-web")
cfg_st=$(bench update-config "${PS}_web")

ks=0 kr=0 # rollouts so far of each side: v1 -> v2 -> v1 ...
t_start=$SECONDS
for reps in 1 3; do
	if [ "$reps" = 3 ]; then
		say "3 replicas (untimed): both scaled to 3 on their current image"
		write_one "$(img_for "$kr")" 3
		commit_manifest "bench: 3 replicas"
		git_w "$B/work" push -q origin main
		write_stack "$(img_for "$ks")" 3
		stack_deploy >/dev/null 2>&1
		bench wait-status "$B/state/status.json" "$HEAD" 180
		bench wait-ready "$P-web" "$(img_for "$kr")" 3 180
		bench wait-ready "${PS}_web" "$(img_for "$ks")" 3 180
		sleep 1.5
	fi
	say "$reps replica(s): $N rounds of stack deploy, reconcilerd --poll 1s, reconcilerd + ctl sync"
	for i in $(seq 1 "$N"); do
		ks=$((ks + 1))
		write_stack "$(img_for "$ks")" "$reps"
		bench measure "${PS}_web" "$(img_for "$ks")" "$reps" - - 300 \
			"docker -H $SW stack deploy ${DEPLOY_FLAGS[*]} -c $tmp/stack.yml $PS" \
			>>"$res/stack-$reps.txt"
		for mode in poll sync; do
			kr=$((kr + 1))
			write_one "$(img_for "$kr")" "$reps"
			commit_manifest "bench: $mode $reps $i"
			cmds=("git -C $B/work push -q origin main")
			[ "$mode" = sync ] && cmds+=("$RECONCILERCTL sync --state-dir $B/state")
			bench measure "$P-web" "$(img_for "$kr")" "$reps" "$B/state/status.json" "$HEAD" 300 \
				"${cmds[@]}" >>"$res/$mode-$reps.txt"
			# let the next cycle see "in sync" before the next push
			sleep 1.5
		done
		say "$reps replica(s), round $i (running updated converged command, ms): stack $(tail -n 1 "$res/stack-$reps.txt")," \
			"poll $(tail -n 1 "$res/poll-$reps.txt"), sync $(tail -n 1 "$res/sync-$reps.txt")"
	done
done
elapsed=$((SECONDS - t_start))
rt_stop_pidfile "$PIDFILE" reconcilerd 30 >/dev/null 2>&1

# ---------------------------------------------------------------- report

echo
bench report "$res" "$N"
echo
echo "swarm: $(sw version --format 'engine {{.Server.Version}}') on ${RT_SWARM_NODES:-1} node(s), tasks on the manager; docker CLI $(docker version --format '{{.Client.Version}}' 2>/dev/null)"
echo "update settings, reconcilerd's service: $cfg_rd"
echo "update settings, the stack's service  : $cfg_st"
echo "timed rounds took $elapsed s"

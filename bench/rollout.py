"""Timing and memory helper of bench/rollout.sh and bench/memory.sh (stdlib only)."""
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
    """Runs them in turn; returns when the first one returned (monotonic)."""
    first = None
    for c in cmds:
        subprocess.run(c, shell=True, check=True, stdout=subprocess.DEVNULL)
        first = first or time.monotonic()
    return first


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
    t1m = run_cmds(cmds)
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
    # then t0 on the wall clock (ms), for the step breakdown, and when the
    # first command (the push) returned, in ms after t0
    first = (t1m - t0m) * 1000
    print(f"{serving:.0f} {conv:.0f} {t0r * 1000:.0f} {first:.0f}" if conv is not None
          else f"{serving:.0f} - {t0r * 1000:.0f} {first:.0f}")


def engine_ms(t):
    """An engine time (RFC 3339, nanoseconds) in unix ms."""
    import datetime
    t = t.rstrip("Z")
    if "." in t:
        head, frac = t.split(".", 1)
        t = head + "." + frac[:6]
    return datetime.datetime.fromisoformat(t).replace(
        tzinfo=datetime.timezone.utc).timestamp() * 1000


def inspect(name):
    c = UnixConn(SOCK)
    c.request("GET", f"/containers/{urllib.parse.quote(name)}/json")
    r = c.getresponse()
    body = r.read()
    c.close()
    return json.loads(body) if r.status == 200 else None


def phys_steps(argv):
    """phys-steps NAME T0 [OLD]: the engine's own times of a `docker run`, in
    ms after T0 (unix ms), as a JSON line: created, started, the first health
    check's end, the first passing check's end (healthy); and when the
    container OLD stopped."""
    info, t0 = inspect(argv[0]), float(argv[1])
    if not info:
        return
    st = info["State"]
    out = {"created": engine_ms(info["Created"]) - t0, "started": engine_ms(st["StartedAt"]) - t0}
    old = inspect(argv[2]) if len(argv) > 2 else None
    if old:
        out["old-stopped"] = engine_ms(old["State"]["FinishedAt"]) - t0
    log = (st.get("Health") or {}).get("Log") or []
    if log:
        out["first-check"] = engine_ms(log[0]["End"]) - t0
    for e in log:
        if e.get("ExitCode") == 0:
            out["healthy"] = engine_ms(e["End"]) - t0
            break
    print(json.dumps(out))


def run_steps(argv):
    """run-steps HISTORY-JSON-FILE REVISION SERVICE T0: the steps of that
    service's rollout at that revision (reconcilerctl history --json), in ms
    after T0 (unix ms), as a JSON line; "began" is when its rollout began."""
    with open(argv[0]) as f:
        h = json.load(f)
    t0 = float(argv[3])
    for c in h:
        if c.get("revision") != argv[1]:
            continue
        for a in c.get("actions", []):
            if a.get("service") == argv[2] and a.get("began"):
                b = a["began"] - t0
                out = {"began": b}
                out.update({k: b + v for k, v in (a.get("steps") or {}).items()})
                print(json.dumps(out))
                return


def critical_path(argv):
    """critical-path HISTORY-JSON-FILE REVISION DEPS-JSON: the longest
    depends_on chain of that revision's rollouts, each service counted from
    its rollout's start to its serving (renamed, or healthy for a new one):
    prints "ms a -> b -> c" (the converge cannot be shorter than that)."""
    with open(argv[0]) as f:
        h = json.load(f)
    deps = json.loads(argv[2])
    own = {}
    for c in h:
        if c.get("revision") != argv[1]:
            continue
        for a in c.get("actions", []):
            st = a.get("steps") or {}
            end = st.get("renamed", st.get("healthy"))
            if end is not None:
                own[a["service"]] = end
    memo = {}

    def longest(svc):
        if svc not in memo:
            best = (0, [])
            for d in deps.get(svc, []):
                best = max(best, longest(d))
            memo[svc] = (best[0] + own.get(svc, 0), best[1] + [svc] if svc in own else best[1])
        return memo[svc]

    ms, chain = max((longest(s) for s in own), default=(0, []))
    print(f"{ms:.0f} {' -> '.join(chain)}")


def step_report(argv):
    """step-report DIR PHYSICAL RECONCILERD TITLE: per step, the median ms
    after the push (or the `docker run`) of the physical limit and of
    reconcilerd + ctl sync, from DIR/PHYSICAL and DIR/RECONCILERD (.jsonl)."""
    d = argv[0]

    def load(name):
        try:
            with open(os.path.join(d, name)) as f:
                return [json.loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            return []

    phys, rec = load(argv[1] + ".jsonl"), load(argv[2] + ".jsonl")
    order = ["began", "pulled", "created", "old-stopped", "started", "first-check", "healthy",
             "aliases", "renamed", "cut-over", "old-removed"]
    if any("cut-over" in r for r in rec):     # start-first: the old one goes after
        order.remove("old-stopped")
        order.insert(order.index("cut-over") + 1, "old-stopped")
    seen = {k for r in rec for k in r} | {k for r in phys for k in r}
    print(f"where the time goes, {argv[3]}: median ms after the push (reconcilerd + ctl")
    print("sync) or after the physical limit's first command; the engine's clock for")
    print("created/started/checks")
    print(f"{'step':<14} {'physical':>9} {'reconcilerd':>12}  {'delta':>7}")
    prev = None
    for k in order:
        if k not in seen:
            continue
        pv = [r[k] for r in phys if k in r]
        rv = [r[k] for r in rec if k in r]
        pm = statistics.median(pv) if pv else None
        rm = statistics.median(rv) if rv else None
        step = "" if rm is None or prev is None else f"{rm - prev:+7.0f}"
        print(f"{k:<14} {'-' if pm is None else f'{pm:.0f}':>9} "
              f"{'-' if rm is None else f'{rm:.0f}':>12}  {step:>7}")
        if rm is not None and k != "first-check":
            prev = rm
    print("(delta: since the step above, reconcilerd; \"renamed\" is serving under the final")
    print(" name; the old container is stopped and removed after that)")


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


MEM_KEYS = ("Private_Dirty", "Anonymous", "Pss", "Rss")


def mem_read(pid):
    """The process's memory in KiB: smaps_rollup's Private_Dirty, Anonymous,
    Pss, Rss and status's VmHWM."""
    vals = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in MEM_KEYS:
                vals[k] = int(v.split()[0])
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k == "VmHWM":
                vals[k] = int(v.split()[0])
    return vals


def mem(argv):
    """mem PID: "Private_Dirty Anonymous Pss Rss VmHWM" in KiB."""
    v = mem_read(argv[0])
    print(" ".join(str(v[k]) for k in MEM_KEYS + ("VmHWM",)))


def clear_hwm(argv):
    """clear-hwm PID: reset VmHWM to the current RSS (clear_refs 5)."""
    with open(f"/proc/{argv[0]}/clear_refs", "w") as f:
        f.write("5")


def metrics_get(sock):
    c = UnixConn(sock)
    c.request("GET", "/metrics")
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    return body


def cycles_of(sock):
    """Cycles the daemon ended, any outcome (reconciler_sync_cycles_total)."""
    n = 0
    for line in metrics_get(sock).splitlines():
        if line.startswith("reconciler_sync_cycles_total{"):
            n += int(float(line.split()[-1]))
    return n


def outcomes_of(sock):
    out = {}
    for line in metrics_get(sock).splitlines():
        if line.startswith("reconciler_sync_cycles_total{"):
            name = line.split('"')[1]
            out[name] = int(float(line.split()[-1]))
    return out


def cycles(argv):
    """cycles SOCK: the number of cycles the daemon behind SOCK ended."""
    print(cycles_of(argv[0]))


def soak(argv):
    """soak PID SOCK N TIMEOUT: wait until the daemon has ended N more cycles
    (counted by its /metrics), sampling its memory at points of the way. At
    each point 25 reads 10 ms apart: "floor" is the least (between cycles, what
    the daemon keeps), "high" the most (a cycle's own). One line per point:
    "cycle elapsed_s floor_pd floor_anon high_pd rss pss hwm"; then a line
    "outcomes" with the cycles by outcome over the soak."""
    pid, sock, n, timeout = argv[0], argv[1], int(argv[2]), float(argv[3])
    start = cycles_of(sock)
    before = outcomes_of(sock)
    marks = sorted({0, 10, 100, 1000} | {n * k // 10 for k in range(1, 11)})
    marks = [m for m in marks if m <= n]
    t0 = time.monotonic()
    deadline = t0 + timeout
    for m in marks:
        while True:
            done = cycles_of(sock) - start
            if done >= m:
                break
            if time.monotonic() > deadline:
                print(f"timeout at cycle {done} of {n}", file=sys.stderr)
                sys.exit(1)
            time.sleep(min(0.5, max(0.02, (m - done) * 0.002)))
        reads = []
        for _ in range(25):
            reads.append(mem_read(pid))
            time.sleep(0.01)
        floor = min(reads, key=lambda v: v["Private_Dirty"])
        high = max(r["Private_Dirty"] for r in reads)
        print(f"{done} {time.monotonic() - t0:.1f} {floor['Private_Dirty']} {floor['Anonymous']} "
              f"{high} {floor['Rss']} {floor['Pss']} {reads[-1]['VmHWM']}", flush=True)
    after = outcomes_of(sock)
    print("outcomes " + " ".join(f"{k}={after.get(k, 0) - before.get(k, 0)}"
                                 for k in sorted(after) if after.get(k, 0) - before.get(k, 0)))


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

    def after_push(name):
        """serving, counted from when the push returned"""
        return [a - b for a, b in zip(load(name, 0), load(name, 3))]

    def med(v):
        return statistics.median(v) if v else float("nan")

    rows = [
        ("physical limit: docker run + healthy", load("physical", 0)),
        ("compose flow: edit + docker-compose up -d + healthy", load("compose", 0)),
        ("reconcilerd --poll 1s: push -> new version serving", load("poll", 0)),
        ("reconcilerd --poll 1s: push -> status converged", load("poll", 1)),
        ("reconcilerd + ctl sync: push -> new version serving", load("sync", 0)),
        ("reconcilerd + ctl sync: push -> status converged", load("sync", 1)),
        ("reconcilerd + ctl sync: push returned -> serving", after_push("sync")),
        ("stop-first physical: docker stop + run + healthy", load("physical-stop", 0)),
        ("stop-first reconcilerd + ctl sync: push -> serving", load("sync-stop", 0)),
        ("stop-first reconcilerd + ctl sync: push -> converged", load("sync-stop", 1)),
        ("stop-first reconcilerd: push returned -> serving", after_push("sync-stop")),
        ("physical limit on a user network, with an alias", load("physical-net", 0)),
    ]
    print(f"rollout of one service, healthcheck interval 1s; {n} runs each; ms")
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
    m = med(rows[6][1])
    print(f"  reconcilerd sync serving, from the push's return: over the physical limit "
          f"{m - phys:+6.0f} ms ({m / phys:4.2f}x)")
    sphys = med(rows[7][1])
    for i, what in ((8, "serving"), (9, "converged")):
        m = med(rows[i][1])
        print(f"  stop-first sync {what:<9}: overhead over its physical limit "
              f"{m - sphys:+6.0f} ms ({m / sphys:4.2f}x)")
    m = med(rows[10][1])
    print(f"  stop-first sync serving, from the push's return: over its physical limit "
          f"{m - sphys:+6.0f} ms ({m / sphys:4.2f}x)")
    nphys = med(rows[11][1])
    if rows[11][1]:
        m = med(rows[6][1])
        print(f"  reconcilerd sync serving, from the push's return: over the user-network "
              f"limit {m - nphys:+6.0f} ms ({m / nphys:4.2f}x); that limit is "
              f"{nphys - phys:+.0f} ms over the default bridge's")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"measure": measure, "wait-status": wait_status, "rss": rss, "free-ports": free_ports,
     "report": report, "phys-steps": phys_steps, "run-steps": run_steps,
     "step-report": step_report, "critical-path": critical_path, "mem": mem,
     "clear-hwm": clear_hwm, "cycles": cycles, "soak": soak}[cmd.replace("_", "-")](args)

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
     "report": report, "mem": mem, "clear-hwm": clear_hwm, "cycles": cycles,
     "soak": soak}[cmd.replace("_", "-")](args)

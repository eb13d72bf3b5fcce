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

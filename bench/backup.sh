#!/usr/bin/env bash
# Benchmark: one backup run, `reconcilerctl backup run` (exec stream decoded,
# gzip, SHA-256, fsync, rename), against the shell pipeline it replaces,
# `docker exec … | gzip > FILE && sha256sum FILE > FILE.sha256`, on the real
# engine of tests/env/up.sh (which it runs first).
#
#   bench/backup.sh [MIB]     dump size in MiB (default 256)
#
# Environment:
#   R=3                  timed runs of each (after one untimed warm-up)
#   RECONCILERCTL=PATH   the binary to time (default build/reconcilerctl)
#
# The dump is text shaped like pg_dump's output (numbered INSERT lines),
# written by busybox in a sleeper container of the project rt-bench-backup.
# Both sides write to the same temporary directory, gzip at the same level
# (zlib's default, 6). Printed: wall time, throughput, the peak RSS of the
# reconcilerctl process against the sum of the pipeline's (docker CLI, gzip,
# sha256sum), and the ratios. Figures only: it asserts nothing but that every
# run succeeded and both dumps decompress to the same bytes.
set -euo pipefail
export LC_ALL=C

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../tests/env/lib.sh
RT_QUIET=${RT_QUIET:-1} . "$top/tests/env/lib.sh"

P=rt-bench-backup
MIB=${1:-256}
R=${R:-3}
CTL=${RECONCILERCTL:-$top/${BUILD:-build}/reconcilerctl}
case $MIB in '' | *[!0-9]* | 0) echo "usage: ${0##*/} [MIB]   (dump size, default 256)" >&2; exit 2 ;; esac

say() { printf '[bench] %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}

tmp=""
cleanup() {
	local ids
	ids=$(docker ps -aq --filter "label=io.reconciler.project=$P" 2>/dev/null || true)
	# shellcheck disable=SC2086 # container IDs, one word each
	[ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
	docker network rm "${P}_default" >/dev/null 2>&1 || true
	[ -z "$tmp" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$top/tests/env/up.sh" >/dev/null || die "the test environment did not come up"
rt_images_load
[ -x "$CTL" ] || make -C "$top" -s >/dev/null || die "make failed"
for c in gzip sha256sum; do command -v "$c" >/dev/null || die "$c is needed"; done
cleanup
tmp=$(mktemp -d /tmp/rt-bench-backup.XXXXXX)
mkdir -p "$tmp/state" "$tmp/secrets" "$tmp/dest" "$tmp/peer"
cp "$CTL" "$tmp/reconcilerctl"
CTL=$tmp/reconcilerctl

# numbered rows, so the text compresses about as a real dump does
dump_cmd="seq 1 2000000000 | sed 's/.*/INSERT INTO events (id, source, at, payload) VALUES (&, '\\''reconciler'\\'', '\\''2026-11-24 10:00:00+00'\\'', '\\''row & of the benchmark'\\'');/' | head -c $((MIB * 1048576))"
cat >"$tmp/m.yaml" <<EOF
version: 1
project: $P
services:
  db:
    image: $IMG_SLEEPER
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 86400 & wait"]
backups:
  bench:
    service: db
    schedule: "@daily"
    command: ["/bin/sh", "-c", $(printf '%s' "$dump_cmd" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')]
    compress: gzip
    destination: $tmp/dest
    retention: {keep_last: 1}
EOF
ctl() { "$CTL" "$1" -f "$tmp/m.yaml" --state-dir "$tmp/state" --secrets-dir "$tmp/secrets" "${@:2}"; }
ctl apply >/dev/null || die "reconcilerctl apply failed"

# timed CMD...: runs CMD, prints "SECONDS MAXRSS_KIB" (the largest RSS of
# its descendants, as getrusage(RUSAGE_CHILDREN) reports it for the waited
# children; for the pipeline each stage is measured as its own child).
timed() {
	python3 - "$@" <<'EOF'
import resource, subprocess, sys, time
t = time.monotonic()
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
dt = time.monotonic() - t
if rc != 0:
    sys.exit(f"exit status {rc}: {' '.join(sys.argv[1:])}")
print(f"{dt:.3f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
EOF
}

# The peer: each stage's peak RSS, summed (they run at the same time).
peer_run() {
	python3 - "$P-db" "$dump_cmd" "$tmp/peer/dump.gz" <<'EOF'
import resource, subprocess, sys, time, os
name, cmd, out = sys.argv[1:]
t = time.monotonic()
with open(out + ".tmp", "wb") as f:
    a = subprocess.Popen(["docker", "exec", name, "/bin/sh", "-c", cmd], stdout=subprocess.PIPE)
    b = subprocess.Popen(["gzip", "-6", "-c"], stdin=a.stdout, stdout=f)
    a.stdout.close()
    rss = 0
    for p in (a, b):
        _, status, ru = os.wait4(p.pid, 0)
        if status != 0:
            sys.exit(f"peer stage failed: {status}")
        rss += ru.ru_maxrss
    f.flush()
    os.fsync(f.fileno())
os.rename(out + ".tmp", out)
s = subprocess.run(["sha256sum", out], capture_output=True, check=True)
with open(out + ".sha256", "wb") as f:
    f.write(s.stdout)
print(f"{time.monotonic() - t:.3f} {rss}")
EOF
}

ours=() peer=()
say "dump of $MIB MiB, $R timed runs each after a warm-up"
timed "$CTL" backup run bench -f "$tmp/m.yaml" --state-dir "$tmp/state" --secrets-dir "$tmp/secrets" >/dev/null ||
	die "reconcilerctl backup run failed"
peer_run >/dev/null || die "the docker exec | gzip pipeline failed"
for ((i = 0; i < R; i++)); do
	sleep 1 # a new second: the dump's name is its UTC time
	ours+=("$(timed "$CTL" backup run bench -f "$tmp/m.yaml" --state-dir "$tmp/state" --secrets-dir "$tmp/secrets")") ||
		die "reconcilerctl backup run failed"
	peer+=("$(peer_run)") || die "the pipeline failed"
done

f=$(find "$tmp/dest" -name 'bench-*Z.dump.gz' | sort | tail -n 1)
[ -n "$f" ] || die "no dump written"
(cd "$tmp/dest" && sha256sum -c --status "$(basename "$f").sha256") || die "the dump's sidecar does not match"
[ "$(gzip -dc "$f" | sha256sum)" = "$(gzip -dc "$tmp/peer/dump.gz" | sha256sum)" ] ||
	die "the two dumps differ once decompressed"

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
o_t=$(median "${ours[@]%% *}") o_m=$(median "${ours[@]##* }")
p_t=$(median "${peer[@]%% *}") p_m=$(median "${peer[@]##* }")
size=$(stat -c %s "$f")
awk -v mib="$MIB" -v ot="$o_t" -v om="$o_m" -v pt="$p_t" -v pm="$p_m" -v sz="$size" 'BEGIN {
	printf "dump: %d MiB of text, %.1f MiB gzipped\n", mib, sz / 1048576
	printf "%-44s %8.2f s  %7.1f MiB/s  peak RSS %6.1f MiB\n", "reconcilerctl backup run (exec+gzip+sha256)", ot, mib / ot, om / 1024
	printf "%-44s %8.2f s  %7.1f MiB/s  peak RSS %6.1f MiB\n", "docker exec | gzip -6 && sha256sum", pt, mib / pt, pm / 1024
	printf "ratio (pipeline / reconcilerctl): time %.2fx, memory %.2fx\n", pt / ot, pm / om
}'

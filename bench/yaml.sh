#!/usr/bin/env bash
# Benchmark: `reconcilerctl validate` on big and hostile manifests, each within
# the 1 MiB cap on a document: the shapes of issue 11's review (80k anchors,
# 50k keys in one mapping) and the others that were quadratic (a list of 50k
# variables, 60k ports, a chain of 8000 services, 8000 unknown dependencies).
# Needs no engine: only python3 (to write the inputs) and the binary.
#
#   bench/yaml.sh [SHAPE...]     every shape by default; SHAPE is one of
#                                anchors keys labels envlist ports chain
#                                unknowndeps merges dupkeys bomb
#
# Environment:
#   RECONCILERCTL=PATH   the binary to time (default build/reconcilerctl)
#   BEFORE=REV           also time a reconcilerctl built from REV (e.g. 7f57a67,
#                        the commit before the fix) in a temp dir, and print both
#   TIMEOUT=120          seconds before a run is stopped (shown as ">120")
#
# Prints one line per shape: its size, then for each binary the exit code, the
# first line it printed and the CPU seconds (user+sys) and wall seconds. CPU
# time is the figure to compare on a busy machine; one run each, no median.
set -euo pipefail
export LC_ALL=C

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CTL=${RECONCILERCTL:-$top/${BUILD:-build}/reconcilerctl}
TIMEOUT=${TIMEOUT:-120}
SHAPES=(anchors keys labels envlist ports chain unknowndeps merges dupkeys bomb)
[ $# -gt 0 ] && SHAPES=("$@")

tmp=$(mktemp -d /tmp/rt-bench-yaml.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

[ -x "$CTL" ] || make -C "$top" --no-print-directory "${CTL#"$top"/}" >&2
bins=("$CTL")
names=(now)
if [ -n "${BEFORE:-}" ]; then
	echo "# building reconcilerctl at $BEFORE in $tmp/before" >&2
	mkdir "$tmp/before"
	git -C "$top" archive "$BEFORE" | tar -x -C "$tmp/before"
	make -C "$tmp/before" --no-print-directory -j2 build/reconcilerctl >"$tmp/before.log" 2>&1 ||
		{ tail -20 "$tmp/before.log" >&2; exit 1; }
	bins=("$tmp/before/build/reconcilerctl" "$CTL")
	names=("$BEFORE" now)
fi

# Writes the manifest of shape $1 on stdout.
gen() {
	python3 - "$1" <<'EOF'
import sys
shape = sys.argv[1]
D = "sha256:" + "a" * 64
head = "version: 1\nproject: big\n"
svc = head + "services:\n  web:\n    image: r/web@%s\n" % D
o = []
if shape == "anchors":      # 80k anchors, a quarter of them aliased
    o.append(svc + "x-anchors: [" + ",".join("&%x %d" % (i, i % 10) for i in range(80000)))
    o.append("]\nx-refs: [" + ",".join("*%x" % i for i in range(0, 80000, 4)) + "]\n")
elif shape == "keys":       # 50k keys in one mapping
    o.append(svc + "x-keys:\n" + "".join("  k%d: %d\n" % (i, i) for i in range(50000)))
elif shape == "labels":     # 50k labels on one service
    o.append(svc + "    labels: {" + ", ".join("l%d: v" % i for i in range(50000)) + "}\n")
elif shape == "envlist":    # 50k variables in list form
    o.append(svc + "    environment: [" + ", ".join("E%d=v" % i for i in range(50000)) + "]\n")
elif shape == "ports":      # 60k host ports
    o.append(svc + "    ports: [" + ", ".join('"%d:80"' % (i + 1) for i in range(60000)) + "]\n")
elif shape == "chain":      # s0 depends on s1 ... on s7999
    o.append(head + "services:\n")
    for i in range(8000):
        o.append("  s%d: {image: 'r@%s', depends_on: [%s]}\n" % (i, D, "s%d" % (i + 1) if i < 7999 else ""))
elif shape == "unknowndeps":  # 8000 services, each depending on an unknown one
    o.append(head + "services:\n")
    for i in range(8000):
        o.append("  s%d: {image: 'r@%s', depends_on: [x%d]}\n" % (i, D, i))
elif shape == "merges":     # 20000 services merging one anchor
    o.append(head + "x-d: &d {image: 'r@%s', restart: always}\nservices:\n" % D)
    o.append("".join("  s%d: {<<: *d, stop_grace_period: 5s}\n" % i for i in range(20000)))
elif shape == "dupkeys":    # 50k times the same key: 49999 errors
    o.append(svc + "x-keys:\n" + "  k: 1\n" * 50000)
elif shape == "bomb":       # a billion laughs: refused by the alias limit
    o.append(head + "services: {}\nx-0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
    for i in range(1, 10):
        o.append("x-%d: &a%d [%s]\n" % (i, i, ", ".join(["*a%d" % (i - 1)] * 9)))
else:
    sys.exit("unknown shape " + shape)
sys.stdout.write("".join(o))
EOF
}

printf '%-11s %8s' shape bytes
for n in "${names[@]}"; do printf '  | %-8s %4s %7s %7s' "$n" exit cpu_s wall_s; done
printf '  | what the last one printed first\n'
for shape in "${SHAPES[@]}"; do
	f="$tmp/$shape.yaml"
	gen "$shape" >"$f"
	printf '%-11s %8d' "$shape" "$(stat -c %s "$f")"
	for i in "${!bins[@]}"; do
		rc=0
		TIMEFORMAT='%U %S %R'
		{ time timeout "$TIMEOUT" "${bins[$i]}" validate "$f" >"$tmp/out" 2>&1; } 2>"$tmp/time" || rc=$?
		read -r u s w <"$tmp/time"
		if [ "$rc" -eq 124 ]; then
			printf '  | %-8s %4s %7s %7s' "${names[$i]}" "-" ">$TIMEOUT" ">$TIMEOUT"
		else
			printf '  | %-8s %4d %7.2f %7.2f' "${names[$i]}" "$rc" "$(echo "$u + $s" | bc)" "$w"
		fi
	done
	printf '  | %s\n' "$(head -1 "$tmp/out" | sed "s|$tmp/||" | cut -c1-90)"
done

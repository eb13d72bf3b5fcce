#!/usr/bin/env bash
# Benchmark: how long the programs take to start and exit, against an empty C
# program compiled (cc -O2) and measured in the same run: the process, the
# dynamic loader and the shared objects mapped at start-up.
#
#   bench/startup.sh [-n N]     N runs of each (default 200, or BENCH_N=N)
#
# Environment:
#   BUILD=build          where the programs are (make first; a path, or
#                        relative to the top of the clone)
#
# Each run is a posix_spawn and a wait4 by a small C harness (compiled here
# too), so the figure is the child's life alone, not a shell's; the minor
# page faults are wait4's for that child. The programs run in turn, round
# after round, so a load that comes and goes weighs on each alike. Printed:
# median and minimum wall time in ms, the median over the empty program's,
# the page faults of the median run, the objects the loader maps at
# start-up (ldd) and the limit of issue 16 (5 ms). Figures only: it asserts
# nothing but that every run exited 0. Needs cc; no engine.
set -euo pipefail
export LC_ALL=C

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${BENCH_N:-200}
while getopts n: o; do
	case $o in
	n) N=$OPTARG ;;
	*) echo "usage: ${0##*/} [-n N]" >&2; exit 2 ;;
	esac
done
case $N in '' | *[!0-9]* | 0) echo "${0##*/}: -n: a positive number" >&2; exit 2 ;; esac
B=${BUILD:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
CTL=$B/reconcilerctl
D=$B/reconcilerd
for p in "$CTL" "$D"; do
	[ -x "$p" ] || { echo "${0##*/}: $p: not built (make first)" >&2; exit 1; }
done
command -v cc >/dev/null || { echo "${0##*/}: cc is needed" >&2; exit 1; }

tmp=$(mktemp -d /tmp/rt-bench-startup.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

printf 'int main(void) { return 0; }\n' > "$tmp/empty.c"
cat > "$tmp/spawn.c" <<'C'
/* spawn N ARGV... [-- ARGV...]...: runs the commands in turn, N rounds, and
 * prints one line per run: the command's index, the wall time in ns and
 * the minor page faults (wait4's rusage). In turn, so a load that comes and
 * goes weighs on each alike. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
extern char **environ;
int main(int argc, char **argv)
{
	long n = atol(argv[1]);
	char **cmd[64];
	int ncmd = 0;
	posix_spawn_file_actions_t fa;

	for (int i = 2; i < argc && ncmd < 64; i++) {
		cmd[ncmd++] = argv + i;
		while (i < argc && strcmp(argv[i], "--") != 0)
			i++;
		if (i < argc)
			argv[i] = NULL;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	for (long r = 0; r < n; r++) {
		for (int c = 0; c < ncmd; c++) {
			struct timespec a, b;
			struct rusage ru;
			pid_t pid;
			int st;

			clock_gettime(CLOCK_MONOTONIC, &a);
			if (posix_spawn(&pid, cmd[c][0], &fa, NULL, cmd[c], environ) != 0)
				return 1;
			if (wait4(pid, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
				return 1;
			clock_gettime(CLOCK_MONOTONIC, &b);
			printf("%d %lld %ld\n", c, (long long)(b.tv_sec - a.tv_sec) * 1000000000LL +
			    (b.tv_nsec - a.tv_nsec), ru.ru_minflt);
		}
	}
	return 0;
}
C
cc -O2 -o "$tmp/empty" "$tmp/empty.c"
cc -O2 -o "$tmp/spawn" "$tmp/spawn.c"

# objects mapped at start-up, the vdso left out
objects() { ldd "$1" | grep -vc 'linux-vdso'; }

# The commands, their labels and limits, in the order of the table.
labels=("empty C program (cc -O2)" "reconcilerctl version"
	"reconcilerctl validate -q manifests/prod.yaml" "reconcilerd --version")
limits=("" 5.00 5.00 "")
objs=("$(objects "$tmp/empty")" "$(objects "$CTL")" "$(objects "$CTL")" "$(objects "$D")")
cmds=("$tmp/empty" -- "$CTL" version -- "$CTL" validate -q manifests/prod.yaml -- "$D" --version)

cd "$top"
"$tmp/spawn" 3 "${cmds[@]}" >/dev/null || { echo "${0##*/}: a command failed" >&2; exit 1; }
"$tmp/spawn" "$N" "${cmds[@]}" >"$tmp/runs" || { echo "${0##*/}: a command failed" >&2; exit 1; }
echo "process start-up, $N runs each, in turn"
printf '%-46s %7s %7s %7s %7s %5s %6s\n' "program" "median" "min" "+empty" "faults" "objs" "limit"
for i in "${!labels[@]}"; do
	awk -v c="$i" '$1 == c { print $2, $3 }' "$tmp/runs" | sort -n |
		awk -v label="${labels[$i]}" -v objs="${objs[$i]}" -v lim="${limits[$i]}" \
		-v base="${base:-}" '
		{ t[NR] = $1; f[NR] = $2 }
		END {
			m = int((NR + 1) / 2)
			over = base == "" ? "" : sprintf("%+.2f", (t[m] - base) / 1e6)
			printf "%-46s %7.2f %7.2f %7s %7d %5d %6s\n", label, t[m] / 1e6, t[1] / 1e6,
			    over, f[m], objs, lim
			print t[m] > "/dev/stderr"
		}' 2>"$tmp/median"
	[ -n "${base:-}" ] || base=$(cat "$tmp/median")
done
echo "(ms; +empty: the median over the empty program's; faults: minor page faults"
echo " of the median run; objs: shared objects ldd lists, the loader's included)"

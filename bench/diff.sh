#!/usr/bin/env bash
# Benchmark: `reconcilerctl diff` on an in-sync project of N services against
# Debian's docker-compose 1.29 (`docker-compose ps` and a no-op `up -d`) on an
# equivalent compose project, on the real engine of tests/env/up.sh (which it
# runs first).
#
#   bench/diff.sh [N|all]     N services (default 50); "all" runs 10, 50 then 100
#
# Beside each diff it times, in the same rounds, one label-filtered container
# list of the project on the same engine (curl's time_total over the socket:
# the engine's answer alone, no process start), the limit a diff should
# approach: the issue's target is a diff within 2x that list.
# Environment:
#   R=11                 timed runs per command (after one untimed warm-up)
#   RECONCILERCTL=PATH   the binary to time, copied at start (default build/reconcilerctl,
#                        built with make when missing)
#   BEFORE=PATH          another reconcilerctl (say, the last release's) timed in
#                        the same rounds, its median printed beside
#   BENCH_BREAKDOWN=0    skip the "where the time goes" lines
#   COMPOSE_TIMEOUT=600  seconds before a docker-compose call counts as hung
#   COMPOSE_PARALLEL_LIMIT  passed to compose; default max(64, 2N+8), see below
#
# For each N it creates the project rt-bench-diff (N services s001…, one
# sleeper image, `update: {min_ready: 0s}`) with `reconcilerctl apply`, and
# the compose project rt-compose-bench-diff (same image, same command) with
# `docker-compose up -d`; both stay up while the three commands are timed in
# interleaved rounds (diff, ps, up -d, diff, ps, up -d, …) so background load
# hits them alike. Every diff must exit 0 (in sync) and no container may be
# replaced by the runs, else the run is broken (exit 1). Missing a target
# is reported, not an error: exit 0 when the run itself worked.
# Everything created is removed at the end and on failure or interrupt.
set -euo pipefail
export LC_ALL=C

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../tests/env/lib.sh
RT_QUIET=${RT_QUIET:-1} . "$top/tests/env/lib.sh"

P=rt-bench-diff
# Not "$P-…": a diff lists every container whose name starts with "$P-" (a
# foreign one holding a name the project needs), and would list compose's.
CP=rt-compose-bench-diff
R=${R:-11}
BREAKDOWN=${BENCH_BREAKDOWN:-1}
CTL=${RECONCILERCTL:-$top/${BUILD:-build}/reconcilerctl}
# The command every service runs, in both projects (the sleeper image's own
# CMD with a longer sleep).
SVC_CMD='["/bin/sh", "-c", "trap '"'"'exit 0'"'"' TERM; sleep 86400 & wait"]'
TARGET_DIFF_MS=100	# issue: diff of 100 services under 100 ms wall
TARGET_RATIO=10		# issue: at least 10x faster than a no-op compose up -d
TARGET_LIST_RATIO=2	# issue 16: diff within 2x one label-filtered list

tmp=""
work=""	# survives the sizes: the breakdown lines
warned=""	# networks already reported as stuck
before=()	# with BEFORE: "N diff_med" of that binary
results=()	# one line per N: "N diff_med diff_min ps_med up_med calls host load list_med"

say() { printf '[bench] %s\n' "$*" >&2; }
die() {
	printf '[bench] error: %s\n' "$*" >&2
	exit 1
}

usage() {
	printf 'usage: %s [N|all]   (N services, default 50; all = 10, 50 then 100)\n' "${0##*/}" >&2
	exit 2
}

# ---------------------------------------------------------------- clean-up

# compose ARGS...: docker-compose on the bench project, killed after
# $COMPOSE_TIMEOUT s (compose v1 can hang for good, see COMPOSE_PARALLEL_LIMIT).
compose() {
	timeout "$COMPOSE_TIMEOUT" docker-compose -p "$CP" -f "$tmp/compose/docker-compose.yml" \
		--project-directory "$tmp/compose" "$@"
}

# rm_each LABEL=VALUE: stop, then remove, the containers carrying the label,
# one at a time through the API. Many concurrent force-removals on one bridge
# network can leave a 20.10 engine counting a phantom endpoint, and the
# network then cannot be removed until dockerd restarts (moby/moby#42119).
rm_each() {
	local id
	for id in $(docker ps -aq --filter "label=$1" 2>/dev/null); do
		curl -sS -m 30 --unix-socket "$RT_DOCKER_SOCK" -o /dev/null -X POST \
			"http://docker/containers/$id/stop?t=10" 2>/dev/null || true
		curl -sS -m 30 --unix-socket "$RT_DOCKER_SOCK" -o /dev/null -X DELETE \
			"http://docker/containers/$id?v=1&force=1" 2>/dev/null || true
	done
}

# rm_networks LABEL=VALUE: remove the networks carrying the label (two tries);
# say which could not go.
rm_networks() {
	local id try
	for try in 1 2; do
		for id in $(docker network ls -q --filter "label=$1" 2>/dev/null); do
			docker network rm "$id" >/dev/null 2>&1 || true
		done
		[ -n "$(docker network ls -q --filter "label=$1" 2>/dev/null)" ] || return 0
		[ "$try" = 2 ] || sleep 2
	done
	for id in $(docker network ls --filter "label=$1" --format '{{.Name}}'); do
		case " $warned " in *" $id "*) continue ;; esac
		warned="$warned $id"
		say "warning: network $id cannot be removed:" \
			"$(docker network rm "$id" 2>&1 | head -n 1 | sed 's/^Error response from daemon: //')"
		if [ "$(docker network inspect -f '{{len .Containers}}' "$id" 2>/dev/null)" = 0 ]; then
			say "  no container is attached: a phantom endpoint in the engine" \
				"(moby/moby#42119); harmless for the next run, only a dockerd restart clears it"
		fi
	done
}

# cleanup: remove both projects (by label) and the temporary directory.
# Idempotent; used between sizes, at exit and on interrupt.
cleanup() {
	if [ -n "$tmp" ] && [ -f "$tmp/compose/docker-compose.yml" ] &&
		command -v docker-compose >/dev/null 2>&1; then
		compose down --remove-orphans >/dev/null 2>&1 || true
	fi
	rm_each "com.docker.compose.project=$CP"
	rm_networks "com.docker.compose.project=$CP"
	# The reconciler project: containers one by one, then down.sh for
	# whatever else carries the project label (the network).
	rm_each "io.reconciler.project=$P"
	"$top/tests/env/down.sh" --project "$P" >/dev/null 2>&1 || true
	rm_networks "io.reconciler.project=$P"
	if [ -n "$tmp" ]; then
		rm -rf "$tmp"
		tmp=""
	fi
}

on_exit() {
	local rc=$?
	trap - EXIT INT TERM
	cleanup
	[ -z "$work" ] || rm -rf "$work"
	rm -f "/tmp/$P.lock"	# held by this run (the trap is set after flock)
	exit "$rc"
}

# ---------------------------------------------------------------- helpers

# stats FILE: "median min" of the microsecond values in FILE, in ms.
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 }
		END {
			if (NR == 0) { print "nan nan"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.1f %.1f\n", m / 1000, v[1] / 1000
		}'
}

median() { stats "$1" | cut -d' ' -f1; }

# ratio A B: A/B with one decimal.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }'; }

# timed FILE CMD...: run CMD (output to $tmp/out, $tmp/err), append its wall
# time in microseconds to FILE (nothing when FILE is empty); its exit status.
timed() {
	local file=$1 t0 t1 rc=0
	shift
	t0=${EPOCHREALTIME/./}
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	t1=${EPOCHREALTIME/./}
	[ -z "$file" ] || echo $((t1 - t0)) >>"$file"
	return "$rc"
}

# list_once FILE: one label-filtered container list of the project, as a
# client that already runs sends it; the engine's time (curl's time_total)
# in microseconds appended to FILE (nothing when FILE is empty).
LIST_URL=""
list_once() {
	local t
	t=$(curl -sS --unix-socket "$RT_DOCKER_SOCK" -o /dev/null -w '%{time_total}' "$LIST_URL") ||
		die "curl on $RT_DOCKER_SOCK failed"
	[ -z "$1" ] || awk -v t="$t" 'BEGIN { printf "%d\n", t * 1000000 }' >>"$1"
}

ctl() {
	"$CTL" "$1" --state-dir "$tmp/state" --secrets-dir "$tmp/secrets" "${@:2}"
}

ctl_before() {
	"$BEFORE" "$1" --state-dir "$tmp/state" --secrets-dir "$tmp/secrets" "${@:2}"
}

write_manifest() {
	local n=$1 i
	{
		printf '# generated by bench/diff.sh\nversion: 1\nproject: %s\n\nservices:\n' "$P"
		for ((i = 1; i <= n; i++)); do
			printf '  s%03d:\n    image: %s\n    command: %s\n    update: {min_ready: 0s}\n' \
				"$i" "$IMG_SLEEPER" "$SVC_CMD"
		done
	} >"$tmp/manifest.yaml"
}

write_compose() {
	local n=$1 i
	mkdir -p "$tmp/compose"
	{
		printf '# generated by bench/diff.sh\nversion: "2.4"\n\nservices:\n'
		for ((i = 1; i <= n; i++)); do
			printf '  s%03d:\n    image: %s\n    command: %s\n    restart: unless-stopped\n' \
				"$i" "$IMG_SLEEPER" "$SVC_CMD"
		done
		printf '\nnetworks:\n  default:\n    labels:\n      io.reconciler.test: "1"\n'
	} >"$tmp/compose/docker-compose.yml"
}

# ids LABEL=VALUE: sorted "name id state" lines of the containers carrying it.
ids() {
	docker ps -a --filter "label=$1" --format '{{.Names}} {{.ID}} {{.State}}' | sort
}

# ---------------------------------------------------------------- one size

run_size() {
	local n=$1 i rc t0 calls host load pm um
	local -a d
	tmp=$(mktemp -d "/tmp/$P.XXXXXX")
	mkdir -p "$tmp/state" "$tmp/secrets"
	chmod 0700 "$tmp/state" "$tmp/secrets"
	write_manifest "$n"
	write_compose "$n"

	# Compose 1.29 shares one thread limit (64) between a project's
	# services and each service's own containers: with more than ~60
	# services every slot waits for an inner task and `up` hangs after a
	# few creations (docker/compose#7486, #8161, #8226). The limit is raised
	# above what the nesting needs; the default stays for small N.
	if [ -z "${COMPOSE_PARALLEL_LIMIT_USER:-}" ]; then
		export COMPOSE_PARALLEL_LIMIT=$((2 * n + 8 > 64 ? 2 * n + 8 : 64))
	fi

	# Setup only: services in parallel where apply has -j.
	local -a jobs=()
	if "$CTL" help apply | grep -q -- '-j N'; then
		jobs=(-j 8)
	fi
	say "N=$n: reconcilerctl apply ${jobs[*]:-(one service at a time)}"
	t0=$SECONDS
	if ! ctl apply -f "$tmp/manifest.yaml" "${jobs[@]}" >"$tmp/apply.log" 2>&1; then
		tail -n 20 "$tmp/apply.log" >&2
		die "reconcilerctl apply failed"
	fi
	say "N=$n: applied in $((SECONDS - t0)) s"
	if [ "$COMPOSE" = 1 ]; then
		t0=$SECONDS
		if ! compose up -d >"$tmp/compose-up.log" 2>&1; then
			tail -n 20 "$tmp/compose-up.log" >&2
			die "docker-compose up -d failed"
		fi
		say "N=$n: docker-compose up -d (first) in $((SECONDS - t0)) s"
	fi
	[ "$(docker ps -q --filter "label=io.reconciler.project=$P" --filter status=running | wc -l)" = "$n" ] ||
		die "not all $n containers of $P run"
	ids "io.reconciler.project=$P" >"$tmp/ids-r.before"
	ids "com.docker.compose.project=$CP" >"$tmp/ids-c.before"
	host=$(docker ps -aq | wc -l)
	load=$(cut -d' ' -f1 /proc/loadavg)

	LIST_URL="http://docker/containers/json?all=1&filters=%7B%22label%22%3A%5B%22io.reconciler.project%3D$P%22%5D%7D"
	say "N=$n: timing, 1 warm-up + $R rounds (host: $host containers, load $load)"
	for ((i = 0; i <= R; i++)); do
		local f_d="$tmp/diff.us" f_p="$tmp/ps.us" f_u="$tmp/up.us" f_l="$tmp/list.us"
		if [ "$i" = 0 ]; then f_d="" f_p="" f_u="" f_l=""; fi
		list_once "$f_l"
		if [ -n "$BEFORE" ]; then
			timed "${f_d:+$tmp/before.us}" ctl_before diff -f "$tmp/manifest.yaml" --no-color ||
				die "the BEFORE binary's diff exited $? on the in-sync project"
		fi
		rc=0
		timed "$f_d" ctl diff -f "$tmp/manifest.yaml" --no-color || rc=$?
		if [ "$rc" != 0 ] || ! grep -q "^0 to create, 0 to recreate, 0 to start, 0 to remove, $n in sync\$" "$tmp/out"; then
			cat "$tmp/out" "$tmp/err" >&2
			die "reconcilerctl diff exited $rc on the in-sync project (round $i)"
		fi
		if [ "$COMPOSE" = 1 ]; then
			timed "$f_p" compose ps || die "docker-compose ps failed: $(tail -n 3 "$tmp/err")"
			[ "$(grep -cE "^${CP}_s[0-9]+_1 .* Up( |\$)" "$tmp/out")" = "$n" ] ||
				die "docker-compose ps does not show $n running services"
			timed "$f_u" compose up -d || die "docker-compose up -d failed: $(tail -n 3 "$tmp/err")"
			[ "$(grep -c 'is up-to-date$' "$tmp/err")" = "$n" ] ||
				die "docker-compose up -d was not a no-op: $(grep -v 'is up-to-date$' "$tmp/err" | head -n 3)"
		fi
	done
	ids "io.reconciler.project=$P" | cmp -s - "$tmp/ids-r.before" ||
		die "containers of $P changed during the timing"
	ids "com.docker.compose.project=$CP" | cmp -s - "$tmp/ids-c.before" ||
		die "containers of $CP changed during the timing"

	ctl diff -f "$tmp/manifest.yaml" --no-color --stats >/dev/null 2>"$tmp/stats" ||
		die "reconcilerctl diff --stats failed"
	calls=$(sed -n 's/^engine calls: \([0-9]*\)$/\1/p' "$tmp/stats")
	[ -n "$calls" ] || die "no 'engine calls: K' line from diff --stats"
	# the phases line, when the binary prints one (older ones do not)
	sed -n 's/^phases (ms): //p' "$tmp/stats" >"$tmp/phases" || true

	read -r -a d <<<"$(stats "$tmp/diff.us")"
	if [ "$COMPOSE" = 1 ]; then
		pm=$(median "$tmp/ps.us")
		um=$(median "$tmp/up.us")
	else
		pm=- um=-
	fi
	results+=("$n ${d[0]} ${d[1]} $pm $um $calls $host $load $(median "$tmp/list.us")")
	[ -z "$BEFORE" ] || before+=("$n $(median "$tmp/before.us")")
	[ "$BREAKDOWN" = 1 ] && breakdown "$n"
	cleanup
	return 0
}

# breakdown N: the parts of a diff, timed alone (medians of R runs), on stdout
# after the table: process start, the manifest's parse, the three Engine
# requests diff makes (curl's time_total each, on a connection of its own, as
# diff sends them), and the phases diff --stats names.
breakdown() {
	local n=$1 i j sock=$RT_DOCKER_SOCK out f
	local filt
	filt=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' \
		"$(printf '{"name":["^/?%s-"]}' "$P")")
	local -a names=(containers networks volumes) urls=(
		"http://docker/v1.41/containers/json?all=1&filters=$filt"
		"http://docker/v1.41/networks"
		"http://docker/v1.41/volumes"
	)
	local -a phases=(parse secrets desired "engine list" decode diff)
	rm -f "$tmp"/bd-*.us "$tmp"/ph-*.us
	for ((i = 0; i <= R; i++)); do
		local sfx=""
		[ "$i" = 0 ] && sfx=.warm
		timed "$tmp/bd-start.us$sfx" "$CTL" version ||
			die "reconcilerctl version failed: $(cat "$tmp/err")"
		timed "$tmp/bd-validate.us$sfx" "$CTL" validate -q "$tmp/manifest.yaml" ||
			die "reconcilerctl validate failed: $(cat "$tmp/err")"
		for ((j = 0; j < 3; j++)); do
			out=$(curl -sS --unix-socket "$sock" -w '%{time_total} %{size_download}\n' \
				-o /dev/null "${urls[j]}") || die "curl on $sock failed"
			read -r t sz <<<"$out"
			awk -v t="$t" 'BEGIN { printf "%d\n", t * 1000000 }' >>"$tmp/bd-${names[j]}.us$sfx"
			echo "$sz" >"$tmp/bd-${names[j]}.bytes"
		done
		ctl diff -f "$tmp/manifest.yaml" --no-color --stats >/dev/null 2>"$tmp/st" || true
		out=$(sed -n 's/^phases (ms): //p' "$tmp/st")
		if [ -z "$out" ] || [ -n "$sfx" ]; then continue; fi
		for ((j = 0; j < ${#phases[@]}; j++)); do
			f=$(sed -n "s/.*${phases[j]} \([0-9.]*\).*/\1/p" <<<"$out")
			awk -v t="$f" 'BEGIN { printf "%d\n", t * 1000 }' >>"$tmp/ph-$j.us"
		done
	done
	{
		printf 'N=%s: where a diff'"'"'s time goes (medians of %s runs, ms)\n' "$n" "$R"
		printf '  %-48s %8s\n' "process start (reconcilerctl version)" "$(median "$tmp/bd-start.us")"
		printf '  %-48s %8s\n' "start + manifest parse/validate (validate -q)" \
			"$(median "$tmp/bd-validate.us")"
		for ((j = 0; j < 3; j++)); do
			printf '  %-48s %8s  (%s KiB)\n' "engine GET /${names[j]} (as diff sends it)" \
				"$(median "$tmp/bd-${names[j]}.us")" \
				"$(awk -v b="$(cat "$tmp/bd-${names[j]}.bytes")" 'BEGIN { printf "%.1f", b / 1024 }')"
		done
		if [ -s "$tmp/ph-0.us" ]; then
			printf '  diff --stats phases:\n'
			for ((j = 0; j < ${#phases[@]}; j++)); do
				printf '    %-46s %8s\n' "${phases[j]}" "$(median "$tmp/ph-$j.us")"
			done
		else
			printf '  (diff --stats prints no phases: an older binary)\n'
		fi
		printf '  %-48s %8s\n' "one label-filtered list (from the table)" "$(median "$tmp/list.us")"
		printf '  %-48s %8s\n' "whole diff (from the table)" "$(median "$tmp/diff.us")"
	} >>"$work/breakdown.txt"
}

# ---------------------------------------------------------------- report

report() {
	local line n dmed dmin pm um calls host load up_r ps_r lm
	local -a f
	echo
	printf 'reconcilerctl diff vs docker-compose %s, in-sync project, %s timed runs each\n' \
		"$COMPOSE_VERSION" "$R"
	printf 'engine %s, %s CPUs, %s\n\n' "$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')" \
		"$(nproc)" "$("$CTL" version)"
	printf '%5s %10s %10s %10s %9s %12s %14s %8s %8s %6s %5s %5s\n' N "diff med" "diff min" \
		"list med" "diff/list" "ps med" "up -d med" "up/diff" "ps/diff" "calls" "host" "load"
	for line in "${results[@]}"; do
		read -r -a f <<<"$line"
		n=${f[0]} dmed=${f[1]} dmin=${f[2]} pm=${f[3]} um=${f[4]} calls=${f[5]} host=${f[6]} load=${f[7]}
		lm=${f[8]}
		up_r=$(ratio "$um" "$dmed")
		ps_r=$(ratio "$pm" "$dmed")
		printf '%5s %7s ms %7s ms %7s ms %8sx %9s ms %11s ms %7sx %7sx %6s %5s %5s\n' "$n" "$dmed" \
			"$dmin" "$lm" "$(ratio "$dmed" "$lm")" "$pm" "$um" "$up_r" "$ps_r" "$calls" "$host" "$load"
	done
	printf '(wall ms per command; list: one label-filtered container list of the project,\n'
	printf ' the engine'"'"'s time alone (curl time_total), timed in the same rounds; calls: Engine\n'
	printf ' API calls per diff; host: containers on the engine, both projects included;\n'
	printf ' load: 1-min load average when the timing began)\n'
	for line in "${before[@]}"; do
		read -r -a f <<<"$line"
		printf 'N=%s: %s (BEFORE) diff median %s ms in the same rounds\n' "${f[0]}" \
			"$("$BEFORE" version)" "${f[1]}"
	done
	echo
	echo "targets:"
	local seen100=0 verdict
	for line in "${results[@]}"; do
		read -r -a f <<<"$line"
		[ "${f[0]}" = 100 ] || continue
		seen100=1
		verdict=$(awk -v m="${f[1]}" -v t="$TARGET_DIFF_MS" 'BEGIN { print (m < t) ? "PASS" : "MISS" }')
		printf '  diff of 100 services under %s ms wall:          %s (median %s ms)\n' \
			"$TARGET_DIFF_MS" "$verdict" "${f[1]}"
	done
	[ "$seen100" = 1 ] ||
		printf '  diff of 100 services under %s ms wall:          not measured (run bench/diff.sh 100)\n' \
			"$TARGET_DIFF_MS"
	for line in "${results[@]}"; do
		read -r -a f <<<"$line"
		up_r=$(ratio "${f[1]}" "${f[8]}")
		verdict=$(awk -v r="$up_r" -v t="$TARGET_LIST_RATIO" 'BEGIN { print (r != "-" && r <= t) ? "PASS" : "MISS" }')
		printf '  N=%-3s diff within %sx one label-filtered list:    %s (%sx: %s ms against %s ms)\n' \
			"${f[0]}" "$TARGET_LIST_RATIO" "$verdict" "$up_r" "${f[1]}" "${f[8]}"
	done
	for line in "${results[@]}"; do
		read -r -a f <<<"$line"
		if [ "${f[4]}" = - ]; then
			printf '  N=%-3s at least %sx faster than compose up -d:  not measured (no docker-compose)\n' \
				"${f[0]}" "$TARGET_RATIO"
			continue
		fi
		up_r=$(ratio "${f[4]}" "${f[1]}")
		verdict=$(awk -v r="$up_r" -v t="$TARGET_RATIO" 'BEGIN { print (r >= t) ? "PASS" : "MISS" }')
		printf '  N=%-3s at least %sx faster than compose up -d:  %s (%sx)\n' "${f[0]}" "$TARGET_RATIO" \
			"$verdict" "$up_r"
	done
	if [ -s "$work/breakdown.txt" ]; then
		echo
		cat "$work/breakdown.txt"
	fi
}

# ---------------------------------------------------------------- main

main() {
	local arg=${1:-50} start=$SECONDS
	local -a sizes
	case $arg in
	all) sizes=(10 50 100) ;;
	'' | *[!0-9]*) usage ;;
	*)
		if [ "$arg" -lt 1 ] || [ "$arg" -gt 999 ]; then usage; fi
		sizes=("$arg")
		;;
	esac
	[ $# -le 1 ] || usage
	case $R in
	'' | *[!0-9]* | 0) die "R must be a positive number of runs" ;;
	esac

	# The engine, the registry and the test images (idempotent, ~1 s when up).
	RT_QUIET=1 "$top/tests/env/up.sh" >/dev/null || die "tests/env/up.sh failed"
	rt_images_load
	if [ ! -x "$CTL" ]; then
		say "building $CTL"
		make -C "$top" --no-print-directory >&2 || die "make failed"
	fi
	[ -x "$CTL" ] || die "$CTL missing"
	COMPOSE_PARALLEL_LIMIT_USER=${COMPOSE_PARALLEL_LIMIT:-}
	COMPOSE_TIMEOUT=${COMPOSE_TIMEOUT:-600}
	COMPOSE=1 COMPOSE_VERSION=-
	if command -v docker-compose >/dev/null 2>&1; then
		COMPOSE_VERSION=$(docker-compose version --short 2>/dev/null || echo '?')
	else
		COMPOSE=0
		say "warning: docker-compose not found (Debian package docker-compose); timing diff only"
	fi

	# One run at a time: both runs would use the same project names.
	exec 8>"/tmp/$P.lock"
	flock -n 8 || die "another bench/diff.sh holds /tmp/$P.lock"
	work=$(mktemp -d "/tmp/$P-report.XXXXXX")
	trap on_exit EXIT
	# Time a private copy: a make elsewhere may relink build/ mid-run.
	cp "$CTL" "$work/reconcilerctl"
	CTL=$work/reconcilerctl
	BEFORE=${BEFORE:-}
	if [ -n "$BEFORE" ]; then
		cp "$BEFORE" "$work/reconcilerctl.before" || die "BEFORE=$BEFORE cannot be copied"
		BEFORE=$work/reconcilerctl.before
	fi
	trap 'exit 130' INT
	trap 'exit 143' TERM
	cleanup	# what an interrupted earlier run may have left
	for n in "${sizes[@]}"; do
		tmp=""
		run_size "$n"
	done
	report
	say "done in $((SECONDS - start)) s"
}

main "$@"

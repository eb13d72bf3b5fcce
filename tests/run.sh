#!/usr/bin/env bash
# Runs every test tier and ends with one summary line, "N passed, N failed".
#   unit    cmocka tests (build/tests/test_*)
#   cli     shell tests of the programs (tests/cli/*.sh)
#   corpus  the manifest corpus: C validator vs expected errors vs JSON Schema
#   fuzz    a short libFuzzer smoke run of every target (needs clang)
#   e2e     scenarios against the real engine, registry and Git remotes
#   lint    cppcheck, shellcheck, yamllint (tests/lint.sh; clang-tidy is make lint's)
# TIERS="unit cli" limits the run; every tier prints TAP-style "ok"/"not ok".
# E2E="diff control" runs only those scripts of tests/e2e/ in the e2e tier.
# tests/e2e/swarm-*.sh run on a one-node test swarm, then swarm3-*.sh on a
# three-node one (tests/env/swarm-up.sh; down again after, unless one was up),
# beside the other scripts (their lines come last); RT_SWARM_PARALLEL=0 runs
# them after the others instead.
# RT_PROXY=1 (the default): the programs under test reach the engine through
# the allow-list socket proxy (contrib/docker-socket-proxy/haproxy.cfg) in the
# e2e tier, which then proves the list; RT_PROXY=0 gives them the socket itself.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
export BUILD=${BUILD:-build}
export RECONCILERCTL="$top/$BUILD/reconcilerctl" RECONCILERD="$top/$BUILD/reconcilerd"
# Only read by sanitizer builds (make asan).
export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
tiers=${TIERS:-lint unit cli corpus fuzz e2e}
RT_PROXY=${RT_PROXY:-1}
log=$(mktemp /tmp/reconciler-tests.XXXXXX)
trap 'rm -f "$log"' EXIT

tier_unit() {
	local t
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1 | sed -e "s/^\(not ok\|ok\) \([0-9]*\) - /\1 - $(basename "$t"): /"
		# a sanitizer report at exit changes only the exit status
		rc=${PIPESTATUS[0]}
		[ "$rc" -eq 0 ] || echo "not ok - $(basename "$t"): exited with status $rc"
	done
	unit_no_engine
}

# The Engine client's tests on a host without an engine: the real-engine ones
# skip before they allocate anything, so a sanitizer build reports no leak.
unit_no_engine() {
	local t out rc away=unix:///nonexistent/reconciler-test-no-engine.sock
	for t in "$BUILD"/tests/test_docker*; do
		[ -x "$t" ] || continue
		out=$(DOCKER_HOST=$away CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1)
		rc=$?
		# cmocka's TAP writes a skipped test as "not ok N # SKIP"
		if [ "$rc" -eq 0 ] && ! grep -v '# SKIP' <<<"$out" | grep -q '^not ok'; then
			echo "ok - $(basename "$t"): with no engine (DOCKER_HOST=$away), skips cleanly"
		else
			echo "not ok - $(basename "$t"): with no engine (DOCKER_HOST=$away), exited with status $rc"
			grep -v '# SKIP' <<<"$out" | grep -E '^not ok|SUMMARY|ERROR:|runtime error' |
				head -5 | sed 's/^/# /'
		fi
	done
}

tier_cli() {
	local t
	for t in tests/cli/*.sh; do
		[ -f "$t" ] && bash "$t"
	done
}

tier_corpus() { bash tests/corpus.sh; }

tier_lint() { bash tests/lint.sh; }

tier_fuzz() {
	if ! command -v clang >/dev/null; then
		echo "ok - fuzz: skipped, clang is not installed # SKIP"
		return
	fi
	if ! make --no-print-directory -s fuzz-build >/dev/null 2>"$log.fuzz"; then
		echo "not ok - fuzz: building the fuzz targets failed"
		sed 's/^/# /' "$log.fuzz"
		return
	fi
	FUZZ_SECONDS=${FUZZ_SECONDS:-10} tests/fuzz/run.sh build-fuzz/fuzz_*
}

tier_e2e() {
	local t
	if [ "$env_up" != ok ]; then
		echo "not ok - e2e: the test environment did not come up"
		sed 's/^/# /' "$log.up"
		return
	fi
	local proxy="" refused
	if [ "$RT_PROXY" = 1 ]; then
		proxy=$(mktemp -d "${RECONCILER_TEST_STATE:-/var/tmp/reconciler-test}/proxy.XXXXXX")
		if ! E2E_DOCKER_HOST=$(tests/env/proxy-up.sh "$proxy" 2>"$log.proxy" | tail -n 1) ||
			[ -z "$E2E_DOCKER_HOST" ]; then
			echo "not ok - e2e: the docker socket proxy did not come up (RT_PROXY=0 runs without)"
			sed 's/^/# /' "$log.proxy"
			rm -rf "$proxy"
			return
		fi
		export E2E_DOCKER_HOST
		echo "# e2e: the programs under test reach the engine through $E2E_DOCKER_HOST"
	fi
	local -a swarm1=() swarm3=() host=()
	local swarm_pid="" swarm_out
	for t in tests/e2e/*.sh; do
		case $t in *lib.sh) continue ;; esac
		if [ -n "${E2E:-}" ]; then
			case " $E2E " in *" $(basename "$t" .sh) "*) ;; *) continue ;; esac
		fi
		case ${t##*/} in
		swarm-*) swarm1+=("$t") ;;
		swarm3-*) swarm3+=("$t") ;;
		*) [ -f "$t" ] && host+=("$t") ;;
		esac
	done
	# The swarm scripts run on engines of their own (tests/env/swarm-up.sh):
	# beside the others unless RT_SWARM_PARALLEL=0, their output told after.
	swarm_out=$(mktemp /tmp/rt-e2e-swarm.XXXXXX)
	if [ "${RT_SWARM_PARALLEL:-1}" = 1 ] && [ ${#host[@]} -gt 0 ]; then
		{
			e2e_swarm_scripts 1 "${swarm1[@]}"
			e2e_swarm_scripts 3 "${swarm3[@]}"
		} >"$swarm_out" 2>&1 </dev/null &
		swarm_pid=$!
		[ ${#swarm1[@]} -eq 0 ] && [ ${#swarm3[@]} -eq 0 ] ||
			echo "# e2e: the swarm scripts run beside the others (pid $swarm_pid); their lines come last"
	fi
	for t in "${host[@]}"; do
		bash "$t"
	done
	if [ -n "$swarm_pid" ]; then
		wait "$swarm_pid"
		cat "$swarm_out"
	else
		e2e_swarm_scripts 1 "${swarm1[@]}"
		e2e_swarm_scripts 3 "${swarm3[@]}"
	fi
	rm -f "$swarm_out"
	[ -n "$proxy" ] || return 0
	RT_QUIET=1 tests/env/proxy-down.sh "$proxy"
	unset E2E_DOCKER_HOST
	# every request the programs made must be on the list
	refused=$(grep -o '<NOSRV>.* 403 .*"[A-Z]* [^ ]*' "$proxy/haproxy.log" | sed 's/.*"//')
	if [ -z "$refused" ]; then
		echo "ok - e2e: the socket proxy passed all $(grep -c ' engine/engine ' "$proxy/haproxy.log") requests of the programs, refused none"
	else
		echo "not ok - e2e: the socket proxy refused requests of the programs (add them to docs/engine-api.md and the proxy's list):"
		sort <<<"$refused" | uniq -c | sed 's/^/#   /'
	fi
	rm -rf "$proxy"
}

# e2e_swarm_scripts NODES SCRIPT...: run the scripts on a test swarm of NODES
# nodes (tests/env/swarm-up.sh), then put the swarm back as it was: down if
# there was none, else with the nodes it had.
e2e_swarm_scripts() {
	local nodes=$1 before=0 t
	shift
	[ $# -gt 0 ] || return 0
	if [ -f "$swarm_env" ] &&
		curl -fsS -m 3 --unix-socket "$(sed -n 's/^RT_SWARM_SOCK=//p' "$swarm_env")" \
			http://x/_ping >/dev/null 2>&1; then
		before=$(sed -n 's/^RT_SWARM_NODES=//p' "$swarm_env")
	fi
	echo "# e2e: tests/env/swarm-up.sh --nodes $nodes"
	if ! RT_QUIET=1 tests/env/swarm-up.sh --nodes "$nodes" >"$log.swarm" 2>&1; then
		echo "not ok - e2e: the test swarm of $nodes node(s) did not come up"
		sed 's/^/# /' "$log.swarm"
		return
	fi
	for t in "$@"; do
		bash "$t"
	done
	if [ "${before:-0}" = 0 ]; then
		RT_QUIET=1 tests/env/swarm-down.sh >"$log.swarm" 2>&1 ||
			{ echo "# e2e: swarm-down.sh failed:"; sed 's/^/#   /' "$log.swarm"; }
	elif [ "$before" != "$nodes" ]; then
		RT_QUIET=1 tests/env/swarm-up.sh --nodes "$before" >"$log.swarm" 2>&1 ||
			{ echo "# e2e: swarm-up.sh --nodes $before failed:"; sed 's/^/#   /' "$log.swarm"; }
	fi
}
swarm_env=${RECONCILER_TEST_STATE:-/var/tmp/reconciler-test}/swarm.env

# The engine and registry come up once, before any tier, outside the tee
# below: the unit tier's real-engine tests need them as much as e2e does, and
# the daemons started here must not be taken for a test's leftover.
env_up=none
case " $tiers " in
*" unit "* | *" e2e "*)
	echo "# test environment: tests/env/up.sh"
	if tests/env/up.sh >"$log.up" 2>&1; then
		env_up=ok
	else
		env_up=failed
		echo "# the test environment did not come up:"
		sed 's/^/#   /' "$log.up" | tail -20
	fi
	;;
esac

for tier in $tiers; do
	echo "# tier: $tier"
	"tier_$tier" > >(tee -a "$log") 2>&1
	tee_pid=$!
	# A process a test left running would hold tee's pipe open, and a plain
	# pipe would then hang the whole run: say so and go on instead.
	for _ in $(seq 100); do
		kill -0 "$tee_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$tee_pid" 2>/dev/null; then
		echo "not ok - $tier: a process started by this tier is still running" | tee -a "$log"
		kill "$tee_pid" 2>/dev/null
	fi
done
rm -f "$log".*

passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok ' "$log")
if [ "$failed" -gt 0 ]; then
	echo "# failed:"
	grep '^not ok ' "$log" | sed 's/^/#   /'
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

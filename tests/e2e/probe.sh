#!/usr/bin/env bash
# The HTTP probe against real containers (reconcilerctl apply, the same
# converge and gate as the daemon), on the test images: FROM scratch with
# Debian 12's static busybox 1.35, whose wget crashes on -T. A service whose
# probe answers passes its gate and converges, also when its server starts
# late; a bump whose probe path 404s, whose port is wrong, whose server never
# answers (the daemon's time limit ends the attempt) or whose image has no
# wget fails its gate and rolls back: the old container keeps running and
# serving, and the error says why.
#
# Needs tests/env/up.sh. Run: TIERS=e2e E2E=probe tests/run.sh, or bash tests/e2e/probe.sh
set -uo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

P=${PROBE_PROJECT:-rt-probe} # another rt-* name runs a second copy beside
e2e_setup "$P"
tmp=$E2E_TMP
# A private copy: a rebuild during the run must not change the program.
mkdir -p "$tmp/bin"
cp "$RECONCILERCTL" "$tmp/bin/reconcilerctl"
RECONCILERCTL=$tmp/bin/reconcilerctl
mf=$tmp/$P.yaml

# write_manifest IMAGE PORT PATH [COMMAND [PROBE-TIMEOUT]]: one service, web,
# start-first, with an HTTP probe; COMMAND (a shell line) replaces the image's.
write_manifest() {
	local image=$1 port=$2 path=$3 command=${4:-} ptimeout=${5:-30s} cmd=""
	[ -z "$command" ] || cmd="    command: [\"/bin/sh\", \"-c\", \"$command\"]"
	cat >"$mf" <<EOF
# $P: written by tests/e2e/probe.sh
version: 1
project: $P

services:
  web:
    image: $image
$cmd
    probe:
      http: {port: $port, path: $path, status: 200}
      interval: 1s
      timeout: $ptimeout
    update: {strategy: start-first, min_ready: 1s}
EOF
}

# apply NAME CODE: apply once; status 0 when it exited CODE. $out: its output.
apply() {
	local name=$1 want=$2 got
	e2e_ctl apply -f "$mf" >"$tmp/apply.out" 2>&1
	got=$?
	out=$(cat "$tmp/apply.out")
	if [ "$got" -eq "$want" ]; then
		ok "$name: apply exits $want"
		return 0
	fi
	fail "$name: apply exits $want (exit $got)"
	sed 's/^/#   /' "$tmp/apply.out"
	return 1
}

# serves TEXT: the running web container answers / with TEXT (from inside it:
# the tests never send traffic to container addresses).
serves() {
	local got
	got=$(docker exec "$P-web" wget -q -O - http://127.0.0.1:8080/ 2>&1)
	[ "$got" = "$1" ] || {
		echo "# $P-web serves '$got', expected '$1'"
		return 1
	}
}

# only_web: the project has exactly one container, $P-web, running.
only_web() {
	local names
	names=$(docker ps -a --filter "label=io.reconciler.project=$P" --format '{{.Names}} {{.State}}')
	[ "$names" = "$P-web running" ] || {
		echo "# the project's containers: ${names//$'\n'/; }"
		return 1
	}
}

# failed_bump NAME MESSAGE IMAGE PORT PATH [COMMAND [PROBE-TIMEOUT]]: the bump
# fails its gate with MESSAGE, and the old container ($old) is untouched.
failed_bump() {
	local name=$1 msg=$2
	shift 2
	write_manifest "$@"
	apply "$name" 1
	expect_contains "$name: the reason" "$msg"
	grep -m1 '^ *web ' <<<"$out" | sed 's/^ */# /'
	check "$name: the old container is kept" test "$(e2e_cid "$P-web")" = "$old"
	check "$name: the old container still serves v1" serves "web v1"
	check "$name: no other container is left" only_web
}

# ---------------------------------------------------------------- converge
write_manifest "$IMG_WEB_V1" 8080 /health
expect_exit "the manifest is valid" 0 "$RECONCILERCTL" validate "$mf"
apply "a probe that answers 200" 0
expect_not_contains "a probe that answers 200: no failure" "fail"
check "a probe that answers 200: web runs" only_web
check "a probe that answers 200: web serves v1" serves "web v1"
expect_exit "a probe that answers 200: then in sync" 0 e2e_ctl diff -f "$mf"
old=$(e2e_cid "$P-web")

# ---------------------------------------------------------------- roll back
failed_bump "a probe path that 404s" \
	"HTTP probe http://127.0.0.1:8080/nope: status 404, expected 200" \
	"$IMG_WEB_V2" 8080 /nope
failed_bump "a probe on a port nothing listens on" \
	"HTTP probe http://127.0.0.1:8081/health: no answer (wget exited 1: wget: can't connect to remote host (127.0.0.1): Connection refused)" \
	"$IMG_WEB_V2" 8081 /health
# a server that takes the connection and never answers: busybox's wget has no
# time limit of its own, so the reconciler's ends each attempt
t0=$SECONDS
failed_bump "a probe whose server never answers" \
	"HTTP probe http://127.0.0.1:8080/health: no answer within" \
	"$IMG_WEB_V2" 8080 /health "trap 'exit 0' TERM; sleep 3600 | nc -l -p 8080 & wait" 6s
check "a probe whose server never answers: given up within 40 s" test $((SECONDS - t0)) -lt 40
failed_bump "an image without wget" \
	"the HTTP probe needs wget in the image" \
	"$IMG_WEB_V2" 8080 /health "rm -f /bin/wget; trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"

# ---------------------------------------------------------------- late start
# the server comes up 3 s after the container: the probe retries until it does
write_manifest "$IMG_WEB_V2" 8080 /health "trap 'exit 0' TERM; sleep 3; httpd -f -p 8080 -h /www & wait"
apply "a server that starts late" 0
check "a server that starts late: the new container took over" \
	test "$(e2e_cid "$P-web")" != "$old"
check "a server that starts late: web serves v2" serves "web v2"
check "a server that starts late: one container" only_web

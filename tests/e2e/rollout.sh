#!/usr/bin/env bash
# reconcilerd end to end: the daemon follows a real Git remote (a git daemon
# on loopback for the first deploy, a bump and an outage; the bare repository
# over file:// after a SIGHUP reload) and rolls a small project out on the
# real engine with the test images of the local registry:
#   first deploy in depends_on order; a start-first bump with zero failed
#   requests through the network alias (a client container in a tight loop);
#   a dependent's reload hook run before the old container goes; broken
#   images (never healthy, exits at once) rolled back with the old container
#   serving, quarantined (no retry, not even by --once); the next good commit;
#   git revert; pre-deploy hooks; a rotated secret that never leaks; a removed
#   service whose volume keeps its data; stop-first on a host port, failing
#   too; the remote down and back; an invalid manifest at head; SIGHUP and
#   SIGTERM.
#
# Needs tests/env/up.sh. Run: TIERS=e2e tests/run.sh, or bash tests/e2e/rollout.sh
set -uo pipefail

# shellcheck source=daemon-lib.sh
. "$(dirname "$0")/daemon-lib.sh"

# RT_ROLLOUT_PROJECT: another project name (rt-…), to run beside a copy of
# this test that runs under the default one. Copies sharing a name wait for
# each other (they would fight over the same containers).
P=${RT_ROLLOUT_PROJECT:-rt-rollout}
exec 8>"/tmp/$P.e2e.lock"
if ! flock -n 8; then
	echo "# $P: waiting for another run of this scenario (/tmp/$P.e2e.lock)"
	if ! flock -w 1200 8; then
		fail "setup: another run holds /tmp/$P.e2e.lock"
		exit 1
	fi
fi
dl_setup "$P"
NET=${P}_app
VOL=${P}_store-data
DL_MANIFEST=manifests/rollout.yaml
dl_repo_init "$E2E_TMP/git" || {
	fail "setup: git repositories"
	exit 1
}
mf=$DL_WORK/$DL_MANIFEST
mkdir -p "$(dirname "$mf")"
port=$(e2e_free_port)
cfg=$E2E_TMP/reconciler.yaml
secret1="rt-rollout-s1-$RANDOM$RANDOM$RANDOM"
secret2="rt-rollout-s2-$RANDOM$RANDOM$RANDOM"
secret3="rt-rollout-s3-$RANDOM$RANDOM$RANDOM"
printf '%s\n' "$secret1" >"$E2E_SECRETS/token"

# ---------------------------------------------------------------- manifest

API_IMAGE=$IMG_WEB_V1
WEB_IMAGE=$IMG_WEB_V1
WITH_STORE=1
API_HOOK=none      # none | fail | ok
WITH_SECRET=0
INVALID=0          # 1: api's image is a bare tag

write_manifest() {
	local api_image=$API_IMAGE env="" hooks="" store="" volumes=""
	[ "$INVALID" = 1 ] && api_image=foo:latest
	if [ "$WITH_SECRET" = 1 ]; then
		env="      TOKEN: {secret: token}"
	fi
	case $API_HOOK in
	fail | ok)
		local code=3
		[ "$API_HOOK" = ok ] && code=0
		hooks="    hooks:
      pre_deploy:
        - name: migrate
          command: [\"sh\", \"-c\", \"exit $code\"]"
		;;
	esac
	if [ "$WITH_STORE" = 1 ]; then
		store="  store:
    image: $IMG_STATEFUL
    volumes:
      - store-data:/data
    networks: [app]
    healthcheck:
      test: [\"CMD\", \"wget\", \"-q\", \"-O\", \"/dev/null\", \"http://127.0.0.1:8080/boot.log\"]
      interval: 1s
      timeout: 1s
      retries: 3"
		volumes="volumes:
  store-data: {}"
	fi
	cat >"$mf" <<EOF
# $P: written by tests/e2e/rollout.sh
version: 1
project: $P

services:
  api:
    image: $api_image
    environment:
      GREETING: hello
$env
    networks: [app]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      timeout: 1s
      retries: 3
$hooks

  web:
    image: $WEB_IMAGE
    ports:
      - "127.0.0.1:$port:8080"
    depends_on: [api]
    networks: [app]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      timeout: 1s
      retries: 3
    on_dependency_update:
      - service: api
        exec: ["sh", "-c", "mkdir -p /tmp && date >> /tmp/reloads"]

$store

networks:
  app: {}
$volumes
EOF
}

# commit MSG [REMOTE]: write the manifest, commit and push it; sets C.
commit() {
	write_manifest
	C=$(dl_commit_push "$1" "${2:-origin}") || {
		fail "git: commit and push of '$1'"
		C=none
	}
}

# ---------------------------------------------------------------- helpers

# applied NAME COMMIT [STATES]: the daemon reached COMMIT in one of STATES.
applied() {
	if dl_wait_head 120 "$2" "${3:-in-sync}"; then
		ok "$1"
	else
		fail "$1 (head ${2:0:12} not ${3:-in-sync} within 120 s)"
		dl_diag
		return 1
	fi
}

# gone NAME CONTAINER: no container of that name exists.
gone() {
	local st
	st=$(docker ps -a --filter "name=^/$2\$" --format '{{.Names}} {{.Status}} {{.Label "io.reconciler.role"}}')
	if [ -z "$st" ]; then
		ok "$1"
	else
		fail "$1 (still there: $st)"
	fi
}
exit_code() { docker inspect --format '{{.State.Status}}/{{.State.ExitCode}}' "$1" 2>/dev/null; }
volume_exists() { docker volume inspect "$1" >/dev/null 2>&1; }
label() { docker inspect --format "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null; }
image_of() { docker inspect --format '{{.Config.Image}}' "$1" 2>/dev/null; }
body_port() { curl -fsS -m 5 "http://127.0.0.1:$port/" 2>/dev/null; }
# The test images' static busybox wget crashes (SIGSEGV) when it resolves a
# name and when given -T: names are resolved with nslookup (Docker's DNS), wget
# gets an address, and `timeout` bounds it. Like a client library working
# through getaddrinfo's answer, the client tries the addresses in turn until
# one connects: during a cut-over the alias names both containers, and the
# old one may leave the network between a lookup and the connect.
# shellcheck disable=SC2016 # for the container's shell
RESOLVE='resolve() { nslookup "$1" 2>/dev/null | awk '\''/^Name:/ { getline; print $2 }'\''; }
fetch() { for a in $(resolve "$1"); do b=$(timeout 3 wget -q -O - "http://$a:8080/" 2>/dev/null) && { echo "$a $b"; return 0; }; done; return 1; }'
body_api() {
	docker exec "$P-web" sh -c "$RESOLVE"'; r=$(fetch api) && echo "${r#* }"' 2>/dev/null
}
reloads() { docker exec "$P-web" sh -c 'cat /tmp/reloads 2>/dev/null | wc -l' 2>/dev/null | tr -d ' '; }
ids() {
	local s
	for s in "$@"; do printf '%s=%s ' "$s" "$(e2e_cid "$P-$s")"; done
}
# ctl SUBCOMMAND ARGS…: reconcilerctl with the daemon's state dir only
# (history and sync take no --secrets-dir).
ctl() {
	local sub=$1
	shift
	"$RECONCILERCTL" "$sub" --state-dir "$DL_STATE" "$@"
}

# events_start / events_stop: the project's engine events in between, in $EV
# ("TIMENANO ACTION ID NAME EXECID", see dl_events_start).
events_start() { dl_events_start --filter "label=io.reconciler.project=$P"; }
events_stop() {
	dl_events_stop
	EV=$DL_EVENTS
}
# created: how many containers the events in $EV created.
created() { awk '$2 == "create"' <<<"$EV" | wc -l | tr -d ' '; }

# The client: a container on the project's network asking http://api:8080/
# about 20 times a second; counts successes and failures, keeps the distinct
# bodies and the last one.
# shellcheck disable=SC2016 # for the container's shell
CLIENT_SCRIPT=$RESOLVE'
mkdir -p /tmp
ok=0; bad=0; last=""; : >/tmp/seen; : >/tmp/ips; : >/tmp/err; date +%s >/tmp/t0
while [ ! -e /tmp/stop ]; do
	a=""
	if r=$(fetch api); then
		a=${r%% *}; b=${r#* }
		ok=$((ok + 1)); last=$b
		grep -qxF "$b" /tmp/seen || echo "$b" >>/tmp/seen
		grep -q "^$a " /tmp/ips || echo "$a $b" >>/tmp/ips
	else
		bad=$((bad + 1))
		echo "$(date +%T) api=${a:-unresolved} $(tr "\n" " " </tmp/err)" >>/tmp/failures
	fi
	echo "$ok $bad" >/tmp/c.tmp && mv /tmp/c.tmp /tmp/counts
	echo "$last" >/tmp/last
	usleep 20000
done
echo $(( $(date +%s) - $(cat /tmp/t0) )) >/tmp/secs
touch /tmp/done
exec sleep 3600'

client_ok() { docker exec "$P-client" cat /tmp/counts 2>/dev/null | cut -d' ' -f1; }
_client_at_least() { [ "$(client_ok || echo 0)" -ge "$1" ] 2>/dev/null; }

client_start() {
	docker rm -f "$P-client" >/dev/null 2>&1
	e2e_run --name "$P-client" --network "$NET" "$IMG_SLEEPER" sh -c "$CLIENT_SCRIPT" >/dev/null &&
		rt_wait 30 _client_at_least 5
}

# client_stop: let it make a few more requests, stop it; sets CL_OK, CL_FAIL,
# CL_SEEN (the distinct bodies, one per line), CL_LAST, CL_FAILURES.
client_stop() {
	local n
	n=$(client_ok || echo 0)
	rt_wait 30 _client_at_least $((n + 5))
	docker exec "$P-client" touch /tmp/stop
	rt_wait 15 docker exec "$P-client" test -e /tmp/done
	read -r CL_OK CL_FAIL < <(docker exec "$P-client" cat /tmp/counts 2>/dev/null)
	CL_SEEN=$(docker exec "$P-client" cat /tmp/seen 2>/dev/null)
	CL_LAST=$(docker exec "$P-client" cat /tmp/last 2>/dev/null)
	CL_FAILURES=$(docker exec "$P-client" cat /tmp/failures 2>/dev/null)
	CL_IPS=$(docker exec "$P-client" cat /tmp/ips 2>/dev/null)
	CL_SECS=$(docker exec "$P-client" cat /tmp/secs 2>/dev/null)
	docker rm -f "$P-client" >/dev/null 2>&1
	: "${CL_OK:=0}" "${CL_FAIL:=unknown}"
}

# zero_failures NAME: the client's verdict.
zero_failures() {
	local line ip served
	if [ "$CL_FAIL" = 0 ] && [ "$CL_OK" -gt 0 ]; then
		ok "$1 ($CL_OK requests in ${CL_SECS:-?} s, 0 failed)"
	else
		fail "$1 ($CL_OK ok, $CL_FAIL failed in ${CL_SECS:-?} s)"
		# each failure with what that address answered otherwise
		while IFS= read -r line; do
			ip=${line#* api=}
			ip=${ip%% *}
			served=$(awk -v ip="$ip" '$1 == ip { $1 = ""; print substr($0, 2); exit }' <<<"$CL_IPS")
			echo "#   $line [this address answered: ${served:-never}]"
		done < <(head -n 10 <<<"$CL_FAILURES")
	fi
}

seen() { grep -qxF "$1" <<<"$CL_SEEN"; }

# ================================================================ phase 1:
# a real Git server (git daemon, git://) and a config file.

if ! dl_git_daemon_start; then
	fail "setup: git daemon on 127.0.0.1"
	exit 1
fi
git -C "$DL_WORK" remote set-url origin "$DL_GIT_URL"

write_config() { # REPO POLL
	cat >"$cfg" <<EOF
repo: $1
branch: main
manifest: $DL_MANIFEST
poll_interval: $2
state_dir: $DL_STATE
secrets_dir: $E2E_SECRETS
EOF
}
write_config "$DL_GIT_URL" 1s

# ---- 1. first deploy (pushed through the git daemon, fetched over git://)
commit "first deploy: api, web, store"
C1=$C
check "git daemon: the first commit went through git:// receive-pack" \
	test "$(git --git-dir="$DL_REMOTE" rev-parse main)" = "$C1"
dl_daemon_start -c "$cfg" || fail "reconcilerd -c FILE started (pidfile)"
applied "first deploy: head ${C1:0:12} in sync over git://" "$C1"
out=$(cat "$DL_LOG")
expect_contains "first deploy: the cycle converged (log)" "revision=${C1:0:12} outcome=converged"
out=$(ctl history --json)
check "first deploy: history has a converged cycle for the commit" \
	"$E2E_PYTHON" -c 'import json,sys; h=json.load(sys.stdin); sys.exit(not any(c["revision"]==sys.argv[1] and c["outcome"]=="converged" for c in h))' "$C1" <<<"$out"
is "first deploy: api running and healthy" "$(e2e_state "$P-api")" running/healthy
is "first deploy: web running and healthy" "$(e2e_state "$P-web")" running/healthy
is "first deploy: store running and healthy" "$(e2e_state "$P-store")" running/healthy
for s in api web store; do
	is "first deploy: $s carries revision label = the commit" "$(label "$P-$s" io.reconciler.revision)" "$C1"
done
is "first deploy: web answers on 127.0.0.1:$port" "$(body_port)" "web v1"
is "first deploy: api answers through its alias" "$(body_api)" "web v1"
check "first deploy: named volume $VOL exists" volume_exists "$VOL"
# concurrency (default 4): api and store depend on nothing, so their rollouts
# (and health gates) overlapped; web waited for api to serve
is "first deploy: independent api and store rolled out at once, web after api" "$("$E2E_PYTHON" -c '
import json, sys
h = json.load(sys.stdin)
acts = {a["service"]: a for c in h if c["revision"] == sys.argv[1] for a in c["actions"]}
def span(s):
    a = acts[s]
    return a["began"], a["began"] + a["steps"]["healthy"]
(a0, a1), (s0, s1), (w0, w1) = span("api"), span("store"), span("web")
print("ok" if a0 < s1 and s0 < a1 and w0 >= a1 else "api %r store %r web %r" % (span("api"), span("store"), span("web")))' "$C1" <<<"$out")" ok
# 7. depends_on: api started before web
t_api=$(docker inspect --format '{{.State.StartedAt}}' "$P-api")
t_web=$(docker inspect --format '{{.State.StartedAt}}' "$P-web")
if [[ "$t_api" < "$t_web" ]]; then
	ok "depends_on: api started ($t_api) before web ($t_web)"
else
	fail "depends_on: api started ($t_api) before web ($t_web)"
fi

# ---- 2. start-first bump of api over git://, zero failed requests; and
# 10. the dependent's reload runs before the old api container goes.
old_api=$(e2e_cid "$P-api")
reloads0=$(reloads)
client_start || fail "api bump: the client got its first answers"
events_start
API_IMAGE=$IMG_WEB_V2
commit "api: v2"
C2=$C
applied "api bump: head ${C2:0:12} in sync" "$C2"
events_stop
client_stop
zero_failures "api bump: zero failed requests through the alias during start-first"
check "api bump: the client saw 'web v1'" seen "web v1"
check "api bump: the client saw 'web v2'" seen "web v2"
is "api bump: the last answer is 'web v2'" "$CL_LAST" "web v2"
new_api=$(e2e_cid "$P-api")
check "api bump: a new api container replaced the old one" test -n "$new_api" -a "$new_api" != "$old_api"
gone "api bump: no '-next' container is left" "$P-api-next"
is "api bump: api runs the v2 digest" "$(image_of "$P-api")" "$IMG_WEB_V2"
is "api bump: api revision label" "$(label "$P-api" io.reconciler.revision)" "$C2"
# the steps of the rollout, in the journal: all there, in order, and the new
# container served (renamed) before the old one was stopped
out=$(ctl history --json)
is "api bump: history --json has the rollout's steps, in order" "$("$E2E_PYTHON" -c '
import json, sys
h = json.load(sys.stdin)
want = ["pulled", "created", "started", "first-check", "healthy", "aliases", "renamed",
        "cut-over", "old-stopped", "old-removed"]
for c in h:
    for a in c["actions"]:
        if c["revision"] == sys.argv[1] and a["service"] == "api" and a["action"] == "recreate":
            st = a.get("steps") or {}
            got = [k for k in want if k in st]
            times = [st[k] for k in got if k != "first-check"]
            print("ok" if got == want and times == sorted(times) else "steps %r" % st)
            sys.exit(0)
print("no api recreate")' "$C2" <<<"$out")" ok
out=$(ctl history)
expect_contains "api bump: history shows the steps" "steps: pulled +"
is "dependent reload: web's /tmp/reloads has one more line" "$(reloads)" $((reloads0 + 1))
# the reload's exec: its exec_start names the command; its exec_die has the same exec ID
exec_id=$(awk -v w="$P-web" '$2 ~ /^exec_start:.*reloads/ && $4 == w { print $5; exit }' <<<"$EV")
t_exec=$(awk -v x="$exec_id" 'x != "" && $2 == "exec_die" && $5 == x { print $1; exit }' <<<"$EV")
t_kill=$(awk -v id="$old_api" '$3 == id && ($2 == "kill" || $2 == "die" || $2 == "stop") { print $1; exit }' <<<"$EV")
t_destroy=$(awk -v id="$old_api" '$3 == id && $2 == "destroy" { print $1; exit }' <<<"$EV")
if [ -n "$t_exec" ] && [ -n "$t_destroy" ] && [ "$t_exec" -lt "$t_destroy" ]; then
	ok "dependent reload: the exec in web ended before the old api container was removed"
else
	fail "dependent reload: the exec in web ended (${t_exec:-never}) before the old api container was removed (${t_destroy:-never})"
	grep -v 'exec_.*health' <<<"$EV" | sed 's/^/#   /'
fi
if [ -n "$t_exec" ] && [ -n "$t_kill" ] && [ "$t_exec" -lt "$t_kill" ]; then
	ok "dependent reload: ... and before the old api container was stopped"
else
	fail "dependent reload: the exec in web ended (${t_exec:-never}) before the old api container was stopped (${t_kill:-never})"
fi

# ---- 11. the remote goes down: the daemon keeps running, changes nothing,
# says why; a commit made meanwhile applies once the remote is back.
before=$(ids api web store)
dl_git_daemon_stop
if dl_wait_status 60 "d.get('state') == 'error' and 'git' in (d.get('message') or '').lower()"; then
	ok "remote down: status says error, mentioning git"
else
	fail "remote down: status says error, mentioning git"
	dl_diag
fi
out=$(dl_status 'd.get("message")')
echo "#   message: $out"
dl_wait_cycles 30 2
check "remote down: the daemon keeps running" dl_daemon_alive
is "remote down: containers unchanged" "$(ids api web store)" "$before"
is "remote down: last_good is still the head" "$(dl_status 'd.get("last_good")')" "$C2"
# 6. (first half) a stop-first bump of web, pushed straight to the bare repo
WEB_IMAGE=$IMG_WEB_V2
commit "web: v2 (while the git server is down)" direct
C3=$C
dl_wait_cycles 30 1
is "remote down: the new commit is not seen yet" "$(dl_status 'd.get("head")')" "$C2"
old_web=$(e2e_cid "$P-web")
# a host-side loop on the published port, for the record (stop-first may drop some)
(
	o=0 f=0
	# ends when told, and with the scenario (its directory goes at cleanup)
	while [ -d "$E2E_TMP" ] && [ ! -e "$E2E_TMP/hostloop.stop" ]; do
		if curl -fsS -m 2 "http://127.0.0.1:$port/" >/dev/null 2>&1; then o=$((o + 1)); else f=$((f + 1)); fi
		echo "$o $f" >"$E2E_TMP/hostloop.counts"
		sleep 0.05
	done
) &
hostloop=$!
dl_git_daemon_start "$DL_GIT_PORT" || fail "remote back: git daemon restarted on port $DL_GIT_PORT"
applied "remote back: the commit made meanwhile applies (head ${C3:0:12})" "$C3"
touch "$E2E_TMP/hostloop.stop"
wait "$hostloop" 2>/dev/null
echo "# web stop-first bump, host loop (ok failed): $(cat "$E2E_TMP/hostloop.counts" 2>/dev/null)"
is "stop-first bump: web answers 'web v2' on 127.0.0.1:$port" "$(body_port)" "web v2"
check "stop-first bump: web is a new container" test "$(e2e_cid "$P-web")" != "$old_web"
is "stop-first bump: web runs the v2 digest" "$(image_of "$P-web")" "$IMG_WEB_V2"
is "stop-first bump: web running and healthy" "$(e2e_state "$P-web")" running/healthy

# ================================================================ phase 2:
# SIGHUP: the config now names the bare repository over file:// and a poll
# interval of an hour.

write_config "$DL_REPO_URL" 1h
cyc=$(dl_cycle)
if dl_daemon_reload; then
	ok "SIGHUP: config reloaded"
else
	fail "SIGHUP: config reloaded (answer: ${DL_RELOAD_LINE:-none})"
fi
[ "${DL_RELOAD_TRIES:-1}" -gt 1 ] && echo "# SIGHUP had to be sent $DL_RELOAD_TRIES times (a cycle was running)"
echo "#   $DL_RELOAD_LINE"
if grep -qE '(^|[^0-9])(1h|3600s?)([^0-9]|$)' <<<"$DL_RELOAD_LINE"; then
	ok "SIGHUP: the 'config reloaded' line shows the new poll interval (1h)"
else
	fail "SIGHUP: the 'config reloaded' line shows the new poll interval (1h)"
fi
dl_wait_status 30 "d.get('repo') == '$DL_REPO_URL' and d.get('cycle', 0) > $cyc"
# a poll timer armed before the reload may still fire once: wait for quiet
dl_wait_quiet 3 30
is "SIGHUP: the new repo URL is in use" "$(dl_status 'd.get("repo")')" "$DL_REPO_URL"
is "SIGHUP: still in sync at ${C3:0:12} over file://" "$(dl_status 'd.get("head") + " " + d.get("state")')" "$C3 in-sync"

# ---- 12. an invalid manifest at head (the hour-long poll: `sync --wait` fetches it)
git -C "$DL_WORK" remote set-url origin "$DL_REMOTE"
before=$(ids api web store)
INVALID=1
commit "api: a tag instead of a digest"
C4=$C
INVALID=0
bad_line=$(grep -n 'image: foo:latest' "$mf" | cut -d: -f1)
sleep 3
is "SIGHUP: poll_interval 1h is in effect (no poll picked the new commit up)" "$(dl_status 'd.get("head")')" "$C3"
expect_exit "invalid manifest: sync --wait reports the error (exit 1)" 1 ctl sync --wait --timeout 60s
expect_contains "invalid manifest: sync --wait prints the error with file:line" "$DL_MANIFEST@${C4:0:12}:$bad_line:"
is "invalid manifest: status state" "$(dl_status 'd.get("state")')" error
is "invalid manifest: status head" "$(dl_status 'd.get("head")')" "$C4"
is "invalid manifest: last_good is the previous revision" "$(dl_status 'd.get("last_good")')" "$C3"
msg=$(dl_status 'd.get("message")')
echo "#   message: $msg"
if [[ "$msg" =~ $DL_MANIFEST@${C4:0:12}:$bad_line:[0-9]+:\ services\.api\.image ]]; then
	ok "invalid manifest: the message has file:line:col and the key"
else
	fail "invalid manifest: the message has file:line:col and the key ($DL_MANIFEST@${C4:0:12}:$bad_line:COL: services.api.image)"
fi
is "invalid manifest: containers unchanged" "$(ids api web store)" "$before"
is "invalid manifest: the last good revision keeps serving" "$(body_port)" "web v2"

# back to a 1 s poll; the fix applies by itself
write_config "$DL_REPO_URL" 1s
cyc=$(dl_cycle)
dl_daemon_reload || fail "SIGHUP: second reload (${DL_RELOAD_LINE:-no answer})"
dl_wait_status 30 "d.get('cycle', 0) > $cyc"
commit "api: digest again"
C5=$C
if dl_wait_head 30 "$C5" in-sync; then
	ok "SIGHUP: poll_interval back to 1s is in effect: the fix is polled (head ${C5:0:12})"
else
	fail "SIGHUP: poll_interval back to 1s is in effect: the fix is polled (head ${C5:0:12} not seen in 30 s)"
	dl_diag
	# go on with a daemon that polls every second
	dl_daemon_stop 60
	dl_daemon_start -c "$cfg" || fail "reconcilerd restarted (pidfile)"
fi
applied "invalid manifest: the fix applies (head ${C5:0:12})" "$C5"
is "invalid manifest: last_good is the fix" "$(dl_status 'd.get("last_good")')" "$C5"
is "invalid manifest: no message once fixed" "$(dl_status 'd.get("message")')" null

# ================================================================ phase 3: file://

# ---- 3. a never-healthy image: rolled back, the old api serves throughout
old_api=$(e2e_cid "$P-api")
client_start || fail "unhealthy: the client got its first answers"
API_IMAGE=$IMG_UNHEALTHY
commit "api: unhealthy"
C6=$C
applied "unhealthy: status degraded at ${C6:0:12}" "$C6" degraded
client_stop
zero_failures "unhealthy: zero failed requests while the new api failed its gate"
is "unhealthy: the last answer is still 'web v2'" "$CL_LAST" "web v2"
is "unhealthy: every answer came from the old api (the never-healthy one got no traffic)" \
	"$(tr '\n' ' ' <<<"$CL_SEEN")" "web v2 "
is "unhealthy: the old api container is unchanged" "$(e2e_cid "$P-api")" "$old_api"
is "unhealthy: api still runs v2" "$(image_of "$P-api")" "$IMG_WEB_V2"
gone "unhealthy: no '-next' container is left" "$P-api-next"
msg=$(dl_status 'd.get("message")')
echo "#   message: $msg"
out=$msg
expect_contains "unhealthy: message names the revision and the service" "degraded: ${C6:0:12} failed on api:"
expect_contains "unhealthy: message says why" "unhealthy"
# quarantine: two more daemon cycles create nothing
events_start
dl_wait_cycles 30 3
events_stop
is "unhealthy: quarantined, the daemon does not retry (no container created in 3 cycles)" "$(created)" 0
is "unhealthy: status stays degraded" "$(dl_status 'd.get("state")')" degraded

# ---- 13. SIGTERM on an idle daemon: exit 0, pidfile removed
dl_daemon_signal TERM
if dl_daemon_wait_exit 60; then
	is "SIGTERM: reconcilerd exits 0" "$DL_DAEMON_RC" 0
else
	fail "SIGTERM: reconcilerd exits within 60 s"
	dl_daemon_stop 5 KILL
fi
check "SIGTERM: the pidfile is removed" test ! -e "$DL_STATE/reconcilerd.pid"

# ---- 3. (cont.) `reconcilerd --once` does not retry the quarantined pair either
events_start
dl_daemon_args
dl_once "${DL_ARGS[@]}"
events_stop
is "unhealthy: reconcilerd --once exits 1 (degraded)" "$DL_ONCE_RC" 1
is "unhealthy: --once created no container" "$(created)" 0
is "unhealthy: --once left the old api container" "$(e2e_cid "$P-api")" "$old_api"
is "unhealthy: --once status degraded" "$(dl_status 'd.get("state")')" degraded
out=$(ctl history)
expect_contains "unhealthy: history shows the failed rollout" "${C6:0:12}"
out=$(ctl history --json)
check "unhealthy: history --json has api failed at the revision" \
	"$E2E_PYTHON" -c 'import json,sys; h=json.load(sys.stdin); sys.exit(not any(c["revision"]==sys.argv[1] and any(a["service"]=="api" and a["outcome"]=="failed" and a["error"] for a in c["actions"]) for c in h))' "$C6" <<<"$out"
out=$(e2e_ctl status -f "$mf")
expect_contains "unhealthy: reconcilerctl status shows the daemon degraded" "degraded"

dl_daemon_start -c "$cfg" || fail "reconcilerd restarted (pidfile)"

# ---- 3. an image that exits at once: same
client_start || fail "exits: the client got its first answers"
API_IMAGE=$IMG_EXITS
commit "api: exits at once"
C7=$C
applied "exits: status degraded at ${C7:0:12}" "$C7" degraded
client_stop
zero_failures "exits: zero failed requests while the new api crashed"
is "exits: the last answer is still 'web v2'" "$CL_LAST" "web v2"
is "exits: every answer came from the old api" "$(tr '\n' ' ' <<<"$CL_SEEN")" "web v2 "
is "exits: the old api container is unchanged" "$(e2e_cid "$P-api")" "$old_api"
gone "exits: no '-next' container is left" "$P-api-next"
out=$(dl_status 'd.get("message")')
echo "#   message: $out"
expect_contains "exits: message names the revision and the service" "degraded: ${C7:0:12} failed on api:"
events_start
dl_wait_cycles 30 3
events_stop
is "exits: quarantined, no retry (no container created in 3 cycles)" "$(created)" 0
out=$(ctl history --json)
check "exits: history --json has api failed at the revision" \
	"$E2E_PYTHON" -c 'import json,sys; h=json.load(sys.stdin); sys.exit(not any(c["revision"]==sys.argv[1] and any(a["service"]=="api" and a["outcome"]=="failed" for a in c["actions"]) for c in h))' "$C7" <<<"$out"

# ---- 3. the next good commit (v1, the way CI makes it: set-image --commit --push)
# shellcheck disable=SC2016 # arguments of bash -c
expect_exit "next good commit: set-image --commit --push" 0 \
	bash -c 'cd "$1" && "$2" set-image --commit -m "api: v1" --author "rt e2e <rt-e2e@localhost>" --push "$3" api "$4"' \
	_ "$DL_WORK" "$RECONCILERCTL" "$DL_MANIFEST" "$IMG_WEB_V1"
API_IMAGE=$IMG_WEB_V1
C8=$(git -C "$DL_WORK" rev-parse HEAD)
is "next good commit: pushed" "$(git --git-dir="$DL_REMOTE" rev-parse main)" "$C8"
applied "next good commit: applies (head ${C8:0:12})" "$C8"
is "next good commit: api runs v1" "$(image_of "$P-api")" "$IMG_WEB_V1"
is "next good commit: api answers 'web v1'" "$(body_api)" "web v1"
is "next good commit: status no longer degraded" "$(dl_status 'd.get("message")')" null

# ---- 4. rollback is git revert
API_IMAGE=$IMG_WEB_V2
commit "api: v2 again"
C9=$C
applied "revert: the bump applies (head ${C9:0:12})" "$C9"
is "revert: api on v2 first" "$(image_of "$P-api")" "$IMG_WEB_V2"
git -C "$DL_WORK" -c user.name="rt e2e" -c user.email=rt-e2e@localhost revert --no-edit HEAD >/dev/null &&
	dl_push origin
API_IMAGE=$IMG_WEB_V1
C10=$(git -C "$DL_WORK" rev-parse HEAD)
applied "revert: the revert applies (head ${C10:0:12})" "$C10"
is "revert: the previous digest is back" "$(image_of "$P-api")" "$IMG_WEB_V1"
is "revert: api answers 'web v1'" "$(body_api)" "web v1"

# ---- 8. pre-deploy hooks
old_api=$(e2e_cid "$P-api")
API_IMAGE=$IMG_WEB_V2
API_HOOK=fail
commit "api: v2 behind a failing migration"
C11=$C
applied "hook fails: status degraded at ${C11:0:12}" "$C11" degraded
out=$(dl_status 'd.get("message")')
echo "#   message: $out"
expect_contains "hook fails: message names the service" "failed on api"
expect_contains "hook fails: message names the hook" "migrate"
is "hook fails: the old api container is unchanged" "$(e2e_cid "$P-api")" "$old_api"
is "hook fails: api still runs v1" "$(image_of "$P-api")" "$IMG_WEB_V1"
gone "hook fails: no '-next' container was left" "$P-api-next"
is "hook fails: the hook's container exited 3" "$(exit_code "$P-api-hook-migrate")" exited/3
API_HOOK=ok
commit "api: v2 behind a passing migration"
C12=$C
applied "hook passes: the rollout goes on (head ${C12:0:12})" "$C12"
is "hook passes: api runs v2" "$(image_of "$P-api")" "$IMG_WEB_V2"
is "hook passes: the hook's container exited 0" "$(exit_code "$P-api-hook-migrate")" exited/0
out=$(cat "$DL_LOG")
expect_contains "hook passes: the log shows the hook ran" "hook=migrate ok"

# ---- 9. a rotated secret recreates the service and never leaks
WITH_SECRET=1
commit "api: TOKEN from a host secret"
C13=$C
applied "secret: the env ref applies (head ${C13:0:12})" "$C13"
is "secret: api sees the secret's value" "$(docker exec "$P-api" sh -c 'echo "$TOKEN"')" "$secret1"
old_api=$(e2e_cid "$P-api")
printf '%s\n' "$secret2" >"$E2E_SECRETS/token"
_api_replaced() {
	local id
	id=$(e2e_cid "$P-api")
	[ -n "$id" ] && [ "$id" != "$old_api" ]
}
if rt_wait 60 _api_replaced; then
	ok "secret: a changed secret file recreates api (no commit)"
else
	fail "secret: a changed secret file recreates api (no commit)"
	dl_diag
fi
dl_wait_head 60 "$C13" in-sync
is "secret: in sync again" "$(dl_status 'd.get("state")')" in-sync
is "secret: api sees the new value" "$(docker exec "$P-api" sh -c 'echo "$TOKEN"')" "$secret2"
# diff against a third value, in a copy of the secrets directory
mkdir -p "$E2E_TMP/secrets3"
chmod 0700 "$E2E_TMP/secrets3"
printf '%s\n' "$secret3" >"$E2E_TMP/secrets3/token"
diff_out=$("$RECONCILERCTL" diff -f "$mf" --secrets-dir "$E2E_TMP/secrets3" --state-dir "$DL_STATE" --no-color 2>&1)
diff_rc=$?
diff_json=$("$RECONCILERCTL" diff --json -f "$mf" --secrets-dir "$E2E_TMP/secrets3" --state-dir "$DL_STATE" 2>&1)
is "secret: diff with another secret value shows drift (exit 1)" "$diff_rc" 1
out=$diff_out
expect_contains "secret: diff shows api to recreate" "api"
labels=$(for c in $(docker ps -aq --filter "label=io.reconciler.project=$P"); do
	docker inspect --format '{{json .Config.Labels}}' "$c"
done)
for where in log status history history-json diff diff-json labels; do
	case $where in
	log) out=$(cat "$DL_LOG") ;;
	status) out=$(cat "$DL_STATE/status.json") ;;
	history) out=$(ctl history --limit 100) ;;
	history-json) out=$(ctl history --limit 100 --json) ;;
	diff) out=$diff_out ;;
	diff-json) out=$diff_json ;;
	labels) out=$labels ;;
	esac
	leaked=""
	for s in "$secret1" "$secret2" "$secret3"; do
		grep -qF -- "$s" <<<"$out" && leaked="$leaked $s"
	done
	if [ -z "$leaked" ]; then
		ok "secret: no secret value in the $where"
	else
		fail "secret: a secret value appears in the $where:$leaked"
	fi
done

# ---- 5. a service removed from the manifest: container gone, volume kept
docker exec "$P-store" sh -c 'echo keep-me >/data/marker' ||
	fail "remove: writing a marker into the store volume"
WITH_STORE=0
commit "store: removed"
C14=$C
applied "remove: applies (head ${C14:0:12})" "$C14"
is "remove: the store container is gone" "$(e2e_state "$P-store")" missing
check "remove: the volume $VOL is kept" volume_exists "$VOL"
is "remove: the data in the volume is intact" \
	"$(docker run --rm --label "$E2E_OWNER_LABEL=$P" -v "$VOL:/data:ro" "$IMG_SLEEPER" cat /data/marker 2>/dev/null)" \
	keep-me
check "remove: the volume still holds the service's own file" \
	docker run --rm --label "$E2E_OWNER_LABEL=$P" -v "$VOL:/data:ro" "$IMG_SLEEPER" test -s /data/boot.log
is "remove: api and web untouched" "$(e2e_state "$P-api") $(e2e_state "$P-web")" "running/healthy running/healthy"

# ---- 6. a failing stop-first bump leaves the old web serving on the port
old_web=$(e2e_cid "$P-web")
WEB_IMAGE=$IMG_UNHEALTHY
commit "web: unhealthy"
C15=$C
applied "stop-first failure: status degraded at ${C15:0:12}" "$C15" degraded
out=$(dl_status 'd.get("message")')
echo "#   message: $out"
expect_contains "stop-first failure: message names the revision and web" "degraded: ${C15:0:12} failed on web:"
is "stop-first failure: the old web container is kept" "$(e2e_cid "$P-web")" "$old_web"
is "stop-first failure: the old web container runs again, healthy" "$(e2e_state "$P-web")" running/healthy
is "stop-first failure: the old web serves 'web v2' on 127.0.0.1:$port" "$(body_port)" "web v2"
gone "stop-first failure: no '-next' container is left" "$P-web-next"
is "stop-first failure: web still runs v2" "$(image_of "$P-web")" "$IMG_WEB_V2"

# ---- 13. SIGTERM at the end: exit 0, pidfile gone
check "the daemon ran through every scenario" dl_daemon_alive
dl_daemon_signal TERM
if dl_daemon_wait_exit 60; then
	is "SIGTERM (end): reconcilerd exits 0" "$DL_DAEMON_RC" 0
else
	fail "SIGTERM (end): reconcilerd exits within 60 s"
fi
check "SIGTERM (end): the pidfile is removed" test ! -e "$DL_STATE/reconcilerd.pid"

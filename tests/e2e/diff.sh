#!/usr/bin/env bash
# reconcilerctl diff against the real engine: every kind of drift is produced
# for real (docker stop/rm/run, manifest and secret edits, a new digest, a
# removed service, a duplicate, a failing healthcheck), diff must report
# exactly that and nothing else, and apply (or undoing it) must bring the
# project back in sync. Also: --json (validated against docs/diff-json.md),
# --stats, a manifest read from a Git ref, errors, and secrets never shown.
#
# Needs tests/env/up.sh. Run: TIERS=e2e tests/run.sh, or bash tests/e2e/diff.sh
set -uo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

P=${DIFF_PROJECT:-rt-diff} # another rt-* name runs a second copy beside
e2e_setup "$P"
tmp=$E2E_TMP
# A private copy: a rebuild during the run must not change the program.
mkdir -p "$tmp/bin"
cp "$RECONCILERCTL" "$tmp/bin/reconcilerctl"
RECONCILERCTL=$tmp/bin/reconcilerctl
mf=$tmp/rt-diff.yaml
port=$(e2e_free_port)
secret1="rt-diff-secret-one-$RANDOM$RANDOM"
secret2="rt-diff-secret-two-$RANDOM$RANDOM"
printf '%s\n' "$secret1" >"$E2E_SECRETS/api-token"

# Knobs of the manifest; write_manifest renders them to $mf.
API_IMAGE=$IMG_WEB_V1
GREETING=hello
WITH_EXTRA=1

write_manifest() {
	local extra="" extra_vol=""
	if [ "$WITH_EXTRA" = 1 ]; then
		extra=$(
			cat <<EOF
  extra:
    image: $IMG_SLEEPER
    volumes:
      - extra-data:/data
    healthcheck:
      test: ["CMD", "test", "-d", "/data"]
      interval: 1s
      timeout: 1s
      retries: 3
EOF
		)
		extra_vol="  extra-data: {}"
	fi
	cat >"$mf" <<EOF
# rt-diff: written by tests/e2e/diff.sh
version: 1
project: $P

services:
  api:
    image: $API_IMAGE
    environment:
      GREETING: $GREETING
      API_TOKEN: {secret: api-token}
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      timeout: 1s
      retries: 3

  web:
    image: $IMG_WEB_V1
    ports:
      - "127.0.0.1:$port:8080"
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      timeout: 1s
      retries: 3

  store:
    image: $IMG_STATEFUL
    volumes:
      - store-data:/data
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/boot.log"]
      interval: 1s
      timeout: 1s
      retries: 3

$extra

volumes:
  store-data: {}
$extra_vol
EOF
}

# diff_human NAME CODE: human diff (no colour) into $out, exit code checked.
diff_human() {
	expect_exit "$1: diff exits $2" "$2" e2e_ctl diff -f "$mf" --no-color
}

# diff_json NAME CODE WANT: --json into $tmp/plan.json, exit code checked, the
# document validated and its digest (see e2e_plan) compared with WANT.
diff_json() {
	local name=$1 code=$2 want=$3 got rc
	e2e_ctl diff -f "$mf" --json >"$tmp/plan.json" 2>"$tmp/plan.err"
	rc=$?
	if [ "$rc" -eq "$code" ]; then ok "$name: diff --json exits $code"; else
		fail "$name: diff --json exits $code (exit $rc)"
		sed 's/^/#   /' "$tmp/plan.err"
	fi
	if got=$(e2e_plan "$tmp/plan.json"); then
		ok "$name: diff --json is valid"
	else
		fail "$name: diff --json is valid"
		printf '%s\n' "$got" | sed 's/^/#   /'
		sed 's/^/#   /' "$tmp/plan.json"
		return
	fi
	if [ "$got" = "$want" ]; then ok "$name: --json plan is exactly '$want'"; else
		fail "$name: --json plan is exactly '$want' (got '$got')"
	fi
}

# expect_marks NAME WANT…: the human diff in $out lists these service lines
# ("<mark> <service>", in manifest order) and no other.
expect_marks() {
	local name=$1 got want
	shift
	want=$(printf '%s\n' "$@")
	got=$(e2e_marks)
	if [ "$got" = "$want" ]; then ok "$name: human plan is exactly: $*"; else
		fail "$name: human plan is exactly: $*"
		printf '%s\n' "$out" | sed 's/^/#   /'
	fi
}

# expect_anomalies NAME [LINE…]: the anomaly lines of $out are exactly these.
expect_anomalies() {
	local name=$1 got want=""
	shift
	[ $# -eq 0 ] || want=$(printf '%s\n' "$@")
	got=$(e2e_anomaly_lines)
	if [ "$got" = "$want" ]; then ok "$name: anomalies are exactly: ${*:-none}"; else
		fail "$name: anomalies are exactly: ${*:-none}"
		printf '%s\n' "$out" | sed 's/^/#   /'
	fi
}

ALL_IN_SYNC=("= api" "= web" "= store" "= extra")

# in_sync NAME: diff (human and --json) says the whole project is in sync.
in_sync() {
	local marks=("${ALL_IN_SYNC[@]}")
	[ "$WITH_EXTRA" = 1 ] || marks=("= api" "= web" "= store")
	diff_human "$1" 0
	expect_marks "$1" "${marks[@]}"
	expect_anomalies "$1"
	expect_contains "$1: the summary line" "0 to create, 0 to recreate, 0 to start, 0 to remove, ${#marks[@]} in sync"
	diff_json "$1" 0 in-sync
	check "$1: --json has in_sync true" test "$(e2e_jq "$tmp/plan.json" 'd["in_sync"]')" = true
}

# apply NAME CODE: apply once, exit code checked; status 0 when it was CODE.
# $out: the report lines (stdout); everything goes to $tmp/apply.log too.
apply() {
	local name=$1 want=$2 got sig=""
	e2e_ctl apply -f "$mf" >"$tmp/apply.out" 2>"$tmp/apply.err"
	got=$?
	cat "$tmp/apply.out" "$tmp/apply.err" >>"$tmp/apply.log"
	out=$(cat "$tmp/apply.out")
	if [ "$got" -eq "$want" ]; then
		ok "$name: apply exits $want"
		return 0
	fi
	[ "$got" -lt 128 ] || sig=", killed by signal $((got - 128))"
	fail "$name: apply exits $want (exit $got$sig)"
	sed 's/^/#   /' "$tmp/apply.out" "$tmp/apply.err"
	return 1
}

# reasons_of FILE SERVICE: the reasons of SERVICE in a --json plan, one a line.
reasons_of() {
	e2e_jq "$1" "'\\n'.join(r['message'] for s in d['services'] if s['service'] == '$2' for r in s['reasons'])"
}

# ------------------------------------------------------------ first apply
write_manifest
expect_exit "the manifest is valid" 0 "$RECONCILERCTL" validate "$mf"
diff_human "before the first apply" 1
# The project's default network, unless an earlier run could not remove it
# (dockerd sometimes keeps a stale endpoint on a network: "has active endpoints").
net_mark=("+ network ${P}_default") net_plan="network+${P}_default "
if docker network inspect "${P}_default" >/dev/null 2>&1; then
	echo "# ${P}_default exists already (left by an earlier run): not expected in the plan"
	net_mark=() net_plan=""
fi
expect_marks "before the first apply" "${net_mark[@]}" "+ volume ${P}_store-data" \
	"+ volume ${P}_extra-data" "+ api" "+ web" "+ store" "+ extra"
expect_contains "before the first apply: the summary line" \
	"4 to create, 0 to recreate, 0 to start, 0 to remove, 0 in sync; $([ ${#net_mark[@]} = 1 ] && echo "1 network" || echo "0 networks") and 2 volumes to create"
diff_json "before the first apply" 1 "api:create web:create store:create extra:create ${net_plan}volume+${P}_store-data volume+${P}_extra-data"
apply "first apply" 0
for s in api web store extra; do
	check "first apply: $P-$s is running and healthy" test "$(e2e_state "$P-$s")" = running/healthy
done
check "first apply: the web port answers on 127.0.0.1:$port" \
	sh -c "curl -fsS -m 5 http://127.0.0.1:$port/ | grep -qx 'web v1'"
check "the state dir got an hmac key" test -s "$E2E_STATE/hmac.key"

# ------------------------------------------------------------ 1. in sync
in_sync "in sync"
expect_contains "in sync: = lines name the container" "= api ($P-api, in sync)"
for s in api web store extra; do
	check "in sync: $s has its container id in --json" \
		test "$(e2e_jq "$tmp/plan.json" "[s['id'] for s in d['services'] if s['service'] == '$s'][0]")" = "$(e2e_cid "$P-$s")"
done
check "in sync: --json revision labels are 'local'" \
	test "$(e2e_jq "$tmp/plan.json" "sorted(set(s['revision'] for s in d['services']))")" = '["local"]'
expect_exit "--stats: in sync" 0 e2e_ctl diff -f "$mf" --no-color --stats
expect_contains "--stats: three lists, no version call" "engine calls: 3"
stats_json=$(e2e_ctl diff -f "$mf" --json --stats 2>&1 >/dev/null)
check "--stats with --json goes to stderr, the same count" test "$(head -n 1 <<<"$stats_json")" = "engine calls: 3"
phases_ok() { grep -Eq '^phases \(ms\): parse [0-9.]+, secrets [0-9.]+, desired [0-9.]+, engine list [0-9.]+, decode [0-9.]+, diff [0-9.]+$' <<<"$stats_json"; }
check "--stats names where the time went" phases_ok
expect_exit "colours: NO_COLOR" 0 env NO_COLOR=1 "$RECONCILERCTL" diff -f "$mf" --state-dir "$E2E_STATE" --secrets-dir "$E2E_SECRETS"
no_escape() { ! grep -q $'\033' <<<"$out"; }
check "colours: NO_COLOR output has no escape" no_escape

# ------------------------------------------------------------ Git source
repo=$tmp/remote.git
work=$tmp/work
git() { command git -c user.name=rt-diff -c user.email=rt-diff@example.invalid -c init.defaultBranch=main "$@"; }
git init -q --bare "$repo"
git clone -q "file://$repo" "$work" 2>/dev/null
mkdir -p "$work/manifests"
cp "$mf" "$work/manifests/x.yaml"
git -C "$work" add manifests/x.yaml
git -C "$work" commit -q -m "rt-diff manifest"
git -C "$work" push -q origin HEAD:main 2>/dev/null
rev1=$(git -C "$repo" rev-parse main)
expect_exit "git: diff --repo --ref main in sync" 0 e2e_ctl diff --repo "file://$repo" --ref main --path manifests/x.yaml --no-color
git_human=$out
diff_human "git: the same from -f" 0
check "git: same human output as from the file" test "$git_human" = "$out"
e2e_ctl diff --repo "file://$repo" --ref main --path manifests/x.yaml --json >"$tmp/git.json" 2>"$tmp/git.err"
check "git: --json exits 0" test $? -eq 0
check "git: --json is valid and in sync" test "$(e2e_plan "$tmp/git.json")" = in-sync
check "git: --json has \"revision\": the commit id" test "$(e2e_jq "$tmp/git.json" 'd.get("revision")')" = "$rev1"
sed -i 's/GREETING: hello/GREETING: from-git/' "$work/manifests/x.yaml"
git -C "$work" commit -q -a -m "rt-diff: greeting"
git -C "$work" push -q origin HEAD:main 2>/dev/null
rev2=$(git -C "$repo" rev-parse main)
check "git: a second commit" test "$rev2" != "$rev1"
expect_exit "git: --ref main shows the new commit's drift" 1 e2e_ctl diff --repo "file://$repo" --ref main --path manifests/x.yaml --no-color
expect_contains "git: the env change at main" 'env GREETING changed: "hello" -> "from-git"'
expect_marks "git: at main" "~ api" "= web" "= store" "= extra"
e2e_ctl diff --repo "file://$repo" --ref main --path manifests/x.yaml --json >"$tmp/git.json" 2>/dev/null
check "git: --json at main is exactly api:recreate" test "$(e2e_plan "$tmp/git.json")" = api:recreate
check "git: --json revision is the new commit" test "$(e2e_jq "$tmp/git.json" 'd.get("revision")')" = "$rev2"
expect_exit "git: --ref <old commit id> still in sync" 0 e2e_ctl diff --repo "file://$repo" --ref "$rev1" --path manifests/x.yaml --no-color
expect_not_contains "git: no env change at the old commit" "GREETING"
expect_exit "git: an unknown ref is an error" 2 e2e_ctl diff --repo "file://$repo" --ref no-such-branch --path manifests/x.yaml
expect_contains "git: the error names the ref" "no-such-branch"
expect_exit "git: a missing path is an error" 2 e2e_ctl diff --repo "file://$repo" --ref main --path manifests/none.yaml
expect_contains "git: the error names the path" "manifests/none.yaml"

# ------------------------------------------------------------ 2. drift, for real
# docker stop -> start
docker stop -t 5 "$P-store" >/dev/null
diff_human "stopped" 1
expect_marks "stopped" "= api" "= web" "> store" "= extra"
expect_contains "stopped: the reason" "container is exited"
expect_anomalies "stopped"
diff_json "stopped" 1 store:start
check "stopped: --json reason" test "$(reasons_of "$tmp/plan.json" store)" = "container is exited"
store_id=$(e2e_cid "$P-store")
apply "stopped" 0
check "stopped: apply starts store, nothing else" test "$out" = "$(printf '%-16s %-9s %s' store start ok)"
check "stopped: the same container was started again" test "$(e2e_cid "$P-store")" = "$store_id"
check "stopped: store is running and healthy" test "$(e2e_state "$P-store")" = running/healthy
in_sync "after start"

# docker rm -f -> create
docker rm -f "$P-web" >/dev/null
diff_human "removed container" 1
expect_marks "removed container" "= api" "+ web" "= store" "= extra"
expect_contains "removed container: the reason" "no container"
expect_anomalies "removed container"
diff_json "removed container" 1 web:create
apply "removed container" 0
check "removed container: apply creates web, nothing else" test "$out" = "$(printf '%-16s %-9s %s' web create ok)"
check "removed container: web is back and healthy" test "$(e2e_state "$P-web")" = running/healthy
check "removed container: the port answers again" sh -c "curl -fsS -m 5 http://127.0.0.1:$port/health | grep -qx ok"
in_sync "after create"

# a foreign container holds the name -> blocked, never touched
docker rm -f "$P-api" >/dev/null
e2e_run --name "$P-api" "$IMG_WEB_V1" >/dev/null
foreign_id=$(e2e_cid "$P-api")
diff_human "foreign name" 1
expect_marks "foreign name" "! api" "= web" "= store" "= extra"
expect_anomalies "foreign name" "a container not managed by this project holds the name $P-api (remove or rename it; it is never touched)"
expect_contains "foreign name: the summary counts it blocked" "1 blocked"
diff_json "foreign name" 1 "api:blocked!foreign-name"
check "foreign name: --json names the foreign container" \
	test "$(e2e_jq "$tmp/plan.json" "[a.get('container') for s in d['services'] for a in s['anomalies']]")" = "[\"$P-api\"]"
apply "foreign name" 1
check "foreign name: apply says api is blocked" grep -qE '^api +blocked +blocked' <<<"$out"
check "foreign name: apply reports only api" test "$(grep -cvE '^api ' <<<"$out")" -eq 0
check "foreign name: the foreign container still exists, same id" test "$(e2e_cid "$P-api")" = "$foreign_id"
check "foreign name: it still runs" test "$(docker inspect -f '{{.State.Status}}' "$foreign_id" 2>/dev/null)" = running
check "foreign name: it got no reconciler label" test -z "$(docker inspect -f '{{index .Config.Labels "io.reconciler.project"}}' "$foreign_id" 2>/dev/null)"
diff_json "foreign name, after apply" 1 "api:blocked!foreign-name"
docker rm -f "$foreign_id" >/dev/null
apply "foreign name removed" 0
in_sync "after the foreign container"

# an env value changed in the manifest -> recreate
GREETING=bonjour
write_manifest
diff_human "env changed" 1
expect_marks "env changed" "~ api" "= web" "= store" "= extra"
expect_contains "env changed: the reason" 'env GREETING changed: "hello" -> "bonjour"'
expect_anomalies "env changed"
diff_json "env changed" 1 api:recreate
check "env changed: the only --json reason" test "$(reasons_of "$tmp/plan.json" api)" = 'env GREETING changed: "hello" -> "bonjour"'
old_api=$(e2e_cid "$P-api")
if apply "env changed" 0; then
	check "env changed: api is a new container" test "$(e2e_cid "$P-api")" != "$old_api"
	check "env changed: the new container has the value" \
		sh -c "docker exec $P-api sh -c 'echo \$GREETING' | grep -qx bonjour"
	check "env changed: no -next container is left" test "$(e2e_state "$P-api-next")" = missing
else
	# undo, so that the next case starts in sync
	GREETING=hello
	write_manifest
fi
in_sync "after the env change"

# a changed secret file -> recreate, the value never shown
# seen[WHAT]: every output a secret value must never be in.
declare -A seen=()
printf '%s\n' "$secret2" >"$E2E_SECRETS/api-token"
diff_human "secret changed" 1
seen[diff]=$out
expect_marks "secret changed" "~ api" "= web" "= store" "= extra"
expect_contains "secret changed: the reason names the key" "env API_TOKEN changed (secret value, not shown)"
expect_anomalies "secret changed"
diff_json "secret changed" 1 api:recreate
seen[diff --json]=$(cat "$tmp/plan.json" "$tmp/plan.err")
check "secret changed: the only --json reason" test "$(reasons_of "$tmp/plan.json" api)" = "env API_TOKEN changed (secret value, not shown)"
if apply "secret changed" 0; then
	check "secret changed: the container has the new value" \
		sh -c "docker exec $P-api sh -c 'echo \$API_TOKEN' | grep -qxF '$secret2'"
else
	printf '%s\n' "$secret1" >"$E2E_SECRETS/api-token"
fi
seen[apply, all runs]=$(cat "$tmp/apply.log")
in_sync "after the secret change"
seen[diff --json in sync]=$(cat "$tmp/plan.json")
expect_exit "secret: status" 0 "$RECONCILERCTL" status -f "$mf"
seen[status]=$out
expect_exit "secret: status --json" 0 "$RECONCILERCTL" status -f "$mf" --json
seen[status --json]=$out
expect_exit "secret: status -p" 0 "$RECONCILERCTL" status -p "$P"
seen[status -p]=$out
seen[container labels]=$(docker inspect -f '{{json .Config.Labels}}' "$P-api")
# no_secret_in WHAT: neither secret value is in seen[WHAT].
no_secret_in() {
	! grep -qF -e "$secret1" -e "$secret2" <<<"${seen[$1]}"
}
for what in "${!seen[@]}"; do
	check "secret: neither value is in the output of $what" no_secret_in "$what"
done

# a new digest -> recreate
API_IMAGE=$IMG_WEB_V2
write_manifest
diff_human "new digest" 1
expect_marks "new digest" "~ api" "= web" "= store" "= extra"
expect_contains "new digest: the reason" "image changed: $IMG_WEB_V1 -> $IMG_WEB_V2"
expect_anomalies "new digest"
diff_json "new digest" 1 api:recreate
check "new digest: the only --json reason" test "$(reasons_of "$tmp/plan.json" api)" = "image changed: $IMG_WEB_V1 -> $IMG_WEB_V2"
if apply "new digest" 0; then
	check "new digest: api serves v2" sh -c "docker exec $P-api wget -q -O - http://127.0.0.1:8080/ | grep -qx 'web v2'"
else
	API_IMAGE=$IMG_WEB_V1
	write_manifest
fi
in_sync "after the new digest"

# a service removed from the manifest -> its container goes, its volume stays
docker exec "$P-extra" sh -c 'echo kept-by-rt-diff >/data/marker'
WITH_EXTRA=0
write_manifest
diff_human "removed service" 1
expect_marks "removed service" "= api" "= web" "= store" "- extra"
expect_contains "removed service: the reason" "service extra is not in the manifest"
expect_contains "removed service: volumes kept" "volumes kept: $P""_extra-data"
expect_anomalies "removed service"
diff_json "removed service" 1 extra:remove
check "removed service: --json kept_volumes" test "$(e2e_jq "$tmp/plan.json" "[s['kept_volumes'] for s in d['services'] if s['service'] == 'extra']")" = "[[\"${P}_extra-data\"]]"
apply "removed service" 0
check "removed service: apply removes extra, nothing else" test "$out" = "$(printf '%-16s %-9s %s' extra remove ok)"
check "removed service: the container is gone" test "$(e2e_state "$P-extra")" = missing
volume_exists() { docker volume inspect "$1" >/dev/null 2>&1; }
check "removed service: the volume is still there" volume_exists "${P}_extra-data"
got=$(docker run --rm --label "$E2E_OWNER_LABEL=$P" -v "${P}_extra-data:/data:ro" "$IMG_SLEEPER" cat /data/marker 2>&1)
check "removed service: the data is readable by a fresh container" test "$got" = kept-by-rt-diff
in_sync "after the removal"
WITH_EXTRA=1
write_manifest
diff_human "service back" 1
expect_marks "service back" "= api" "= web" "= store" "+ extra"
apply "service back" 0
check "service back: it finds its data" sh -c "docker exec $P-extra cat /data/marker | grep -qx kept-by-rt-diff"
in_sync "after the service came back"

# a duplicate container for a service -> anomaly, apply removes only it
api_id=$(e2e_cid "$P-api")
docker run -d --name "$P-api-dup" --label io.reconciler.project="$P" --label io.reconciler.service=api \
	--label io.reconciler.role=primary "$API_IMAGE" >/dev/null
dup_id=$(e2e_cid "$P-api-dup")
diff_human "duplicate" 1
expect_marks "duplicate" "= api" "= web" "= store" "= extra"
expect_anomalies "duplicate" "two containers for one service: $P-api-dup is extra"
expect_contains "duplicate: the summary counts the anomaly" "1 anomaly"
diff_json "duplicate" 1 "api:in-sync!duplicate"
apply "duplicate" 0
check "duplicate: the extra container is gone" test "$(e2e_state "$dup_id")" = missing
check "duplicate: the managed one is untouched" test "$(e2e_cid "$P-api")" = "$api_id"
check "duplicate: and still healthy" test "$(e2e_state "$P-api")" = running/healthy
in_sync "after the duplicate"

# a healthcheck that starts failing -> anomaly "unhealthy"
docker exec "$P-api" rm /www/health
check "unhealthy: api turns unhealthy" e2e_wait_state 30 "$P-api" running/unhealthy
diff_human "unhealthy" 1
expect_marks "unhealthy" "= api" "= web" "= store" "= extra"
expect_anomalies "unhealthy" "$P-api is unhealthy"
diff_json "unhealthy" 1 "api:in-sync!unhealthy"
expect_exit "unhealthy: status" 0 "$RECONCILERCTL" status -f "$mf"
check "unhealthy: status shows it" grep -qE "^api +$P-api +running +unhealthy" <<<"$out"
docker exec "$P-api" sh -c 'echo ok >/www/health'
check "unhealthy: api recovers" e2e_wait_state 30 "$P-api" running/healthy
in_sync "after the recovery"

# ------------------------------------------------------------ 4. errors
expect_exit "errors: a missing socket exits 2" 2 e2e_ctl diff -f "$mf" -H unix:///nonexistent.sock
expect_contains "errors: the message names the socket" "/nonexistent.sock"
expect_exit "errors: --json with a missing socket exits 2" 2 e2e_ctl diff -f "$mf" --json -H unix:///nonexistent.sock
cat >"$tmp/bad.yaml" <<EOF
version: 1
project: $P
services:
  api:
    image: busybox:latest
EOF
expect_exit "errors: an invalid manifest exits 2" 2 e2e_ctl diff -f "$tmp/bad.yaml"
expect_contains "errors: file:line:col of the error" "$tmp/bad.yaml:5:12:"
expect_contains "errors: the key of the error" "services.api.image"
expect_exit "errors: a missing manifest exits 2" 2 e2e_ctl diff -f "$tmp/none.yaml"
expect_contains "errors: the missing file is named" "$tmp/none.yaml"
mv "$E2E_SECRETS/api-token" "$tmp/api-token.saved"
expect_exit "errors: a missing secret exits 2" 2 e2e_ctl diff -f "$mf"
expect_contains "errors: the missing secret is named" "api-token"
mv "$tmp/api-token.saved" "$E2E_SECRETS/api-token"
expect_exit "errors: an unknown option exits 2" 2 e2e_ctl diff -f "$mf" --frobnicate
in_sync "at the end"

#!/usr/bin/env bash
# reconcilerctl update-images against the local registry and a real Git
# remote: a tag moved to a new image becomes one bump commit (old and new
# digest, the image's creation date), the cooldown holds a too-new image back
# and lets it through later (RECONCILER_NOW), the same digest is no commit,
# --dry-run writes nothing, --branch pushes a branch and leaves main alone, a
# multi-platform index pins the index's digest, a registry down or asking for
# credentials is an error that names it with the file unchanged, and the bump
# pushed to main is deployed by reconcilerd behind its gate.
. "$(dirname "$0")/daemon-lib.sh"

dl_setup rt-upd
dl_repo_init
repo=$RT_REGISTRY/rt-upd/app
# no credentials of this machine's docker CLI reach the program under test
export DOCKER_CONFIG=$E2E_TMP/docker-config
mkdir -p "$DOCKER_CONFIG"
upd() { "$RECONCILERCTL" update-images "$@"; }
pushed() { # LOCAL-IMAGE TAG: tag and push it as $repo:TAG; prints the digest
	docker tag "$1" "$repo:$2" && docker push "$repo:$2" </dev/null >/dev/null 2>&1 &&
		rt_registry_digest rt-upd/app "$2"
}
d1=$(pushed "$IMG_WEB_V1_TAG" 1)
d2=$(pushed "$IMG_WEB_V2_TAG" v2)
check "two images pushed under $repo" test -n "$d1" -a -n "$d2" -a "$d1" != "$d2"
# the image's creation date as its config in the registry writes it (docker
# inspect may write the fraction shorter)
created_of() { # DIGEST
	local config
	config=$(curl -fsS -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"$RT_REGISTRY_URL/v2/rt-upd/app/manifests/$1" |
		"$E2E_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["config"]["digest"])') &&
		curl -fsS "$RT_REGISTRY_URL/v2/rt-upd/app/blobs/$config" |
		"$E2E_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["created"])'
}
created=$(created_of "$d2")
born=$(date -d "$created" +%s)

DL_MANIFEST=manifests/app.yaml
file=$DL_WORK/$DL_MANIFEST
mkdir -p "$DL_WORK/manifests"
cat >"$file" <<EOT
version: 1
project: rt-upd
services:
  app:
    # the web test image, following its tag
    image: $repo:1@$d1
    track: {cooldown: 3d}
    healthcheck: {test: "wget -q -O- http://127.0.0.1:8080/health", interval: 1s, retries: 30}
    update: {min_ready: 1s}
EOT
rev1=$(dl_commit_push "upd: app at v1")
dl_daemon_args
check "reconcilerd starts" dl_daemon_start "${DL_ARGS[@]}"
check_or_diag() { # NAME COMMAND…
	local name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name"; dl_diag; fi
}
check_or_diag "and deploys v1" dl_wait_head 120 "$rev1" "in-sync converged"
before=$(cat "$file")
head_is() { test "$(git -C "$DL_WORK" rev-parse HEAD)" = "$1"; }

# 1. the tag still points at the pinned digest
expect_exit "the same digest: exit 0" 0 upd -f "$file" --push
expect_contains "it says up to date" "app: up to date ($repo:1 $d1)"
check "no commit" head_is "$rev1"
is "the file is unchanged" "$(cat "$file")" "$before"

# 2. a new image under the tag, too new for the cooldown
pushed "$IMG_WEB_V2_TAG" 1 >/dev/null
until=$(date -u -d "@$((born + 3 * 86400))" +%Y-%m-%dT%H:%M:%SZ)
expect_exit "a too-new image: exit 0" 0 env RECONCILER_NOW=$((born + 60)) \
	"$RECONCILERCTL" update-images -f "$file" --push
expect_contains "it is held back until created + 3d" "app: held back until $until (cooldown 3d)"
check "no commit while held back" head_is "$rev1"
is "the file is unchanged while held back" "$(cat "$file")" "$before"
late=$((born + 3 * 86400 + 1))

# 3. --dry-run: the plan, nothing written
expect_exit "--dry-run once old enough: exit 1" 1 env RECONCILER_NOW=$late \
	"$RECONCILERCTL" update-images -f "$file" --dry-run
expect_contains "the plan names old and new digest" "app: $repo:1 $d1 -> $d2 (created $created)"
is "--dry-run writes nothing" "$(cat "$file")" "$before"

# 4. --branch: a branch for a pull request, main and the work tree left alone
expect_exit "--branch: exit 1" 1 env RECONCILER_NOW=$late \
	"$RECONCILERCTL" update-images -f "$file" --branch deps/images
remote_main=$(git --git-dir="$DL_REMOTE" rev-parse main)
is "the remote's main is unchanged" "$remote_main" "$rev1"
check "the local main is unchanged" head_is "$rev1"
is "the work tree's file is as it was" "$(cat "$file")" "$before"
bmsg=$(git --git-dir="$DL_REMOTE" log -1 --format=%B deps/images 2>&1)
is "the branch's commit has the bump" "$(git --git-dir="$DL_REMOTE" show \
	"deps/images:$DL_MANIFEST" 2>&1 | grep -c "$repo:1@$d2")" 1
expect_contains_in() { out=$1; expect_contains "$2" "$3"; }
expect_contains_in "$bmsg" "the branch's commit message lists the bump" \
	"app: $repo:1 $d1 -> $d2 (created $created)"
is "the branch's parent is main" "$(git --git-dir="$DL_REMOTE" rev-parse deps/images~1)" "$rev1"

# 5. the bump committed and pushed to main
expect_exit "--push once old enough: exit 1" 1 env RECONCILER_NOW=$late \
	"$RECONCILERCTL" update-images -f "$file" --push
rev2=$(git -C "$DL_WORK" rev-parse HEAD)
check "a commit was made" test "$rev2" != "$rev1"
is "and pushed to main" "$(git --git-dir="$DL_REMOTE" rev-parse main)" "$rev2"
is "its subject" "$(git -C "$DL_WORK" log -1 --format=%s)" \
	"deps: update app to 1@${d2:0:15}…"
is "its body: old, new digest and creation date" "$(git -C "$DL_WORK" log -1 --format=%b)" \
	"app: $repo:1 $d1 -> $d2 (created $created)"
is "the image line is rewritten in place" "$(cat "$file")" "${before/"$repo:1@$d1"/"$repo:1@$d2"}"
check "the work tree is clean" test -z "$(git -C "$DL_WORK" status --porcelain)"
expect_exit "run again: nothing to do" 0 upd -f "$file" --push
check "no second commit" head_is "$rev2"

# 6. reconcilerd deploys the bump behind its gate
check_or_diag "reconcilerd deploys the bump" dl_wait_head 120 "$rev2" "in-sync converged"
is "the container runs the new digest" \
	"$(docker inspect -f '{{.Config.Image}}' rt-upd-app 2>&1)" "$repo:1@$d2"
dl_daemon_stop

# 7. a multi-platform index: its own digest is pinned
m1=$(curl -fsS -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
	"$RT_REGISTRY_URL/v2/rt-upd/app/manifests/$d1")
m2=$(curl -fsS -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
	"$RT_REGISTRY_URL/v2/rt-upd/app/manifests/$d2")
index=$E2E_TMP/index.json
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s,%s]}' \
	"{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"$d2\",\"size\":${#m2},\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"}}" \
	"{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"$d1\",\"size\":${#m1},\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}" \
	>"$index"
di=sha256:$(sha256sum <"$index" | cut -d' ' -f1)
check "an OCI index is pushed under tag multi" curl -fsS -o /dev/null -X PUT \
	-H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary "@$index" \
	"$RT_REGISTRY_URL/v2/rt-upd/app/manifests/multi"
multi=$E2E_TMP/multi.yaml
cat >"$multi" <<EOT
version: 1
project: rt-upd
services:
  app:
    image: '$repo@$d1'
    track: {tag: multi}
EOT
expect_exit "the index: exit 1" 1 upd -f "$multi"
v1created=$(created_of "$d1")
expect_contains "its linux/amd64 image's date" "(created $v1created)"
is "the index's digest is pinned, quoting kept" "$(sed -n 5p "$multi")" "    image: '$repo@$di'"

# 8. a registry down: an error naming it, nothing written
port=$(e2e_free_port)
down=$E2E_TMP/down.yaml
printf 'version: 1\nproject: rt-upd\nservices:\n  app:\n    image: 127.0.0.1:%s/team/app:2@%s\n    track: {}\n' \
	"$port" "$d1" >"$down"
before=$(cat "$down")
expect_exit "a registry down: exit 2" 2 upd -f "$down" --timeout 5s
expect_contains "the error names the registry, repository and tag" "registry 127.0.0.1:$port, team/app:2"
is "the file is unchanged" "$(cat "$down")" "$before"

# 9. a registry that wants credentials the docker CLI does not have
pf=$E2E_TMP/$RANDOM.receiver.pid
port=$(e2e_free_port)
"$E2E_PYTHON" - "$port" >/dev/null 2>&1 <<'PY' &
import http.server, sys
port = int(sys.argv[1])
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        self.send_response(401)
        if self.path.startswith("/v2/"):
            self.send_header("WWW-Authenticate", 'Bearer realm="http://127.0.0.1:%d/token",'
                             'service="rt",scope="repository:team/app:pull"' % port)
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_GET = do_HEAD = answer
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
echo $! >"$pf"
_dl_register_pidfile "$pf"
rt_wait 20 _dl_port_open "$port"
sed "s/127.0.0.1:[0-9]*/127.0.0.1:$port/" "$down" >"$down.auth"
before=$(cat "$down.auth")
expect_exit "a registry asking for credentials: exit 2" 2 upd -f "$down.auth"
expect_contains "the error names the registry" "127.0.0.1:$port"
expect_contains "and says what is refused" "the token service answered 401"
is "the file is unchanged" "$(cat "$down.auth")" "$before"

# 10. contrib/ci/image-updates.sh, as the scheduled workflows run it: a branch
# images/<date> pushed and a pull request opened through the forge's API (a
# stand-in for GitHub's and Gitea's, tests/e2e/status-server.py)
pushed "$IMG_WEB_V1_TAG" 1 >/dev/null
forge=$E2E_TMP/forge.jsonl
fport=$(e2e_free_port)
pf=$E2E_TMP/$RANDOM.receiver.pid
"$E2E_PYTHON" "$E2E_DIR/status-server.py" "$fport" "$forge" forge-token-s3cret >/dev/null 2>&1 &
echo $! >"$pf"
_dl_register_pidfile "$pf"
rt_wait 20 _dl_port_open "$fport"
ci() { # FORGE API: the script from the work tree's top; status in $rc, output in $out
	out=$(cd "$DL_WORK" && env RECONCILER_NOW="$late" FORGE="$1" FORGE_API="$2" \
		FORGE_REPOSITORY=acme/infra FORGE_TOKEN=forge-token-s3cret MANIFEST="$DL_MANIFEST" \
		GIT_AUTHOR="Image updates <ci@localhost>" RECONCILERCTL="$RECONCILERCTL" \
		RUNNER_TEMP="$E2E_TMP" bash "$E2E_TOP/contrib/ci/image-updates.sh" 2>&1 </dev/null)
	rc=$?
}
pulls() { # PROVIDER: the pull requests it recorded, good ones, "HEAD BASE TITLE" a line
	[ -f "$forge" ] || return 0
	"$E2E_PYTHON" - "$forge" "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["provider"] == sys.argv[2] and r["path"].endswith("/pulls") and r["ok"]:
        b = r["body"]
        print(b["head"], b["base"], b["title"])
PY
}
ci github "http://127.0.0.1:$fport"
is "image-updates.sh on GitHub: exit 0" "$rc" 0
expect_contains "it says the pull request is open" "pull request opened for images/"
gh=$(pulls github)
is "one pull request, from images/<date> to main" "$(wc -l <<<"$gh" | tr -d ' ')" 1
branch=${gh%% *}
expect_contains_in "$gh" "  titled with the commit's subject" " main deps: update app to 1@${d1:0:15}"
is "  its branch is pushed with the bump" "$(git --git-dir="$DL_REMOTE" show \
	"$branch:$DL_MANIFEST" 2>&1 | grep -c "$repo:1@$d1")" 1
is "  main is left alone" "$(git --git-dir="$DL_REMOTE" rev-parse main)" "$rev2"
check "  the token is not in its output" test -z "$(grep -F forge-token-s3cret <<<"$out")"
sleep 1	# a branch name a second later
ci gitea "http://127.0.0.1:$fport/api/v1"
is "image-updates.sh on Gitea: exit 0" "$rc" 0
is "one pull request through Gitea's API" "$(pulls gitea | wc -l | tr -d ' ')" 1
pushed "$IMG_WEB_V2_TAG" 1 >/dev/null
ci github "http://127.0.0.1:$fport"
is "nothing to bump: exit 0" "$rc" 0
expect_contains "  it says so" "every tracked image is up to date"
is "  and opens no pull request" "$(pulls github | wc -l | tr -d ' ')" 1
ci gitlab "http://127.0.0.1:$fport"
is "an unknown forge is a settings error (exit 2)" "$rc" 2

docker rmi "$repo:1" "$repo:v2" >/dev/null 2>&1 || true

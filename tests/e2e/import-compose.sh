#!/usr/bin/env bash
# reconcilerctl import-compose --resolve against the real engine and registry:
# a tag the engine holds is pinned from its RepoDigests, a tag only the
# registry has is pinned by a HEAD on /v2/<name>/manifests/<tag>, an unknown
# tag is reported "not pinned"; the converted manifest is then applied, and
# its ${VAR} turned secrets reach the containers (environment and a
# CMD-SHELL healthcheck reading its secret file).
#
# Needs tests/env/up.sh. Run: TIERS=e2e tests/run.sh, or bash tests/e2e/import-compose.sh
set -uo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

P=rt-import-compose
e2e_setup "$P"
tmp=$E2E_TMP
port=$(e2e_free_port)
repo=$RT_IMAGE_PREFIX/web
only_remote=$repo:rt-import-compose

# A tag the registry has and the engine does not: pushed, then untagged here
# (the image itself stays: other tags hold it).
docker tag "$IMG_WEB_V1_TAG" "$only_remote" >/dev/null 2>&1
push_out=$(docker push "$only_remote" 2>&1)
pushed=$(grep -o 'digest: sha256:[0-9a-f]*' <<<"$push_out" | head -1 | cut -d' ' -f2)
docker rmi "$only_remote" >/dev/null 2>&1
if [ -n "$pushed" ] && ! docker image inspect "$only_remote" >/dev/null 2>&1; then
	ok "setup: $only_remote is in the registry only ($pushed)"
else
	fail "setup: pushing $only_remote"
	printf '%s\n' "$push_out" | sed 's/^/#   /'
fi

mkdir -p "$tmp/$P"
cat >"$tmp/$P/docker-compose.yml" <<EOF
services:
  web:
    image: $IMG_WEB_V1_TAG
    ports: ["127.0.0.1:$port:8080"]
    environment:
      GREETING: \${GREETING:-rt-default-not-copied}
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      timeout: 1s
      retries: 10
  api:
    image: $only_remote
    depends_on:
      web:
        condition: service_healthy
    healthcheck:
      test: ["CMD-SHELL", "test \"\${API_TOKEN}\" = rt-token-value && wget -q -O /dev/null http://127.0.0.1:8080/"]
      interval: 1s
      timeout: 1s
      retries: 10
EOF
cp "$tmp/$P/docker-compose.yml" "$tmp/with-missing.yml"
cat >>"$tmp/with-missing.yml" <<EOF
  ghost:
    image: $repo:rt-no-such-tag
EOF

expect_exit "an unknown tag: converted, exit 1" 1 "$RECONCILERCTL" import-compose --resolve \
	--project "$P" "$tmp/with-missing.yml"
expect_contains "the unknown tag is reported not pinned, with the registry's answer" \
	"services.ghost.image: not pinned: cannot resolve '$repo:rt-no-such-tag' to a digest: $RT_REGISTRY has no tag 'rt-no-such-tag' of reconciler-test/web"

expect_exit "--resolve: everything pinned, exit 0" 0 "$RECONCILERCTL" import-compose --resolve \
	-o "$tmp/m.yaml" "$tmp/$P/docker-compose.yml"
expect_contains "the engine's copy answers for a tag it holds" \
	"services.web.image: note: '$IMG_WEB_V1_TAG' is pinned as $IMG_WEB_V1, from the engine's copy"
expect_contains "the registry answers for a tag only it has" \
	"services.api.image: note: '$only_remote' is pinned as $repo@$pushed, from the registry"
out=$(cat "$tmp/m.yaml")
expect_contains "the project is the directory's name" "project: $P"
expect_contains "the digest is written, the tag kept as a comment" \
	"    image: \"$IMG_WEB_V1\"   # $IMG_WEB_V1_TAG"
expect_not_contains "no allow_tags once pinned" "allow_tags"
expect_not_contains "the default of \${GREETING} is not copied" "rt-default-not-copied"
expect_exit "the resolved manifest validates" 0 "$RECONCILERCTL" validate "$tmp/m.yaml"

printf 'bonjour\n' >"$E2E_SECRETS/greeting"
printf 'rt-token-value\n' >"$E2E_SECRETS/api_token"
expect_exit "the converted manifest applies" 0 e2e_ctl apply -f "$tmp/m.yaml"
check "web answers on its published port" rt_wait 30 curl -fsS -o /dev/null "http://127.0.0.1:$port/"
check "api is healthy: its test read the secret file" e2e_wait_state 30 "$P-api" running/healthy
env_greeting=$(docker exec "$P-web" /bin/sh -c 'echo "$GREETING"' 2>/dev/null)
if [ "$env_greeting" = bonjour ]; then
	ok "\${GREETING} reached the container through its secret file"
else
	fail "GREETING in the container is '$env_greeting', wanted 'bonjour'"
fi
expect_exit "diff: in sync after apply" 0 e2e_ctl diff -f "$tmp/m.yaml" --no-color

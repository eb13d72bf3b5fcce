#!/usr/bin/env bash
# image-updates.sh
#
# The scheduled job of the INFRASTRUCTURE repository (the one reconcilerd
# watches) that keeps third-party images patched: `reconcilerctl
# update-images` asks the registries for the tags the manifest tracks
# (services' track:), commits every new digest that is past its cooldown on a
# branch of its own, pushes that branch, and opens a pull request for it on
# GitHub or Gitea. Merged (by a person, or an auto-merge rule once the
# manifests check passes), reconcilerd rolls it out behind its health gate.
# Run from the root of a checkout of the repository.
#
# Settings (environment):
#   FORGE              github or gitea (github)
#   FORGE_API          the API's base URL: https://api.github.com (GitHub's
#                      default), https://gitea.example.com/api/v1
#   FORGE_REPOSITORY   OWNER/NAME (required)
#   FORGE_TOKEN        a token that may push branches and open pull requests
#                      (a secret; GitHub: contents and pull-requests write)
#   BASE_BRANCH        the branch reconcilerd watches (main)
#   MANIFEST           the manifest (manifests/prod.yaml)
#   INFRA_SIGNING_KEY  an ssh private key (a secret) the commit is signed with,
#                      for hosts that verify signatures (signatures:)
#   GIT_AUTHOR         the commit's author ("Image updates <ci@localhost>")
#   REMOTE             the git remote to push to (origin)
#   RECONCILERCTL      the program (reconcilerctl on the PATH)
#
# Secrets are written to files of mode 0600 in a private temporary directory,
# removed at exit; they reach reconcilerctl and curl only through those
# files, never a command line. Never run this with `set -x`.
#
# Exit status: 0 nothing to do, or the pull request is open; 1 failed (a
# registry, the push, the API); 2 bad usage or settings.
set -euo pipefail
set +x
umask 077

prog=${0##*/}
die() {
	echo "$prog: $*" >&2
	exit 2
}

forge=${FORGE:-github}
repository=${FORGE_REPOSITORY:-}
base=${BASE_BRANCH:-main}
manifest=${MANIFEST:-manifests/prod.yaml}
author=${GIT_AUTHOR:-Image updates <ci@localhost>}
remote=${REMOTE:-origin}
ctl=${RECONCILERCTL:-reconcilerctl}
token=${FORGE_TOKEN:-}
signing=${INFRA_SIGNING_KEY:-}
unset FORGE_TOKEN INFRA_SIGNING_KEY

case $forge in
github) api=${FORGE_API:-https://api.github.com} ;;
gitea) api=${FORGE_API:-} ;;
*) die "FORGE is '$forge': expected github or gitea" ;;
esac
[ -n "$api" ] || die "FORGE_API is required for gitea (e.g. https://gitea.example.com/api/v1)"
[[ $repository =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || die "FORGE_REPOSITORY must be OWNER/NAME"
[ -n "$token" ] || die "FORGE_TOKEN is not set: a token that may push a branch and open a pull request"
[ -f "$manifest" ] || die "$manifest is not here: run from the repository's root, or set MANIFEST"
command -v "$ctl" >/dev/null || die "$ctl not found: install reconciler or set RECONCILERCTL"
command -v curl >/dev/null || die "curl not found"

# Under Actions, every line of a secret is masked in the job's log.
case ${GITHUB_ACTIONS:-}${GITEA_ACTIONS:-} in
*true*)
	while IFS= read -r line; do
		[ -n "$line" ] && printf '::add-mask::%s\n' "$line"
	done <<<"$token
$signing"
	;;
esac

work=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/image-updates.XXXXXX")
trap 'rm -rf "$work"' EXIT
printf '%s\n' "$token" >"$work/token"
opts=(--commit --token-file "$work/token" --remote "$remote" --author "$author")
if [ -n "$signing" ]; then
	printf '%s\n' "$signing" >"$work/signing"
	opts+=(--sign "$work/signing")
fi

branch=images/$(date -u +%Y%m%d-%H%M%S)
rc=0
"$ctl" update-images -f "$manifest" --branch "$branch" "${opts[@]}" || rc=$?
case $rc in
0)
	echo "$prog: every tracked image is up to date (or still in its cooldown)"
	exit 0
	;;
1) ;;
*)
	echo "$prog: update-images failed (exit $rc); nothing was pushed" >&2
	exit 1
	;;
esac

# The pull request: the commit's subject as its title, its body (one line
# per service: old and new digest, the image's creation date) as its body.
title=$(git log -1 --format=%s "$branch")
body=$(git log -1 --format=%b "$branch")
python3 - "$title" "$body" "$branch" "$base" >"$work/pr.json" <<'PY'
import json, sys
title, body, head, base = sys.argv[1:5]
print(json.dumps({"title": title, "body": body + "\n\nOpened by contrib/ci/image-updates.sh.",
                  "head": head, "base": base}))
PY
if [ "$forge" = github ]; then
	printf 'header = "Authorization: Bearer %s"\nheader = "Accept: application/vnd.github+json"\nheader = "X-GitHub-Api-Version: 2022-11-28"\n' \
		"$token" >"$work/curl.conf"
else
	printf 'header = "Authorization: token %s"\n' "$token" >"$work/curl.conf"
fi
code=$(curl -sS -o "$work/reply" -w '%{http_code}' --max-time 60 -K "$work/curl.conf" \
	-H 'Content-Type: application/json' --data-binary @"$work/pr.json" \
	"${api%/}/repos/$repository/pulls") || code=000
case $code in
2??)
	url=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("html_url", ""))' "$work/reply" 2>/dev/null || true)
	echo "$prog: pull request opened for $branch${url:+: $url}"
	[ -z "${GITHUB_OUTPUT:-}" ] || printf 'branch=%s\npull_request=%s\n' "$branch" "$url" >>"$GITHUB_OUTPUT"
	;;
*)
	echo "$prog: $branch is pushed, but the pull request was refused (HTTP $code): $(head -c 300 "$work/reply" 2>/dev/null)" >&2
	exit 1
	;;
esac

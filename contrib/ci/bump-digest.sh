#!/usr/bin/env bash
# bump-digest.sh SERVICE IMAGE@sha256:DIGEST
#
# The deploy step of an application's CI: clone the infrastructure repository,
# pin SERVICE to the image digest just pushed with `reconcilerctl set-image`,
# commit and push. reconcilerd on the host picks the commit up and rolls it
# out behind its health gate. Run again with the same digest, it does nothing.
#
# Settings (environment):
#   INFRA_REPO         the infrastructure repository: https://…, ssh://…,
#                      git@host:path, git://… or file://… (required)
#   INFRA_BRANCH       branch reconcilerd watches (main)
#   MANIFEST           the manifest in that repository (manifests/prod.yaml)
#   INFRA_TOKEN        HTTPS token allowed to push (a secret), or
#   INFRA_SSH_KEY      a deploy key with write access, the private key itself (a
#                      secret), with INFRA_KNOWN_HOSTS, the host's known_hosts line(s)
#                      with plain host names (ssh-keyscan HOST, without -H)
#   INFRA_TOKEN_USER   user name sent with the token (x-access-token)
#   INFRA_SIGNING_KEY  an ssh private key (a secret) the commit is signed with,
#                      for hosts whose reconcilerd verifies signatures
#                      (signatures: in its config); its public half goes into
#                      their allowed signers file
#   GIT_AUTHOR         the commit's author ("CI <ci@localhost>")
#   RECONCILERCTL      the program (reconcilerctl on the PATH)
#   BUMP_TRIES         pushes tried when the branch moved meanwhile (3)
#
# Secrets are written to files of mode 0600 in a private temporary directory,
# removed at exit, and reach git and reconcilerctl only through those files:
# never a URL, a command line or the environment of what runs. Output is
# scrubbed of their values. Under GitHub or Gitea Actions they are also
# masked (::add-mask::). Never run this with `set -x`.
#
# Exit status: 0 pushed or already set, 1 failed, 2 bad usage or settings.
set -euo pipefail
set +x
umask 077

prog=${0##*/}
die() {
	echo "$prog: $*" >&2
	exit 2
}

[ $# -eq 2 ] || die "usage: $prog SERVICE IMAGE@sha256:DIGEST (settings in the environment, see the script's head)"
service=$1
image=$2
repo=${INFRA_REPO:-}
branch=${INFRA_BRANCH:-main}
manifest=${MANIFEST:-manifests/prod.yaml}
author=${GIT_AUTHOR:-CI <ci@localhost>}
ctl=${RECONCILERCTL:-reconcilerctl}
tries=${BUMP_TRIES:-3}
token=${INFRA_TOKEN:-}
key=${INFRA_SSH_KEY:-}
signing=${INFRA_SIGNING_KEY:-}
# The secrets stay in this shell only.
unset INFRA_TOKEN INFRA_SSH_KEY INFRA_SIGNING_KEY

# Under Actions, every line of a secret is masked in the job's log.
case ${GITHUB_ACTIONS:-}${GITEA_ACTIONS:-} in
*true*)
	while IFS= read -r line; do
		[ -n "$line" ] && printf '::add-mask::%s\n' "$line"
	done <<<"$token
$key
$signing"
	;;
esac

# scrub: copy stdin to stdout with every secret value replaced by ***.
scrub() {
	local line s
	while IFS= read -r line || [ -n "$line" ]; do
		[ -z "$token" ] || line=${line//"$token"/***}
		while IFS= read -r s; do
			[ ${#s} -lt 8 ] || line=${line//"$s"/***}
		done <<<"$key
$signing"
		printf '%s\n' "$line"
	done
}

[ -n "$repo" ] || die "INFRA_REPO is not set: the URL of the infrastructure repository"
# A credential in the URL would end up in .git/config and in error messages.
if [[ $repo == *://*@* && ${repo%%@*} == *://*:* ]]; then
	die "INFRA_REPO holds a credential: give the URL without it and the token in INFRA_TOKEN"
fi
[[ $image =~ ^[^@[:space:]]+@sha256:[0-9a-f]{64}$ ]] ||
	die "'$image' is not IMAGE@sha256:<64 hex> (the digest the registry returned for the push)"
[[ $service =~ ^[a-z0-9][a-z0-9_.-]*$ ]] || die "'$service' is not a service name"
[[ $tries =~ ^[1-9][0-9]?$ ]] || die "BUMP_TRIES must be a number from 1 to 99"
if [ -n "$key" ] && [ -z "${INFRA_KNOWN_HOSTS:-}" ]; then
	die "INFRA_SSH_KEY needs INFRA_KNOWN_HOSTS: the host key line(s), e.g. from ssh-keyscan, checked once by hand"
fi
command -v "$ctl" >/dev/null || die "$ctl not found: install reconciler or set RECONCILERCTL"
command -v git >/dev/null || die "git not found"

work=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/bump-digest.XXXXXX")
cleanup() {
	# the secret files first, then the rest
	rm -f "$work/token" "$work/id" "$work/askpass" "$work/signing"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Credentials for git (clone, fetch) and reconcilerctl (push).
export GIT_TERMINAL_PROMPT=0
unset GIT_ASKPASS SSH_ASKPASS
auth=()
if [ -n "$token" ]; then
	printf '%s\n' "$token" >"$work/token"
	# git asks this program for the user name and the password: the token is
	# read from its file, never passed on a command line.
	cat >"$work/askpass" <<EOF
#!/bin/sh
case \$1 in
Username*) echo '${INFRA_TOKEN_USER:-x-access-token}' ;;
*) cat '$work/token' ;;
esac
EOF
	chmod 0700 "$work/askpass"
	export GIT_ASKPASS=$work/askpass
	auth+=(--token-file "$work/token")
fi
if [ -n "$key" ]; then
	printf '%s\n' "$key" >"$work/id"
	printf '%s\n' "$INFRA_KNOWN_HOSTS" >"$work/known_hosts"
	export GIT_SSH_COMMAND="ssh -i '$work/id' -o IdentitiesOnly=yes -o BatchMode=yes \
-o StrictHostKeyChecking=yes -o UserKnownHostsFile='$work/known_hosts'"
	auth+=(--ssh-key "$work/id" --known-hosts "$work/known_hosts")
fi

if [ -n "$signing" ]; then
	printf '%s\n' "$signing" >"$work/signing"
	auth+=(--sign "$work/signing")
fi

# run CMD…: run with its output scrubbed; the command's status.
run() {
	local rc=0 out
	out=$("$@" 2>&1) || rc=$?
	[ -z "$out" ] || printf '%s\n' "$out" | scrub
	return "$rc"
}

git_() { git -c advice.detachedHead=false -c credential.helper= -C "$work/repo" "$@"; }

echo "$prog: cloning $branch"
run git -c credential.helper= clone --quiet --single-branch --branch "$branch" -- "$repo" "$work/repo" ||
	{ echo "$prog: cannot clone the infrastructure repository (branch $branch); check INFRA_REPO and its credentials" >&2; exit 1; }
[ -f "$work/repo/$manifest" ] ||
	{ echo "$prog: $manifest is not in the repository (branch $branch); set MANIFEST" >&2; exit 1; }

msg="deploy: $service ${image#*@}"
if [ -n "${GITHUB_REPOSITORY:-}" ] && [ -n "${GITHUB_SHA:-}" ]; then
	msg+="

From ${GITHUB_REPOSITORY}@${GITHUB_SHA}${GITHUB_RUN_ID:+ (run $GITHUB_RUN_ID)}."
fi

try=1
while :; do
	before=$(git_ rev-parse HEAD)
	if run "$ctl" set-image --push --remote origin --author "$author" -m "$msg" "${auth[@]}" \
		"$work/repo/$manifest" "$service" "$image"; then
		break
	fi
	# No commit: the edit itself was refused (unknown service, bad file); a
	# retry would say the same.
	if [ "$(git_ rev-parse HEAD)" = "$before" ]; then
		echo "$prog: set-image refused the change; nothing was deployed" >&2
		exit 1
	fi
	if [ "$try" -ge "$tries" ]; then
		echo "$prog: giving up after $try tries; nothing was deployed" >&2
		exit 1
	fi
	# The push failed, most often because the branch moved (another deploy):
	# start again from its new head.
	echo "$prog: push $try failed; fetching $branch again"
	try=$((try + 1))
	sleep "$try"
	run git_ fetch --quiet origin "+refs/heads/$branch:refs/remotes/origin/$branch" || true
	run git_ reset --quiet --hard "origin/$branch" || exit 1
done

commit=$(git_ rev-parse HEAD)
echo "$prog: $service is $image at $branch $commit"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
	printf 'commit=%s\n' "$commit" >>"$GITHUB_OUTPUT"
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	# shellcheck disable=SC2016 # Markdown backquotes, not a command substitution
	printf -- '- `%s` → `%s` (infrastructure commit `%.12s`)\n' "$service" "$image" "$commit" \
		>>"$GITHUB_STEP_SUMMARY"
fi

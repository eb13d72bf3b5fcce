#!/usr/bin/env bash
# validate-pr.sh [MANIFEST|DIRECTORY…]
#
# The check of an infrastructure repository's pull requests: every manifest
# (default: manifests/*.yaml and *.yml) through `reconcilerctl validate
# --github`, so each error is an annotation on its line of the diff
# (::error file=…,line=…,col=…::…), plus a summary of the step under GitHub
# Actions. Make the job a required check of the branch reconcilerd watches:
# an invalid manifest then never reaches it.
#
# Settings (environment): RECONCILERCTL, the program (reconcilerctl).
# Exit status: 0 all valid, 1 some invalid, 2 usage error or nothing to check.
set -uo pipefail

prog=${0##*/}
ctl=${RECONCILERCTL:-reconcilerctl}
command -v "$ctl" >/dev/null || { echo "$prog: $ctl not found: install reconciler or set RECONCILERCTL" >&2; exit 2; }

[ $# -gt 0 ] || set -- manifests
files=()
for arg in "$@"; do
	if [ -d "$arg" ]; then
		for f in "$arg"/*.yaml "$arg"/*.yml; do
			[ -f "$f" ] && files+=("${f#./}")
		done
	elif [ -f "$arg" ]; then
		files+=("${arg#./}")
	else
		echo "$prog: $arg: no such file or directory" >&2
		exit 2
	fi
done
if [ ${#files[@]} -eq 0 ]; then
	echo "$prog: no manifest (*.yaml, *.yml) in $*" >&2
	exit 2
fi

out=$("$ctl" validate --github "${files[@]}" 2>&1)
rc=$?
[ -z "$out" ] || printf '%s\n' "$out"
errors=$(grep -c '^::error ' <<<"$out")
case $rc in
0) echo "$prog: ${#files[@]} manifest(s) valid: ${files[*]}" ;;
1) echo "$prog: $errors error(s) in ${files[*]}" >&2 ;;
*) echo "$prog: reconcilerctl validate failed (exit $rc)" >&2 ;;
esac
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	{
		if [ "$rc" = 0 ]; then
			echo "### Manifests valid"
		else
			echo "### Manifests invalid: $errors error(s)"
		fi
		printf -- '- %s\n' "${files[@]}"
	} >>"$GITHUB_STEP_SUMMARY"
fi
exit "$rc"

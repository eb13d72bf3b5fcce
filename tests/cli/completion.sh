#!/usr/bin/env bash
# contrib/completion/reconcilerctl.bash: sourced into bash, its function is
# called with COMP_WORDS as readline would, and COMPREPLY is compared.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/rt-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
top=$(pwd)

# shellcheck source=../../contrib/completion/reconcilerctl.bash
. contrib/completion/reconcilerctl.bash

# complete WORD…: the completions of the last word, sorted, one line
complete_words() {
	COMP_WORDS=(reconcilerctl "$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_reconcilerctl reconcilerctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
	printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}
expect_completion() { # NAME WANT WORD…
	local name=$1 want=$2 got
	shift 2
	got=$(complete_words "$@")
	if [ "$got" = "$want" ]; then
		ok "$name"
	else
		fail "$name"
		echo "#   wanted: '$want'"
		echo "#   got:    '$got'"
	fi
}

check "the function is registered for reconcilerctl" bash -c \
	". contrib/completion/reconcilerctl.bash; complete -p reconcilerctl | grep -q -- '-F _reconcilerctl'"

cmds=$("$RECONCILERCTL" help | awk '/^  [a-z]/ { print $1 }')
want=$(printf '%s\n' "$cmds" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
expect_completion "every command of 'reconcilerctl help'" "$want" ""
# every option a command's usage line names is offered for it
for c in $cmds; do
	missing=
	for o in $("$RECONCILERCTL" help "$c" | grep -o -- '--[a-z-]*' | sort -u); do
		case " $(_reconcilerctl_opts "$c") " in *" $o "*) ;; *) missing="$missing $o" ;; esac
	done
	check "the options of '$c' in its usage are completed${missing:+ (missing:$missing)}" test -z "$missing"
done
expect_completion "a prefix" "secret set-image status sync" s
expect_completion "options before the command" "--help --version" --
expect_completion "validate's options" "--backend --github --help --json --quiet" validate --
expect_completion "validate --backend offers the backends" "containers swarm" validate --backend ""
expect_completion "--backend's value is not taken for a manifest" "swarm" validate --backend s
expect_completion "sync's options" "--retry" sync --r
expect_completion "history's options" "--help --json --limit --socket --state-dir" history --
expect_completion "diff's source options" "--secrets-dir --socket --ssh-key --state-dir --stats" diff --s
expect_completion "status takes --project" "--path --project" status --p
expect_completion "apply's options" "--concurrency" apply --conc
expect_completion "set-image's options" "--commit" set-image --comm
expect_completion "help completes a command" "diff" help d
expect_completion "no value suggested for --limit" "" history --limit ""

# files: only manifests (and directories) after -f and for validate
mkdir -p "$tmp/m/sub"
touch "$tmp/m/a.yaml" "$tmp/m/b.yml" "$tmp/m/notes.txt"
cd "$tmp/m" || exit 1
expect_completion "-f completes manifests and directories" "a.yaml b.yml sub/" diff -f ""
expect_completion "--file too" "a.yaml" status --file a
expect_completion "validate completes manifests" "a.yaml b.yml sub/" validate --json ""
expect_completion "set-image: a manifest first" "a.yaml b.yml sub/" set-image --commit ""
expect_completion "set-image: then the service (nothing offered)" "" set-image a.yaml ""
expect_completion "--state-dir completes directories" "sub" history --state-dir s
expect_completion "-H suggests the default socket" "unix:///var/run/docker.sock" diff -H ""
expect_completion "an option's value is not taken for the command" "a.yaml b.yml sub/" validate -f x ""
cd "$top" || exit 1

#!/usr/bin/env bash
# The quick linters as a test tier: cppcheck over reconciler/*/*.c, shellcheck
# over every script, yamllint (and action-validator when installed) over the
# workflows. clang-tidy takes minutes: `make lint` runs it, and CI.
. "$(dirname "$0")/cli/lib.sh"
_t_name=lint
cd "$(dirname "$0")/.." || exit 2
log=$(mktemp /tmp/rt-lint.XXXXXX)
trap 'rm -f "$log"' EXIT

# lint TARGET TOOL: run `make TARGET` when TOOL is installed.
lint() {
	if ! command -v "$2" >/dev/null; then
		ok "$1: skipped, $2 is not installed (make deps) # SKIP"
		return
	fi
	if make --no-print-directory -s "$1" >"$log" 2>&1; then
		ok "$1"
		grep -F 'skip ' "$log" | sed 's/^ */# /'
	else
		fail "$1"
		sed 's/^/#   /' "$log"
	fi
}

lint lint-cppcheck cppcheck
lint lint-sh shellcheck
lint lint-yaml yamllint

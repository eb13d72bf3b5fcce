# Sourced by the shell tests: TAP-style assertions that print both sides.
# shellcheck shell=bash
RECONCILERCTL=${RECONCILERCTL:-build/reconcilerctl}
_t_name=${0##*/}
_t_name=${_t_name%.sh}

ok() { echo "ok - $_t_name: $*"; }
fail() { echo "not ok - $_t_name: $*"; }

# check NAME COMMAND...: passes when the command exits 0.
check() {
	local name=$1; shift
	if "$@"; then ok "$name"; else fail "$name"; fi
}

# expect_exit NAME CODE COMMAND...: runs it, output in $out, exit code compared.
expect_exit() {
	local name=$1 want=$2; shift 2
	out=$("$@" 2>&1)
	local got=$?
	if [ "$got" -eq "$want" ]; then
		ok "$name"
	else
		fail "$name (exit $got, wanted $want)"
		printf '%s\n' "$out" | sed 's/^/#   /'
	fi
}

# is NAME GOT WANT: GOT must be WANT; both are shown when it is not.
is() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1 (got '$2', wanted '$3')"
	fi
}

# expect_contains NAME NEEDLE: $out must contain NEEDLE.
expect_contains() {
	if grep -qF -- "$2" <<<"$out"; then
		ok "$1"
	else
		fail "$1 (wanted: $2)"
		printf '%s\n' "$out" | sed 's/^/#   /'
	fi
}

expect_not_contains() {
	if grep -qF -- "$2" <<<"$out"; then
		fail "$1 (must not contain: $2)"
		printf '%s\n' "$out" | sed 's/^/#   /'
	else
		ok "$1"
	fi
}

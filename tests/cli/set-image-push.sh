#!/usr/bin/env bash
# set-image --push to a repository on this machine (a path, file://): pushes
# at once from several work trees never lose a commit. Each one that says
# "pushed" has its commit in the remote's history; each other one fails and
# says the branch moved. No engine, no network.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/rt-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
N=${PUSH_N:-8}
ROUNDS=${PUSH_ROUNDS:-2}

g() { git -c user.name=t -c user.email=t@localhost -c init.defaultBranch=main "$@"; }
digest() { printf '%064x' "$1"; }
sound() { g --git-dir="$1" fsck --no-progress >/dev/null 2>&1; }

# one repository per URL form, each with a manifest of N services
setup() { # DIR
	local d=$1 i
	g init -q --bare "$d/remote.git"
	g init -q "$d/seed"
	{
		printf 'version: 1\nproject: rt-push\nservices:\n'
		for i in $(seq 1 "$N"); do
			printf '  s%d:\n    image: registry.example/s%d@sha256:%s\n' "$i" "$i" "$(digest 0)"
		done
	} >"$d/seed/m.yaml"
	g -C "$d/seed" add m.yaml && g -C "$d/seed" commit -qm seed &&
		g -C "$d/seed" push -q "$d/remote.git" HEAD:refs/heads/main
}

# round DIR URL R: N work trees cloned from the same head, then N pushes at once
round() {
	local d=$1 url=$2 r=$3 i pids=()
	for i in $(seq 1 "$N"); do
		rm -rf "$d/w$i"
		g clone -q "$d/remote.git" "$d/w$i" && g -C "$d/w$i" remote set-url origin "$url"
	done
	for i in $(seq 1 "$N"); do
		GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@localhost "$RECONCILERCTL" set-image --push \
			"$d/w$i/m.yaml" "s$i" "registry.example/s$i@sha256:$(digest $((r * 100 + i)))" \
			>"$d/out$i" 2>&1 &
		pids+=($!)
	done
	for i in $(seq 1 "$N"); do
		wait "${pids[$((i - 1))]}"
		echo $? >"$d/rc$i"
	done
}

# verdict DIR R: every "pushed" is in the history, every other failed clearly
verdict() {
	local d=$1 r=$2 i c pushed=0 lost=0 unclear=0
	for i in $(seq 1 "$N"); do
		c=$(g -C "$d/w$i" rev-parse HEAD)
		if grep -q '^pushed to' "$d/out$i"; then
			pushed=$((pushed + 1))
			if [ "$(cat "$d/rc$i")" != 0 ] ||
				! g --git-dir="$d/remote.git" merge-base --is-ancestor "$c" refs/heads/main; then
				lost=$((lost + 1))
				echo "# round $r: s$i said pushed, but ${c:0:12} is not in main's history"
				sed 's/^/#   /' "$d/out$i"
			elif ! g --git-dir="$d/remote.git" show "refs/heads/main:m.yaml" |
				grep -qF "s$i@sha256:$(digest $((r * 100 + i)))"; then
				lost=$((lost + 1))
				echo "# round $r: s$i said pushed, but main's manifest does not pin its digest"
			fi
		elif [ "$(cat "$d/rc$i")" != 1 ] || ! grep -q "branch 'main' moved" "$d/out$i" ||
			grep -q 'push: push:' "$d/out$i"; then
			unclear=$((unclear + 1))
			echo "# round $r: s$i failed without saying the branch moved (exit $(cat "$d/rc$i"))"
			sed 's/^/#   /' "$d/out$i"
		fi
	done
	echo "$pushed $lost $unclear"
}

for form in path file; do
	d=$tmp/$form
	mkdir -p "$d"
	setup "$d" || { fail "$form: setup"; continue; }
	url=$d/remote.git
	[ "$form" = file ] && url=file://$d/remote.git
	total=0 lost=0 unclear=0
	for r in $(seq 1 "$ROUNDS"); do
		round "$d" "$url" "$r"
		read -r p l u < <(verdict "$d" "$r" | tee "$d/verdict" | tail -n 1)
		grep '^#' "$d/verdict"
		total=$((total + p)) lost=$((lost + l)) unclear=$((unclear + u))
	done
	check "$form remote: $N pushes at once, $ROUNDS rounds: some land ($total)" test "$total" -ge "$ROUNDS"
	check "$form remote: every push that said pushed is in main's history (lost: $lost)" test "$lost" = 0
	check "$form remote: every other one failed, saying the branch moved ($unclear unclear)" \
		test "$unclear" = 0
	check "$form remote: the remote repository is sound" sound "$d/remote.git"
done

# The work tree is behind the remote before the push: refused before anything is sent.
d=$tmp/file
g clone -q "$d/remote.git" "$d/late"
g -C "$d/seed" pull -q "$d/remote.git" main 2>/dev/null
g -C "$d/seed" commit -q --allow-empty -m "someone else" && g -C "$d/seed" push -q "$d/remote.git" HEAD:refs/heads/main
before=$(g --git-dir="$d/remote.git" rev-parse refs/heads/main)
expect_exit "a work tree behind the remote: the push fails" 1 "$RECONCILERCTL" set-image --push \
	--remote origin "$d/late/m.yaml" s1 "registry.example/s1@sha256:$(digest 999)"
expect_contains "and says the branch moved, and what to do" "branch 'main' moved since this work tree was last fetched"
expect_contains "naming the commit made here" "$(g -C "$d/late" rev-parse --short=12 HEAD)"
expect_not_contains "the error has one 'push:' prefix" "push: push:"
check "the remote's branch is untouched" test "$(g --git-dir="$d/remote.git" rev-parse refs/heads/main)" = "$before"

# A push that lands says so and the remote holds it.
g -C "$d/late" fetch -q origin && g -C "$d/late" reset -q --hard origin/main
expect_exit "after fetch and reset, the push lands" 0 "$RECONCILERCTL" set-image --push \
	"$d/late/m.yaml" s1 "registry.example/s1@sha256:$(digest 999)"
check "the remote's branch is the commit" \
	test "$(g --git-dir="$d/remote.git" rev-parse refs/heads/main)" = "$(g -C "$d/late" rev-parse HEAD)"

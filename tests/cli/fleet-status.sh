#!/usr/bin/env bash
# reconcilerctl fleet status: the hosts of a manifest's fleet section, read
# from fake daemons (tests/cli/fleet-server.py serves canned GET /v1/status
# documents on loopback): the table, the notes, the exit status, --json, a
# host that does not answer, answers garbage or hangs, and the manifest errors.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/rt-cli.XXXXXX)
server_pid=
cleanup() {
	[ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/st"

python3 "$(dirname "$0")/fleet-server.py" "$tmp/st" "$tmp/port" &
server_pid=$!
for _ in $(seq 100); do [ -f "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port" 2>/dev/null)
check "the fake fleet listens" test -n "$port"
# a port nobody listens on: the kernel's pick, released at once
dead=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"

# The manifest in a repository, so --repo knows the branch head.
git -c init.defaultBranch=main init -q "$tmp/repo"
mkdir -p "$tmp/repo/manifests"
manifest() { # FILE HOST...: a manifest whose fleet section lists the hosts
	local f=$1 h
	shift
	{
		printf 'version: 1\nproject: t\nservices: {}\nfleet:\n'
		for h in "$@"; do
			case $h in
			dead1) printf '  dead1: {url: http://127.0.0.1:%s}\n' "$dead" ;;
			*) printf '  %s: {url: %s/%s/}\n' "$h" "$url" "$h" ;;
			esac
		done
	} >"$f"
}
manifest "$tmp/repo/manifests/prod.yaml" db1 db2
git -C "$tmp/repo" add -A
git -C "$tmp/repo" -c user.name=t -c user.email=t@localhost commit -q -m fleet
head=$(git -C "$tmp/repo" rev-parse HEAD)
old=3f2a1b2c3d4e5f60718293a4b5c6d7e8f9012345
now_ms=$(($(date +%s) * 1000))

# status NAME STATE REVISION HEAD DRIFT_RECREATE QUARANTINED UNHEALTHY [SAYS]: a
# daemon's status document, shaped as reconciler/daemon/status.c writes it
status() {
	local q='[]' api=healthy
	[ "$6" = - ] || q="[{\"revision\": \"$3\", \"service\": \"$6\", \"reason\": \"health check failed\"}]"
	[ "$7" = - ] || api=unhealthy
	cat >"$tmp/st/$1.json" <<-JSON
	{"state": "$2", "message": $([ "$2" = degraded ] && echo "\"degraded: ${3:0:12} failed on $6: health check failed\"" || echo null),
	 "revision": "$3", "head": "$4", "project": "t", "updated": $((now_ms / 1000 - 125)),
	 "cycle": $((now_ms - 125000)), "host": {"name": "${8:-$1}", "labels": {}},
	 "services": [{"service": "api", "state": "running", "health": "$api", "role": "primary", "revision": "$3"},
	              {"service": "web", "state": "running", "health": "healthy", "role": "primary", "revision": "$3"}],
	 "drift": {"format": 1, "project": "t", "in_sync": $([ "$5" = 0 ] && echo true || echo false),
	           "summary": {"create": 0, "recreate": $5, "start": 0, "remove": 0, "in_sync": 1, "blocked": 0, "anomalies": 0},
	           "services": [], "networks": [], "volumes": []},
	 "errors": [], "quarantined": $q, "daemon": {"pid": 1, "busy": false, "started": 0, "version": "t"}}
	JSON
}
status db1 in-sync "$head" "$head" 0 - -
status db2 converged "$head" "$head" 0 - -
status web1 degraded "$head" "$head" 1 api api
status old1 in-sync "$old" "$old" 0 - -
status mis1 in-sync "$head" "$head" 0 - - db1
status sick1 in-sync "$head" "$head" 0 - api
printf 'this is not json\n' >"$tmp/st/bad1.json"
status hang1 in-sync "$head" "$head" 0 - -
touch "$tmp/st/hang1.sleep"
cp "$tmp/st/hang1.json" "$tmp/st/hang2.json" && touch "$tmp/st/hang2.sleep"
cp "$tmp/st/hang1.json" "$tmp/st/hang3.json" && touch "$tmp/st/hang3.sleep"
cp "$tmp/st/hang1.json" "$tmp/st/hang4.json" && touch "$tmp/st/hang4.sleep"

# rows NAME: the table's lines, blanks squeezed
rows() { tr -s ' ' <<<"$out"; }
expect_row() { # NAME LINE: the table has this row (blanks squeezed)
	if rows | grep -qxF -- "$2"; then ok "$1"; else fail "$1 (wanted row: $2)"; printf '%s\n' "$out" | sed 's/^/#   /'; fi
}

# --- all in sync
expect_exit "every host at the branch head and in sync: exit 0" 0 \
	"$RECONCILERCTL" fleet status --repo "file://$tmp/repo"
expect_contains "the branch head from --repo is shown" "branch head ${head:0:12}"
expect_row "the header" "HOST REVISION STATE DRIFT FAILING LAST CYCLE"
expect_row "db1's row" "db1 ${head:0:12} in-sync 0 - 2m ago"
expect_row "db2's row" "db2 ${head:0:12} converged 0 - 2m ago"
expect_contains "the verdict" "fleet in sync: 2 hosts at ${head:0:12}"
expect_exit "with -f, hosts that agree and are at their head: exit 0" 0 \
	"$RECONCILERCTL" fleet status -f "$tmp/repo/manifests/prod.yaml"
expect_not_contains "no branch head without --repo" "branch head"

# --- a degraded host, one behind, one unreachable
manifest "$tmp/mixed.yaml" db1 web1 old1 dead1
expect_exit "a degraded, a behind and an unreachable host: exit 1" 1 \
	"$RECONCILERCTL" fleet status -f "$tmp/mixed.yaml"
expect_row "the degraded host: drift and the quarantined, unhealthy service" \
	"web1 ${head:0:12} degraded 1 api 2m ago"
expect_row "the host at an older revision" "old1 ${old:0:12} in-sync 0 - 2m ago"
expect_row "the unreachable host" "dead1 - unreachable - - -"
expect_contains "its error in a note under the table" "dead1: unreachable: "
expect_contains "the degraded host's message in a note" \
	"web1: degraded: ${head:0:12} failed on api: health check failed"
expect_contains "the degraded host's drift in a note" "web1: 1 service not in sync"
expect_contains "with -f, the hosts are compared with each other" \
	"the hosts are at different revisions: "
expect_contains "... naming who is where" "${old:0:12} (old1)"
expect_contains "the verdict counts the hosts" \
	"fleet not in sync: 2 of 4 hosts need attention, and the hosts disagree"

# --json
"$RECONCILERCTL" fleet status --json -f "$tmp/mixed.yaml" >"$tmp/out.json" 2>"$tmp/err"
rc=$?
check "--json exits 1 too" test "$rc" -eq 1
check "--json: stdout is the document alone, stderr empty" test ! -s "$tmp/err"
check "--json: the document's shape" python3 - "$tmp/out.json" "$head" "$old" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
head, old = sys.argv[2], sys.argv[3]
assert d["format"] == 1 and d["head"] is None and d["in_sync"] is False, d
h = {x["name"]: x for x in d["hosts"]}
assert [x["name"] for x in d["hosts"]] == ["db1", "web1", "old1", "dead1"]
for x in d["hosts"]:
    for k in ("name", "url", "reachable", "revision", "state", "drift", "failing", "last_cycle"):
        assert k in x, (k, x)
assert h["db1"]["reachable"] and h["db1"]["revision"] == head and h["db1"]["drift"] == 0
assert h["db1"]["failing"] == [] and h["db1"]["in_sync"] and "error" not in h["db1"]
assert h["db1"]["state"] == "in-sync" and isinstance(h["db1"]["last_cycle"], int)
assert h["web1"]["state"] == "degraded" and h["web1"]["drift"] == 1
assert h["web1"]["failing"] == ["api"] and not h["web1"]["in_sync"]
assert h["old1"]["revision"] == old and "(old1)" in d["revisions_apart"], d.get("revisions_apart")
assert h["dead1"]["reachable"] is False and h["dead1"]["state"] == "unreachable"
assert h["dead1"]["error"] and h["dead1"]["revision"] is None and h["dead1"]["drift"] is None
assert h["dead1"]["url"].startswith("http://127.0.0.1:")
PY
# the same hosts against the branch head of --repo
manifest "$tmp/repo/manifests/prod.yaml" db1 old1
git -C "$tmp/repo" -c user.name=t -c user.email=t@localhost commit -q -am old1
head2=$(git -C "$tmp/repo" rev-parse HEAD)
status db1 in-sync "$head2" "$head2" 0 - -
expect_exit "--repo: a host behind the branch head: exit 1" 1 \
	"$RECONCILERCTL" fleet status --repo "file://$tmp/repo"
expect_contains "it is named with both revisions" \
	"old1: at ${old:0:12}, not the branch head ${head2:0:12}"
expect_not_contains "db1, at the head, has no note" "db1:"

"$RECONCILERCTL" fleet status --json --repo "file://$tmp/repo" >"$tmp/out.json"
check "--json --repo: the head is the branch's" python3 -c \
	"import json,sys; d=json.load(open(sys.argv[1])); assert d['head']==sys.argv[2] and d['in_sync'] is False" \
	"$tmp/out.json" "$head2"

# --- what a host may say wrong
manifest "$tmp/odd.yaml" mis1 sick1 bad1
expect_exit "a wrong host, an unhealthy service, garbage: exit 1" 1 \
	"$RECONCILERCTL" fleet status -f "$tmp/odd.yaml"
expect_row "a daemon that says it is another host" "mis1 ${head:0:12} wrong host: says db1 0 - 2m ago"
expect_contains "... explained" "mis1: its daemon says it is host 'db1'"
expect_row "an unhealthy service fails an in-sync host" "sick1 ${head:0:12} in-sync 0 api 2m ago"
expect_contains "... explained" "sick1: failing: api"
expect_row "a status that is not JSON" "bad1 - unreachable - - -"
expect_contains "... explained" "bad1: unreachable: not a status document"

# --- hosts that hang: each bounded by --timeout, asked at once
manifest "$tmp/hang.yaml" hang1 hang2 hang3 hang4 db1
start=$(date +%s%N)
expect_exit "hanging hosts: exit 1, no crash" 1 \
	"$RECONCILERCTL" fleet status --timeout 1s -f "$tmp/hang.yaml"
took=$((($(date +%s%N) - start) / 1000000))
check "four hanging hosts with --timeout 1s take under 3.5s, not 4s (took ${took}ms)" \
	test "$took" -lt 3500
expect_contains "a timeout is the note" "hang2: unreachable: Timeout"
expect_row "the host that answers is shown" "db1 ${head2:0:12} in-sync 0 - 2m ago"

# --- manifest and usage errors
printf 'version: 1\nproject: t\nservices: {}\n' >"$tmp/nofleet.yaml"
expect_exit "no fleet section: exit 2" 2 "$RECONCILERCTL" fleet status -f "$tmp/nofleet.yaml"
expect_contains "... says how to add one" "$tmp/nofleet.yaml has no fleet section"
expect_contains "... with an example" "    db1: {url: http://10.0.0.2:9180}"
printf 'version: 1\nproject: t\nservices: {}\nfleet: {}\n' >"$tmp/empty.yaml"
expect_exit "an empty fleet section: exit 2" 2 "$RECONCILERCTL" fleet status -f "$tmp/empty.yaml"
expect_contains "... the same advice" "has no fleet section"
printf 'version: 1\nproject: t\nservices: {}\nfleet:\n  db1: {url: ftp://x}\n' >"$tmp/bad.yaml"
expect_exit "an invalid fleet url: exit 2" 2 "$RECONCILERCTL" fleet status -f "$tmp/bad.yaml"
expect_contains "... at its position" "$tmp/bad.yaml:5:14: fleet.db1.url: invalid url 'ftp://x'"
expect_exit "a manifest that does not exist: exit 2" 2 "$RECONCILERCTL" fleet status -f "$tmp/none.yaml"
expect_exit "fleet without an action: exit 2" 2 "$RECONCILERCTL" fleet
expect_contains "... shows the usage" "usage: reconcilerctl fleet status"
expect_exit "an unknown action: exit 2" 2 "$RECONCILERCTL" fleet frob -f "$tmp/mixed.yaml"
expect_contains "... named" "unknown action 'frob'"
expect_exit "a bad --timeout: exit 2" 2 "$RECONCILERCTL" fleet status --timeout 0 -f "$tmp/mixed.yaml"
expect_exit "fleet --help: exit 0" 0 "$RECONCILERCTL" fleet --help
expect_contains "... the usage" "--timeout DURATION"
expect_exit "help lists fleet" 0 "$RECONCILERCTL" help
expect_contains "... with its summary" "  fleet          show every host"

# --- bash completion knows the command
# shellcheck source=../../contrib/completion/reconcilerctl.bash
. contrib/completion/reconcilerctl.bash
COMP_WORDS=(reconcilerctl fleet "")
COMP_CWORD=2
_reconcilerctl
check "completion: fleet offers status (got: ${COMPREPLY[*]})" test "${COMPREPLY[*]}" = status
COMP_WORDS=(reconcilerctl fleet status --ti)
COMP_CWORD=3
_reconcilerctl
check "completion: fleet status offers --timeout (got: ${COMPREPLY[*]})" test "${COMPREPLY[*]}" = --timeout

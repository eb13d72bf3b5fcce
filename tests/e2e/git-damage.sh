#!/usr/bin/env bash
# A damaged local clone (object files truncated, not missing) does not wedge
# reconcilerd: the log names the clone, a fresh clone replaces it at once and
# the service converges. With the remote unreachable as well, self-heal goes
# on from the copy of the last good manifest kept in the state dir: a stopped
# container is started again.
. "$(dirname "$0")/daemon-lib.sh"

dl_setup rt-gitdmg
dl_repo_init
DL_MANIFEST=manifests/d.yaml
mkdir -p "$DL_WORK/manifests"
cat >"$DL_WORK/$DL_MANIFEST" <<EOT
version: 1
project: rt-gitdmg
services:
  app:
    image: $IMG_SLEEPER
    update: {min_ready: 1s}
EOT
rev=$(dl_commit_push "damage: one service")
dl_daemon_args
check "reconcilerd starts" dl_daemon_start "${DL_ARGS[@]}"
check_or_diag() { # NAME COMMAND…
	local name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name"; dl_diag; fi
}
check_or_diag "and deploys the service" dl_wait_head 90 "$rev" "in-sync converged"
clone=$DL_STATE/repo.git
check "its clone is in the state dir" test -d "$clone/objects"
running() { test "$(docker inspect -f '{{.State.Running}}' rt-gitdmg-app 2>/dev/null)" = true; }
check "the service runs" running

# truncate every object file of the clone to half its size
damage() {
	local f n=0
	while IFS= read -r f; do
		truncate -s $(($(stat -c %s "$f") / 2)) "$f" && n=$((n + 1))
	done < <(find "$clone/objects" -type f \( -name '*.pack' -o -name '*.idx' -o -path '*/objects/??/*' \))
	[ "$n" -gt 0 ]
}
logged() { dl_log_since "$mark" | grep -qF -- "$1"; }
sound() { git --git-dir="$clone" fsck --no-progress >/dev/null 2>&1; }

# 1. The remote answers: the clone is re-cloned at once, nothing waits.
mark=$(dl_log_mark)
check "the clone's object files are truncated" damage
check_or_diag "the log names the damaged clone" rt_wait 60 logged "local clone '$clone'"
check_or_diag "and says it was re-cloned" rt_wait 60 logged "re-cloned"
check_or_diag "reconcilerd is in sync at the head again" dl_wait_head 60 "$rev" "in-sync converged"
check "the new clone is sound" sound
check "no half clone or old clone is left beside it" test ! -e "$clone.new" -a ! -e "$clone.old"
check "no backoff was logged" test -z "$(dl_log_since "$mark" | grep 'backoff')"
check "a copy of the good manifest is kept" test -f "$DL_STATE/manifest-cache/$rev"

# 2. The remote is unreachable and the clone damaged: self-heal goes on.
mv "$DL_REMOTE" "$DL_REMOTE.away"
mark=$(dl_log_mark)
check "the clone's object files are truncated again" damage
check_or_diag "the log names the clone that cannot give the manifest" \
	rt_wait 60 logged "local clone '$clone'"
docker stop -t 2 rt-gitdmg-app >/dev/null
check_or_diag "the stopped container is started again" rt_wait 90 running
check "from the copy of the last good manifest" logged "using the copy kept in '$DL_STATE/manifest-cache'"
check "the damaged clone was not removed (nothing to replace it with)" test -d "$clone/objects"

# 3. The remote is back: the next cycle re-clones and all is in sync.
mv "$DL_REMOTE.away" "$DL_REMOTE"
mark=$(dl_log_mark)
dl_daemon_signal USR1
check_or_diag "with the remote back, the clone is re-cloned" rt_wait 60 logged "re-cloned"
check_or_diag "and reconcilerd is in sync" dl_wait_head 60 "$rev" "in-sync converged"
check "the clone is sound" sound
dl_daemon_stop 60
check "reconcilerd exits 0 on SIGTERM" test "$DL_DAEMON_RC" = 0

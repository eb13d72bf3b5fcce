#!/usr/bin/env bash
# Git over ssh: reconcilerd reads its repository from a real sshd on loopback
# with a deploy key (git.ssh_key) and a pinned host key (git.known_hosts), and
# converges; a host key that is not the pinned one is refused before anything
# is fetched, and nothing changes.
. "$(dirname "$0")/daemon-lib.sh"
# Sanitizer builds only: libgit2 has no frame pointers, so ASan's fast
# unwinder can stop inside it and lose the frames tests/lsan.supp names for
# libgit2 1.5's leak of each ssh connection's known_hosts list. The slow
# unwinder (DWARF) keeps the whole stack; this script makes few allocations.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"

dl_setup rt-ssh
dl_repo_init
DL_MANIFEST=manifests/s.yaml
mkdir -p "$DL_WORK/manifests"
cat >"$DL_WORK/$DL_MANIFEST" <<EOT
version: 1
project: rt-ssh
services:
  app:
    image: $IMG_SLEEPER
    update: {min_ready: 1s}
EOT
rev=$(dl_commit_push "ssh: one service")

SSHD=/usr/sbin/sshd
if [ ! -x "$SSHD" ]; then
	fail "setup: $SSHD is missing (package openssh-server; tests/env/deps.sh installs it)"
	exit 1
fi
d=$E2E_TMP/ssh
mkdir -p "$d"
for k in host other deploy; do
	if ! ssh-keygen -q -t ed25519 -N '' -C "rt-ssh-$k" -f "$d/$k"; then
		fail "setup: ssh-keygen failed"
		exit 1
	fi
done
# the deploy key may only run git: no shell, no forwarding
printf 'restrict %s\n' "$(cat "$d/deploy.pub")" >"$d/authorized_keys"
port=$(e2e_free_port)
cat >"$d/sshd_config" <<EOT
ListenAddress 127.0.0.1
Port $port
HostKey $d/host
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel VERBOSE
EOT
mkdir -p /run/sshd # sshd's privilege separation directory
"$SSHD" -D -e -f "$d/sshd_config" </dev/null >>"$d/sshd.log" 2>&1 &
echo $! >"$d/sshd.ppid"
# sshd is no reconcilerd: stop it here, then the usual cleanup
trap 'kill "$(cat "$d/sshd.ppid")" 2>/dev/null; dl_cleanup' EXIT
check "sshd answers on 127.0.0.1:$port" rt_wait 20 _dl_port_open "$port"

printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$d/host.pub")" >"$d/known_hosts"
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$d/other.pub")" >"$d/known_hosts.other"
cfg() { # KNOWN_HOSTS STATE_DIR
	cat >"$E2E_TMP/ssh.yaml" <<EOT
repo: ssh://$(id -un)@127.0.0.1:$port$DL_REMOTE
branch: main
manifest: $DL_MANIFEST
state_dir: $2
secrets_dir: $E2E_SECRETS
git:
  ssh_key: $d/deploy
  known_hosts: $1
EOT
}

# a host key that is not the pinned one: refused, nothing fetched or created
cfg "$d/known_hosts.other" "$E2E_TMP/state-other"
out=$("$RECONCILERD" --once -c "$E2E_TMP/ssh.yaml" 2>&1)
rc=$?
check "with another host key pinned, --once fails (exit $rc)" test "$rc" = 2
expect_contains_in() { grep -qF "$1" <<<"$out"; }
check "and says the host key is not in known_hosts" \
	expect_contains_in "the ssh host key is not in the known_hosts file"
check "no container was created" test -z "$(docker ps -aq --filter label=io.reconciler.project=rt-ssh)"

# the pinned key and the deploy key: fetched over ssh and converged
cfg "$d/known_hosts" "$E2E_TMP/state-ssh"
out=$("$RECONCILERD" --once -c "$E2E_TMP/ssh.yaml" 2>&1)
rc=$?
check "over ssh with the deploy key, --once converges (exit $rc)" test "$rc" = 3
if [ "$rc" != 3 ]; then
	printf '%s\n' "$out" | tail -n 15 | sed 's/^/#   /'
	sed 's/^/#   sshd: /' "$d/sshd.log" | tail -n 10
fi
check "at the pushed revision" grep -q "revision=${rev:0:12}" <<<"$out"
check "sshd accepted the deploy key" grep -q 'Accepted publickey' "$d/sshd.log"
check "the service runs" test "$(docker inspect -f '{{.State.Running}}' rt-ssh-app 2>/dev/null)" = true
out=$("$RECONCILERD" --once -c "$E2E_TMP/ssh.yaml" 2>&1)
rc=$?
check "a second cycle over ssh, nothing fetched anew, is in sync (exit $rc)" test "$rc" = 0

# Host-key pinning honours the port and @revoked (as OpenSSH's known_hosts):
# the right key pinned for another port, or as a plain entry (port 22), or
# revoked, is refused.
key=$(cut -d' ' -f1,2 "$d/host.pub")
printf '[127.0.0.1]:%s %s\n' "$((port + 1))" "$key" >"$d/known_hosts.port"
printf '127.0.0.1 %s\n' "$key" >"$d/known_hosts.plain"
printf '@revoked [127.0.0.1]:%s %s\n[127.0.0.1]:%s %s\n' "$port" "$key" "$port" "$key" \
	>"$d/known_hosts.revoked"
for kh in port plain revoked; do
	cfg "$d/known_hosts.$kh" "$E2E_TMP/state-$kh"
	out=$("$RECONCILERD" --once -c "$E2E_TMP/ssh.yaml" 2>&1)
	rc=$?
	check "the host key pinned as '$kh' is refused (exit $rc)" test "$rc" = 2
	case $kh in
	revoked) want="is marked @revoked in the known_hosts file '$d/known_hosts.revoked'" ;;
	*) want="the ssh host key is not in the known_hosts file for [127.0.0.1]:$port" ;;
	esac
	if expect_contains_in "$want"; then ok "and says why ($kh)"; else
		fail "and says why ($kh)"
		printf '%s\n' "$out" | tail -n 5 | sed 's/^/#   /'
	fi
done

# A deploy key the server refuses is offered once per connection, not again
# and again; the error names the key.
cfg "$d/known_hosts" "$E2E_TMP/state-badkey"
sed -i "s|ssh_key: $d/deploy|ssh_key: $d/other|" "$E2E_TMP/ssh.yaml"
before=$(grep -c 'Failed publickey\|Connection closed by authenticating' "$d/sshd.log")
out=$(timeout 300 "$RECONCILERD" --once -c "$E2E_TMP/ssh.yaml" 2>&1)
rc=$?
n=$(($(grep -c 'Failed publickey\|Connection closed by authenticating' "$d/sshd.log") - before))
check "with a key the server refuses, --once fails (exit $rc)" test "$rc" = 2
check "after a handful of attempts ($n refusals logged)" test "$n" -le 4
check "saying the server refused the key" expect_contains_in "the ssh server refused the key '$d/other'"

# reconcilerctl diff --repo reads over ssh with reconcilerd's key and pinning
cfg "$d/known_hosts" "$E2E_TMP/state-ssh"
out=$("$RECONCILERCTL" diff --repo "ssh://$(id -un)@127.0.0.1:$port$DL_REMOTE" --path "$DL_MANIFEST" \
	--config "$E2E_TMP/ssh.yaml" --secrets-dir "$E2E_SECRETS" --state-dir "$E2E_TMP/state-ssh" \
	--no-color 2>&1)
rc=$?
check "diff --repo over ssh with reconcilerd's config: in sync (exit $rc)" test "$rc" = 0
cfg "$d/known_hosts.other" "$E2E_TMP/state-ssh"
out=$("$RECONCILERCTL" diff --repo "ssh://$(id -un)@127.0.0.1:$port$DL_REMOTE" --path "$DL_MANIFEST" \
	--config "$E2E_TMP/ssh.yaml" --secrets-dir "$E2E_SECRETS" --state-dir "$E2E_TMP/state-ssh" \
	--no-color 2>&1)
rc=$?
check "and refuses a host key that is not the pinned one (exit $rc)" test "$rc" = 2
check "saying so" expect_contains_in "the ssh host key is not in the known_hosts file"
out=$("$RECONCILERCTL" diff --repo "ssh://$(id -un)@127.0.0.1:$port$DL_REMOTE" --path "$DL_MANIFEST" \
	--ssh-key "$d/deploy" --secrets-dir "$E2E_SECRETS" --state-dir "$E2E_TMP/state-ssh" --no-color 2>&1)
rc=$?
check "without a known_hosts file, diff --repo over ssh is refused (exit $rc)" test "$rc" = 2
check "saying a known_hosts file is needed" expect_contains_in "ssh remotes need a known_hosts file"

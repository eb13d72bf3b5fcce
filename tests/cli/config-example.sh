#!/usr/bin/env bash
# contrib/reconciler.yaml.example: every key config.c knows is in it, and it
# parses (reconcilerd -n against a local repository), as shipped and with
# every commented key turned on.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/rt-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
RECONCILERD=${RECONCILERD:-build/reconcilerd}
example=contrib/reconciler.yaml.example

# the key tables of config.c: keys[] (the top level), and the section
# tables of load_sections (git:, webhooks:, signatures:, commit_status:)
keys=$(awk '
	/^static const char \*const keys\[\] = \{/ { on = 1; next }
	on && /^\};/ { exit }
	on { while (match($0, /"[a-z_]+"/)) { print substr($0, RSTART + 1, RLENGTH - 2); $0 = substr($0, RSTART + RLENGTH) } }
	' reconciler/daemon/config.c)
# SECTION KEY per line
sub_keys=$(awk '
	/^load_sections\(/ { on = 1; next }
	on && /^}/ { exit }
	on && /const struct strkey [a-z]+\[\] = \{/ { t = $4; sub(/\[\]$/, "", t); next }
	on && /^\t\};/ { t = ""; next }
	on && t { while (match($0, /\{ "[a-z_]+",/)) { print t, substr($0, RSTART + 3, RLENGTH - 5); $0 = substr($0, RSTART + RLENGTH) } }
	' reconciler/daemon/config.c)
sections="git webhooks signatures commit_status"
nsub=$(wc -l <<<"$sub_keys")
check "config.c's key tables were found ($(wc -w <<<"$keys") + $nsub keys)" \
	test "$(wc -w <<<"$keys")" -ge 10 -a "$nsub" -ge 15
for k in $keys; do
	check "the example has '$k'" grep -qE "^(# )?$k:" "$example"
done
while read -r _ k; do
	check "the example has the section key '$k'" grep -qE "^  (# )?$k:" "$example"
done <<<"$sub_keys"
subs=$(awk '{ print $2 }' <<<"$sub_keys" | sort -u)
# each key comes with its default (or says it has none / is required)
for k in $keys $subs; do
	case " $sections " in *" $k "*) continue ;; esac
	# shellcheck disable=SC2016 # an awk program
	check "the comment above '$k' gives its default" awk -v k="$k" '
		/^ *#/ && !/^ *# [a-z_]+: / { text = text $0 "\n"; next }
		$0 ~ "^ *(# )?" k ":" { found = 1; exit !(text ~ /Default|required/) }
		{ text = "" }
		END { if (!found) exit 1 }' "$example"
done

# a repository with a valid manifest at the example's manifest path
git -c init.defaultBranch=main init -q "$tmp/repo"
mkdir -p "$tmp/repo/manifests"
cp manifests/prod.yaml "$tmp/repo/manifests/prod.yaml"
git -C "$tmp/repo" add -A
git -C "$tmp/repo" -c user.name=t -c user.email=t@localhost commit -q -m prod
mkdir -p "$tmp/secrets"
chmod 0700 "$tmp/secrets"

# local: the example with the repo, state and secrets in $tmp
localize() {
	sed -e "s|^repo: .*|repo: file://$tmp/repo|" \
		-e "s|^state_dir: .*|state_dir: $tmp/state|" \
		-e "s|^secrets_dir: .*|secrets_dir: $tmp/secrets|" "$@"
}
localize "$example" >"$tmp/conf.yaml"
expect_exit "the example parses and checks (reconcilerd -n)" 0 "$RECONCILERD" -n -c "$tmp/conf.yaml"
expect_contains "config ok" "config ok"

# every commented key turned on (paths kept in $tmp)
pattern=$(printf '%s\n' "$keys" "$subs" | paste -sd'|')
sed -E "s/^( *)# ($pattern): /\\1\\2: /" "$example" |
	localize -e "s|^control_socket: .*|control_socket: $tmp/state/c.sock|" >"$tmp/all.yaml"
# the test repository's commit is not signed: signatures.verify on refuses it
# (checked below), so the copy with every key on verifies nothing
sed -i 's/^  verify: head$/  verify: off/' "$tmp/all.yaml"
check "every key is on in the second copy" test "$(grep -cE "^ *($pattern):" "$tmp/all.yaml")" -eq \
	"$(($(wc -l <<<"$keys") + nsub))"
expect_exit "with every key on, it still parses and checks" 0 "$RECONCILERD" -n -c "$tmp/all.yaml"

# signatures.verify: head refuses the unsigned head (reconcilerd -n)
sed 's/^  verify: off$/  verify: head/' "$tmp/all.yaml" >"$tmp/verify.yaml"
expect_exit "-n with signatures.verify: head and an unsigned head fails" 1 "$RECONCILERD" -n -c "$tmp/verify.yaml"
expect_contains "saying why" "is not trusted: unsigned: the commit is not signed"
sed 's/^  verify: off$/  verify: sometimes/' "$tmp/all.yaml" >"$tmp/verify-bad.yaml"
expect_exit "an unknown verify mode is refused" 2 "$RECONCILERD" -n -c "$tmp/verify-bad.yaml"
expect_contains "naming the key and the choices" "signatures.verify: expected off, head or all"
sed -e 's/^  verify: off$/  verify: all/' -e '/^  allowed_signers:/d' -e '/^  gpg_keyring:/d' \
	"$tmp/all.yaml" >"$tmp/verify-none.yaml"
expect_exit "verify without a trusted signer is refused" 2 "$RECONCILERD" -n -c "$tmp/verify-none.yaml"
expect_contains "saying what to set" "set signatures.allowed_signers (ssh) or signatures.gpg_keyring"
sed -e 's|^  token_file: /etc/reconciler/secrets/status-token$|  token_file: status-token|' \
	"$tmp/all.yaml" >"$tmp/status-rel.yaml"
expect_exit "a relative commit_status.token_file is refused" 2 "$RECONCILERD" -n -c "$tmp/status-rel.yaml"
expect_contains "naming it" "commit_status.token_file 'status-token' must be an absolute path"
sed -e 's/^  provider: github$/  provider: gitlab/' "$tmp/all.yaml" >"$tmp/status-prov.yaml"
expect_exit "an unknown commit_status.provider is refused" 2 "$RECONCILERD" -n -c "$tmp/status-prov.yaml"
expect_contains "naming the choices" "expected github or gitea"

# a listener on a public address works, with a warning (-n says it too)
localize "$example" | sed -e "s|^# listen: .*|listen: 0.0.0.0:9180|" >"$tmp/public.yaml"
expect_exit "a listener on 0.0.0.0 passes the check" 0 "$RECONCILERD" -n -c "$tmp/public.yaml"
expect_contains "with a warning that it is not loopback" "listen: 0.0.0.0:9180 is not a loopback address"
sed -e "s|^listen: .*|listen: '[::]:9180'|" "$tmp/public.yaml" >"$tmp/public6.yaml"
expect_exit "a listener on [::] passes the check" 0 "$RECONCILERD" -n -c "$tmp/public6.yaml"
expect_contains "with the same warning" "is not a loopback address"
expect_exit "a listener on loopback passes the check" 0 "$RECONCILERD" -n -c "$tmp/all.yaml"
expect_not_contains "without a warning" "not a loopback address"

printf 'bogus: 1\n' >>"$tmp/conf.yaml"
expect_exit "an unknown key is refused" 2 "$RECONCILERD" -n -c "$tmp/conf.yaml"
expect_contains "it is named with its place" "conf.yaml:"
expect_contains "it is named" "unknown key 'bogus'"

# a password in the repository URL would be in the config, the clone and ps:
# refused, and the message shows the URL without it
localize "$example" | sed -e "s|^repo: .*|repo: https://deploy:tok-s3cret@git.example.com/infra.git|" >"$tmp/pw.yaml"
expect_exit "a repository URL with a password is refused" 2 "$RECONCILERD" -n -c "$tmp/pw.yaml"
expect_contains "pointing at git.token_file" "git.token_file"
expect_contains "naming the URL without its user information" "https://git.example.com/infra.git"
expect_not_contains "never the password" "tok-s3cret"

# a fleet host's identity and staged rollout: bad values named with their place
fleet_bad() { # NAME LINES WANT: a config with LINES appended is refused, saying WANT
	localize "$example" >"$tmp/fleet-$1.yaml"
	printf '%s\n' "$2" >>"$tmp/fleet-$1.yaml"
	expect_exit "$1 is refused" 2 "$RECONCILERD" -n -c "$tmp/fleet-$1.yaml"
	expect_contains "  saying: $3" "$3"
}
fleet_bad "a host name with a blank" 'host: "web 1"' "host: invalid host name 'web 1'"
fleet_bad "a label name with a blank" 'host_labels: {"bad key": x}' \
	"host_labels.bad key: invalid label name 'bad key'"
fleet_bad "a label value that is a list" 'host_labels: {role: [web]}' \
	"host_labels.role: expected a string"
fleet_bad "wait_for as a string" 'wait_for: canary1' "wait_for: expected a list of host names"
fleet_bad "a wait_for entry that is no host name" 'wait_for: [canary1, "-x"]' \
	"wait_for[1]: expected a host name"
localize "$example" >"$tmp/fleet-ok.yaml"
printf 'host: web1\nhost_labels: {role: web, region: eu}\nwait_for: [canary1]\n' \
	>>"$tmp/fleet-ok.yaml"
expect_exit "a host, its labels and wait_for pass the check" 0 "$RECONCILERD" -n -c \
	"$tmp/fleet-ok.yaml"

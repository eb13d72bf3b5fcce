#!/usr/bin/env bash
# install.sh: set a host up for reconcilerd after `make install`: the system
# user `reconciler` (in the docker group), /etc/reconciler (secrets/ mode 0700),
# /var/lib/reconciler, the config file from the example (only when absent), and
# the systemd unit enabled and started (when systemd runs). Idempotent: a
# second run changes nothing and says so. See README.md, "Install on a VPS".
set -euo pipefail

# Rewritten by `make install` to the directories it used.
DEFAULT_PREFIX=/usr/local
DEFAULT_SBINDIR=
DEFAULT_UNITDIR=

USER_NAME=reconciler
UNIT=reconcilerd.service

usage() {
	cat <<EOF
usage: install.sh [--repo URL] [--branch B] [--manifest PATH] [--prefix DIR]
                  [--root DIR] [--no-user] [--no-enable] [--dry-run]

Sets this host up for reconcilerd, after \`make install\`:
  - the system user and group $USER_NAME, member of the group docker;
  - /etc/reconciler (0755), /etc/reconciler/secrets (0700, $USER_NAME),
    /var/lib/reconciler (0750, $USER_NAME);
  - /etc/reconciler/reconciler.yaml from the example, only when it is absent
    (repo, branch and manifest from the flags, or asked for on a terminal);
  - the unit $UNIT enabled and started when systemd runs; otherwise the
    commands to run are printed.
Running it again changes nothing that is already in place.

  --repo URL        the Git repository holding the manifest (needed for a new config)
  --branch B        its branch (main)
  --manifest PATH   the manifest's path in it (manifests/prod.yaml)
  --prefix DIR      where make install put the programs ($DEFAULT_PREFIX)
  --root DIR        set up a system image under DIR instead of /: users are
                    written to DIR/etc/passwd and DIR/etc/group, never to the
                    host's, and the unit is enabled with systemctl --root
  --no-user         create no user; the directories stay owned by root
  --no-enable       install everything but do not enable or start the unit
  --dry-run         say what would be done, change nothing
EOF
}

say() { printf 'install.sh: %s\n' "$*"; }
die() {
	printf 'install.sh: %s\n' "$*" >&2
	exit 2
}

repo='' branch='' manifest='' prefix=$DEFAULT_PREFIX root='' dry=0 users=1 enable=1
while [ $# -gt 0 ]; do
	case $1 in
	--repo=* | --branch=* | --manifest=* | --prefix=* | --root=*)
		set -- "${1%%=*}" "${1#*=}" "${@:2}"
		continue
		;;
	--repo | --branch | --manifest | --prefix | --root)
		[ $# -ge 2 ] || die "$1 needs a value (see --help)"
		case $1 in
		--repo) repo=$2 ;;
		--branch) branch=$2 ;;
		--manifest) manifest=$2 ;;
		--prefix) prefix=$2 ;;
		--root) root=$2 ;;
		esac
		shift 2
		continue
		;;
	--dry-run) dry=1 ;;
	--no-user) users=0 ;;
	--no-enable) enable=0 ;;
	-h | --help)
		usage
		exit 0
		;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
	shift
done

if [ -n "$root" ]; then
	case $root in /*) ;; *) root=$(pwd)/$root ;; esac
	root=${root%/}
	[ -d "$root" ] || die "--root '$root' is not a directory"
fi
case $prefix in /*) ;; *) die "--prefix '$prefix' must be an absolute path" ;; esac
for v in "$repo" "$branch" "$manifest"; do
	case $v in *$'\n'*) die "a value holds a newline: '$v'" ;; esac
done
if [ "$prefix" = "$DEFAULT_PREFIX" ] && [ -n "$DEFAULT_SBINDIR" ]; then
	sbindir=$DEFAULT_SBINDIR
else
	sbindir=$prefix/sbin
fi
etc=$root/etc/reconciler
state=$root/var/lib/reconciler
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

[ "$(id -u)" = 0 ] || [ -n "$root" ] || [ "$dry" = 1 ] ||
	die "run as root (or with --dry-run to see what would be done)"

changes=0
# under --dry-run, what is missing is only told
warn_or_die() {
	if [ "$dry" = 1 ]; then say "warning: $1"; else die "$1"; fi
}
append_line() { printf '%s\n' "$1" >>"$2"; }
link_unit() { mkdir -p "${1%/*}" && ln -s "$2" "$1"; }
# act DESCRIPTION COMMAND…: one change, made (or only told under --dry-run)
act() {
	local what=$1
	shift
	changes=$((changes + 1))
	if [ "$dry" = 1 ]; then
		say "would $what"
		return 0
	fi
	say "$what"
	"$@"
}

# ------------------------------------------------------------ the programs

if [ ! -x "$root$sbindir/reconcilerd" ]; then
	msg="$root$sbindir/reconcilerd is not installed: run 'make install PREFIX=$prefix' first (or pass --prefix)"
	warn_or_die "$msg"
fi

# ------------------------------------------------------------ the user

owner=
group_has() { # GROUP-LINE USER
	local members=${1##*:}
	[[ ",$members," == *",$2,"* ]]
}

# In a root image: the user in its own passwd and group files.
root_user() {
	local passwd=$root/etc/passwd grp=$root/etc/group id line
	if [ ! -f "$passwd" ] || [ ! -f "$grp" ]; then
		die "--root: $passwd and $grp must exist (or pass --no-user)"
	fi
	line=$(grep "^$USER_NAME:" "$passwd" || true)
	if [ -z "$line" ]; then
		id=$(awk -F: 'FNR == 1 { f++ } f == 1 { u[$3] = 1 } f == 2 { g[$3] = 1 }
			END { for (i = 999; i >= 100; i--) if (!(i in u) && !(i in g)) { print i; exit } }' \
			"$passwd" "$grp")
		[ -n "$id" ] || die "--root: no free system id from 100 to 999 in $passwd"
		act "add the user $USER_NAME ($id) to $passwd" \
			append_line "$USER_NAME:x:$id:$id:reconciler daemon:/var/lib/reconciler:/usr/sbin/nologin" "$passwd"
		if ! grep -q "^$USER_NAME:" "$grp"; then
			act "add the group $USER_NAME ($id) to $grp" \
				append_line "$USER_NAME:x:$id:" "$grp"
		fi
		owner=$id:$id
	else
		owner=$(printf '%s\n' "$line" | awk -F: '{ print $3 ":" $4 }')
	fi
	line=$(grep '^docker:' "$grp" || true)
	if [ -z "$line" ]; then
		say "warning: no group docker in $grp: add $USER_NAME to it once Docker is installed"
	elif ! group_has "$line" "$USER_NAME"; then
		act "add $USER_NAME to the group docker in $grp" \
			sed -i -e "/^docker:/{s/:\$/:$USER_NAME/;t" -e "s/\$/,$USER_NAME/}" "$grp"
	fi
}

host_user() {
	if ! getent passwd "$USER_NAME" >/dev/null; then
		act "create the system user $USER_NAME" useradd --system --user-group \
			--home-dir /var/lib/reconciler --no-create-home \
			--shell /usr/sbin/nologin --comment "reconciler daemon" "$USER_NAME"
	fi
	if ! getent group docker >/dev/null; then
		say "warning: there is no group docker: install Docker, then run this again"
	elif ! id -nG "$USER_NAME" 2>/dev/null | tr ' ' '\n' | grep -qx docker; then
		act "add $USER_NAME to the group docker" usermod -a -G docker "$USER_NAME"
	fi
	owner=$USER_NAME:$USER_NAME
}

if [ "$users" = 0 ]; then
	say "no user created (--no-user): the directories stay owned by root"
elif [ -n "$root" ]; then
	root_user
else
	host_user
fi

# ------------------------------------------------------------ directories

# ensure_dir PATH MODE OWNER(uid:gid or name:group, empty: root)
ensure_dir() {
	local path=$1 mode=$2 own=${3:-0:0} have
	if [ ! -d "$path" ]; then
		act "create $path (mode $mode, owner $own)" install -d -m "$mode" -o "${own%%:*}" -g "${own##*:}" "$path"
		return
	fi
	have=$(stat -c '%04a' "$path")
	[ "$have" = "$mode" ] || act "set the mode of $path to $mode (was $have)" chmod "$mode" "$path"
	if [ "$(owner_of "$path")" != "$(owner_of_spec "$own")" ]; then
		act "give $path to $own" chown "$own" "$path"
	fi
}
owner_of() { stat -c '%u:%g' "$1"; }
owner_of_spec() { # name:group or uid:gid -> uid:gid
	local u=${1%%:*} g=${1##*:}
	case $u in *[!0-9]*) u=$(id -u "$u" 2>/dev/null || echo '?') ;; esac
	case $g in *[!0-9]*) g=$(getent group "$g" | cut -d: -f3 || echo '?') ;; esac
	printf '%s:%s\n' "$u" "$g"
}

ensure_dir "$root/etc" 0755 ""
ensure_dir "$etc" 0755 ""
ensure_dir "$etc/secrets" 0700 "$owner"
ensure_dir "$root/var/lib" 0755 ""
ensure_dir "$state" 0750 "$owner"

# ------------------------------------------------------------ the config

example=
for f in "$here/reconciler.yaml.example" "$root$prefix/share/reconciler/reconciler.yaml.example"; do
	if [ -f "$f" ]; then
		example=$f
		break
	fi
done

yaml_quote() { # a double-quoted YAML scalar
	local s=${1//\\/\\\\}
	printf '"%s"' "${s//\"/\\\"}"
}

write_config() { # DEST
	local tmp=$1.tmp.$$ line
	: >"$tmp"
	chmod 0640 "$tmp"
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in
		"repo: "*) line="repo: $(yaml_quote "$repo")" ;;
		"branch: "*) [ -z "$branch" ] || line="branch: $(yaml_quote "$branch")" ;;
		"manifest: "*) [ -z "$manifest" ] || line="manifest: $(yaml_quote "$manifest")" ;;
		esac
		printf '%s\n' "$line"
	done <"$example" >>"$tmp"
	[ -z "$owner" ] || chown "0:${owner##*:}" "$tmp"
	sync "$tmp" 2>/dev/null || true
	mv -f "$tmp" "$1"
}

config=$etc/reconciler.yaml
if [ -f "$config" ]; then
	say "$config exists: left as it is"
	if [ -n "$repo" ] && ! grep -qF -- "$repo" "$config"; then
		say "warning: it does not name --repo $repo; edit it by hand, then: systemctl reload reconcilerd"
	fi
else
	[ -n "$example" ] || die "reconciler.yaml.example not found beside this script nor in $root$prefix/share/reconciler"
	if [ -z "$repo" ] && [ -t 0 ] && [ "$dry" = 0 ]; then
		read -r -p "Git repository holding the manifest (URL): " repo
		[ -n "$branch" ] || read -r -p "branch [main]: " branch
		[ -n "$manifest" ] || read -r -p "manifest path [manifests/prod.yaml]: " manifest
	fi
	[ -n "$repo" ] || [ "$dry" = 1 ] ||
		die "$config does not exist: pass --repo URL (and --branch, --manifest) to write it"
	act "write $config from $example (repo ${repo:-?})" write_config "$config"
fi

# ------------------------------------------------------------ the unit

unitfile=
for d in ${DEFAULT_UNITDIR:+"$DEFAULT_UNITDIR"} "$prefix/lib/systemd/system" /etc/systemd/system \
	/lib/systemd/system /usr/lib/systemd/system; do
	if [ -f "$root$d/$UNIT" ]; then
		unitfile=$root$d/$UNIT
		break
	fi
done
if [ -z "$unitfile" ]; then
	msg="$UNIT is not installed (looked in $prefix/lib/systemd/system, /etc/systemd/system, /lib/systemd/system): run 'make install' first"
	warn_or_die "$msg"
elif ! grep -q "^ExecStart=$sbindir/reconcilerd " "$unitfile"; then
	say "warning: $unitfile does not start $sbindir/reconcilerd; check its ExecStart="
fi

wants=$root/etc/systemd/system/multi-user.target.wants/$UNIT
if [ "$enable" = 0 ]; then
	say "the unit is not enabled (--no-enable): systemctl enable --now reconcilerd"
elif [ -n "$root" ]; then
	if [ -L "$wants" ]; then
		:
	elif command -v systemctl >/dev/null; then
		act "enable $UNIT in $root" systemctl --root="$root" --quiet enable "$UNIT"
	else
		act "enable $UNIT in $root (link)" link_unit "$wants" "${unitfile#"$root"}"
	fi
elif [ -d /run/systemd/system ]; then
	[ "$dry" = 1 ] || systemctl daemon-reload
	systemctl --quiet is-enabled "$UNIT" 2>/dev/null || act "enable $UNIT" systemctl --quiet enable "$UNIT"
	systemctl --quiet is-active "$UNIT" 2>/dev/null || act "start $UNIT" systemctl start "$UNIT"
else
	say "systemd is not running here; on the host, run: systemctl daemon-reload && systemctl enable --now reconcilerd"
fi

# ------------------------------------------------------------ summary

if [ "$dry" = 1 ]; then
	say "dry run: $changes change(s) would be made, none was"
elif [ "$changes" = 0 ]; then
	say "nothing to do: everything was already in place"
else
	say "done: $changes change(s)"
	say "next: put the secrets the manifest names in $etc/secrets (mode 0600, owner $USER_NAME),"
	say "check with: runuser -u $USER_NAME -- $sbindir/reconcilerd -n -c /etc/reconciler/reconciler.yaml --state-dir /tmp/rcheck"
	say "and watch: systemctl status reconcilerd; reconcilerctl status"
fi

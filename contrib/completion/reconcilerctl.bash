# bash completion for reconcilerctl: subcommands, their options, manifest
# files after -f/--file and validate/set-image, directories after --*-dir.
# Installed to share/bash-completion/completions/reconcilerctl by make install;
# self-contained (works without the bash-completion package too).
# shellcheck shell=bash

_reconcilerctl_cmds='validate set-image update-images diff apply status sync history import-compose backup fleet secret version'
_reconcilerctl_source_opts='-f --file --repo --ref --path --secrets-dir --state-dir -H --host --socket'
_reconcilerctl_source_opts+=' --config --token-file --ssh-key --known-hosts --backend --host-name --host-label'
_reconcilerctl_source_opts+=' --age-identity'

_reconcilerctl_opts() { # COMMAND: its options
	case $1 in
	validate) echo '--json --github --quiet --backend --help' ;;
	set-image) echo '--commit --push -m --message --author --remote --token-file --ssh-key --known-hosts --sign --help' ;;
	update-images) echo '-f --file --dry-run --timeout --commit --push -m --message --author --remote --branch --token-file --ssh-key --known-hosts --sign --help' ;;
	diff) echo "$_reconcilerctl_source_opts --json --no-color --stats --help" ;;
	apply) echo "$_reconcilerctl_source_opts --revision -j --concurrency --help" ;;
	status) echo "$_reconcilerctl_source_opts -p --project --json --help" ;;
	sync) echo '--state-dir --socket --retry --wait --timeout --help' ;;
	history) echo '--state-dir --socket --limit --json --help' ;;
	import-compose) echo '--resolve -H --host -o --output --force --project --image --base-dir --help' ;;
	backup) echo "$_reconcilerctl_source_opts --wait --yes --json --help" ;;
	fleet) echo "$_reconcilerctl_source_opts --json --timeout --help" ;;
	secret) echo '-f --file --recipients --commit -m --message --author --sign --push --remote --token-file --ssh-key --known-hosts --help' ;;
	esac
}

# Manifests: *.yaml and *.yml files, and directories to descend into.
_reconcilerctl_manifests() {
	local cur=$1 f
	while IFS= read -r f; do
		if [ -d "$f" ]; then
			COMPREPLY+=("$f/")
		else
			case $f in *.yaml | *.yml) COMPREPLY+=("$f") ;; esac
		fi
	done < <(compgen -f -- "$cur")
	[ "${#COMPREPLY[@]}" -ne 1 ] || [ -n "${COMPREPLY[0]##*/}" ] || compopt -o nospace 2>/dev/null
}

_reconcilerctl() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local cmd='' i w npos=0
	COMPREPLY=()

	# the subcommand, and how many positional words follow it
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [ -z "$cmd" ]; then
			case $w in -*) continue ;; esac
			cmd=$w
			continue
		fi
		case $w in
		-f | --file | --repo | --ref | --path | --secrets-dir | --state-dir | -H | --host | \
			--socket | --config | -m | --message | --author | --remote | --token-file | --ssh-key | \
			--known-hosts | --revision | -j | --concurrency | -p | --project | --timeout | \
			--limit | -o | --output | --image | --base-dir | --backend | --host-name | --host-label | --sign | \
			--age-identity | --recipients) ((i++)) ;;
		-*) ;;
		*) ((npos++)) ;;
		esac
	done

	if [ -z "$cmd" ]; then
		case $cur in
		-*) mapfile -t COMPREPLY < <(compgen -W '--help --version' -- "$cur") ;;
		*) mapfile -t COMPREPLY < <(compgen -W "$_reconcilerctl_cmds help" -- "$cur") ;;
		esac
		return 0
	fi

	# the value of an option
	case $prev in
	-f | --file)
		_reconcilerctl_manifests "$cur"
		return 0
		;;
	--secrets-dir | --state-dir | --base-dir)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return 0
		;;
	--socket | --config | --token-file | --ssh-key | --known-hosts | --sign | -o | --output | \
		--age-identity | --recipients)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return 0
		;;
	-H | --host)
		mapfile -t COMPREPLY < <(compgen -W 'unix:///var/run/docker.sock' -- "$cur")
		return 0
		;;
	--backend)
		mapfile -t COMPREPLY < <(compgen -W 'containers swarm' -- "$cur")
		return 0
		;;
	--repo | --ref | --path | -m | --message | --author | --remote | --revision | -j | \
		--concurrency | -p | --project | --timeout | --limit | --image)
		return 0
		;;
	esac

	case $cur in
	-*)
		# shellcheck disable=SC2207 # option names hold no spaces
		COMPREPLY=($(compgen -W "$(_reconcilerctl_opts "$cmd")" -- "$cur"))
		return 0
		;;
	esac
	case $cmd in
	validate) _reconcilerctl_manifests "$cur" ;;
	set-image | import-compose) [ "$npos" -ne 0 ] || _reconcilerctl_manifests "$cur" ;;
	backup)
		[ "$npos" -ne 0 ] ||
			mapfile -t COMPREPLY < <(compgen -W 'list run verify restore' -- "$cur")
		;;
	fleet) [ "$npos" -ne 0 ] || mapfile -t COMPREPLY < <(compgen -W 'status' -- "$cur") ;;
	secret) [ "$npos" -ne 0 ] || mapfile -t COMPREPLY < <(compgen -W 'set' -- "$cur") ;;
	help)
		[ "$npos" -ne 0 ] ||
			mapfile -t COMPREPLY < <(compgen -W "$_reconcilerctl_cmds" -- "$cur")
		;;
	esac
	return 0
}

complete -F _reconcilerctl reconcilerctl

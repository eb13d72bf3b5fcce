#!/usr/bin/env bash
# The demo behind `make demo`: sets up everything on this machine (engine,
# local registry, test images), creates a local Git repository holding
# manifests/demo.yaml with real image digests, and runs reconcilerd in the
# foreground on it. Ctrl-C stops the daemon; the containers keep running.
#
#   demo.sh           set up and run reconcilerd in the foreground
#   demo.sh --once    set up and run one cycle (used by the test suite)
#   demo.sh --clean   remove the demo's containers and its directory (volumes
#                     are kept, as the reconciler itself would)
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/env/lib.sh disable=SC1091
. "$top/tests/env/lib.sh"
BUILD=${BUILD:-build}
bin="$top/$BUILD"
demo=${RECONCILER_DEMO_DIR:-/var/tmp/reconciler-demo}
mode=${1:-run}

if [ "$mode" = --clean ]; then
	docker ps -aq --filter label=io.reconciler.project=demo | xargs -r docker rm -f >/dev/null
	rm -rf "$demo"
	echo "demo removed (the volume demo_store-data is kept; docker volume rm it if you wish)"
	exit 0
fi

"$top/tests/env/up.sh" >/dev/null
rt_images_load

mkdir -p "$demo/state" "$demo/secrets"
chmod 0700 "$demo/secrets"
if [ ! -d "$demo/remote.git" ]; then
	git init -q --bare -b main "$demo/remote.git"
	git clone -q "$demo/remote.git" "$demo/work" 2>/dev/null
	git -C "$demo/work" checkout -q -b main 2>/dev/null || true
	# so that the walk-through's `git revert` works on a machine with no Git identity
	git -C "$demo/work" config user.name "demo"
	git -C "$demo/work" config user.email "demo@localhost"
	mkdir -p "$demo/work/manifests"
	cp "$top/manifests/demo.yaml" "$demo/work/manifests/demo.yaml"
	for s in api web; do
		"$bin/reconcilerctl" set-image "$demo/work/manifests/demo.yaml" "$s" "$IMG_WEB_V1" >/dev/null
	done
	"$bin/reconcilerctl" set-image "$demo/work/manifests/demo.yaml" store "$IMG_STATEFUL" >/dev/null
	git -C "$demo/work" add manifests/demo.yaml
	git -C "$demo/work" commit -q -m "demo: web v1 everywhere"
	git -C "$demo/work" push -q origin main
fi

cat <<EOT

reconciler demo
  Git remote   file://$demo/remote.git   (branch main, manifests/demo.yaml)
  work tree    $demo/work
  state        $demo/state   secrets $demo/secrets
  web          http://127.0.0.1:18080/    (stop-first, host port)
  api          inside the network as http://api:8080/ (start-first)

In another terminal:
  cd $demo/work
  . $RT_IMAGES_ENV                 # IMG_WEB_V1, IMG_WEB_V2, IMG_UNHEALTHY, ...
  $bin/reconcilerctl set-image --push manifests/demo.yaml api \$IMG_WEB_V2
  docker exec demo-web wget -qO- http://api:8080/      # -> web v2
  $bin/reconcilerctl set-image --push manifests/demo.yaml api \$IMG_UNHEALTHY
  $bin/reconcilerctl status -f manifests/demo.yaml --state-dir $demo/state   # degraded, v2 still serves
  git revert --no-edit HEAD && git push -q origin main    # back to v2, healthy
  $bin/reconcilerctl history --state-dir $demo/state

EOT

args=(--repo "file://$demo/remote.git" --branch main --manifest manifests/demo.yaml
	--state-dir "$demo/state" --secrets-dir "$demo/secrets" --poll 2s)
if [ "$mode" = --once ]; then
	exec "$bin/reconcilerd" "${args[@]}" --once
fi
echo "running reconcilerd in the foreground (Ctrl-C to stop)"
exec "$bin/reconcilerd" "${args[@]}"

#!/bin/bash
# Install (only when missing) the Debian packages needed to build and test
# reconciler. Idempotent, non-interactive, prints one line if it installed
# something and nothing otherwise.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RT_DEPS=(
	# build
	gcc make pkg-config clang
	libgit2-dev libcurl4-openssl-dev libyaml-dev libjansson-dev libuv1-dev
	libsqlite3-dev libssl-dev zlib1g-dev libseccomp-dev
	# tests
	libcmocka-dev
	docker.io docker-registry busybox-static git
	python3-jsonschema python3-yaml python3-prometheus-client docker-compose
	curl iproute2
	# the test swarm (tests/env/swarm-up.sh): ip netns, nsenter/unshare, the relay
	util-linux python3
	chromium # the status page, rendered headless by tests/e2e/statuspage.sh
	# make install checks: man pages render, the unit verifies
	groff-base man-db systemd
	haproxy # the allow-list Docker socket proxy the e2e tier runs behind
	openssh-server # a real sshd on loopback for Git over ssh (tests/e2e/ssh.sh)
	openssh-client gpg gpg-agent gpgv # signed commits: ssh-keygen -Y and gpgv judge them (tests/e2e/signed.sh)
	age # secrets encrypted in Git (tests/cli/secret-set.sh, tests/e2e/secrets-git.sh)
	# lint (make lint, tests/lint.sh)
	shellcheck cppcheck clang-tidy yamllint
)

rt_apt_ensure "${RT_DEPS[@]}"

#!/usr/bin/env bash
# make dist: the source tarball of a tagged commit builds without .git and
# reports the tag's version; make bindist packs what make install would.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/rt-dist.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
top=$(pwd)
# built as a user would: not with the flags of a make that runs the suite
unset MAKEFLAGS MFLAGS MAKELEVEL BUILD CI

# A clone of the committed tree, tagged as a release would be.
git clone -q --no-hardlinks "$top" "$tmp/src" 2>/dev/null
git -C "$tmp/src" -c user.name=t -c user.email=t@localhost tag -a -m "release" v7.8.9
rev=$(git -C "$tmp/src" rev-parse --short HEAD)
check "the version of a tagged checkout is the tag's" test "$(make -s -C "$tmp/src" print-version)" = 7.8.9
expect_exit "make dist" 0 make -s -C "$tmp/src" dist DISTDIR="$tmp/out"
tarball=$tmp/out/reconciler-7.8.9.tar.gz
check "it writes reconciler-7.8.9.tar.gz" test -s "$tarball"
list=$(tar -tzf "$tarball")
check "everything is under reconciler-7.8.9/" test -z "$(grep -v '^reconciler-7.8.9/' <<<"$list")"
check "it holds the sources and the Makefile" grep -qx 'reconciler-7.8.9/reconciler/daemon/reconcilerd.c' <<<"$list"
check "it holds no .git" test -z "$(grep '/\.git\(/\|$\)' <<<"$list")"
check "VERSION is stamped" test "$(tar -xzOf "$tarball" reconciler-7.8.9/VERSION)" = 7.8.9
check "REVISION is stamped" test "$(tar -xzOf "$tarball" reconciler-7.8.9/REVISION)" = "$rev"
cp "$tarball" "$tmp/first.tar.gz"
make -s -C "$tmp/src" dist DISTDIR="$tmp/out" >/dev/null 2>&1
check "the tarball is reproducible" cmp -s "$tarball" "$tmp/first.tar.gz"

# Unpacked elsewhere and built without Git.
mkdir "$tmp/unpack"
tar -xzf "$tarball" -C "$tmp/unpack"
u=$tmp/unpack/reconciler-7.8.9
expect_exit "the tarball builds without .git" 0 make -s -C "$u" -j2 all
expect_exit "reconcilerctl version" 0 "$u/build/reconcilerctl" version
check "reconcilerctl reports 7.8.9 ($out)" test "$out" = "reconcilerctl 7.8.9 ($rev)"
expect_exit "reconcilerd --version" 0 "$u/build/reconcilerd" --version
check "reconcilerd reports 7.8.9 ($out)" test "$out" = "reconcilerd 7.8.9 ($rev)"

expect_exit "make bindist from the tarball" 0 make -s -C "$u" bindist DISTDIR="$tmp/bin"
bin=$(ls "$tmp"/bin/reconciler-7.8.9-linux-*.tar.gz 2>/dev/null)
check "it writes reconciler-7.8.9-linux-<arch>.tar.gz" test -s "$bin"
list=$(tar -tzf "$bin" 2>/dev/null | sed 's|^[^/]*/||')
for f in bin/reconcilerctl sbin/reconcilerd share/man/man1/reconcilerctl.1 \
	share/man/man8/reconcilerd.8 share/man/man5/reconciler-manifest.5 \
	share/bash-completion/completions/reconcilerctl share/reconciler/ci/bump-digest.sh \
	share/reconciler/ci/validate-pr.sh share/reconciler/ci/image-updates.sh \
	lib/systemd/system/reconcilerd.service share/doc/reconciler/README.md \
	share/doc/reconciler/docs/operating.md share/doc/reconciler/docs/manifest.md; do
	check "the binary tarball has $f" grep -qx "$f" <<<"$list"
done

# reconciler: a GitOps reconciler for Docker hosts.
# Targets: all check lint install uninstall dist bindist release asan fuzz demo deps
# clean.  V=1 for full command lines.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/reconciler
SYSCONFDIR ?= /etc
# systemd looks in /lib/systemd/system for the distribution's units and in
# /usr/local/lib/systemd/system for the administrator's.
ifeq ($(PREFIX),/usr)
UNITDIR ?= /lib/systemd/system
else
UNITDIR ?= $(PREFIX)/lib/systemd/system
endif
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
PKG_CONFIG ?= pkg-config
BUILD ?= build

# The version: a checkout at a tag v1.2.3 is 1.2.3; anything else says the
# VERSION file, which `make dist` stamps into the tarball (with REVISION for
# the commit), so a build from it needs no .git. `make VERSION=x` overrides.
ifneq ($(wildcard .git),)
GIT_TAG := $(shell git describe --tags --exact-match --match 'v[0-9]*' HEAD 2>/dev/null)
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null)
endif
VERSION := $(if $(GIT_TAG),$(patsubst v%,%,$(GIT_TAG)),$(shell cat VERSION 2>/dev/null || echo 0.0.0))
GIT_REV := $(or $(GIT_REV),$(shell cat REVISION 2>/dev/null),unknown)

PKGS := libgit2 libcurl yaml-0.1 jansson libuv sqlite3 libcrypto zlib libseccomp
# Opened on first use (reconciler/lazy, dlopen), not by the loader at start-up:
# their headers are needed, their libraries are not linked. They stay the
# programs' dependencies: a command that needs one that is missing names it
# and its Debian package, and reconcilerd does not start without them all.
LAZY_PKGS := libgit2 libcurl sqlite3 libcrypto zlib

# CFLAGS and LDFLAGS are the user's (make CFLAGS=-O0); what the build needs
# goes into ALL_CFLAGS, so a command-line CFLAGS never drops it.
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -pipe -fno-common
ALL_CFLAGS += -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat-security -Wvla -Wwrite-strings -Wno-unused-parameter
# One folder per role under reconciler/ (HACKING.md); every folder is on the
# include path, so a header is included by its name alone.
SRC_DIRS := $(sort $(patsubst %/,%,$(dir $(wildcard reconciler/*/*.c reconciler/*/*.h))))
SRC_INCS := $(addprefix -I,$(SRC_DIRS))
ALL_CFLAGS += -MMD -MP $(SRC_INCS)
ALL_CFLAGS += -DRECONCILER_VERSION='"$(VERSION)"' -DRECONCILER_GIT_REV='"$(GIT_REV)"'
ifeq ($(CI),true)
ALL_CFLAGS += -Werror
endif
ifneq ($(WERROR),)
ALL_CFLAGS += -Werror
endif
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
# Linked in (their .a, from the -dev packages): nearly every command parses
# YAML or JSON, and two fewer objects for the loader is a measurable part of
# a start-up of a few ms (bench/startup.sh). STATIC_PKGS= links them shared.
STATIC_PKGS ?= yaml-0.1 jansson
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(filter-out $(LAZY_PKGS) $(STATIC_PKGS),$(PKGS)) 2>/dev/null)
ifneq ($(STATIC_PKGS),)
PKG_LIBS := -Wl,-Bstatic $(shell $(PKG_CONFIG) --libs-only-l $(STATIC_PKGS) 2>/dev/null) \
	-Wl,-Bdynamic $(PKG_LIBS)
endif
# Unit tests that call a library's functions beyond the program's (building
# a repository object by object) link it as well; the stubs still answer
# the calls they share with the programs.
LAZY_LIBS := $(shell $(PKG_CONFIG) --libs $(LAZY_PKGS) 2>/dev/null)
ALL_CFLAGS += $(PKG_CFLAGS) $(SANITIZE) $(CFLAGS)
ALL_LDFLAGS = $(SANITIZE) $(LDFLAGS)
LDLIBS += $(PKG_LIBS) -lm

ifeq ($(V),1)
Q :=
E := @:
else
Q := @
E := @printf '  %-6s %s\n'
endif

# reconcilerctl is cli/ over the library; reconcilerd is its main over it.
CLI_SRCS := $(sort $(wildcard reconciler/cli/*.c))
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
DMAIN := reconciler/daemon/reconcilerd.c
LIB_SRCS := $(filter-out $(CLI_SRCS) $(DMAIN),$(sort $(wildcard reconciler/*/*.c)))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libreconciler.a

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

PROGS := $(BUILD)/reconcilerctl $(BUILD)/reconcilerd

all: $(PROGS)

$(BUILD)/%.o: %.c
	$(E) CC $<
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The version and Git revision are baked into objects: rebuild those that use
# them when either changes (the stamp is rewritten only on a change).
$(BUILD)/git-rev: FORCE
	@mkdir -p $(BUILD)
	@echo '$(VERSION) $(GIT_REV)' | cmp -s - $@ || echo '$(VERSION) $(GIT_REV)' > $@
VERSIONED := $(shell grep -l 'RECONCILER_VERSION\|RECONCILER_GIT_REV' reconciler/*/*.c)
$(VERSIONED:%.c=$(BUILD)/%.o): $(BUILD)/git-rev
FORCE:

$(LIB): $(LIB_OBJS)
	$(E) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/reconcilerctl: $(CLI_OBJS) $(LIB)
	$(E) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/reconcilerd: $(DMAIN:%.c=$(BUILD)/%.o) $(LIB)
	$(E) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

# The pure core: base/ and core/ link without libcurl, libuv, libgit2 or
# sqlite. test_core links every object of it (whole archive) with only the
# libraries below, so a core file that reaches for I/O libraries fails here.
CORE_SRCS := $(sort $(wildcard reconciler/base/*.c reconciler/core/*.c))
CORE_LIB := $(BUILD)/libreconciler-core.a
CORE_LIBS := $(shell $(PKG_CONFIG) --libs yaml-0.1 jansson libcrypto 2>/dev/null) -lm

$(CORE_LIB): $(CORE_SRCS:%.c=$(BUILD)/%.o)
	$(E) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/tests/test_core: $(BUILD)/tests/unit/test_core.o $(CORE_LIB)
	$(E) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< -Wl,--whole-archive $(CORE_LIB) \
		-Wl,--no-whole-archive $(CORE_LIBS) -lcmocka

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB)
	$(E) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS) $(LAZY_LIBS) -lcmocka

unit: $(UNIT_BINS)

# Every tier: unit (cmocka), manifest corpus + schema agreement, fuzz smoke,
# end-to-end against the real engine, registry and Git remotes.
check:
	$(Q)tests/env/deps.sh
	$(Q)$(MAKE) --no-print-directory all unit
	$(Q)BUILD=$(BUILD) tests/run.sh

asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan CFLAGS="-O1 -g" \
		SANITIZE="-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
		check

FUZZ_CC ?= clang
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)

FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 $(SRC_INCS) $(PKG_CFLAGS) \
	-DRECONCILER_VERSION='"$(VERSION)"' -DRECONCILER_GIT_REV='"$(GIT_REV)"' \
	-fsanitize=fuzzer-no-link,address,undefined
FUZZ_OBJS := $(LIB_SRCS:%.c=build-fuzz/%.o)

build-fuzz/%.o: %.c
	$(E) FUZZCC $<
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<
-include $(FUZZ_OBJS:.o=.d)

build-fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS)
	$(E) FUZZ $@
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) $(PKG_LIBS) -lm

.PRECIOUS: build-fuzz/%.o

fuzz-build: $(FUZZ_BINS)

# Longer fuzzing: FUZZ_SECONDS per target (default 60).
fuzz: fuzz-build
	$(Q)FUZZ_SECONDS=$${FUZZ_SECONDS:-60} tests/fuzz/run.sh $(FUZZ_BINS)

deps:
	$(Q)tests/env/deps.sh

# ---------------------------------------------------------------- lint
# cppcheck and clang-tidy (.clang-tidy) over reconciler/*/*.c, shellcheck
# (.shellcheckrc) over every shell script, yamllint (.yamllint) over the
# workflows, and action-validator (npm install --no-save @action-validator/cli)
# when it is installed. Suppressions are inline, each with its reason.
# tests/lint.sh runs the quick ones (all but clang-tidy) as a tier of `make check`.
CPPCHECK ?= cppcheck
CLANG_TIDY ?= clang-tidy
SHELLCHECK ?= shellcheck
YAMLLINT ?= yamllint
ACTION_VALIDATOR ?= $(firstword $(shell command -v action-validator 2>/dev/null) \
	$(wildcard node_modules/.bin/action-validator))
LINT_SRCS := $(sort $(wildcard reconciler/*/*.c))
LINT_DEFS = -D_GNU_SOURCE $(SRC_INCS) \
	-DRECONCILER_VERSION='"$(VERSION)"' -DRECONCILER_GIT_REV='"$(GIT_REV)"'
SH_SRCS = $(sort $(shell git ls-files '*.sh' 2>/dev/null || find . -name '*.sh' -not -path './build*') \
	$(wildcard contrib/completion/*.bash)) .ci/run
WORKFLOWS = $(sort $(wildcard .github/workflows/*.yml contrib/github-actions/*.yml \
	contrib/gitea-actions/*.yml))

lint: lint-cppcheck lint-tidy lint-sh lint-yaml

lint-cppcheck:
	$(E) CPPCHECK reconciler
	$(Q)$(CPPCHECK) -q --enable=warning,portability,performance --error-exitcode=1 \
		--inline-suppr --std=c11 $(LINT_DEFS) $(shell $(PKG_CONFIG) --cflags-only-I $(PKGS)) \
		--include=$(shell $(PKG_CONFIG) --variable=includedir jansson)/jansson.h \
		$(LINT_SRCS)

lint-tidy: $(LINT_SRCS:%.c=$(BUILD)/lint/%.tidy)

# One stamp per file, so make -j2 lint runs two at a time and a rerun
# checks only what changed.
$(BUILD)/lint/%.tidy: %.c .clang-tidy $(wildcard reconciler/*/*.h)
	$(E) TIDY $<
	@mkdir -p $(dir $@)
	$(Q)if $(CLANG_TIDY) --quiet $< -- -std=c11 $(LINT_DEFS) $(PKG_CFLAGS) >$@.log 2>&1; then \
		rm -f $@.log; touch $@; \
	else \
		grep -v '^[0-9]* warnings\? generated\.$$' $@.log >&2; rm -f $@.log; exit 1; \
	fi

lint-sh:
	$(E) SHCHECK scripts
	$(Q)$(SHELLCHECK) $(SH_SRCS)

lint-yaml:
	$(E) YAMLLINT workflows
	$(Q)$(YAMLLINT) -s .yamllint $(WORKFLOWS)
ifneq ($(ACTION_VALIDATOR),)
	$(E) ACTIONS workflows
	$(Q)for f in $(WORKFLOWS); do $(ACTION_VALIDATOR) "$$f" || exit 1; done
else
	@echo "  skip   action-validator is not installed (npm install --no-save @action-validator/cli)"
endif

# ---------------------------------------------------------------- releases
# make dist: reconciler-X.Y.Z.tar.gz from `git archive` of HEAD, with VERSION
# and REVISION stamped. make bindist: the built binaries, man pages, the
# systemd unit, the example config, shell completions and README, to unpack
# over /usr/local. make release: both and SHA256SUMS in $(DISTDIR).
DISTDIR ?= $(BUILD)/release
DIST := reconciler-$(VERSION)
BINDIST := reconciler-$(VERSION)-linux-$(shell uname -m)

dist:
	@[ -n "$(wildcard .git)" ] || { echo "make dist: needs a Git checkout (it archives HEAD)" >&2; exit 2; }
	@git diff --quiet HEAD -- || echo "make dist: note: uncommitted changes are not in the tarball" >&2
	$(E) DIST $(DISTDIR)/$(DIST).tar.gz
	$(Q)rm -rf $(BUILD)/dist/$(DIST) && mkdir -p $(BUILD)/dist $(DISTDIR)
	$(Q)git archive --format=tar --prefix=$(DIST)/ HEAD | tar -x -C $(BUILD)/dist
	$(Q)echo '$(VERSION)' > $(BUILD)/dist/$(DIST)/VERSION
	$(Q)echo '$(GIT_REV)' > $(BUILD)/dist/$(DIST)/REVISION
	$(Q)tar -C $(BUILD)/dist --sort=name --owner=0 --group=0 --numeric-owner \
		--mtime="@$$(git log -1 --format=%ct HEAD)" -cf - $(DIST) | gzip -n9 \
		> $(DISTDIR)/$(DIST).tar.gz.tmp && mv -f $(DISTDIR)/$(DIST).tar.gz.tmp $(DISTDIR)/$(DIST).tar.gz
	$(Q)rm -rf $(BUILD)/dist/$(DIST)

bindist: all
	$(E) BINDIST $(DISTDIR)/$(BINDIST).tar.gz
	$(Q)rm -rf $(BUILD)/bindist && mkdir -p $(BUILD)/bindist $(DISTDIR)
	$(Q)$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(BUILD)/bindist/stage PREFIX=/usr/local >/dev/null
	$(Q)mv $(BUILD)/bindist/stage/usr/local $(BUILD)/bindist/$(BINDIST)
	$(Q)install -d $(BUILD)/bindist/$(BINDIST)/share/doc/reconciler
	$(Q)install -m 0644 README.md HACKING.md $(BUILD)/bindist/$(BINDIST)/share/doc/reconciler/
	$(Q)install -d $(BUILD)/bindist/$(BINDIST)/share/doc/reconciler/docs
	$(Q)install -m 0644 docs/*.md $(BUILD)/bindist/$(BINDIST)/share/doc/reconciler/docs/
	$(Q)tar -C $(BUILD)/bindist --sort=name --owner=0 --group=0 --numeric-owner \
		-czf $(DISTDIR)/$(BINDIST).tar.gz $(BINDIST)
	$(Q)rm -rf $(BUILD)/bindist

release: dist bindist
	$(Q)cd $(DISTDIR) && sha256sum $(DIST).tar.gz $(BINDIST).tar.gz > SHA256SUMS
	$(Q)cat $(DISTDIR)/SHA256SUMS

print-version:
	@echo $(VERSION)

# The README's main command: everything on a fresh machine, then reconcilerd
# in the foreground on a local Git repository (see tests/env/demo.sh).
demo:
	$(Q)tests/env/deps.sh
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) tests/env/demo.sh

# Paths written into the installed unit and install.sh follow the directory
# variables; DESTDIR only prefixes where the files land (staged installs).
INSTALL ?= install
SED_UNIT = sed -e 's|/usr/local/sbin/reconcilerd|$(SBINDIR)/reconcilerd|g' \
	-e 's|/etc/reconciler/reconciler.yaml|$(SYSCONFDIR)/reconciler/reconciler.yaml|g' \
	-e 's|/etc/reconciler/docker-proxy.cfg|$(SYSCONFDIR)/reconciler/docker-proxy.cfg|g'
SED_SCRIPT = sed -e 's|^DEFAULT_PREFIX=.*|DEFAULT_PREFIX=$(PREFIX)|' \
	-e 's|^DEFAULT_SBINDIR=.*|DEFAULT_SBINDIR=$(SBINDIR)|' \
	-e 's|^DEFAULT_UNITDIR=.*|DEFAULT_UNITDIR=$(UNITDIR)|'
INSTALLED := $(BINDIR)/reconcilerctl $(SBINDIR)/reconcilerd \
	$(MANDIR)/man1/reconcilerctl.1 $(MANDIR)/man5/reconciler-manifest.5 \
	$(MANDIR)/man8/reconcilerd.8 $(UNITDIR)/reconcilerd.service \
	$(DATADIR)/manifest.schema.json $(DATADIR)/reconciler.yaml.example \
	$(DATADIR)/install.sh $(BASHCOMPDIR)/reconcilerctl \
	$(DATADIR)/docker-socket-proxy/haproxy.cfg \
	$(DATADIR)/docker-socket-proxy/reconcilerd-docker-proxy.conf \
	$(UNITDIR)/reconciler-docker-proxy.service \
	$(DATADIR)/ci/bump-digest.sh $(DATADIR)/ci/validate-pr.sh $(DATADIR)/ci/image-updates.sh

install: all
	$(E) INSTALL "$(DESTDIR) $(PREFIX)"
	$(Q)$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DATADIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(DATADIR)/ci
	$(Q)$(INSTALL) -m 0755 $(BUILD)/reconcilerctl $(DESTDIR)$(BINDIR)/reconcilerctl
	$(Q)$(INSTALL) -m 0755 $(BUILD)/reconcilerd $(DESTDIR)$(SBINDIR)/reconcilerd
	$(Q)$(INSTALL) -m 0644 man/reconcilerctl.1 $(DESTDIR)$(MANDIR)/man1/reconcilerctl.1
	$(Q)$(INSTALL) -m 0644 man/reconciler-manifest.5 $(DESTDIR)$(MANDIR)/man5/reconciler-manifest.5
	$(Q)$(INSTALL) -m 0644 man/reconcilerd.8 $(DESTDIR)$(MANDIR)/man8/reconcilerd.8
	$(Q)$(INSTALL) -m 0644 schemas/manifest.schema.json $(DESTDIR)$(DATADIR)/manifest.schema.json
	$(Q)$(SED_UNIT) contrib/systemd/reconcilerd.service > $(DESTDIR)$(UNITDIR)/reconcilerd.service.tmp
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/reconcilerd.service.tmp
	$(Q)mv -f $(DESTDIR)$(UNITDIR)/reconcilerd.service.tmp $(DESTDIR)$(UNITDIR)/reconcilerd.service
	$(Q)$(INSTALL) -m 0644 contrib/reconciler.yaml.example $(DESTDIR)$(DATADIR)/reconciler.yaml.example
	$(Q)$(SED_SCRIPT) contrib/install.sh > $(DESTDIR)$(DATADIR)/install.sh.tmp
	$(Q)chmod 0755 $(DESTDIR)$(DATADIR)/install.sh.tmp
	$(Q)mv -f $(DESTDIR)$(DATADIR)/install.sh.tmp $(DESTDIR)$(DATADIR)/install.sh
	$(Q)$(INSTALL) -m 0644 contrib/completion/reconcilerctl.bash $(DESTDIR)$(BASHCOMPDIR)/reconcilerctl
	$(Q)$(INSTALL) -d $(DESTDIR)$(DATADIR)/docker-socket-proxy
	$(Q)$(INSTALL) -m 0644 contrib/docker-socket-proxy/haproxy.cfg \
		contrib/docker-socket-proxy/reconcilerd-docker-proxy.conf \
		$(DESTDIR)$(DATADIR)/docker-socket-proxy/
	$(Q)$(SED_UNIT) contrib/docker-socket-proxy/reconciler-docker-proxy.service \
		> $(DESTDIR)$(UNITDIR)/reconciler-docker-proxy.service.tmp
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/reconciler-docker-proxy.service.tmp
	$(Q)mv -f $(DESTDIR)$(UNITDIR)/reconciler-docker-proxy.service.tmp \
		$(DESTDIR)$(UNITDIR)/reconciler-docker-proxy.service
	$(Q)$(INSTALL) -m 0755 contrib/ci/bump-digest.sh contrib/ci/validate-pr.sh \
		contrib/ci/image-updates.sh $(DESTDIR)$(DATADIR)/ci/

# Removes exactly what install put there (configuration and state are the
# administrator's: /etc/reconciler and /var/lib/reconciler stay).
uninstall:
	$(E) UNINST "$(DESTDIR) $(PREFIX)"
	$(Q)rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-$(Q)rmdir $(DESTDIR)$(DATADIR)/docker-socket-proxy $(DESTDIR)$(DATADIR)/ci $(DESTDIR)$(DATADIR) 2>/dev/null

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all unit check asan fuzz fuzz-build deps demo install uninstall clean FORCE \
	lint lint-cppcheck lint-tidy lint-sh lint-yaml dist bindist release print-version

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(DMAIN:%.c=$(BUILD)/%.d) \
	$(UNIT_SRCS:%.c=$(BUILD)/%.d)

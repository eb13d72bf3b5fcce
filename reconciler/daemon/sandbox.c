/*
 * sandbox: see sandbox.h.
 */
#include "sandbox.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int
sandbox_close_from(int first, char *err)
{
	long max;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return errf(err, "close_range: %s", strerror(errno));
#endif
	/* kernels before 5.9 */
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 1 << 20)
		max = 1 << 20;
	for (long fd = first; fd < max; fd++)
		close((int)fd);
	return 0;
}

int
sandbox_chroot_empty(char *err)
{
	char dir[] = "/tmp/reconcilerd-empty.XXXXXX";

	if (!mkdtemp(dir))
		return errf(err, "cannot make an empty directory under /tmp: %s", strerror(errno));
	if (chdir(dir) < 0 || rmdir(dir) < 0) {
		errf(err, "cannot enter and remove '%s': %s", dir, strerror(errno));
		rmdir(dir);
		return -1;
	}
	/* the directory is gone: nothing can be made in it, nothing is above it */
	if (chroot(".") < 0 || chdir("/") < 0)
		return errf(err, "chroot into an empty directory: %s", strerror(errno));
	return 0;
}

int
sandbox_drop(uid_t uid, gid_t gid, char *err)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (uid == 0)
		return errf(err, "the listener must not run as root: set listener_user to an "
		    "unprivileged user");
	if (setgroups(0, NULL) < 0)
		return errf(err, "setgroups: %s", strerror(errno));
	if (setresgid(gid, gid, gid) < 0)
		return errf(err, "setresgid %u: %s", (unsigned)gid, strerror(errno));
	if (setresuid(uid, uid, uid) < 0)
		return errf(err, "setresuid %u: %s", (unsigned)uid, strerror(errno));
	/* for good: every id is the new one, no group is left, root is out of reach */
	if (getresuid(&r, &e, &s) < 0 || r != uid || e != uid || s != uid ||
	    getresgid(&rg, &eg, &sg) < 0 || rg != gid || eg != gid || sg != gid ||
	    getgroups(0, NULL) != 0)
		return errf(err, "the user and groups did not change as asked");
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
		return errf(err, "root could be taken back after dropping it");
	return 0;
}

int
sandbox_limits(unsigned long nofile, char *err)
{
	struct rlimit core = { 0, 0 }, files = { nofile, nofile };

	if (setrlimit(RLIMIT_CORE, &core) < 0)
		return errf(err, "setrlimit RLIMIT_CORE: %s", strerror(errno));
	if (setrlimit(RLIMIT_NOFILE, &files) < 0)
		return errf(err, "setrlimit RLIMIT_NOFILE %lu: %s", nofile, strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return errf(err, "PR_SET_DUMPABLE: %s", strerror(errno));
	return 0;
}

/*
 * What the child's loop needs, and nothing that reaches past the descriptors
 * it holds: read and write them, wait on them (epoll), accept on the
 * listening socket, close; memory (never executable); the clocks; exit.
 * libuv, the parser, the webhook check (OpenSSL's HMAC, jansson) and the log
 * need no more once warmed up before the filter is loaded. A name this
 * architecture does not have is skipped.
 */
static const char *const allowed[] = {
	"read", "readv", "write", "writev", "close",
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl",
	"accept4", "accept", "getpeername", "getsockname",
	"brk", "munmap", "mremap", "madvise",
	"clock_gettime", "clock_getres", "gettimeofday", "time",
	"rt_sigreturn", "rt_sigprocmask", "restart_syscall",
	"getpid", "gettid", "futex", "getrandom",
	"exit", "exit_group",
	NULL,
};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define SANITIZED 1
#endif
#endif

/* A sanitizer build (make asan, the fuzzers) is a test build: its runtime
 * reads its own mappings and the symbolizer's files to report, so it gets
 * read-only opens and the calls its reports make. Release builds never. */
#ifdef SANITIZED
static const char *const sanitizer_extra[] = {
	"sigaltstack", "rt_sigaction", "sched_yield", "getrlimit", "prlimit64", "readlink",
	"readlinkat", "fstat", "newfstatat", "lseek", "pread64", "ioctl", "nanosleep",
	"clock_nanosleep", "getppid", "uname", NULL,
};
#endif

static int
allow_names(scmp_filter_ctx ctx, const char *const *names, char *err)
{
	int nr, rc;

	for (size_t i = 0; names[i]; i++) {
		if ((nr = seccomp_syscall_resolve_name(names[i])) == __NR_SCMP_ERROR)
			continue;
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) < 0)
			return errf(err, "seccomp: cannot allow %s: %s", names[i], strerror(-rc));
	}
	return 0;
}

static int
allow_rules(scmp_filter_ctx ctx, char *err)
{
	int rc = 0;

	if (allow_names(ctx, allowed, err) < 0)
		return -1;
	/* memory, never executable: no code can be brought in */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A2_32(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	    SCMP_A2_32(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* abort() signals itself, and only itself */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	    SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)getpid()));
	/* libuv sets O_NONBLOCK and FD_CLOEXEC on what it accepts */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
	    SCMP_A1_32(SCMP_CMP_EQ, F_GETFL));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
	    SCMP_A1_32(SCMP_CMP_EQ, F_SETFL));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
	    SCMP_A1_32(SCMP_CMP_EQ, F_GETFD));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
	    SCMP_A1_32(SCMP_CMP_EQ, F_SETFD));
	if (rc < 0)
		return errf(err, "seccomp: cannot add a rule");
#ifdef SANITIZED
	if (allow_names(ctx, sanitizer_extra, err) < 0)
		return -1;
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
	    SCMP_A2_32(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT, O_RDONLY)) < 0)
		return errf(err, "seccomp: cannot add a rule");
	if (seccomp_syscall_resolve_name("open") != __NR_SCMP_ERROR &&
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
	    SCMP_A1_32(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT, O_RDONLY)) < 0)
		return errf(err, "seccomp: cannot add a rule");
#endif
	return 0;
}

int
sandbox_seccomp(char *err)
{
	scmp_filter_ctx ctx;
	int rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return errf(err, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	if (!(ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)))
		return errf(err, "seccomp_init failed");
	if (allow_rules(ctx, err) < 0) {
		seccomp_release(ctx);
		return -1;
	}
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0)
		return errf(err, "cannot load the seccomp filter: %s (does this kernel have "
		    "CONFIG_SECCOMP_FILTER?)", strerror(-rc));
	return 0;
}

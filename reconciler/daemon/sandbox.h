/*
 * sandbox: what the listener child does to itself before it reads a byte
 * from the network (docs/process-model.md): close every descriptor it was
 * not given, take an empty root directory and an unprivileged user for good
 * when started as root, bound its resources, and load a seccomp allow-list
 * under which it can only use the descriptors it holds (no open, socket,
 * connect, execve; anything else kills it).
 */
#ifndef RECONCILER_SANDBOX_H
#define RECONCILER_SANDBOX_H

#include <sys/types.h>

/* Closes every descriptor from `first` on. */
int sandbox_close_from(int first, char *err);

/* As root only: chroot into an empty directory that no longer exists (made
 * under /tmp, entered, removed), where nothing can be opened or created. */
int sandbox_chroot_empty(char *err);

/* As root only: no supplementary group, then gid and uid, real, effective
 * and saved; then checks that root cannot be taken back. uid 0 is refused. */
int sandbox_drop(uid_t uid, gid_t gid, char *err);

/* No core dump (the webhook secrets are in memory), not dumpable (no
 * ptrace by the same user), at most nofile descriptors. */
int sandbox_limits(unsigned long nofile, char *err);

/* PR_SET_NO_NEW_PRIVS, then the allow-list; a system call outside it kills
 * the process (SIGSYS). Last, once everything that opens a file is done. */
int sandbox_seccomp(char *err);

#endif

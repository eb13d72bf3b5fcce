/*
 * sockio: a unix socket's connect with a time bound, and sends and receives
 * bounded by a deadline (now_ms's clock) on a non-blocking socket: what the
 * Engine API client, exec's raw stream and reconcilerctl's call to the
 * daemon's control socket share.
 */
#ifndef RECONCILER_SOCKIO_H
#define RECONCILER_SOCKIO_H

#include <stddef.h>
#include <sys/types.h>

/* A connected, non-blocking, close-on-exec socket to path in *fd, 0; or -1
 * with errno (EAGAIN: the listener's backlog stayed full for timeout_ms;
 * ENAMETOOLONG: path does not fit). */
int unix_connect(const char *path, long timeout_ms, int *fd);
/* poll(2) on one descriptor until deadline: > 0 ready (or interrupted: try
 * the I/O again), 0 the deadline passed, < 0 poll failed. */
int fd_wait(int fd, short events, long long deadline);
/* All of data sent before deadline: 0, or -1 with errno (ETIMEDOUT). */
int fd_send_all(int fd, const void *data, size_t len, long long deadline);
/* Up to len bytes received before deadline: how many, 0 at EOF, or -1 with
 * errno (ETIMEDOUT). */
ssize_t fd_recv(int fd, void *buf, size_t len, long long deadline);

#endif

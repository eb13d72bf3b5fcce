/*
 * http_unix: one HTTP/1.1 request on a unix socket, answered and closed
 * (reconcilerctl to reconcilerd's control socket), without a library: the
 * answer is read by http_response.c.
 */
#ifndef RECONCILER_HTTP_UNIX_H
#define RECONCILER_HTTP_UNIX_H

#include "util.h"

/*
 * method path (no body) to the server on sock, within timeout_ms. Returns
 * the answer's status with its body in *body (capped at max bytes; the
 * caller releases it), or -1 with err when nothing answered: no socket,
 * nobody listening, a malformed or cut answer, the time ran out.
 */
long http_unix_call(const char *sock, const char *method, const char *path, long timeout_ms,
    size_t max, struct buf *body, char *err);

#endif

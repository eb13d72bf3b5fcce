/*
 * fleet: what a host reads of the other hosts that follow the same
 * repository (the manifest's fleet section, docs/fleet.md). Each host is
 * read through its read-only listener, GET <url>/v1/status, the document
 * its own reconcilerctl status shows; nothing is ever written to a peer.
 */
#ifndef RECONCILER_FLEET_H
#define RECONCILER_FLEET_H

#include <jansson.h>
#include <stddef.h>

#include "manifest.h"

#define FLEET_STATUS_MAX	(4u << 20)	/* a peer's status document, at most */
#define FLEET_TIMEOUT_MS	5000		/* each GET of a peer's status, by default */

/* GET <url>/v1/status: the peer's status object (owned), or -1 with err
 * ("connection refused", "HTTP 503", "not a status document"…). */
int fleet_status_get(const char *url, long timeout_ms, json_t **out, char *err);

/* 1 when st, the status of host `name`, shows service running there and not
 * unhealthy or starting, at revision; 0 otherwise with why ("db1 is at
 * revision 3f2a… (this host at 9c1b…)", "db1 runs no container of web"…). */
int fleet_serves(const json_t *st, const char *name, const char *revision,
    const char *service, char *why, size_t len);

/* What a host that a service moved away from waits on: converge_options'
 * moved_served with this as its payload. With no other host in the fleet
 * section the container goes at once (there is nobody to ask); otherwise it
 * stays until one of them serves the service at this revision. */
struct fleet_wait {
	const struct manifest *m;
	const char *self;	/* this host's name, never asked */
	const char *revision;
	long timeout_ms;	/* each GET */
	/* each host asked once a converge, however many services moved:
	 * name -> its status, or {"error": why}; NULL until the first ask */
	json_t *asked;
};
int fleet_moved_served(const char *service, char *why, size_t len, void *payload);
/* Frees what fleet_moved_served kept of the hosts' answers. */
void fleet_wait_release(struct fleet_wait *fw);

/* Staged rollout: whether every host of names (the config's wait_for, each
 * in m's fleet section) serves revision healthy: its status at that
 * revision, in-sync or converged, that revision quarantined nowhere on it.
 * 1 yes; 0 not yet (why: unreachable, at another revision, converging…);
 * -1 it failed there (why says where and what), and is never to be rolled
 * out here. */
enum { FLEET_WAIT = 0, FLEET_GO = 1, FLEET_FAILED = -1 };
int fleet_approved(const struct manifest *m, char *const *names, size_t n,
    const char *revision, long timeout_ms, char *why, size_t len);

#endif

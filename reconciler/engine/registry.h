/*
 * registry: asks an image registry (Docker Registry HTTP API v2, OCI
 * distribution) which digest a tag points at, with one HEAD on
 * /v2/<name>/manifests/<tag>. When the registry asks for a bearer token
 * (Docker Hub does, even for public images), an anonymous one is fetched from
 * the realm it names. Blocking: for the command line (import-compose).
 */
#ifndef RECONCILER_REGISTRY_H
#define RECONCILER_REGISTRY_H

#include <stddef.h>

struct registry_ref {
	char *host;	/* "registry-1.docker.io" for Docker Hub, else as written */
	char *repo;	/* "library/postgres", "prom/prometheus", "team/app" */
	char *tag;	/* "latest" when none is given */
};

/* Splits NAME[:TAG] (no digest) as Docker reads it: the first component is a
 * registry when it has a '.' or a ':' or is "localhost". -1 when ref has a
 * digest or no name. */
int registry_ref_parse(struct registry_ref *out, const char *ref);
void registry_ref_release(struct registry_ref *r);

/* The registry's digest for ref ("sha256:<64 hex>" into digest, len >= 72).
 * Loopback registries (localhost, 127.0.0.0/8, [::1]) are spoken to over
 * plain HTTP, the others over HTTPS. -1 with a message in err (ERR_LEN). */
int registry_digest(const char *ref, char *digest, size_t len, long timeout_ms, char *err);

#endif

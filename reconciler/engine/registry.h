/*
 * registry: asks an image registry (Docker Registry HTTP API v2, OCI
 * distribution) which digest a tag points at, with one HEAD on
 * /v2/<name>/manifests/<tag> (no pull counted), and when asked the image's
 * creation date. When the registry asks for a bearer token (Docker Hub does,
 * even for public images), one is fetched from the realm it names, with the
 * docker CLI's credentials for that registry if it has some (anonymous
 * otherwise); a Basic challenge gets those credentials. Blocking: for the
 * command line (import-compose, update-images).
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

/* What registry_query learns of a tag: its digest (for a multi-platform
 * index, the index's), and when it is not the pinned one, the image's
 * creation date as the config says it (RFC 3339; NULL when not read or
 * when the config has none). */
struct registry_answer {
	char digest[80];
	char *created;
};

/* The tag's digest; when pinned is not NULL and differs from it, the creation
 * date too (a GET of the manifest, the linux/amd64 one of an index else its
 * first, and of its config blob). -1 with a message naming the registry, the
 * repository and the tag. */
int registry_query(const char *ref, const char *pinned, struct registry_answer *out,
    long timeout_ms, char *err);
void registry_answer_release(struct registry_answer *a);

/* The registry's JSON, parsed (fuzzed): a manifest's config digest (0, into
 * *config) or an index's chosen entry (1, into *child: linux/amd64, else the
 * first); -1 with err. The created date of an image config (0, or -1). */
int registry_manifest_pick(const char *body, size_t len, char **config, char **child,
    char *err);
int registry_config_created(const char *body, size_t len, char **created);

/* The credentials the docker CLI keeps for registry (a host[:port];
 * "docker.io" and its aliases for Docker Hub) in the "auths" of
 * $DOCKER_CONFIG/config.json or ~/.docker/config.json (credential helpers are
 * not run). 1: found (any field may be NULL), 0: none, -1: the file is
 * unreadable or malformed (err). Release wipes the values. */
struct registry_cred {
	char *username;
	char *password;
	char *identitytoken;
};

int registry_cred_lookup(struct registry_cred *out, const char *registry, char *err);
void registry_cred_release(struct registry_cred *c);

#endif

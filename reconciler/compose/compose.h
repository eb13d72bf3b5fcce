/*
 * compose: converts a Compose file into a manifest (docs/manifest.md) for
 * `reconcilerctl import-compose`. Pure: text in, manifest text and a report
 * out; image digests come through a callback so that the caller decides how
 * to reach the engine or a registry. Every Compose key without a manifest
 * equivalent is reported at its position, never dropped silently, and the
 * result is validated by the manifest parser before it is handed back.
 */
#ifndef RECONCILER_COMPOSE_H
#define RECONCILER_COMPOSE_H

#include <stddef.h>

#include "diag.h"

/* Turns "NAME[:TAG]" into "sha256:<64 hex>" (written to digest, 72 bytes or
 * more); -1 with a message in err (ERR_LEN). how names the source ("the
 * engine", "the registry") for the report, and may be left NULL. */
typedef int (*compose_resolve_fn)(const char *ref, char *digest, size_t len, const char **how,
    char *err, void *payload);

struct compose_options {
	const char *project;		/* NULL: the file's `name:`, else default_project */
	const char *default_project;	/* the Compose default: the directory's name */
	const char *base_dir;		/* absolute: relative bind sources start there */
	const char *const *images;	/* "SERVICE=REF" overrides, NULL-terminated, or NULL */
	compose_resolve_fn resolve;	/* NULL: tags are kept (allow_tags: true) */
	void *payload;
};
#define COMPOSE_OPTIONS_INIT { NULL, NULL, "/", NULL, NULL, NULL }

struct compose_result {
	char *text;		/* the manifest, NUL-terminated */
	size_t len;
	size_t nservices;
	size_t nunmapped;	/* reports that ask for work: not mapped, not pinned */
	size_t nsecrets;	/* files to create in the secrets directory */
};

/* The report lines, in the diag, read "file:line:col: path: LEVEL: message"
 * with LEVEL one of "not mapped" (counted in nunmapped), "not pinned" (a tag
 * --resolve could not turn into a digest, counted too), "secret" (a value
 * became a secret ref) or "note". Errors that stop the conversion (the file
 * is not YAML, not a mapping, has no services) have no level.
 * Returns 0 when everything mapped, 1 when the manifest was written but
 * something is left to do (nunmapped > 0), -1 on an error (out->text NULL). */
int compose_convert(struct compose_result *out, const char *file, const char *src, size_t len,
    const struct compose_options *opts, struct diag *d);
void compose_result_release(struct compose_result *r);

/* The Compose default project name from a directory name: lowercased, only
 * [a-z0-9_-] kept, leading '_' and '-' dropped. NULL when nothing is left. */
char *compose_project_name(const char *dirname);

#endif

/*
 * reconcilerctl import-compose: converts a Compose file into a manifest;
 * --resolve pins each image by digest (the engine's copy, else the registry).
 */
#include "cli.h"
#include "compose.h"
#include "diag.h"
#include "docker.h"
#include "manifest.h"
#include "registry.h"
#include "util.h"
#include "yamltree.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Digests for --resolve: the engine's own copy of the image first (what
 * `docker compose up` would run), then the registry. */
struct resolver {
	const char *host;
	struct docker *d;
	int opened;
};

static int
same_repo(const char *a, const char *b)
{
	struct registry_ref ra, rb;
	int same;

	if (registry_ref_parse(&ra, a) < 0)
		return 0;
	if (registry_ref_parse(&rb, b) < 0) {
		registry_ref_release(&ra);
		return 0;
	}
	same = strcmp(ra.host, rb.host) == 0 && strcmp(ra.repo, rb.repo) == 0;
	registry_ref_release(&ra);
	registry_ref_release(&rb);
	return same;
}

static int
engine_digest(struct resolver *r, const char *ref, char *digest, size_t len)
{
	char err[ERR_LEN];
	json_t *img = NULL, *rd;
	size_t i;
	int rc = -1;

	if (!r->opened) {
		struct docker_options o = DOCKER_OPTIONS_INIT;

		r->opened = 1;
		o.host = r->host;
		o.timeout_ms = 10000;
		if (docker_open(&r->d, &o, err) < 0)
			r->d = NULL;	/* no engine here: the registry is asked */
	}
	if (!r->d || docker_image_inspect(r->d, ref, &img, err) != 0)
		return -1;
	json_array_foreach(json_object_get(img, "RepoDigests"), i, rd) {
		const char *s = json_string_value(rd), *at = s ? strstr(s, "@sha256:") : NULL;
		char *name;

		if (!at || strlen(at + 1) >= len)
			continue;
		name = xstrndup(s, (size_t)(at - s));
		if (same_repo(name, ref)) {
			snprintf(digest, len, "%s", at + 1);
			rc = 0;
		}
		free(name);
		if (rc == 0)
			break;
	}
	json_decref(img);
	return rc;
}

static int
resolve_image(const char *ref, char *digest, size_t len, const char **how, char *err,
    void *payload)
{
	struct resolver *r = payload;

	if (engine_digest(r, ref, digest, len) == 0) {
		*how = "the engine's copy";
		return 0;
	}
	if (registry_digest(ref, digest, len, 20000, err) == 0) {
		*how = "the registry";
		return 0;
	}
	return -1;
}

enum { OPT_FORCE = 400, OPT_RESOLVE, OPT_PROJECT, OPT_IMAGE, OPT_BASEDIR };

/* What the command line asks for; the strings point into argv. */
struct import_args {
	struct compose_options co;
	const char *output, *file, *base, *host;
	char **images;		/* --image SERVICE=REF, NULL-terminated */
	size_t nimages;
	int force, resolve;
};

/* Parses the options and the one Compose file. -1 when the command ends
 * here with *rc (its help, or a usage error printed), else 0. */
static int
import_args_parse(struct import_args *a, int argc, char **argv, int *rc)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "resolve", no_argument, NULL, OPT_RESOLVE },
		{ "project", required_argument, NULL, OPT_PROJECT },
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "base-dir", required_argument, NULL, OPT_BASEDIR },
		{ "host", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "o:H:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': a->output = optarg; break;
		case OPT_FORCE: a->force = 1; break;
		case OPT_RESOLVE: a->resolve = 1; break;
		case OPT_PROJECT:
			if (!manifest_name_ok(optarg)) {
				*rc = cli_usage_error("import-compose", "--project '%s': 1-63 lowercase "
				    "letters, digits, '_', '-'", optarg);
				return -1;
			}
			a->co.project = optarg;
			break;
		case OPT_IMAGE:
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				*rc = cli_usage_error("import-compose", "--image wants SERVICE=REF");
				return -1;
			}
			a->images[a->nimages++] = optarg;
			break;
		case OPT_BASEDIR:
			if (optarg[0] != '/') {
				*rc = cli_usage_error("import-compose", "--base-dir wants an absolute path "
				    "(the directory the relative bind mounts are in on the host)");
				return -1;
			}
			a->base = optarg;
			break;
		case 'H': a->host = optarg; break;
		case 'h':
			printf("usage: reconcilerctl import-compose %s\n",
			    cli_find_command("import-compose")->usage);
			*rc = 0;
			return -1;
		default:
			*rc = cli_usage_error("import-compose", "unknown option");
			return -1;
		}
	}
	if (argc - optind != 1) {
		*rc = cli_usage_error("import-compose", argc - optind ? "one Compose file at a time" :
		    "no Compose file given");
		return -1;
	}
	a->file = argv[optind];
	return 0;
}

/* Reads the Compose file, up to the YAML size limit; errors are printed. */
static int
import_read(const char *file, char **src, size_t *len)
{
	char err[ERR_LEN];

	if (file_read(file, YT_MAX_SIZE + 1, src, len, err) < 0) {
		fprintf(stderr, "reconcilerctl import-compose: %s\n", err);
		return -1;
	}
	if (*len > YT_MAX_SIZE) {
		fprintf(stderr, "reconcilerctl import-compose: %s is larger than the limit of %u "
		    "bytes\n", file, YT_MAX_SIZE);
		return -1;
	}
	return 0;
}

/* Compose takes the values of the variables from the .env file next to the
 * Compose file; it is not read here (its values are the secrets), only
 * pointed at. */
static void
import_env_note(const struct compose_result *res, const char *file, const char *dir)
{
	char *envf = xasprintf("%s/.env", dir);

	if (res->nsecrets && access(envf, F_OK) == 0)
		fprintf(stderr, "%s: note: %s sets the variables' values for Compose: they go into "
		    "the secret files listed at the end (it was not read)\n", file, envf);
	free(envf);
}

/* The manifest into -o (replaced atomically) or onto the standard output;
 * errors are printed. */
static int
import_write(const struct compose_result *res, const char *output)
{
	char err[ERR_LEN];

	if (output) {
		if (file_write_atomic(output, res->text, res->len, 0644, err) < 0) {
			fprintf(stderr, "reconcilerctl import-compose: %s\n", err);
			return -1;
		}
	} else if (fwrite(res->text, 1, res->len, stdout) != res->len || fflush(stdout) != 0) {
		fprintf(stderr, "reconcilerctl import-compose: writing the output: %s\n",
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
cmd_import_compose(int argc, char **argv)
{
	struct import_args a = { .co = COMPOSE_OPTIONS_INIT };
	struct compose_result res = { 0 };
	struct resolver rv = { 0 };
	char real[PATH_MAX], *src = NULL, *dir = NULL, *defproj = NULL;
	int rc = EXIT_USAGE;
	size_t len;
	struct diag d;

	a.images = xcalloc((size_t)argc + 1, sizeof(*a.images));
	diag_init(&d, "");
	if (import_args_parse(&a, argc, argv, &rc) < 0)
		goto out;
	rv.host = a.host;
	if (a.output && !a.force && access(a.output, F_OK) == 0) {
		fprintf(stderr, "reconcilerctl import-compose: %s exists (give --force to replace "
		    "it)\n", a.output);
		goto out;
	}
	if (import_read(a.file, &src, &len) < 0)
		goto out;
	/* As Compose: relative paths and the default project come from the
	 * directory that holds the file (--base-dir: where those paths are on
	 * the host that will run it, which need not be this one). */
	dir = xstrdup(a.file);
	if (!realpath(dirname(dir), real)) {
		fprintf(stderr, "reconcilerctl import-compose: %s: %s\n", a.file, strerror(errno));
		goto out;
	}
	a.co.base_dir = a.base ? a.base : real;
	defproj = compose_project_name(strrchr(real, '/') ? strrchr(real, '/') + 1 : real);
	a.co.default_project = defproj;
	a.co.images = (const char *const *)a.images;
	if (a.resolve) {
		a.co.resolve = resolve_image;
		a.co.payload = &rv;
	}
	diag_release(&d);
	diag_init(&d, a.file);
	rc = compose_convert(&res, a.file, src, len, &a.co, &d);
	diag_print(&d, stderr);
	if (rc < 0) {
		fprintf(stderr, "reconcilerctl import-compose: %s was not converted\n", a.file);
		rc = EXIT_USAGE;
		goto out;
	}
	import_env_note(&res, a.file, real);
	if (import_write(&res, a.output) < 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	fprintf(stderr, "import-compose: %zu service%s written to %s; %zu thing%s not mapped or "
	    "not pinned%s; %zu secret file%s to create%s\n", res.nservices,
	    res.nservices == 1 ? "" : "s", a.output ? a.output : "the standard output",
	    res.nunmapped, res.nunmapped == 1 ? "" : "s", res.nunmapped ? " (see above)" : "",
	    res.nsecrets, res.nsecrets == 1 ? "" : "s", res.nsecrets ? " (listed at the end)" : "");
out:
	compose_result_release(&res);
	docker_free(rv.d);
	diag_release(&d);
	free(defproj);
	free(dir);
	free(src);
	free(a.images);
	return rc;
}

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

int
cmd_import_compose(int argc, char **argv)
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
	struct compose_options co = COMPOSE_OPTIONS_INIT;
	struct compose_result res = { 0 };
	struct resolver rv = { 0 };
	const char *output = NULL, *file, *base = NULL;
	char err[ERR_LEN], real[PATH_MAX], *src = NULL, *dir = NULL, *defproj = NULL;
	char **images = xcalloc((size_t)argc + 1, sizeof(*images));
	int force = 0, resolve = 0, c, rc = EXIT_USAGE;
	size_t len, nimages = 0;
	struct diag d;

	diag_init(&d, "");
	while ((c = getopt_long(argc, argv, "o:H:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case OPT_FORCE: force = 1; break;
		case OPT_RESOLVE: resolve = 1; break;
		case OPT_PROJECT:
			if (!manifest_name_ok(optarg)) {
				rc = cli_usage_error("import-compose", "--project '%s': 1-63 lowercase letters, "
				    "digits, '_', '-'", optarg);
				goto out;
			}
			co.project = optarg;
			break;
		case OPT_IMAGE:
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				rc = cli_usage_error("import-compose", "--image wants SERVICE=REF");
				goto out;
			}
			images[nimages++] = optarg;
			break;
		case OPT_BASEDIR:
			if (optarg[0] != '/') {
				rc = cli_usage_error("import-compose", "--base-dir wants an absolute path (the "
				    "directory the relative bind mounts are in on the host)");
				goto out;
			}
			base = optarg;
			break;
		case 'H': rv.host = optarg; break;
		case 'h':
			printf("usage: reconcilerctl import-compose %s\n",
			    cli_find_command("import-compose")->usage);
			rc = 0;
			goto out;
		default:
			rc = cli_usage_error("import-compose", "unknown option");
			goto out;
		}
	}
	if (argc - optind != 1) {
		rc = cli_usage_error("import-compose", argc - optind ? "one Compose file at a time" :
		    "no Compose file given");
		goto out;
	}
	file = argv[optind];
	if (output && !force && access(output, F_OK) == 0) {
		fprintf(stderr, "reconcilerctl import-compose: %s exists (give --force to replace "
		    "it)\n", output);
		goto out;
	}
	if (file_read(file, YT_MAX_SIZE + 1, &src, &len, err) < 0) {
		fprintf(stderr, "reconcilerctl import-compose: %s\n", err);
		goto out;
	}
	if (len > YT_MAX_SIZE) {
		fprintf(stderr, "reconcilerctl import-compose: %s is larger than the limit of %u "
		    "bytes\n", file, YT_MAX_SIZE);
		goto out;
	}
	/* As Compose: relative paths and the default project come from the
	 * directory that holds the file (--base-dir: where those paths are on
	 * the host that will run it, which need not be this one). */
	dir = xstrdup(file);
	if (!realpath(dirname(dir), real)) {
		fprintf(stderr, "reconcilerctl import-compose: %s: %s\n", file, strerror(errno));
		goto out;
	}
	co.base_dir = base ? base : real;
	defproj = compose_project_name(strrchr(real, '/') ? strrchr(real, '/') + 1 : real);
	co.default_project = defproj;
	co.images = (const char *const *)images;
	if (resolve) {
		co.resolve = resolve_image;
		co.payload = &rv;
	}
	diag_release(&d);
	diag_init(&d, file);
	rc = compose_convert(&res, file, src, len, &co, &d);
	diag_print(&d, stderr);
	if (rc < 0) {
		fprintf(stderr, "reconcilerctl import-compose: %s was not converted\n", file);
		rc = EXIT_USAGE;
		goto out;
	}
	{
		/* Compose takes the values of the variables from this file; it is
		 * not read here (its values are the secrets), only pointed at. */
		char *envf = xasprintf("%s/.env", real);

		if (res.nsecrets && access(envf, F_OK) == 0)
			fprintf(stderr, "%s: note: %s sets the variables' values for Compose: they go into "
			    "the secret files listed at the end (it was not read)\n", file, envf);
		free(envf);
	}
	if (output) {
		if (file_write_atomic(output, res.text, res.len, 0644, err) < 0) {
			fprintf(stderr, "reconcilerctl import-compose: %s\n", err);
			rc = EXIT_USAGE;
			goto out;
		}
	} else if (fwrite(res.text, 1, res.len, stdout) != res.len || fflush(stdout) != 0) {
		fprintf(stderr, "reconcilerctl import-compose: writing the output: %s\n",
		    strerror(errno));
		rc = EXIT_USAGE;
		goto out;
	}
	fprintf(stderr, "import-compose: %zu service%s written to %s; %zu thing%s not mapped or "
	    "not pinned%s; %zu secret file%s to create%s\n", res.nservices,
	    res.nservices == 1 ? "" : "s", output ? output : "the standard output", res.nunmapped,
	    res.nunmapped == 1 ? "" : "s", res.nunmapped ? " (see above)" : "", res.nsecrets,
	    res.nsecrets == 1 ? "" : "s", res.nsecrets ? " (listed at the end)" : "");
out:
	compose_result_release(&res);
	docker_free(rv.d);
	diag_release(&d);
	free(defproj);
	free(dir);
	free(src);
	free(images);
	return rc;
}

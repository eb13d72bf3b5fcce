/*
 * reconcilerctl validate: checks manifests, and the keys their backend
 * refuses (--backend), and reports the errors as text, JSON or GitHub
 * workflow commands (the exit status says valid or not).
 */
#include "cli.h"
#include "diag.h"
#include "manifest.h"
#include "util.h"
#include "yamltree.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The size of path when it is a file over the manifest's size limit, else 0. */
static long long
too_big(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > (off_t)YT_MAX_SIZE)
		return (long long)st.st_size;
	return 0;
}

static json_t *
diag_json(const struct diag *d)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < d->n; i++)
		json_array_append_new(arr, json_pack("{s:i,s:i,s:s,s:s}", "line", d->v[i].line,
		    "column", d->v[i].col, "path", d->v[i].path, "message", d->v[i].msg));
	return arr;
}

/* Prints s escaped as a workflow command's message (property: also as one of
 * its name=value properties), so a '%', a newline, or a ',' in a file name
 * cannot end the annotation early or start another command. */
static void
gh_escaped(const char *s, int property)
{
	for (; *s; s++) {
		if (*s == '%' || *s == '\r' || *s == '\n' || (property && (*s == ':' || *s == ',')))
			printf("%%%02X", (unsigned char)*s);
		else
			putchar(*s);
	}
}

int
cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "github", no_argument, NULL, 'g' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "backend", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, github = 0, quiet = 0, rc = 0, c;
	const char *backend = "containers";
	json_t *files = json_array();

	while ((c = getopt_long(argc, argv, "jgqh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'g': github = 1; break;
		case 'q': quiet = 1; break;
		case 'b': backend = optarg; break;
		case 'h':
			printf("usage: reconcilerctl validate %s\n", cli_find_command("validate")->usage);
			json_decref(files);
			return 0;
		default:
			json_decref(files);
			return cli_usage_error("validate", "unknown option");
		}
	}
	if (optind >= argc) {
		json_decref(files);
		return cli_usage_error("validate", "no manifest given");
	}
	if (strcmp(backend, "containers") != 0 && strcmp(backend, "swarm") != 0) {
		json_decref(files);
		return cli_usage_error("validate", "unknown backend '%s' (expected containers or swarm)",
		    backend);
	}
	for (int i = optind; i < argc; i++) {
		char err[ERR_LEN], *src;
		struct manifest *m = NULL;
		struct diag d;
		size_t len;
		long long big = 0;

		/* a file over the limit is an invalid manifest, not an I/O error */
		if (file_read(argv[i], YT_MAX_SIZE, &src, &len, err) < 0 &&
		    (big = too_big(argv[i])) == 0) {
			fprintf(stderr, "reconcilerctl validate: %s\n", err);
			json_decref(files);
			return EXIT_USAGE;
		}
		diag_init(&d, argv[i]);
		if (big)
			diag_add(&d, 0, 0, "", "document is %lld bytes, more than the limit of %u bytes",
			    big, YT_MAX_SIZE);
		else if (manifest_parse(&m, argv[i], src, len, &d) == 0)
			manifest_check_backend(m, backend, &d);
		if (d.n && rc == 0)
			rc = 1;
		if (json) {
			json_array_append_new(files, json_pack("{s:s,s:b,s:o}", "file", argv[i],
			    "valid", d.n == 0, "errors", diag_json(&d)));
		} else if (github) {
			for (size_t k = 0; k < d.n; k++) {
				fputs("::error file=", stdout);
				gh_escaped(argv[i], 1);
				printf(",line=%d,col=%d::", d.v[k].line ? d.v[k].line : 1,
				    d.v[k].col ? d.v[k].col : 1);
				if (*d.v[k].path) {
					gh_escaped(d.v[k].path, 0);
					fputs(": ", stdout);
				}
				gh_escaped(d.v[k].msg, 0);
				putchar('\n');
			}
		} else {
			diag_print(&d, stderr);
			if (!d.n && !quiet && m)
				printf("%s: valid (%zu service%s%s)\n", argv[i], m->nservices,
				    m->nservices == 1 ? "" : "s",
				    strcmp(backend, "swarm") == 0 ? ", backend swarm" : "");
		}
		manifest_free(m);
		diag_release(&d);
		free(src);
	}
	if (json) {
		json_t *o = json_pack("{s:b,s:s,s:o}", "valid", rc == 0, "backend", backend,
		    "files", files);

		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		json_decref(files);
	}
	return rc;
}

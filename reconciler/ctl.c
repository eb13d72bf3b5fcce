/*
 * reconcilerctl: the operator's command line. A table of subcommands, each a
 * thin cmd_<name> over the library the daemon uses.
 */
#include "diag.h"
#include "manifest.h"
#include "setimage.h"
#include "util.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *summary;
};

static const struct command *find_command(const char *name);

static int
usage_error(const char *name, const char *fmt, ...)
{
	const struct command *c = find_command(name);
	va_list ap;

	fprintf(stderr, "reconcilerctl %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: reconcilerctl %s %s\n", name, c ? c->usage : "");
	return EXIT_USAGE;
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

/* --- validate ------------------------------------------------------------- */

static int
cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "github", no_argument, NULL, 'g' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, github = 0, quiet = 0, rc = 0, c;
	json_t *files = json_array();

	while ((c = getopt_long(argc, argv, "jgqh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'g': github = 1; break;
		case 'q': quiet = 1; break;
		case 'h':
			printf("usage: reconcilerctl validate %s\n", find_command("validate")->usage);
			json_decref(files);
			return 0;
		default:
			json_decref(files);
			return usage_error("validate", "unknown option");
		}
	}
	if (optind >= argc) {
		json_decref(files);
		return usage_error("validate", "no manifest given");
	}
	for (int i = optind; i < argc; i++) {
		char err[ERR_LEN], *src;
		struct manifest *m = NULL;
		struct diag d;
		size_t len;

		if (file_read(argv[i], YT_MAX_SIZE + 1, &src, &len, err) < 0) {
			fprintf(stderr, "reconcilerctl validate: %s\n", err);
			json_decref(files);
			return EXIT_USAGE;
		}
		diag_init(&d, argv[i]);
		if (len > YT_MAX_SIZE)
			diag_add(&d, 0, 0, "", "document is larger than the limit of %u bytes",
			    YT_MAX_SIZE);
		else
			manifest_parse(&m, argv[i], src, len, &d);
		if (d.n && rc == 0)
			rc = 1;
		if (json) {
			json_array_append_new(files, json_pack("{s:s,s:b,s:o}", "file", argv[i],
			    "valid", d.n == 0, "errors", diag_json(&d)));
		} else if (github) {
			for (size_t k = 0; k < d.n; k++)
				printf("::error file=%s,line=%d,col=%d::%s: %s\n", argv[i],
				    d.v[k].line ? d.v[k].line : 1, d.v[k].col ? d.v[k].col : 1,
				    d.v[k].path, d.v[k].msg);
		} else {
			diag_print(&d, stderr);
			if (!d.n && !quiet)
				printf("%s: valid (%zu service%s)\n", argv[i], m->nservices,
				    m->nservices == 1 ? "" : "s");
		}
		manifest_free(m);
		diag_release(&d);
		free(src);
	}
	if (json) {
		json_t *o = json_pack("{s:b,s:o}", "valid", rc == 0, "files", files);

		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		json_decref(files);
	}
	return rc;
}

/* --- set-image ------------------------------------------------------------ */

static int
cmd_set_image(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[ERR_LEN] = "";
	struct diag d;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			printf("usage: reconcilerctl set-image %s\n", find_command("set-image")->usage);
			return 0;
		}
		return usage_error("set-image", "unknown option");
	}
	if (argc - optind != 3)
		return usage_error("set-image", "expected FILE SERVICE IMAGE@sha256:DIGEST");
	diag_init(&d, argv[optind]);
	rc = setimage_file(argv[optind], argv[optind + 1], argv[optind + 2], &d, err);
	diag_print(&d, stderr);
	diag_release(&d);
	if (rc < 0) {
		fprintf(stderr, "reconcilerctl set-image: %s\n", err);
		return 1;
	}
	printf("%s: services.%s.image %s\n", argv[optind], argv[optind + 1],
	    rc == 1 ? "already set, nothing to do" : "updated");
	return 0;
}

/* --- version, help -------------------------------------------------------- */

static int
cmd_version(int argc, char **argv)
{
	printf("reconcilerctl %s (%s)\n", RECONCILER_VERSION, RECONCILER_GIT_REV);
	return 0;
}

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "validate", cmd_validate, "[--json|--github] FILE...",
	  "check manifests; exit 0 valid, 1 invalid, 2 usage or I/O error" },
	{ "set-image", cmd_set_image, "FILE SERVICE IMAGE@sha256:DIGEST",
	  "replace one service's image digest in place, keeping everything else" },
	{ "version", cmd_version, "", "print the version" },
	{ "help", cmd_help, "[COMMAND]", "show this help" },
	{ NULL, NULL, NULL, NULL },
};

static const struct command *
find_command(const char *name)
{
	for (const struct command *c = commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static int
cmd_help(int argc, char **argv)
{
	if (argc > 1 && find_command(argv[1])) {
		const struct command *c = find_command(argv[1]);

		printf("usage: reconcilerctl %s %s\n\n%s\n", c->name, c->usage, c->summary);
		return 0;
	}
	printf("usage: reconcilerctl COMMAND [ARGS]\n\ncommands:\n");
	for (const struct command *c = commands; c->name; c++)
		printf("  %-10s %s\n", c->name, c->summary);
	printf("\nSee reconcilerctl(1) and reconciler-manifest(5).\n");
	return 0;
}

int
main(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2) {
		cmd_help(0, NULL);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(argc - 1, argv + 1);
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(argc - 1, argv + 1);
	if (!(c = find_command(argv[1]))) {
		fprintf(stderr, "reconcilerctl: unknown command '%s' (see reconcilerctl help)\n",
		    argv[1]);
		return EXIT_USAGE;
	}
	optind = 1;
	return c->fn(argc - 1, argv + 1);
}

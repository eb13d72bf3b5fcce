/*
 * reconcilerctl: the operator's command line. A table of subcommands, each a
 * thin cmd_<name> over the library the daemon uses (cmd_<name>.c); this file
 * holds the table, help, version and main.
 */
#include "cli.h"
#include "gitsrc.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>


int
cli_usage_error(const char *name, const char *fmt, ...)
{
	const struct command *c = cli_find_command(name);
	va_list ap;

	fprintf(stderr, "reconcilerctl %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: reconcilerctl %s %s\n", name, c ? c->usage : "");
	return EXIT_USAGE;
}

void
cli_fmt_time(long long t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M:%SZ", &tm);
}

int
cmd_version(int argc, char **argv)
{
	printf("reconcilerctl %s (%s)\n", RECONCILER_VERSION, RECONCILER_GIT_REV);
	return 0;
}

static const struct command commands[] = {
	{ "validate", cmd_validate, "[--json|--github] [--backend containers|swarm] FILE...",
	  "check manifests (for a backend: containers by default); exit 0 valid, 1 invalid, "
	  "2 usage or I/O error" },
	{ "set-image", cmd_set_image, "[--commit [-m MSG] [--author 'N <E>'] [--sign SSH_KEY]]\n"
	  "       [--push [--remote R]\n"
	  "       [--token-file F | --ssh-key K --known-hosts H]] FILE SERVICE IMAGE@sha256:DIGEST",
	  "replace one service's image digest in place, keeping everything else" },
	{ "update-images", cmd_update_images, "[-f FILE] [--dry-run] [--timeout D]\n"
	  "       [--commit [-m MSG] [--author 'N <E>'] [--sign SSH_KEY]]\n"
	  "       [--push [--remote R] | --branch NAME [--remote R]]\n"
	  "       [--token-file F | --ssh-key K --known-hosts H]",
	  "write the new digests of the tags services track, past their cooldown; exit 0 nothing "
	  "to do, 1 updated (or would be, with --dry-run), 2 error" },
	{ "diff", cmd_diff, "[-f FILE | --repo URL [--ref REF] [--path P]] [--json] [--no-color]\n"
	  "       [--config F | --token-file F | --ssh-key K --known-hosts H]\n"
	  "       [--secrets-dir DIR] [--state-dir DIR] [--socket PATH] [-H unix:///path/docker.sock]\n"
	  "       [--backend containers|swarm] [--host-name NAME] [--host-label KEY=VALUE]...\n"
	  "       [--age-identity FILE]",
	  "show drift between the manifest (or reconcilerd's) and the engine; exit 0 in sync, 1 drift, 2 error" },
	{ "apply", cmd_apply, "[-f FILE | --repo URL …] [--revision REV] [-j N] [-H HOST]\n"
	  "       [--backend containers|swarm] [--host-name NAME] [--host-label KEY=VALUE]...",
	  "converge once from a manifest without a daemon (bootstrap, tests); exit 0 ok, 1 failed" },
	{ "status", cmd_status, "[-f FILE | --repo URL … | -p PROJECT] [--json] [--backend containers|swarm]\n"
	  "       [--host-name NAME] [--host-label KEY=VALUE]...",
	  "show each service's container, state, health, uptime, revision and image" },
	{ "sync", cmd_sync, "[--retry] [--wait [--timeout DURATION]] [--state-dir DIR]",
	  "ask the running reconcilerd for a cycle now; --retry clears quarantined revisions" },
	{ "history", cmd_history, "[--limit N] [--json] [--state-dir DIR]",
	  "show the journal: cycles, actions, reasons and outcomes, newest first" },
	{ "import-compose", cmd_import_compose, "[--resolve [-H HOST]] [-o FILE [--force]] "
	  "[--project NAME]\n       [--image SERVICE=REF]... [--base-dir DIR] COMPOSE_FILE",
	  "convert a Compose file into a manifest; exit 0 all mapped, 1 not all, 2 error" },
	{ "backup", cmd_backup, "list [NAME] [--json] | run NAME [--wait] | verify NAME FILE |\n"
	  "       restore NAME FILE [--yes]   [-f FILE | --repo URL …] [--state-dir DIR] [-H HOST]",
	  "list, take, check and restore the manifest's backups" },
	{ "fleet", cmd_fleet, "status [-f FILE | --repo URL [--ref REF] [--path P]] [--json]\n"
	  "       [--timeout DURATION] [--config F | --token-file F | --ssh-key K --known-hosts H]",
	  "show every host of the manifest's fleet section; exit 0 all at the head and in sync, 1 not" },
	{ "secret", cmd_secret, "set NAME [-f FILE] [--recipients FILE] [--commit [-m MSG]\n"
	  "       [--author 'N <E>'] [--sign SSH_KEY]] [--push [--remote R]\n"
	  "       [--token-file F | --ssh-key K --known-hosts H]] < VALUE",
	  "encrypt a value from stdin with age into the file the manifest's secrets section names" },
	{ "version", cmd_version, "", "print the version" },
	{ "help", cmd_help, "[COMMAND]", "show this help" },
	{ NULL, NULL, NULL, NULL },
};

const struct command *
cli_find_command(const char *name)
{
	for (const struct command *c = commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int
cmd_help(int argc, char **argv)
{
	if (argc > 1 && cli_find_command(argv[1])) {
		const struct command *c = cli_find_command(argv[1]);

		printf("usage: reconcilerctl %s %s\n\n%s\n", c->name, c->usage, c->summary);
		return 0;
	}
	printf("usage: reconcilerctl COMMAND [ARGS]\n\ncommands:\n");
	for (const struct command *c = commands; c->name; c++)
		printf("  %-14s %s\n", c->name, c->summary);
	printf("\nSee reconcilerctl(1) and reconciler-manifest(5).\n");
	return 0;
}

int
main(int argc, char **argv)
{
	const struct command *c;
	int rc;

	if (argc < 2) {
		cmd_help(0, NULL);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(argc - 1, argv + 1);
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(argc - 1, argv + 1);
	if (!(c = cli_find_command(argv[1]))) {
		fprintf(stderr, "reconcilerctl: unknown command '%s' (see reconcilerctl help)\n",
		    argv[1]);
		return EXIT_USAGE;
	}
	optind = 1;
	rc = c->fn(argc - 1, argv + 1);
	gitsrc_shutdown();
	return rc;
}

/*
 * reconcilerctl secret set: encrypts a value read from stdin with age to the
 * repository's recipients, into the file the manifest's secrets section
 * names for it, then optionally commits and pushes that file. The value is
 * never written anywhere but in its encrypted form.
 */
#include "age.h"
#include "cli.h"
#include "cli_git.h"
#include "cli_source.h"
#include "diag.h"
#include "gitsrc.h"
#include "manifest.h"
#include "secrets.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECIPIENTS_DEFAULT "secrets/recipients.txt"

/* All of stdin, at most SECRETS_MAX_SIZE bytes (free with secret_free). */
static int
read_stdin(char **out, size_t *len, char *err)
{
	size_t cap = 4096, n = 0;
	char *b = xmalloc(cap);

	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap > SECRETS_MAX_SIZE) {
				secret_free(b, n);
				return errf(err, "the value on stdin is larger than %u bytes",
				    SECRETS_MAX_SIZE);
			}
			/* grown by hand so that no copy of the value is left unwiped */
			nb = xmalloc(cap * 2);
			memcpy(nb, b, n);
			secret_free(b, n);
			b = nb;
			cap *= 2;
		}
		r = read(STDIN_FILENO, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			secret_free(b, n);
			return errf(err, "stdin: %s", strerror(errno));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > SECRETS_MAX_SIZE) {
		secret_free(b, n);
		return errf(err, "the value on stdin is larger than %u bytes", SECRETS_MAX_SIZE);
	}
	*out = b;
	*len = n;
	return 0;
}

struct secret_opts {
	const char *file, *recipients;
	struct cli_git git;
};

/* The target file and the recipients file, from the manifest's top. */
static int
locate(const struct secret_opts *o, const char *name, char **target, char **recipients)
{
	const struct mf_git_secret *g;
	struct manifest *m = NULL;
	struct diag d;
	char *top;
	int rc = -1;

	diag_init(&d, o->file);
	if (manifest_load(&m, o->file, &d) < 0) {
		diag_print(&d, stderr);
		fprintf(stderr, "reconcilerctl secret: the manifest '%s' is not valid\n", o->file);
		goto out;
	}
	if (!(g = manifest_git_secret(m, name))) {
		fprintf(stderr, "reconcilerctl secret: '%s' is not in the secrets section of %s: add "
		    "it first, e.g.\n\nsecrets:\n  %s:\n    file: secrets/%s.age\n", name, o->file,
		    name, name);
		goto out;
	}
	if (!(top = cli_worktree_top(o->file))) {
		char *abs = realpath(o->file, NULL), *slash = abs ? strrchr(abs, '/') : NULL;

		if (slash)
			*(slash == abs ? slash + 1 : slash) = '\0';
		top = abs;
	}
	if (!top) {
		fprintf(stderr, "reconcilerctl secret: %s: %s\n", o->file, strerror(errno));
		goto out;
	}
	*target = xasprintf("%s/%s", top, g->file);
	*recipients = o->recipients ? xstrdup(o->recipients) :
	    xasprintf("%s/" RECIPIENTS_DEFAULT, top);
	free(top);
	rc = 0;
out:
	diag_release(&d);
	manifest_free(m);
	return rc;
}

static int
secret_set(struct secret_opts *o, const char *name)
{
	char err[ERR_LEN], *value = NULL, *cipher = NULL, *msg = NULL;
	char *target = NULL, *recipients = NULL;
	size_t vlen = 0, clen = 0;
	int rc = 1;

	if (!manifest_secret_name_ok(name))
		return cli_usage_error("secret", "invalid secret name '%s' (letters, digits, '.', "
		    "'_', '-')", name);
	if (isatty(STDIN_FILENO))
		return cli_usage_error("secret", "the value is read from stdin, not a terminal "
		    "(e.g. printf '%%s' \"$VALUE\" | reconcilerctl secret set %s)", name);
	if (locate(o, name, &target, &recipients) < 0)
		goto out;
	if (access(recipients, R_OK) < 0) {
		fprintf(stderr, "reconcilerctl secret: the recipients file '%s': %s (one age1… "
		    "public key a line: age-keygen -y IDENTITY >> %s)\n", recipients,
		    strerror(errno), recipients);
		goto out;
	}
	if (read_stdin(&value, &vlen, err) < 0 || (vlen == 0 && errf(err, "the value on stdin "
	    "is empty") < 0) || age_encrypt(recipients, value, vlen, &cipher, &clen, err) < 0 ||
	    file_write_atomic(target, cipher, clen, 0644, err) < 0) {
		fprintf(stderr, "reconcilerctl secret: %s\n", err);
		goto out;
	}
	printf("%s: secret '%s' encrypted to the recipients of %s\n", target, name, recipients);
	msg = xasprintf("secrets: set %s", name);
	if (o->git.commit && cli_git_commit_push(&o->git, "secret", target, msg, NULL) < 0)
		goto out;
	rc = 0;
out:
	secret_free(value, vlen);
	free(cipher);
	free(msg);
	free(target);
	free(recipients);
	return rc;
}

enum { OPT_RECIPIENTS = CLI_GIT_LAST };

int
cmd_secret(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "recipients", required_argument, NULL, OPT_RECIPIENTS },
		CLI_GIT_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct secret_opts o = { .file = DEFAULT_MANIFEST };
	int c, rc;

	while ((c = getopt_long(argc, argv, "f:m:h", opts, NULL)) != -1) {
		if (cli_git_option(&o.git, c, optarg))
			continue;
		switch (c) {
		case 'f': o.file = optarg; break;
		case OPT_RECIPIENTS: o.recipients = optarg; break;
		case 'h':
			printf("usage: reconcilerctl secret %s\n", cli_find_command("secret")->usage);
			return 0;
		default:
			return cli_usage_error("secret", "unknown option");
		}
	}
	if (argc - optind != 2 || strcmp(argv[optind], "set") != 0)
		return cli_usage_error("secret", "expected set NAME");
	if (cli_git_check(&o.git) < 0)
		return cli_usage_error("secret", "--author wants \"Name <email>\"");
	rc = secret_set(&o, argv[optind + 1]);
	cli_git_release(&o.git);
	return rc;
}

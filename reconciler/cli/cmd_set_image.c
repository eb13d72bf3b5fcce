/*
 * reconcilerctl set-image: replaces one service's image digest in a manifest
 * file in place, then optionally commits and pushes the change.
 */
#include "cli.h"
#include "diag.h"
#include "gitsrc.h"
#include "setimage.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
parse_author(const char *a, char **name, char **email)
{
	const char *lt = strchr(a, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	size_t n;

	if (!lt || !gt || gt[1])
		return -1;
	n = (size_t)(lt - a);
	while (n && a[n - 1] == ' ')
		n--;
	if (!n)
		return -1;
	*name = xstrndup(a, n);
	*email = xstrndup(lt + 1, (size_t)(gt - lt - 1));
	return 0;
}

enum { OPT_COMMIT = 300, OPT_PUSH, OPT_AUTHOR, OPT_REMOTE, OPT_TOKEN, OPT_SSHKEY, OPT_KNOWN,
	OPT_SIGN };

int
cmd_set_image(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "commit", no_argument, NULL, OPT_COMMIT },
		{ "push", no_argument, NULL, OPT_PUSH },
		{ "message", required_argument, NULL, 'm' },
		{ "author", required_argument, NULL, OPT_AUTHOR },
		{ "remote", required_argument, NULL, OPT_REMOTE },
		{ "token-file", required_argument, NULL, OPT_TOKEN },
		{ "ssh-key", required_argument, NULL, OPT_SSHKEY },
		{ "known-hosts", required_argument, NULL, OPT_KNOWN },
		{ "sign", required_argument, NULL, OPT_SIGN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gitsrc_auth auth = { 0 };
	const char *message = NULL, *author = NULL, *remote = NULL, *sign = NULL;
	char err[ERR_LEN] = "", commit[41], *msg = NULL, *aname = NULL, *aemail = NULL;
	const char *file, *service, *image;
	int do_commit = 0, do_push = 0, c, rc;
	struct diag d;

	while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_COMMIT: do_commit = 1; break;
		case OPT_PUSH: do_push = do_commit = 1; break;
		case 'm': message = optarg; break;
		case OPT_AUTHOR: author = optarg; break;
		case OPT_REMOTE: remote = optarg; break;
		case OPT_TOKEN: auth.token_file = optarg; break;
		case OPT_SSHKEY: auth.ssh_key = optarg; break;
		case OPT_KNOWN: auth.known_hosts = optarg; break;
		case OPT_SIGN: sign = optarg; do_commit = 1; break;
		case 'h':
			printf("usage: reconcilerctl set-image %s\n", cli_find_command("set-image")->usage);
			return 0;
		default:
			return cli_usage_error("set-image", "unknown option");
		}
	}
	if (argc - optind != 3)
		return cli_usage_error("set-image", "expected FILE SERVICE IMAGE@sha256:DIGEST");
	if (author && parse_author(author, &aname, &aemail) < 0)
		return cli_usage_error("set-image", "--author wants \"Name <email>\"");
	file = argv[optind];
	service = argv[optind + 1];
	image = argv[optind + 2];
	diag_init(&d, file);
	rc = setimage_file(file, service, image, &d, err);
	diag_print(&d, stderr);
	diag_release(&d);
	if (rc < 0) {
		fprintf(stderr, "reconcilerctl set-image: %s\n", err);
		rc = 1;
		goto out;
	}
	printf("%s: services.%s.image %s\n", file, service,
	    rc == 1 ? "already set, nothing to do" : "updated");
	if (rc == 1 || !do_commit) {
		rc = 0;
		goto out;
	}
	msg = message ? xstrdup(message) : xasprintf("deploy: %s %s", service,
	    strstr(image, "@sha256:") ? strstr(image, "@sha256:") + 1 : image);
	if (gitsrc_commit_file_signed(file, msg, aname, aemail, sign, commit, err) < 0) {
		fprintf(stderr, "reconcilerctl set-image: commit: %s\n", err);
		rc = 1;
		goto out;
	}
	printf("committed %.12s%s: %s\n", commit, sign ? " (signed)" : "", msg);
	if (do_push) {
		if (gitsrc_push(file, remote, &auth, err) < 0) {
			fprintf(stderr, "reconcilerctl set-image: push: %s\n", err);
			rc = 1;
			goto out;
		}
		printf("pushed to %s\n", remote ? remote : "origin");
	}
	rc = 0;
out:
	free(msg);
	free(aname);
	free(aemail);
	return rc;
}

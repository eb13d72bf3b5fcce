/*
 * reconcilerctl set-image: replaces one service's image digest in a manifest
 * file in place, then optionally commits and pushes the change.
 */
#include "cli.h"
#include "cli_git.h"
#include "diag.h"
#include "setimage.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cmd_set_image(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_GIT_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_git g = { 0 };
	char err[ERR_LEN] = "", *msg = NULL;
	const char *file, *service, *image;
	int c, rc;
	struct diag d;

	while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
		if (cli_git_option(&g, c, optarg))
			continue;
		if (c == 'h') {
			printf("usage: reconcilerctl set-image %s\n", cli_find_command("set-image")->usage);
			return 0;
		}
		return cli_usage_error("set-image", "unknown option");
	}
	if (argc - optind != 3)
		return cli_usage_error("set-image", "expected FILE SERVICE IMAGE@sha256:DIGEST");
	if (cli_git_check(&g) < 0)
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
	if (rc == 1 || !g.commit) {
		rc = 0;
		goto out;
	}
	msg = xasprintf("deploy: %s %s", service,
	    strstr(image, "@sha256:") ? strstr(image, "@sha256:") + 1 : image);
	rc = cli_git_commit_push(&g, "set-image", file, msg, NULL) < 0 ? 1 : 0;
out:
	free(msg);
	cli_git_release(&g);
	return rc;
}

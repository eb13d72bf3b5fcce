/*
 * reconcilerctl update-images: for every service that tracks a tag, asks its
 * registry for the tag's digest now (a HEAD, no pull counted), holds back a
 * new one younger than the service's cooldown, writes the others into the
 * manifest in place (set-image's edit) and commits them as one change.
 */
#include "cli.h"
#include "cli_git.h"
#include "diag.h"
#include "imageupdate.h"
#include "manifest.h"
#include "registry.h"
#include "setimage.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { UPD_NOTHING = 0, UPD_BUMPED = 1, UPD_ERROR = 2 };
enum { OPT_DRY = CLI_GIT_LAST, OPT_BRANCH, OPT_TIMEOUT };

struct run {
	const char *file, *branch;
	int dry;
	int64_t timeout_ms;
	struct cli_git git;
	char *src;
	size_t len;
	struct manifest *m;
	struct iu_item *items;
	size_t n;
};

/* The clock: RECONCILER_NOW (unix seconds) is for tests only. */
static int
now_seconds(int64_t *now)
{
	const char *e = getenv("RECONCILER_NOW");
	char *end;

	if (!e || !*e) {
		*now = (int64_t)time(NULL);
		return 0;
	}
	errno = 0;
	*now = strtoll(e, &end, 10);
	return errno || *end || *now < 0 ? -1 : 0;
}

/* Asks every registry; prints the plan. -1 when any could not answer. */
static int
ask(struct run *r, int64_t now, size_t *bumps)
{
	char err[ERR_LEN];
	int failed = 0;

	*bumps = 0;
	r->items = xcalloc(r->m->nservices ? r->m->nservices : 1, sizeof(*r->items));
	for (size_t i = 0; i < r->m->nservices; i++) {
		const struct mf_service *s = &r->m->services[i];
		struct iu_item *it = &r->items[r->n];
		struct registry_answer a;
		char *ref, *line;

		if (!s->track.set)
			continue;
		if (imageupdate_item_init(it, s, err) < 0) {
			fprintf(stderr, "reconcilerctl update-images: %s\n", err);
			failed = 1;
			continue;
		}
		r->n++;
		ref = imageupdate_ref(it);
		if (registry_query(ref, it->old_digest, &a, (long)r->timeout_ms, err) < 0 ||
		    imageupdate_judge(it, a.digest, a.created, now, err) < 0) {
			fprintf(stderr, "reconcilerctl update-images: %s: %s\n", s->name, err);
			failed = 1;
		} else {
			line = imageupdate_line(it);
			printf("%s\n", line);
			free(line);
			*bumps += it->state == IU_BUMP;
		}
		registry_answer_release(&a);
		free(ref);
	}
	return failed ? -1 : 0;
}

/* Every bump applied to the text, validated by set-image's edit; *out. */
static int
edit(struct run *r, char **out, size_t *outlen)
{
	char err[ERR_LEN] = "", *text = xstrndup(r->src, r->len), *next = NULL;
	size_t len = r->len;
	struct diag d;
	int rc = 0;

	diag_init(&d, r->file);
	for (size_t i = 0; i < r->n && rc == 0; i++) {
		char *image;

		if (r->items[i].state != IU_BUMP)
			continue;
		image = imageupdate_image(&r->items[i]);
		if (setimage_apply(r->file, text, len, r->items[i].service, image, &next, &len, &d,
		    err) < 0) {
			fprintf(stderr, "reconcilerctl update-images: %s: %s\n", r->items[i].service,
			    err);
			rc = -1;
		} else {
			free(text);
			text = next;
		}
		free(image);
	}
	diag_print(&d, stderr);
	diag_release(&d);
	if (rc < 0) {
		free(text);
		return -1;
	}
	*out = text;
	*outlen = len;
	return 0;
}

/* Writes the file, commits (on --branch's branch, the file then put back as
 * it was), pushes. */
static int
write_and_commit(struct run *r)
{
	char err[ERR_LEN] = "", *text = NULL, *msg = imageupdate_message(r->items, r->n);
	size_t len;
	int rc = -1;

	if (edit(r, &text, &len) < 0)
		goto out;
	if (file_write_atomic(r->file, text, len, -1, err) < 0) {
		fprintf(stderr, "reconcilerctl update-images: %s\n", err);
		goto out;
	}
	printf("%s: updated\n", r->file);
	rc = 0;
	if (r->branch || r->git.commit)
		rc = cli_git_commit_push(&r->git, "update-images", r->file, msg, r->branch);
	if (r->branch && file_write_atomic(r->file, r->src, r->len, -1, err) < 0) {
		fprintf(stderr, "reconcilerctl update-images: putting %s back: %s\n", r->file, err);
		rc = -1;
	}
out:
	free(text);
	free(msg);
	return rc;
}

static int
options(struct run *r, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_GIT_OPTIONS,
		{ "file", required_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, OPT_DRY },
		{ "branch", required_argument, NULL, OPT_BRANCH },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "f:m:h", opts, NULL)) != -1) {
		if (cli_git_option(&r->git, c, optarg))
			continue;
		switch (c) {
		case 'f': r->file = optarg; break;
		case OPT_DRY: r->dry = 1; break;
		case OPT_BRANCH: r->branch = optarg; break;
		case OPT_TIMEOUT:
			if (duration_parse(optarg, &r->timeout_ms) < 0 || r->timeout_ms < 1)
				return cli_usage_error("update-images", "--timeout wants a duration "
				    "(10s, 1m)");
			break;
		case 'h':
			printf("usage: reconcilerctl update-images %s\n",
			    cli_find_command("update-images")->usage);
			return 0;
		default:
			return cli_usage_error("update-images", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error("update-images", "unexpected argument '%s'", argv[optind]);
	if (cli_git_check(&r->git) < 0)
		return cli_usage_error("update-images", "--author wants \"Name <email>\"");
	if (r->dry && (r->git.commit || r->branch))
		return cli_usage_error("update-images", "--dry-run writes nothing: no --commit, "
		    "--push or --branch with it");
	if (r->branch && r->git.push)
		return cli_usage_error("update-images", "--branch pushes its branch: no --push");
	return -1;
}

int
cmd_update_images(int argc, char **argv)
{
	struct run r = { .file = DEFAULT_MANIFEST, .timeout_ms = 30000 };
	char err[ERR_LEN] = "";
	size_t bumps = 0;
	struct diag d;
	int64_t now;
	int rc = UPD_ERROR;

	if ((rc = options(&r, argc, argv)) >= 0)
		goto out;
	rc = UPD_ERROR;
	if (now_seconds(&now) < 0) {
		fprintf(stderr, "reconcilerctl update-images: RECONCILER_NOW is not unix seconds\n");
		goto out;
	}
	if (file_read(r.file, YT_MAX_SIZE, &r.src, &r.len, err) < 0) {
		fprintf(stderr, "reconcilerctl update-images: %s\n", err);
		goto out;
	}
	diag_init(&d, r.file);
	if (manifest_parse(&r.m, r.file, r.src, r.len, &d) < 0) {
		diag_print(&d, stderr);
		diag_release(&d);
		goto out;
	}
	diag_release(&d);
	if (ask(&r, now, &bumps) < 0) {
		fprintf(stderr, "reconcilerctl update-images: %s left unchanged\n", r.file);
		goto out;
	}
	if (!r.n)
		printf("%s: no service tracks a tag\n", r.file);
	if (!bumps) {
		rc = UPD_NOTHING;
		goto out;
	}
	if (r.dry) {
		printf("%zu image(s) to update (dry run: nothing written)\n", bumps);
		rc = UPD_BUMPED;
		goto out;
	}
	rc = write_and_commit(&r) < 0 ? UPD_ERROR : UPD_BUMPED;
out:
	for (size_t i = 0; i < r.n; i++)
		imageupdate_item_release(&r.items[i]);
	free(r.items);
	manifest_free(r.m);
	free(r.src);
	cli_git_release(&r.git);
	return rc;
}

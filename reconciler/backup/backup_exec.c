/*
 * backup: the commands that dump and restore, run in the service's container.
 * Which container that is, the command's argv, and what of its stderr an
 * error and the journal keep.
 */
#include "backup_int.h"
#include "spec.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
backup_container(struct docker *d, const char *project, const char *service, char **id,
    char *err)
{
	char filter[256], e[ERR_LEN];
	json_t *list = NULL, *it;
	size_t i;
	int best = 0;

	*id = NULL;
	snprintf(filter, sizeof(filter), "%s=%s", LABEL_PROJECT, project);
	if (docker_containers_list(d, filter, 0, &list, e) < 0)
		return errf(err, "%s", e);
	json_array_foreach(list, i, it) {
		struct docker_container c;
		const char *svc;
		char *want;
		int score;

		if (docker_container_from_json(&c, it, e) < 0) {
			docker_container_release(&c);
			continue;
		}
		svc = json_string_value(json_object_get(c.labels, LABEL_SERVICE));
		want = xasprintf("%s-%s", project, service);
		/* the container that holds the service's name, over one mid-rollout */
		score = svc && strcmp(svc, service) == 0 && c.state &&
		    strcmp(c.state, "running") == 0 ? (strcmp(c.name, want) == 0 ? 2 : 1) : 0;
		if (score > best) {
			best = score;
			free(*id);
			*id = xstrdup(c.id);
		}
		free(want);
		docker_container_release(&c);
	}
	json_decref(list);
	if (!*id)
		return errf(err, "service '%s' of project '%s' has no running container: start it "
		    "(reconcilerctl sync, or see reconcilerctl status); on a swarm, a task of it must "
		    "run on the node whose engine the reconciler uses (place it there: "
		    "deploy.placement.constraints [node.role == manager])", service, project);
	return 0;
}

const char **
backup__cmd_argv(const struct mf_cmd *c)
{
	const char **argv = xcalloc(c->argc + 3, sizeof(*argv));
	size_t n = 0;

	if (c->shell) {
		argv[n++] = "/bin/sh";
		argv[n++] = "-c";
	}
	for (size_t i = 0; i < c->argc; i++)
		argv[n++] = c->argv[i];
	return argv;
}

/* The command's stderr, for the journal: its first BACKUP_STDERR_MAX bytes. */
void
backup__keep_stderr(struct buf *b, const char *data, size_t len)
{
	size_t room = BACKUP_STDERR_MAX - b->len;

	buf_add(b, data, len < room ? len : room);
}

/* The last line of the command's stderr, for a one-line error. */
const char *
backup__stderr_line(struct buf *b, char *out, size_t n)
{
	char *end, *start;

	if (!b->len)
		return "";
	end = b->data + b->len;
	while (end > b->data && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	start = end;
	while (start > b->data && start[-1] != '\n')
		start--;
	snprintf(out, n, ": %.*s", (int)(end - start), start);
	return out;
}

/*
 * privsep: the listener child from the daemon's side. It opens the child
 * (listener.h) with the routes and the webhook glue as what answers it,
 * and keeps the child's config true: at start, on reload, and when a
 * webhook secret file changes (looked at every few seconds, so a new secret
 * still needs no restart). See docs/process-model.md.
 */
#include "chan.h"
#include "daemon_int.h"
#include "listener.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WATCH_MS 3000

/* What a secret file is now, to notice a change without reading it. */
static void
stamp(const char *file, char *out, size_t n)
{
	struct stat st;

	if (!file)
		snprintf(out, n, "off");
	else if (stat(file, &st) < 0)
		snprintf(out, n, "error %d", errno);
	else
		snprintf(out, n, "%llu:%llu:%lld:%lld.%09ld:%lld.%09ld:%o",
		    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		    (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		    (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec, (unsigned)st.st_mode);
}

/* 1 when any secret file changed since the last look. */
static int
restamp(struct daemon *dm)
{
	const char *files[WEBHOOK_NSOURCES] = { dm->cfg->hook_github_file,
		dm->cfg->hook_gitea_file, dm->cfg->hook_generic_file };
	int changed = 0;

	for (int s = 0; s < WEBHOOK_NSOURCES; s++) {
		char now[sizeof(dm->loop.hook_stamp[0])];

		stamp(files[s], now, sizeof(now));
		if (strcmp(now, dm->loop.hook_stamp[s]) != 0) {
			memcpy(dm->loop.hook_stamp[s], now, sizeof(now));
			changed = 1;
		}
	}
	return changed;
}

static void
send_config(struct daemon *dm)
{
	static struct chan_config c;	/* large: not on the stack */

	daemon__hook_config(dm, &c);
	listener_configure(dm->loop.listener, &c);
	explicit_bzero(&c, sizeof(c));
}

static void
watch_cb(uv_timer_t *t)
{
	struct daemon *dm = t->data;

	if (restamp(dm)) {
		log_info("listener", "a webhook secret file changed: the listener child has the "
		    "new one");
		send_config(dm);
	}
}

int
daemon__listener_open(struct daemon *dm, char *err)
{
	static struct chan_config c;
	struct listener_options o = { dm->cfg->listen, dm->cfg->listener_user,
		strcmp(dm->cfg->log_format, "json") == 0 };
	struct listener_ops ops = { daemon__route_relay, daemon__hook_trigger, daemon__hook_note,
		dm };
	int rc;

	restamp(dm);
	daemon__hook_config(dm, &c);
	rc = listener_open(&dm->loop.listener, &dm->loop.uv, &o, &ops, &c, err);
	explicit_bzero(&c, sizeof(c));
	if (rc < 0)
		return -1;
	free(dm->loop.listener_user);
	dm->loop.listener_user = xstrdup(dm->cfg->listener_user);
	uv_timer_init(&dm->loop.uv, &dm->loop.hookwatch);
	dm->loop.hookwatch.data = dm;
	dm->loop.hookwatch_open = 1;
	uv_timer_start(&dm->loop.hookwatch, watch_cb, WATCH_MS, WATCH_MS);
	return 0;
}

/* After SIGHUP swapped the config: the branch, the hooks and their secrets. */
void
daemon__listener_reload(struct daemon *dm)
{
	if (!dm->loop.listener)
		return;
	restamp(dm);
	send_config(dm);
	if (strcmp(dm->loop.listener_user, dm->cfg->listener_user) != 0)
		log_warn("reload", "listener_user changed ('%s' -> '%s'): the listener child "
		    "keeps '%s' until reconcilerd restarts", dm->loop.listener_user,
		    dm->cfg->listener_user, dm->loop.listener_user);
}

void
daemon__listener_close(struct daemon *dm)
{
	listener_close(dm->loop.listener);
	dm->loop.listener = NULL;
	if (dm->loop.hookwatch_open) {
		uv_timer_stop(&dm->loop.hookwatch);
		uv_close((uv_handle_t *)&dm->loop.hookwatch, NULL);
		dm->loop.hookwatch_open = 0;
	}
	free(dm->loop.listener_user);
	dm->loop.listener_user = NULL;
}

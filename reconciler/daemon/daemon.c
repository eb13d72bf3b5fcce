/*
 * daemon: the daemon object and its state directory: where each file lives
 * in it, the lock that keeps a second reconciler out, the journal, the bare
 * clone and the last good revision. Each other file of this folder holds one
 * part of the daemon; daemon_int.h lists them and which thread owns what.
 */
#include "daemon.h"
#include "daemon_int.h"
#include "docker.h"
#include "gitsrc.h"
#include "journal.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *
cycle_outcome_name(enum cycle_outcome o)
{
	switch (o) {
	case CYCLE_IN_SYNC: return "in-sync";
	case CYCLE_FAILED: return "degraded";
	case CYCLE_ERROR: return "error";
	case CYCLE_CONVERGED: return "converged";
	}
	return "?";
}

char *
daemon__state_path(const struct daemon *dm, const char *name)
{
	return xasprintf("%s/%s", dm->cfg->state_dir, name);
}

static void
load_good(struct daemon *dm)
{
	char *p = daemon__state_path(dm, "last-good"), *data = NULL;
	size_t len;

	if (file_read(p, 128, &data, &len, NULL) == 0 && len >= 40) {
		memcpy(dm->cycle.good, data, 40);
		dm->cycle.good[40] = '\0';
	}
	free(data);
	free(p);
}

void
daemon__save_good(struct daemon *dm, const char *commit)
{
	char *p, err[ERR_LEN], line[42];

	if (strcmp(dm->cycle.good, commit) == 0)
		return;
	snprintf(dm->cycle.good, sizeof(dm->cycle.good), "%s", commit);
	snprintf(line, sizeof(line), "%s\n", commit);
	p = daemon__state_path(dm, "last-good");
	if (file_write_atomic(p, line, strlen(line), 0600, err) < 0)
		log_warn("state", "%s", err);
	free(p);
}

/* SIGHUP: the fresh config, but what the daemon took at its start (its
 * state dir and lock, the sockets it bound, the engine its events come from)
 * stays until a restart, which the log asks for; the rest applies. Applying
 * those keys half (a journal in the new state dir, a pid file and a socket
 * in the old one) would be worse than not at all. */
static int
reload_filtered(struct config *out, char *err, void *payload)
{
	struct daemon *dm = payload;
	char changed[1024];

	if (!dm->assemble || dm->assemble(out, err, dm->assemble_payload) < 0)
		return -1;
	if (config_keep_restart_keys(out, dm->cfg, changed, sizeof(changed)) > 0)
		log_warn("reload", "a restart is needed to apply %s; until then the running "
		    "values stay, and the rest of the config applies", changed);
	return 0;
}

struct daemon *
daemon_new(struct config *cfg, daemon_reload_fn reload, void *payload)
{
	struct daemon *dm = xcalloc(1, sizeof(*dm));

	dm->cfg = cfg;
	dm->assemble = reload;
	dm->assemble_payload = payload;
	dm->loop.reload = reload ? reload_filtered : NULL;
	dm->loop.reload_payload = dm;
	dm->cycle.lockfd = -1;
	dm->cycle.crash_at = getenv("RECONCILER_CRASH_AT");
	pthread_mutex_init(&dm->shared.mu, NULL);
	atomic_init(&dm->shared.retry, 0);
	return dm;
}

void
daemon_free(struct daemon *dm)
{
	if (!dm)
		return;
	gitsrc_free(dm->cycle.git);
	journal_close(dm->cycle.journal);
	if (dm->cycle.lockfd >= 0)
		close(dm->cycle.lockfd);
	daemon__bk_sched_free(dm->loop.bk, dm->loop.nbk);
	daemon__bk_sched_free(dm->shared.bk_new, dm->shared.nbk_new);
	free(dm->shared.bk_src);
	free(dm->shared.bk_label);
	json_decref(dm->cycle.bk_failed);
	daemon__held_clear(dm);
	free(dm->shared.status_text);
	daemon__repeat_free(dm);
	daemon__alerts_release(&dm->cycle.alerts);
	daemon__git_secrets_release(dm);
	docker_free(dm->cycle.engine);
	free(dm->cycle.engine_for);
	daemon__snapshot_drop(dm);
	free(dm->loop.control_path);
	pthread_mutex_destroy(&dm->shared.mu);
	free(dm);
}

/* Where the control socket is bound: "" when it is off. */
char *
daemon__control_socket(const struct daemon *dm)
{
	return dm->cfg->control_socket ? xstrdup(dm->cfg->control_socket) :
	    daemon__state_path(dm, "reconcilerd.sock");
}

/* One reconciler per state directory: two would fight over containers. */
int
daemon__lock_state(struct daemon *dm, char *err)
{
	return dm->cycle.lockfd >= 0 ? 0 : dir_lock(dm->cfg->state_dir, &dm->cycle.lockfd, err);
}

int
daemon__prepare(struct daemon *dm, char *err)
{
	char *p;
	int rc = 0;

	if (mkdir(dm->cfg->state_dir, 0700) < 0 && errno != EEXIST)
		return errf(err, "cannot create the state directory '%s': %s", dm->cfg->state_dir,
		    strerror(errno));
	if (daemon__lock_state(dm, err) < 0)
		return -1;
	if (!dm->cycle.journal) {
		p = daemon__state_path(dm, "journal.db");
		rc = journal_open(&dm->cycle.journal, p, 0, err);
		free(p);
		if (rc < 0)
			return -1;
		/* this process holds the lock: a cycle or run still open was cut short */
		journal_recover(dm->cycle.journal);
		load_good(dm);
	}
	if (!dm->cycle.git) {
		struct gitsrc_auth auth = config_auth(dm->cfg);

		p = daemon__state_path(dm, "repo.git");
		rc = gitsrc_open(&dm->cycle.git, p, dm->cfg->repo, &auth, err);
		free(p);
	}
	return rc;
}


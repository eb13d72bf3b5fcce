/*
 * routes: what the control socket and the HTTP listener answer: health,
 * readiness, metrics, the status page, /v1/ (status, sync, diff, history,
 * backups) and the webhooks. Runs on the loop; a diff goes to the thread
 * pool on copies of what it reads. The listener's requests come from its
 * child (listener.h) as GETs: its POSTs never reach here.
 */
#include "daemon_int.h"
#include "diff.h"
#include "docker.h"
#include "gitsrc.h"
#include "httpd.h"
#include "journal.h"
#include "log.h"
#include "manifest.h"
#include "secrets.h"
#include "state.h"
#include "tz.h"
#include "util.h"
#include "world.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

void
daemon__json_body(struct http_response *r, int status, json_t *o)
{
	char *text = json_dumps(o, JSON_INDENT(2));

	r->status = status;
	/* NULL: a message that was not UTF-8 (a path from the config) */
	buf_adds(&r->body, text ? text : "{\"error\": \"(not UTF-8)\"}");
	buf_adds(&r->body, "\n");
	free(text);
	json_decref(o);
}

static int
query_flag(const char *query, const char *name)
{
	size_t n = strlen(name);

	for (const char *q = query; q && *q; q = strchr(q, '&') ? strchr(q, '&') + 1 : NULL)
		if (strncmp(q, name, n) == 0 && (q[n] == '\0' || q[n] == '&' ||
		    (q[n] == '=' && (q[n + 1] == '1' || q[n + 1] == 't'))))
			return 1;
	return 0;
}

/* GET /v1/diff: the manifest at the revision of the last cycle against the
 * engine now, computed in the thread pool. The last cycle's snapshot
 * (snapshot.c) holds its desired state: when it is of that revision and
 * config and the host's secret files are unchanged, the diff only lists and
 * diffs. Else it works on a copy of what it needs (a reload may swap the
 * config meanwhile) with the bare clone opened afresh (the cycle's own
 * handle is its alone), as the cycle would. */
#define DIFF_JOBS 2

struct diffjob {
	uv_work_t work;
	struct daemon *dm;
	struct http_conn *conn;
	char *clone, *manifest, *secrets_dir, *key, *docker_host;
	char *age_identity;	/* NULL: none configured */
	const struct backend_ops *backend;
	struct fleet_host host;
	int64_t timeout;
	char api[16];		/* the engine's version, as the cycle learnt it */
	struct dm_snapshot *snap;	/* a reference, or NULL */
	char rev[41];
	int status;
	json_t *out;
};

/* A file of the diffed revision, for its secrets kept in Git. */
static int
diff_blob(const char *path, size_t max, char **data, size_t *len, char *err, void *payload)
{
	const struct diffjob *j = payload;
	char commit[41];

	return gitsrc_read(j->clone, j->rev, path, max, data, len, commit, err);
}

/* From the snapshot: 1 done (j->out set), 0 when it cannot serve. */
static int
diff_snapshot(struct diffjob *j, const struct docker_options *o)
{
	struct docker *d = NULL;
	struct actual a = { 0 };
	struct plan *p = NULL;
	char err[ERR_LEN];
	const struct backend_ops *b = j->backend ? j->backend : &backend_containers;

	if (!j->snap || j->snap->backend != b || b->drift ||
	    !daemon__snapshot_fresh(j->snap, j->secrets_dir, j->key))
		return 0;
	if (docker_open(&d, o, err) < 0 || world_plan(j->snap->ds, b, d, &a, &p,
	    err) < 0) {
		j->out = json_pack("{s:s}", "error", err);
	} else {
		j->out = plan_json(p);
		json_object_set_new(j->out, "revision", json_string(j->snap->rev));
		j->status = 200;
	}
	plan_free(p);
	actual_release(&a);
	docker_free(d);
	return 1;
}

static void
diff_work(uv_work_t *w)
{
	struct diffjob *j = w->data;
	struct docker_options o = DOCKER_OPTIONS_INIT;
	struct manifest *m = NULL;
	struct secrets sec = { 0 };
	struct secrets_git git = { NULL, 0 };
	struct world wd = { 0 };
	char err[ERR_LEN], commit[41], *text = NULL, *label;
	struct diag dg;
	size_t len;

	j->status = 503;
	o.host = j->docker_host;
	o.timeout_ms = j->timeout;
	snprintf(o.api, sizeof(o.api), "%s", j->api);
	if (diff_snapshot(j, &o)) {
		pthread_mutex_lock(&j->dm->shared.mu);
		j->dm->shared.m.diffs_cycle++;
		pthread_mutex_unlock(&j->dm->shared.mu);
		return;
	}
	pthread_mutex_lock(&j->dm->shared.mu);
	j->dm->shared.m.diffs_manifest++;
	pthread_mutex_unlock(&j->dm->shared.mu);
	if (gitsrc_read(j->clone, j->rev, j->manifest, YT_MAX_SIZE, &text, &len, commit,
	    err) < 0) {
		j->out = json_pack("{s:s}", "error", err);
		return;
	}
	label = xasprintf("%s@%.12s", j->manifest, j->rev);
	diag_init(&dg, label);
	if (manifest_parse(&m, label, text, len, &dg) < 0) {
		char *first = diag_first(&dg);

		j->out = json_pack("{s:s}", "error", first);
		free(first);
		goto out;
	}
	if (secrets_git_load(&git, m, j->age_identity, diff_blob, j, err) < 0 ||
	    secrets_open(&sec, j->secrets_dir, j->key, 0, err) < 0) {
		j->out = json_pack("{s:s}", "error", err);
		goto out;
	}
	sec.git = &git;
	if (world_load(&wd, m, &sec, j->backend, &j->host, &o, NULL, err) < 0) {
		j->out = json_pack("{s:s}", "error", err);
		goto out;
	}
	j->out = plan_json(wd.p);
	json_object_set_new(j->out, "revision", json_string(commit));
	j->status = 200;
out:
	world_release(&wd);
	secrets_release(&sec);
	secrets_git_release(&git);
	manifest_free(m);
	diag_release(&dg);
	free(label);
	free(text);
}

static void
diff_done(uv_work_t *w, int status)
{
	struct diffjob *j = w->data;
	struct http_response r;

	memset(&r, 0, sizeof(r));
	buf_init(&r.body, 0);
	daemon__json_body(&r, j->out ? j->status : 500, j->out ? j->out : json_pack("{s:s}",
	    "error", "the diff was cancelled"));
	http_answer(j->conn, &r);
	buf_release(&r.body);
	j->dm->loop.diffs--;
	daemon__snapshot_put(j->dm, j->snap);
	free(j->clone);
	free(j->manifest);
	free(j->secrets_dir);
	free(j->key);
	free(j->docker_host);
	free(j->age_identity);
	fleet_host_release(&j->host);
	free(j);
}

static void
diff_start(struct daemon *dm, struct http_response *r)
{
	struct diffjob *j;
	char rev[41], api[16], *key;

	pthread_mutex_lock(&dm->shared.mu);
	snprintf(rev, sizeof(rev), "%s", dm->shared.m.revision);
	snprintf(api, sizeof(api), "%s", dm->shared.engine_api);
	pthread_mutex_unlock(&dm->shared.mu);
	if (!*rev) {
		daemon__json_body(r, 503, json_pack("{s:s}", "error", "no cycle has read the "
		    "manifest yet: try again after the first cycle"));
		return;
	}
	if (dm->loop.diffs >= DIFF_JOBS) {
		snprintf(r->extra_headers, sizeof(r->extra_headers), "Retry-After: 1\r\n");
		daemon__json_body(r, 429, json_pack("{s:s}", "error", "diffs are already being "
		    "computed: try again in a second"));
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->dm = dm;
	j->clone = daemon__state_path(dm, "repo.git");
	j->manifest = xstrdup(dm->cfg->manifest);
	j->secrets_dir = xstrdup(dm->cfg->secrets_dir);
	j->key = daemon__state_path(dm, "hmac.key");
	j->age_identity = dm->cfg->age_identity ? xstrdup(dm->cfg->age_identity) : NULL;
	j->docker_host = dm->cfg->docker_host ? xstrdup(dm->cfg->docker_host) : NULL;
	j->backend = backend_find(dm->cfg->backend);
	fleet_host_copy(&j->host, &dm->cfg->host);
	j->timeout = dm->cfg->engine_timeout;
	snprintf(j->rev, sizeof(j->rev), "%s", rev);
	snprintf(j->api, sizeof(j->api), "%s", api);
	key = daemon__snapshot_cfgkey(dm->cfg);
	j->snap = daemon__snapshot_get(dm, rev, key);
	free(key);
	j->work.data = j;
	if (uv_queue_work(&dm->loop.uv, &j->work, diff_work, diff_done) < 0) {
		daemon__snapshot_put(dm, j->snap);
		free(j->clone);
		free(j->manifest);
		free(j->secrets_dir);
		free(j->key);
		free(j->docker_host);
		free(j->age_identity);
		fleet_host_release(&j->host);
		free(j);
		daemon__json_body(r, 500, json_pack("{s:s}", "error", "cannot queue the diff"));
		return;
	}
	dm->loop.diffs++;
	j->conn = http_defer(r);
}

/* GET /v1/backups[?source=1], GET /v1/backups/NAME[?after=ID][&order=oldest],
 * POST /v1/backups/NAME/run. A name gone from the manifest still answers
 * GET with its runs, if it has any (the last may say why it was dropped). */
static void
bk_route(struct daemon *dm, const struct http_request *req, struct http_response *r, int get,
    int post)
{
	const char *rest = req->path + strlen("/v1/backups");
	char name[64] = "", *p = daemon__state_path(dm, "journal.db"), err[ERR_LEN];
	struct bsched *e = NULL;
	struct journal *j = NULL;
	size_t n = 0;

	if (*rest == '/') {
		n = strcspn(rest + 1, "/");
		if (n == 0 || n >= sizeof(name)) {
			daemon__json_body(r, 404, json_pack("{s:s}", "error", "not found"));
			goto out;
		}
		memcpy(name, rest + 1, n);
		name[n] = '\0';
		rest += n + 1;
		for (size_t i = 0; i < dm->loop.nbk; i++)
			if (strcmp(dm->loop.bk[i].name, name) == 0)
				e = &dm->loop.bk[i];
	}
	if (journal_open(&j, p, 1, err) < 0)
		j = NULL;
	if (*name && !e) {
		json_t *runs = NULL;

		if (*rest || !get || !j || !(runs = journal_backups(j, name, 0, 20, 0)) ||
		    !json_array_size(runs)) {
			json_decref(runs);
			daemon__json_body(r, 404, json_pack("{s:s}", "error", "no backup of that "
			    "name in the manifest reconcilerd runs (see reconcilerctl backup list)"));
			goto out;
		}
		json_decref(runs);
	}
	if (e && strcmp(rest, "/run") == 0 && post) {
		/* the run to wait for is the first of this name after `after` */
		json_int_t after = j ? journal_backups_max_id(j) : 0;

		e->pending = "manual";
		daemon__bk_kick(dm);
		daemon__json_body(r, 202, json_pack("{s:b,s:s,s:I}", "requested", 1, "name", name,
		    "after", after));
	} else if (*name && !*rest && get) {
		const char *a = strstr(req->query, "after=");
		const char *o = strstr(req->query, "order=");

		daemon__json_body(r, 200, json_pack("{s:s,s:o}", "name", name, "runs",
		    journal_backups(j, name, a ? strtoll(a + 6, NULL, 10) : 0, 20, o &&
		    strncmp(o + 6, "oldest", 6) == 0)));
	} else if (!*name && get) {
		json_t *arr = json_array(), *o;

		for (size_t i = 0; i < dm->loop.nbk; i++) {
			int64_t ended = 0, size = 0;
			int had = journal_backup_last_ok(j, dm->loop.bk[i].name, &ended, &size);

			/* not scheduled: no zone, and why */
			json_array_append_new(arr, json_pack("{s:s,s:o,s:I,s:b,s:b,s:o,s:o,s:o}",
			    "name", dm->loop.bk[i].name, "timezone", dm->loop.bk[i].tz ?
			    json_string(tz_name(dm->loop.bk[i].tz)) : json_null(), "next_run",
			    (json_int_t)dm->loop.bk[i].next, "running",
			    strcmp(dm->loop.bk_running, dm->loop.bk[i].name) == 0, "pending",
			    dm->loop.bk[i].pending != NULL, "last_success", had ?
			    json_integer(ended) : json_null(), "last_size", had ?
			    json_integer(size) : json_null(), "error", *dm->loop.bk[i].err ?
			    json_string(dm->loop.bk[i].err) : json_null()));
		}
		o = json_pack("{s:o}", "backups", arr);
		pthread_mutex_lock(&dm->shared.mu);
		if (query_flag(req->query, "source") && dm->shared.bk_src) {
			json_object_set_new(o, "source", json_string(dm->shared.bk_src));
			json_object_set_new(o, "label", json_string(dm->shared.bk_label));
		}
		pthread_mutex_unlock(&dm->shared.mu);
		daemon__json_body(r, 200, o);
	} else {
		daemon__json_body(r, 405, json_pack("{s:s}", "error", "method not allowed"));
	}
out:
	journal_close(j);
	free(p);
}

static void
handle(struct daemon *dm, const struct http_request *req, struct http_response *r)
{
	int get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;

	if (strcmp(req->path, "/healthz") == 0 && get) {
		daemon__json_body(r, 200, json_pack("{s:s}", "status", "ok"));
	} else if (strcmp(req->path, "/readyz") == 0 && get) {
		enum cycle_outcome last;
		int ready;

		pthread_mutex_lock(&dm->shared.mu);
		last = dm->shared.last;
		ready = dm->shared.m.last_cycle && last != CYCLE_ERROR;
		pthread_mutex_unlock(&dm->shared.mu);
		daemon__json_body(r, ready ? 200 : 503, json_pack("{s:b,s:s}", "ready", ready,
		    "last", ready || last == CYCLE_ERROR ? cycle_outcome_name(last) : "none"));
	} else if (strcmp(req->path, "/metrics") == 0 && get) {
		r->content_type = "text/plain; version=0.0.4; charset=utf-8";
		daemon__metrics_text(dm, &r->body);
	} else if (strcmp(req->path, "/") == 0 && get) {
		daemon__status_page(dm, r);
	} else if (strcmp(req->path, "/v1/status") == 0 && get) {
		daemon__json_body(r, 200, daemon__status_now(dm));
	} else if (strcmp(req->path, "/v1/sync") == 0 && post) {
		json_t *st = daemon__status_now(dm);
		json_t *before = json_object_get(st, "cycle");

		if (query_flag(req->query, "retry"))
			atomic_store(&dm->shared.retry, 1);
		daemon__schedule(dm, "api");
		daemon__json_body(r, 202, json_pack("{s:b,s:b,s:O}", "requested", 1, "retry",
		    atomic_load(&dm->shared.retry) != 0, "cycle_before", before ? before : json_null()));
		json_decref(st);
	} else if (strncmp(req->path, "/hooks/", 7) == 0 && post) {
		daemon__hook(dm, req, r);
	} else if (strcmp(req->path, "/v1/diff") == 0 && get) {
		diff_start(dm, r);
	} else if (strcmp(req->path, "/v1/history") == 0 && get) {
		char *p = daemon__state_path(dm, "journal.db"), err[ERR_LEN];
		struct journal *j = NULL;
		const char *l = strstr(req->query, "limit=");
		long limit = l ? strtol(l + 6, NULL, 10) : 20;

		if (limit < 1 || limit > 1000)
			limit = 20;
		if (journal_open(&j, p, 1, err) < 0) {
			daemon__json_body(r, 503, json_pack("{s:s}", "error", err));
		} else {
			daemon__json_body(r, 200, journal_history(j, (int)limit));
			journal_close(j);
		}
		free(p);
	} else if (strncmp(req->path, "/v1/backups", 11) == 0 && (req->path[11] == '\0' ||
	    req->path[11] == '/')) {
		bk_route(dm, req, r, get, post);
	} else if (!strcmp(req->path, "/") || !strcmp(req->path, "/healthz") ||
	    !strcmp(req->path, "/readyz") ||
	    !strcmp(req->path, "/metrics") || !strncmp(req->path, "/v1/", 4) ||
	    !strncmp(req->path, "/hooks/", 7)) {
		daemon__json_body(r, 405, json_pack("{s:s}", "error", "method not allowed"));
	} else {
		daemon__json_body(r, 404, json_pack("{s:s}", "error", "not found"));
	}
}

static void
handle_control(const struct http_request *req, struct http_response *r, void *payload)
{
	handle(payload, req, r);
}

/* A GET the listener child forwards (listener.c checked it: a path, a query,
 * a peer; the method is always GET, so nothing here changes anything). */
void
daemon__route_relay(const struct http_request *req, struct http_response *r, void *payload)
{
	handle(payload, req, r);
}

int
daemon__listen(struct daemon *dm, char *err)
{
	char *sock = daemon__control_socket(dm);
	char *addr = xasprintf("unix:%s", sock);
	int rc = 0;

	if (*sock)
		rc = httpd_listen(&dm->loop.control, &dm->loop.uv, addr, dm->cfg->control_group,
		    handle_control, dm, err);
	free(dm->loop.control_path);
	dm->loop.control_path = xstrdup(sock);
	if (rc == 0 && dm->cfg->listen)
		rc = daemon__listener_open(dm, err);
	if (rc == 0)
		log_info("start", "control socket %s%s%s", *sock ? sock : "off",
		    dm->cfg->listen ? ", listening on " : "", dm->cfg->listen ? dm->cfg->listen : "");
	free(addr);
	free(sock);
	return rc;
}

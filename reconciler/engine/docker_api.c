/*
 * docker_api: the plain endpoints of the Engine API client: containers (list,
 * inspect, create, start, stop, remove, rename, kill, wait), image inspect,
 * networks and volumes (ensure, connect), and the events stream; see docker.h.
 * Each builds its path, makes one call through the transport and checks the
 * shape of the answer.
 */
#include "docker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
label_filters(const char *label)
{
	json_t *f = json_pack("{s:[s]}", "label", label);
	char *s = json_dumps(f, JSON_COMPACT);

	json_decref(f);
	if (!s)
		abort();
	return s;
}

/* err may be NULL where a caller does not want the message (errf copes). */
static void
err_clear(char *err)
{
	if (err)
		err[0] = '\0';
}

/* ---------------------------------------------------------------- containers */

int
docker_containers_list(struct docker *d, const char *label_filter, int all, json_t **out,
    char *err)
{
	struct buf p;
	char *filters = NULL;
	int rc = -1;

	*out = NULL;
	buf_init(&p, 0);
	buf_adds(&p, "/containers/json");
	if (all)
		docker__query_add(&p, "all", "1");
	if (label_filter) {
		if (docker__check_arg("label filter", label_filter, err) < 0)
			goto out;
		filters = label_filters(label_filter);
		docker__query_add(&p, "filters", filters);
	}
	if (docker__call(d, "GET", p.data, NULL, d->timeout_ms, out, NULL, err) < 0)
		goto out;
	if (!json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		errf(err, "engine: GET %s: expected a JSON array", p.data);
		goto out;
	}
	rc = 0;
out:
	free(filters);
	buf_release(&p);
	return rc;
}

/* GET that answers 1 (and no error) on 404. */
static int
inspect(struct docker *d, const char *what, const char *arg, const char *prefix,
    const char *keep, const char *suffix, json_t **out, char *err)
{
	char *path = NULL;
	long status = 0;
	int rc = -1;

	*out = NULL;
	if (docker__check_arg(what, arg, err) < 0)
		return -1;
	path = docker__path_with(prefix, arg, keep, suffix);
	if (docker__call(d, "GET", path, NULL, d->timeout_ms, out, &status, err) >= 0) {
		if (!json_is_object(*out)) {
			json_decref(*out);
			*out = NULL;
			errf(err, "engine: GET %s: expected a JSON object", path);
			goto out;
		}
		rc = 0;
	} else if (status == 404) {
		err_clear(err);
		rc = 1;
	}
out:
	free(path);
	return rc;
}

int
docker_container_inspect(struct docker *d, const char *id_or_name, json_t **out, char *err)
{
	return inspect(d, "container", id_or_name, "/containers/", NULL, "/json", out, err);
}

int
docker_image_inspect(struct docker *d, const char *ref, json_t **out, char *err)
{
	return inspect(d, "image reference", ref, "/images/", "/:@", "/json", out, err);
}

/* A POST/DELETE whose answer carries no data; ok_status is accepted besides 2xx. */
static int
simple(struct docker *d, const char *method, const char *path, json_t *body, long timeout_ms,
    long ok_status, char *err)
{
	long status = 0;

	if (docker__call(d, method, path, body, timeout_ms, NULL, &status, err) >= 0 &&
	    status < 300)
		return 0;
	if (ok_status && status == ok_status) {
		err_clear(err);
		return 0;
	}
	if (status >= 300 && status < 400)
		return docker__engine_error(method, path, status, "", 0, err);
	return -1;
}

/*
 * The endpoints other than the primary one, when the engine cannot take them
 * at create (API < 1.44): moved out of a copy of the body into *rest.
 */
static json_t *
split_networks(json_t *config, json_t **rest)
{
	json_t *copy, *eps, *host, *mode_j;
	const char *primary = NULL, *mode = NULL, *key;
	json_t *val;
	void *tmp;

	*rest = NULL;
	eps = json_object_get(json_object_get(config, "NetworkingConfig"), "EndpointsConfig");
	if (!json_is_object(eps) || json_object_size(eps) < 2)
		return NULL;
	host = json_object_get(config, "HostConfig");
	mode_j = json_object_get(host, "NetworkMode");
	if (json_is_string(mode_j))
		mode = json_string_value(mode_j);
	if (mode && json_object_get(eps, mode))
		primary = mode;
	else
		primary = json_object_iter_key(json_object_iter(eps));
	copy = json_deep_copy(config);
	eps = json_object_get(json_object_get(copy, "NetworkingConfig"), "EndpointsConfig");
	*rest = json_object();
	json_object_foreach_safe(eps, tmp, key, val) {
		if (strcmp(key, primary) == 0)
			continue;
		json_object_set(*rest, key, val);
		json_object_del(eps, key);
	}
	return copy;
}

int
docker_container_create(struct docker *d, const char *name, json_t *config, char **id_out,
    char *err)
{
	struct buf p;
	json_t *res = NULL, *split = NULL, *rest = NULL, *val;
	const char *id, *key;
	char rm_err[ERR_LEN];
	int rc = -1;

	*id_out = NULL;
	buf_init(&p, 0);
	if (!json_is_object(config)) {
		errf(err, "container create: the body must be a JSON object");
		goto out;
	}
	if (name && docker__check_arg("container name", name, err) < 0)
		goto out;
	buf_adds(&p, "/containers/create");
	if (name)
		docker__query_add(&p, "name", name);
	if (!docker_api_at_least(d, 1, 44))
		split = split_networks(config, &rest);
	if (docker__call(d, "POST", p.data, split ? split : config, d->timeout_ms, &res, NULL,
	    err) < 0)
		goto out;
	id = json_string_value(json_object_get(res, "Id"));
	if (!id || !*id) {
		errf(err, "engine: POST %s: no Id in the answer", p.data);
		goto out;
	}
	json_object_foreach(rest, key, val) {
		if (docker_network_connect(d, key, id, val, err) < 0) {
			/* all or nothing: a half-wired container is worse than none */
			docker_container_remove(d, id, 1, rm_err);
			goto out;
		}
	}
	*id_out = xstrdup(id);
	rc = 0;
out:
	json_decref(res);
	json_decref(split);
	json_decref(rest);
	buf_release(&p);
	return rc;
}

int
docker_container_start(struct docker *d, const char *id, char *err)
{
	char *path;
	int rc;

	if (docker__check_arg("container", id, err) < 0)
		return -1;
	path = docker__path_with("/containers/", id, NULL, "/start");
	rc = simple(d, "POST", path, NULL, d->timeout_ms, 304, err);
	free(path);
	return rc;
}

int
docker_container_stop(struct docker *d, const char *id, int timeout_s, char *err)
{
	struct buf p;
	char t[24];
	int rc;

	if (docker__check_arg("container", id, err) < 0)
		return -1;
	if (timeout_s < 0)
		timeout_s = 0;
	snprintf(t, sizeof(t), "%d", timeout_s);
	buf_init(&p, 0);
	buf_adds(&p, "/containers/");
	docker__buf_add_escaped(&p, id, NULL);
	buf_adds(&p, "/stop");
	docker__query_add(&p, "t", t);
	rc = simple(d, "POST", p.data, NULL, (long)timeout_s * 1000 + d->timeout_ms, 304, err);
	buf_release(&p);
	return rc;
}

int
docker_container_remove(struct docker *d, const char *id, int force, char *err)
{
	struct buf p;
	int rc;

	if (docker__check_arg("container", id, err) < 0)
		return -1;
	buf_init(&p, 0);
	buf_adds(&p, "/containers/");
	docker__buf_add_escaped(&p, id, NULL);
	/* never v=1: volumes outlive their containers */
	if (force)
		docker__query_add(&p, "force", "1");
	rc = simple(d, "DELETE", p.data, NULL, d->timeout_ms, 404, err);
	buf_release(&p);
	return rc;
}

int
docker_container_rename(struct docker *d, const char *id, const char *new_name, char *err)
{
	struct buf p;
	int rc;

	if (docker__check_arg("container", id, err) < 0 ||
	    docker__check_arg("new name", new_name, err) < 0)
		return -1;
	buf_init(&p, 0);
	buf_adds(&p, "/containers/");
	docker__buf_add_escaped(&p, id, NULL);
	buf_adds(&p, "/rename");
	docker__query_add(&p, "name", new_name);
	rc = simple(d, "POST", p.data, NULL, d->timeout_ms, 0, err);
	buf_release(&p);
	return rc;
}

int
docker_container_kill(struct docker *d, const char *id, const char *signal, char *err)
{
	struct buf p;
	int rc;

	if (docker__check_arg("container", id, err) < 0 ||
	    (signal && docker__check_arg("signal", signal, err) < 0))
		return -1;
	buf_init(&p, 0);
	buf_adds(&p, "/containers/");
	docker__buf_add_escaped(&p, id, NULL);
	buf_adds(&p, "/kill");
	if (signal)
		docker__query_add(&p, "signal", signal);
	rc = simple(d, "POST", p.data, NULL, d->timeout_ms, 0, err);
	buf_release(&p);
	return rc;
}

int
docker_container_wait(struct docker *d, const char *id, long timeout_ms, int *exit_code,
    char *err)
{
	json_t *res = NULL, *code, *e;
	char *path;
	const char *msg;
	int rc = -1;

	*exit_code = -1;
	if (docker__check_arg("container", id, err) < 0)
		return -1;
	path = docker__path_with("/containers/", id, NULL, "/wait?condition=not-running");
	if (docker__call(d, "POST", path, NULL, timeout_ms > 0 ? timeout_ms : 0, &res, NULL,
	    err) < 0)
		goto out;
	code = json_object_get(res, "StatusCode");
	if (!json_is_integer(code)) {
		errf(err, "engine: POST %s: no StatusCode in the answer", path);
		goto out;
	}
	e = json_object_get(res, "Error");
	msg = json_string_value(json_object_get(e, "Message"));
	if (msg && *msg) {
		errf(err, "engine: POST %s: %s", path, msg);
		goto out;
	}
	*exit_code = (int)json_integer_value(code);
	rc = 0;
out:
	json_decref(res);
	free(path);
	return rc;
}

/* ---------------------------------------------------------------- networks, volumes */

static json_t *
create_body(json_t *create_body, const char *name)
{
	json_t *b = json_is_object(create_body) ? json_deep_copy(create_body) : json_object();

	json_object_set_new(b, "Name", json_string(name));
	return b;
}

int
docker_network_ensure(struct docker *d, const char *name, json_t *create_body_in, char *err)
{
	json_t *cur = NULL, *body = NULL;
	const char *have;
	long status = 0;
	int rc = -1, r;

	if ((r = inspect(d, "network", name, "/networks/", NULL, "", &cur, err)) < 0)
		goto out;
	/* a name can also match an ID prefix: only the exact name counts */
	have = json_string_value(json_object_get(cur, "Name"));
	if (r == 0 && have && strcmp(have, name) == 0) {
		rc = 0;
		goto out;
	}
	body = create_body(create_body_in, name);
	/* before 1.44 the engine happily creates a second network of the same name */
	if (!docker_api_at_least(d, 1, 44))
		json_object_set_new(body, "CheckDuplicate", json_true());
	if (docker__call(d, "POST", "/networks/create", body, d->timeout_ms, NULL, &status,
	    err) >= 0) {
		rc = 1;
	} else if (status == 409) {
		err_clear(err);	/* created meanwhile by someone else */
		rc = 0;
	}
out:
	json_decref(cur);
	json_decref(body);
	return rc;
}

int
docker_volume_ensure(struct docker *d, const char *name, json_t *create_body_in, char *err)
{
	json_t *cur = NULL, *body = NULL;
	int rc = -1, r;

	if ((r = inspect(d, "volume", name, "/volumes/", NULL, "", &cur, err)) < 0)
		goto out;
	if (r == 0) {
		rc = 0;
		goto out;
	}
	body = create_body(create_body_in, name);
	if (docker__call(d, "POST", "/volumes/create", body, d->timeout_ms, NULL, NULL, err) >= 0)
		rc = 1;
out:
	json_decref(cur);
	json_decref(body);
	return rc;
}

int
docker_network_connect(struct docker *d, const char *network, const char *container,
    json_t *endpoint_config, char *err)
{
	json_t *body;
	char *path;
	int rc;

	if (docker__check_arg("network", network, err) < 0 ||
	    docker__check_arg("container", container, err) < 0)
		return -1;
	body = json_pack("{s:s}", "Container", container);
	if (json_is_object(endpoint_config))
		json_object_set(body, "EndpointConfig", endpoint_config);
	path = docker__path_with("/networks/", network, NULL, "/connect");
	rc = simple(d, "POST", path, body, d->timeout_ms, 0, err);
	json_decref(body);
	free(path);
	return rc;
}

/* ---------------------------------------------------------------- events */

struct events_ctx {
	const struct docker_events_options *o;
};

static int
events_line(json_t *j, void *payload, char *err)
{
	struct events_ctx *e = payload;

	(void)err;
	return e->o->event(j, e->o->payload) ? 1 : 0;
}

static void
events_skipped(const char *why, void *payload)
{
	struct events_ctx *e = payload;

	e->o->skipped(why, e->o->payload);
}

int
docker_events(struct docker *d, const char *label_filter, long timeout_ms,
    int (*cb)(json_t *event, void *payload), void *payload, char *err)
{
	struct docker_events_options o = DOCKER_EVENTS_OPTIONS_INIT;

	o.label = label_filter;
	o.timeout_ms = timeout_ms;
	o.event = cb;
	o.payload = payload;
	return docker_events_follow(d, &o, err);
}

/* The filters= of an events stream: label, container, event; NULL when none.
 * The values were checked by the caller. */
static char *
events_filters(const struct docker_events_options *o)
{
	json_t *f = json_object();
	char *s = NULL;

	if (o->label)
		json_object_set_new(f, "label", json_pack("[s]", o->label));
	if (o->container)
		json_object_set_new(f, "container", json_pack("[s]", o->container));
	if (o->actions) {
		json_t *a = json_array();

		for (const char *const *p = o->actions; *p; p++)
			json_array_append_new(a, json_string(*p));
		json_object_set_new(f, "event", a);
	}
	if (json_object_size(f) && !(s = json_dumps(f, JSON_COMPACT)))
		abort();
	json_decref(f);
	return s;
}

int
docker_events_follow(struct docker *d, const struct docker_events_options *o, char *err)
{
	struct events_ctx e = { o };
	struct docker__sink s;
	struct docker__req r = { 0 };
	struct buf p;
	char *filters = NULL;
	long status = 0;
	int rc = -1;

	docker__sink_init(&s, d, DOCKER__SINK_LINES);
	buf_init(&p, 0);
	buf_adds(&p, "/events");
	if (o->since) {
		if (docker__check_arg("events since", o->since, err) < 0)
			goto out;
		docker__query_add(&p, "since", o->since);
	}
	if (o->until) {
		if (docker__check_arg("events until", o->until, err) < 0)
			goto out;
		docker__query_add(&p, "until", o->until);
	}
	if (o->label && docker__check_arg("label filter", o->label, err) < 0)
		goto out;
	if (o->container && docker__check_arg("container filter", o->container, err) < 0)
		goto out;
	for (const char *const *a = o->actions; a && *a; a++)
		if (docker__check_arg("event filter", *a, err) < 0)
			goto out;
	if ((filters = events_filters(o)))
		docker__query_add(&p, "filters", filters);
	s.line_cb = events_line;
	if (o->skipped)
		s.skip_cb = events_skipped;
	s.payload = &e;
	r.method = "GET";
	r.path = p.data;
	r.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 0;
	r.timeout_ok = 1;
	if (docker__http_do(d, &r, &s, &status, err) < 0)
		goto out;
	if (status >= 300) {
		docker__engine_error("GET", p.data, status, s.body.data, s.body.len, err);
		goto out;
	}
	rc = s.stopped ? 1 : 0;
out:
	free(filters);
	buf_release(&p);
	docker__sink_release(&s);
	return rc;
}

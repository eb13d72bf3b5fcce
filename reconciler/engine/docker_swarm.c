/*
 * docker_swarm: the Swarm-mode endpoints of the Engine API client: the node's
 * place in a swarm (GET /info), services, their tasks, and secrets; see
 * docker.h. Services are created and updated with the registry credentials of
 * their image, as `docker service create --with-registry-auth` sends them.
 */
#include "docker_int.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
copy_str(char *dst, size_t n, json_t *j)
{
	const char *s = json_string_value(j);

	snprintf(dst, n, "%s", s ? s : "");
}

int
docker_swarm_info(struct docker *d, struct docker_swarm_info *out, char *err)
{
	json_t *info = NULL, *sw;

	memset(out, 0, sizeof(*out));
	if (docker__call(d, "GET", "/info", NULL, d->timeout_ms, &info, NULL, err) < 0)
		return -1;
	sw = json_object_get(info, "Swarm");
	copy_str(out->state, sizeof(out->state), json_object_get(sw, "LocalNodeState"));
	copy_str(out->node_id, sizeof(out->node_id), json_object_get(sw, "NodeID"));
	copy_str(out->node_addr, sizeof(out->node_addr), json_object_get(sw, "NodeAddr"));
	out->manager = json_is_true(json_object_get(sw, "ControlAvailable"));
	if (!out->state[0])
		snprintf(out->state, sizeof(out->state), "inactive");
	json_decref(info);
	return 0;
}

/* GET PATH?filters={"KEY":[VALUE]}[&EXTRA], expecting an array. */
static int
list_filtered(struct docker *d, const char *path, const char *key, const char *value,
    const char *extra, json_t **out, char *err)
{
	struct buf p;
	json_t *f;
	char *filters = NULL;
	int rc = -1;

	*out = NULL;
	buf_init(&p, 0);
	buf_adds(&p, path);
	if (value) {
		if (docker__check_arg(key, value, err) < 0)
			goto out;
		f = json_pack("{s:[s]}", key, value);
		filters = json_dumps(f, JSON_COMPACT);
		json_decref(f);
		docker__query_add(&p, "filters", filters);
	}
	if (extra)
		docker__query_add(&p, extra, "true");
	if (docker__call(d, "GET", p.data, NULL, d->timeout_ms, out, NULL, err) < 0)
		goto out;
	if (!json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		errf(err, "engine: GET %s: expected a JSON array", path);
		goto out;
	}
	rc = 0;
out:
	free(filters);
	buf_release(&p);
	return rc;
}

int
docker_services_list(struct docker *d, const char *label_filter, json_t **out, char *err)
{
	/* status=true (API 1.41) adds ServiceStatus: running and desired tasks */
	return list_filtered(d, "/services", "label", label_filter, "status", out, err);
}

int
docker_tasks_list(struct docker *d, const char *service, json_t **out, char *err)
{
	return list_filtered(d, "/tasks", "service", service, NULL, out, err);
}

int
docker_nodes_list(struct docker *d, json_t **out, char *err)
{
	return list_filtered(d, "/nodes", NULL, NULL, NULL, out, err);
}

int
docker_secrets_list(struct docker *d, const char *label_filter, json_t **out, char *err)
{
	return list_filtered(d, "/secrets", "label", label_filter, NULL, out, err);
}

int
docker_service_inspect(struct docker *d, const char *id, json_t **out, char *err)
{
	char *path;
	long status = 0;
	int rc;

	*out = NULL;
	if (docker__check_arg("service", id, err) < 0)
		return -1;
	path = docker__path_with("/services/", id, NULL, "");
	rc = docker__call(d, "GET", path, NULL, d->timeout_ms, out, &status, err);
	free(path);
	if (rc < 0 && status == 404) {
		err[0] = '\0';
		return 1;
	}
	return rc < 0 ? -1 : 0;
}

static int update_how(struct docker *d, const char *id, long long version,
    json_t *spec, int rollback, char *err);

/* Create and update send the image's registry credentials. */
static int
service_call(struct docker *d, const char *path, json_t *spec, json_t **out, long *status,
    char *err)
{
	const char *image = json_string_value(json_object_get(json_object_get(json_object_get(
	    spec, "TaskTemplate"), "ContainerSpec"), "Image"));
	char *auth = NULL;
	int rc;

	if (image && docker__image_auth(image, &auth, err) < 0)
		return -1;
	rc = docker__call_header(d, "POST", path, spec, auth, d->timeout_ms, out, status, err);
	docker__secret_free(auth);
	return rc < 0 ? -1 : 0;
}

int
docker_service_create(struct docker *d, json_t *spec, char **id_out, char *err)
{
	json_t *res = NULL;
	const char *id;
	int rc = -1;

	*id_out = NULL;
	if (service_call(d, "/services/create", spec, &res, NULL, err) < 0)
		goto out;
	if (!(id = json_string_value(json_object_get(res, "ID"))) || !*id) {
		errf(err, "engine: POST /services/create: the answer has no ID");
		goto out;
	}
	*id_out = xstrdup(id);
	rc = 0;
out:
	json_decref(res);
	return rc;
}

int
docker_service_update(struct docker *d, const char *id, long long version, json_t *spec,
    char *err)
{
	return update_how(d, id, version, spec, 0, err);
}

int
docker_service_rollback(struct docker *d, const char *id, long long version, json_t *spec,
    char *err)
{
	return update_how(d, id, version, spec, 1, err);
}

static int
update_how(struct docker *d, const char *id, long long version, json_t *spec,
    int rollback, char *err)
{
	char *path, ver[64];
	json_t *res = NULL;
	long status = 0;
	int rc;

	if (docker__check_arg("service", id, err) < 0)
		return -1;
	snprintf(ver, sizeof(ver), "/update?version=%lld%s", version, rollback ?
	    "&rollback=previous" : "");
	path = docker__path_with("/services/", id, NULL, ver);
	rc = service_call(d, path, spec, &res, &status, err);
	/* swarmkit refuses a spec based on an older version than the one it
	 * holds: someone changed the service since it was read */
	if (rc < 0 && strstr(err, "out of sequence"))
		errf(err, "service %s was changed by someone else since it was read (engine: update "
		    "out of sequence): it is read again and compared at the next cycle", id);
	json_decref(res);
	free(path);
	return rc;
}

/* DELETE PATH/id; already gone is success. */
static int
remove_object(struct docker *d, const char *what, const char *prefix, const char *id, char *err)
{
	char *path;
	long status = 0;
	int rc;

	if (docker__check_arg(what, id, err) < 0)
		return -1;
	path = docker__path_with(prefix, id, NULL, "");
	rc = docker__call(d, "DELETE", path, NULL, d->timeout_ms, NULL, &status, err);
	free(path);
	if (rc < 0 && status == 404) {
		err[0] = '\0';
		return 0;
	}
	return rc < 0 ? -1 : 0;
}

int
docker_service_remove(struct docker *d, const char *id, char *err)
{
	return remove_object(d, "service", "/services/", id, err);
}

int
docker_secret_remove(struct docker *d, const char *id, char *err)
{
	return remove_object(d, "secret", "/secrets/", id, err);
}

int
docker_secret_create(struct docker *d, const char *name, const void *data, size_t len,
    json_t *labels, char **id_out, char *err)
{
	json_t *body = NULL, *res = NULL;
	unsigned char *enc;
	const char *id;
	size_t enclen = 4 * ((len + 2) / 3) + 1;
	int rc = -1;

	*id_out = NULL;
	if (len > 500 * 1024)
		return errf(err, "secret '%s' is larger than Swarm's 500 KiB", name);
	enc = xmalloc(enclen);
	EVP_EncodeBlock(enc, data, (int)len);
	body = json_pack("{s:s,s:s,s:o}", "Name", name, "Data", (char *)enc, "Labels",
	    labels ? json_incref(labels) : json_object());
	explicit_bzero(enc, enclen);
	free(enc);
	if (docker__call(d, "POST", "/secrets/create", body, d->timeout_ms, &res, NULL, err) < 0)
		goto out;
	if (!(id = json_string_value(json_object_get(res, "ID"))) || !*id) {
		errf(err, "engine: POST /secrets/create: the answer has no ID");
		goto out;
	}
	*id_out = xstrdup(id);
	rc = 0;
out:
	if (body) {
		/* the body held the secret's value */
		json_t *dj = json_object_get(body, "Data");
		char *v = (char *)json_string_value(dj);

		if (v)
			explicit_bzero(v, strlen(v));
	}
	json_decref(body);
	json_decref(res);
	return rc;
}

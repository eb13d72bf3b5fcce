/*
 * docker_multi: several GETs at once, each on a connection of its own through
 * a curl multi handle the Engine handle keeps (with its connections), so a
 * list of containers, networks and volumes costs the slowest of them rather
 * than their sum. What one of them gets back is read as docker__call reads it;
 * one refused for its API version is sent again alone, at the engine's.
 */
#include "docker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

struct one {
	struct docker__req r;
	struct docker__sink s;
	struct curl_slist *hdrs;
	char *url;
	CURLcode cc;
	long status;
	int added, done;
};

/* Runs every added transfer to its end; each one's CURLcode in its slot. */
static int
run_all(struct docker *d, struct one *v, size_t n, char *err)
{
	int running = 1;
	CURLMsg *msg;
	int left;

	while (running) {
		CURLMcode mc = curl_multi_perform(d->multi, &running);

		if (mc == CURLM_OK && running)
			mc = curl_multi_poll(d->multi, NULL, 0, 1000, NULL);
		if (mc != CURLM_OK)
			return errf(err, "engine: %s", curl_multi_strerror(mc));
	}
	while ((msg = curl_multi_info_read(d->multi, &left)))
		for (size_t i = 0; msg->msg == CURLMSG_DONE && i < n; i++)
			if (v[i].added && d->side[i] == msg->easy_handle) {
				v[i].cc = msg->data.result;
				v[i].done = 1;
			}
	return 0;
}

/* The transfers, set up, run together, then taken off the multi handle. */
static int
exchange_all(struct docker *d, struct one *v, size_t n, char *err)
{
	long long t0 = docker__now_us();
	int rc = 0;

	if (!d->multi && !(d->multi = curl_multi_init()))
		return errf(err, "cannot initialise libcurl");
	for (size_t i = 0; i < n && rc == 0; i++) {
		if ((!d->side[i] && !(d->side[i] = curl_easy_init())) ||
		    docker__easy_setup(d, d->side[i], d->side_err[i], &v[i].r, &v[i].s,
		    &v[i].hdrs, &v[i].url, err) < 0 ||
		    curl_multi_add_handle(d->multi, d->side[i]) != CURLM_OK)
			rc = errf(err, "cannot set up a request to the engine (out of memory)");
		else
			v[i].added = 1;
	}
	if (rc == 0) {
		d->calls += n;
		rc = run_all(d, v, n, err);
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].added)
			curl_multi_remove_handle(d->multi, d->side[i]);
		v[i].added = 0;
		if (v[i].done)
			curl_easy_getinfo(d->side[i], CURLINFO_RESPONSE_CODE, &v[i].status);
	}
	d->wait_us += docker__now_us() - t0;
	return rc;
}

/* One transfer's answer: parsed into *out, its version settled; a refusal
 * of the version sends it again alone (docker__http_do does the rest). */
static int
finish(struct docker *d, struct one *o, size_t i, json_t **out, char *err)
{
	if (!o->done)
		return errf(err, "engine: GET %s: no answer", o->r.path);
	if (docker__easy_outcome(d, d->side[i], d->side_err[i], &o->r, &o->s, o->cc, o->status,
	    err) < 0 || docker__version_settle(d, o->s.api, err) < 0)
		return -1;
	if (docker__version_refused(o->status, &o->s))
		return docker__call(d, "GET", o->r.path, NULL, d->timeout_ms, out, NULL, err) < 0 ?
		    -1 : 0;
	return docker__call_finish("GET", o->r.path, o->status, &o->s, out, err) < 0 ? -1 : 0;
}

int
docker_get_all(struct docker *d, const char *const *paths, size_t n, json_t **outs, char *err)
{
	struct one v[DOCKER__SIDE];
	int rc = -1;

	if (n > DOCKER__SIDE)
		return errf(err, "engine: %zu requests at once, at most %d", n, DOCKER__SIDE);
	memset(v, 0, sizeof(v));
	for (size_t i = 0; i < n; i++) {
		outs[i] = NULL;
		v[i].r.method = "GET";
		v[i].r.path = paths[i];
		v[i].r.timeout_ms = d->timeout_ms;
		docker__sink_init(&v[i].s, d, DOCKER__SINK_BUFFER);
	}
	if (exchange_all(d, v, n, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (finish(d, &v[i], i, &outs[i], err) < 0)
			goto out;
	rc = 0;
out:
	for (size_t i = 0; i < n; i++) {
		if (rc < 0) {
			json_decref(outs[i]);
			outs[i] = NULL;
		}
		curl_slist_free_all(v[i].hdrs);
		free(v[i].url);
		docker__sink_release(&v[i].s);
	}
	return rc;
}

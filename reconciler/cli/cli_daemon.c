/*
 * Talking to the running reconcilerd: its control socket (HTTP over a unix
 * socket) and, when no daemon answers, the files it leaves in its state
 * directory.
 */
#include "cli.h"
#include "cli_source.h"
#include "util.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *
cli_state_file(const struct cli_source *src, const char *name)
{
	return xasprintf("%s/%s", src->state_dir ? src->state_dir : STATE_DIR_DEFAULT, name);
}

json_t *
cli_read_json_file(const char *path)
{
	return json_load_file(path, 0, NULL);
}

static size_t
collect(char *data, size_t size, size_t n, void *payload)
{
	return buf_add(payload, data, size * n) < 0 ? 0 : size * n;
}

/* A call to the daemon's control socket (<state_dir>/reconcilerd.sock or
 * --socket). Returns the HTTP status with *out the JSON answer, or -1 when no
 * daemon answers there. */
long
cli_daemon_call(const struct cli_source *src, const char *method, const char *path, json_t **out)
{
	char *sock = src->socket ? xstrdup(src->socket) : cli_state_file(src, "reconcilerd.sock");
	char *url = xasprintf("http://reconcilerd%s", path);
	CURL *c = curl_easy_init();
	struct buf b;
	long status = -1;

	*out = NULL;
	buf_init(&b, 16 << 20);
	if (c && access(sock, F_OK) == 0) {
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		if (strcmp(method, "POST") == 0)
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
		if (curl_easy_perform(c) == CURLE_OK) {
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
			*out = b.data ? json_loads(b.data, 0, NULL) : NULL;
		}
	}
	if (c)
		curl_easy_cleanup(c);
	buf_release(&b);
	free(url);
	free(sock);
	return status;
}

/* The daemon's status: from its socket, else from status.json. */
json_t *
cli_daemon_status(const struct cli_source *src, int *live)
{
	char *path;
	json_t *st = NULL;

	*live = cli_daemon_call(src, "GET", "/v1/status", &st) == 200 && json_is_object(st);
	if (*live)
		return st;
	json_decref(st);
	path = cli_state_file(src, "status.json");
	st = cli_read_json_file(path);
	free(path);
	return st;
}

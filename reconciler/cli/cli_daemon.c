/*
 * Talking to the running reconcilerd: its control socket (HTTP over a unix
 * socket) and, when no daemon answers, the files it leaves in its state
 * directory.
 */
#include "cli.h"
#include "cli_source.h"
#include "http_unix.h"
#include "util.h"

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

/* A call to the daemon's control socket (<state_dir>/reconcilerd.sock or
 * --socket). Returns the HTTP status with *out the JSON answer, or -1 when no
 * daemon answers there. */
long
cli_daemon_call(const struct cli_source *src, const char *method, const char *path, json_t **out)
{
	char *sock = src->socket ? xstrdup(src->socket) : cli_state_file(src, "reconcilerd.sock");
	char err[ERR_LEN];
	struct buf b;
	long status = -1;

	*out = NULL;
	if (access(sock, F_OK) == 0) {
		status = http_unix_call(sock, method, path, 10000, (size_t)16 << 20, &b, err);
		if (status >= 0 && b.len)
			*out = json_loadb(b.data, b.len, 0, NULL);
		buf_release(&b);
	}
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

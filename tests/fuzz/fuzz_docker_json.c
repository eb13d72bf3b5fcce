/*
 * fuzz_docker_json: what the engine sends back, hostile. The input is parsed
 * as a GET /containers/json list (each item decoded) or a single inspect
 * result, and is also fed, in chunks whose size the first byte picks, to the
 * exec stream demultiplexer.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "docker.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
sink(int stream, const char *p, size_t len, void *payload)
{
	size_t *total = payload;

	/* touch every byte handed out, so ASan sees any overread */
	for (size_t i = 0; i < len; i++)
		*total += (unsigned char)p[i];
	return stream < 1 || stream > 3;
}

static void
decode(json_t *item)
{
	struct docker_container c;
	char err[ERR_LEN];

	if (docker_container_from_json(&c, item, err) == 0) {
		/* the promises docker.h makes about a decoded container */
		if (!c.id || !c.name || !c.image || !c.state || !json_is_object(c.labels))
			__builtin_trap();
		if (c.health && strcmp(c.health, "healthy") && strcmp(c.health, "unhealthy") &&
		    strcmp(c.health, "starting"))
			__builtin_trap();
	} else if (!memchr(err, '\0', ERR_LEN) || c.id || c.labels) {
		__builtin_trap();
	}
	docker_container_release(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct docker_demux m = DOCKER_DEMUX_INIT;
	json_t *j;
	size_t i, step, total = 0;
	json_t *item;
	char err[ERR_LEN];

	if ((j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL))) {
		if (json_is_array(j)) {
			json_array_foreach(j, i, item)
				decode(item);
		} else {
			decode(j);
		}
		json_decref(j);
	}

	step = size ? (size_t)data[0] % 19 + 1 : 1;
	for (i = 0; i < size; i += step) {
		size_t n = size - i < step ? size - i : step;

		if (docker_demux_feed(&m, (const char *)data + i, n, sink, &total, err) < 0)
			return 0;
		if (m.hdr_len > 8 || m.left > DOCKER_DEMUX_MAX_FRAME)
			__builtin_trap();
	}
	docker_demux_finish(&m, err);
	return 0;
}

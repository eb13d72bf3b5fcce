/* libFuzzer target: the HTTP request parser of the control socket and the
 * listener (outside input: any local client, webhooks later). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req;
	char *buf = malloc(size + 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (http_parse(buf, size, &req) == 1) {
		(void)http_header(&req, "content-type");
		if (req.body_len && req.body[req.body_len - 1] == 'x')
			buf[0] = 0;
	}
	free(buf);
	return 0;
}

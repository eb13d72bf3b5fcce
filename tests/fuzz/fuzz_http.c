/* libFuzzer target: the HTTP request parser of the control socket and the
 * listener child (outside input: anyone who reaches the listener). The input
 * is parsed at once and again fed in pieces (the first byte sets their size),
 * as the server does: both must agree. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req, req2;
	struct http_parser p;
	char *buf = malloc(size + 1), *buf2 = malloc(size + 1);
	size_t step = size ? 1 + data[0] % 97 : 1, len = 0;
	int rc, rc2 = 0;

	if (!buf || !buf2)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	memcpy(buf2, data, size);
	buf2[size] = '\0';
	rc = http_parse(buf, size, &req);
	if (rc == 1) {
		(void)http_header(&req, "content-type");
		if (req.body_len && req.body[req.body_len - 1] == 'x')
			buf[0] = 0;
	}
	memset(&p, 0, sizeof(p));
	memset(&req2, 0, sizeof(req2));
	do {
		len = len + step > size ? size : len + step;
		rc2 = http_parse_more(&p, buf2, len, &req2);
	} while (rc2 == 0 && len < size);
	if (rc != rc2)
		abort();
	if (rc == 1 && (req.body_len != req2.body_len || req.nheaders != req2.nheaders ||
	    strcmp(req.path, req2.path) != 0))
		abort();
	free(buf);
	free(buf2);
	return 0;
}

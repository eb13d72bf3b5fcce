/* libFuzzer target: the listener child's channel as reconcilerd reads it
 * (chan.c): a hostile child may write any bytes. Frames are cut from the
 * stream in pieces (the first byte sets their size, the rest is the stream) and every payload is
 * decoded as each message type. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "chan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct chan_config c;
	struct chan_reader r;
	struct chan_request q;
	struct chan_trigger t;
	struct chan_hook h;
	struct chan_answer a;
	const unsigned char *p;
	size_t n, step;
	char err[ERR_LEN];
	int type, rc = 0;

	if (size == 0)
		return 0;
	step = 1 + data[0] % 61;
	data++;
	size--;
	chan_reader_init(&r, CHAN_MAX_TO_PARENT);
	for (size_t off = 0; off < size && rc >= 0; off += step) {
		if (chan_feed(&r, data + off, off + step > size ? size - off : step) < 0)
			break;
		while ((rc = chan_next(&r, &type, &p, &n, err)) == 1) {
			(void)chan_get_request(p, n, &q, err);
			(void)chan_get_trigger(p, n, &t, err);
			(void)chan_get_hook(p, n, &h, err);
			(void)chan_get_config(p, n, &c, err);
			if (chan_get_answer(p, n, &a, err) == 0 && a.body_len && a.body[0] == 'x')
				memset(err, 0, 1);
		}
	}
	chan_reader_release(&r);
	return 0;
}

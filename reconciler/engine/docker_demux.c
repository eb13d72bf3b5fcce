/*
 * docker_demux: decodes the engine's multiplexed stdout/stderr stream (8-byte
 * frame headers, then payload) fed in arbitrary chunks; see docker.h. Pure: the
 * exec stream and the fuzz target feed it.
 */
#include "docker.h"
#include "util.h"

#include <string.h>

int
docker_demux_feed(struct docker_demux *m, const char *data, size_t len, docker_output_cb cb,
    void *payload, char *err)
{
	while (len) {
		if (m->left == 0) {
			size_t k = 8 - m->hdr_len;

			if (k > len)
				k = len;
			memcpy(m->hdr + m->hdr_len, data, k);
			m->hdr_len += k;
			data += k;
			len -= k;
			if (m->hdr_len < 8)
				break;
			m->hdr_len = 0;
			if (m->hdr[0] > 3 || m->hdr[1] || m->hdr[2] || m->hdr[3])
				return errf(err, "malformed stream header %02x %02x %02x %02x "
				    "(not a multiplexed stream?)", m->hdr[0], m->hdr[1], m->hdr[2],
				    m->hdr[3]);
			m->stream = m->hdr[0] == 0 ? 1 : m->hdr[0];
			m->left = (uint32_t)m->hdr[4] << 24 | (uint32_t)m->hdr[5] << 16 |
			    (uint32_t)m->hdr[6] << 8 | m->hdr[7];
			if (m->left > DOCKER_DEMUX_MAX_FRAME)
				return errf(err, "stream frame of %lu bytes, more than %u "
				    "(not a multiplexed stream?)", (unsigned long)m->left,
				    DOCKER_DEMUX_MAX_FRAME);
		} else {
			size_t k = len < m->left ? len : m->left;

			m->left -= (uint32_t)k;
			if (cb && cb(m->stream, data, k, payload))
				return errf(err, "output callback aborted the stream");
			data += k;
			len -= k;
		}
	}
	return 0;
}

int
docker_demux_finish(const struct docker_demux *m, char *err)
{
	if (m->hdr_len)
		return errf(err, "stream ended inside a frame header (%zu of 8 bytes)", m->hdr_len);
	if (m->left)
		return errf(err, "stream ended %lu bytes short of the end of a frame",
		    (unsigned long)m->left);
	return 0;
}

/* libFuzzer target: cron expressions (from manifests) and next-run search,
 * in UTC and in a zone; an input starting "TZif" is a zone file instead,
 * decoded and asked for offsets and a next run. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cron.h"
#include "tz.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tz *paris;
	static int loaded;
	char expr[300], err[ERR_LEN];
	struct cron c;

	if (!loaded) {
		loaded = 1;
		if (tz_load(&paris, "Europe/Paris", err) < 0)
			paris = NULL;
	}
	if (size >= 4 && memcmp(data, "TZif", 4) == 0) {
		struct tz *z = NULL;

		if (tz_parse(&z, "fuzz", data, size, err) == 0) {
			cron_parse(&c, "*/7 2 * * *", err);
			for (time_t t = -2000000000; t < 4000000000; t += 500000000)
				(void)tz_offset(z, t);
			cron_next_tz(&c, z, 1700000000);
			tz_free(z);
		}
		return 0;
	}
	if (size >= sizeof(expr))
		return 0;
	memcpy(expr, data, size);
	expr[size] = '\0';
	if (cron_parse(&c, expr, err) == 0) {
		cron_next_utc(&c, 1700000000);
		cron_next_tz(&c, paris, 1774740000);	/* the night of a DST change */
	}
	return 0;
}

/* libFuzzer target: cron expressions (from manifests) and next-run search. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cron.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char expr[300], err[ERR_LEN];
	struct cron c;

	if (size >= sizeof(expr))
		return 0;
	memcpy(expr, data, size);
	expr[size] = '\0';
	if (cron_parse(&c, expr, err) == 0)
		cron_next_utc(&c, 1700000000);
	return 0;
}

/* libFuzzer target: import-compose's converter. A Compose file is outside
 * input, and whatever it holds, the converter must either refuse it with
 * positioned errors or write a manifest the validator accepts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compose.h"
#include "diag.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Resolves every other reference, so both paths run. */
static int
fake_resolve(const char *ref, char *digest, size_t len, const char **how, char *err,
    void *payload)
{
	(void)payload;
	if (strlen(ref) % 2)
		return errf(err, "no such tag");
	snprintf(digest, len, "sha256:%064d", 0);
	*how = "the fuzzer";
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const images[] = { "web=nginx:1.25", "api=r@sha256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", NULL };
	struct compose_options o = COMPOSE_OPTIONS_INIT;
	struct compose_result r;
	struct diag d;
	int rc;

	o.default_project = "fuzz";
	o.base_dir = "/srv/app";
	o.images = images;
	if (size && data[0] & 1) {
		o.resolve = fake_resolve;
		o.project = "other";
	}
	diag_init(&d, "fuzz.yml");
	rc = compose_convert(&r, "fuzz.yml", (const char *)data, size, &o, &d);
	for (size_t i = 0; i < d.n; i++)
		if (strncmp(d.v[i].msg, "the converted manifest does not validate", 40) == 0)
			abort();	/* the output did not validate */
	if (rc >= 0 && (!r.text || strlen(r.text) != r.len))
		abort();
	compose_result_release(&r);
	diag_release(&d);
	return 0;
}

/*
 * fuzz_registry: what an image registry sends back for update-images,
 * hostile: the input is read as a manifest or an index (the config digest,
 * or the entry chosen) and as an image config (its created date), and that
 * date as RFC 3339.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imageupdate.h"
#include "registry.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERR_LEN], *config = NULL, *child = NULL, *created = NULL;
	int64_t t;
	int kind = registry_manifest_pick((const char *)data, size, &config, &child, err);

	/* the promises registry.h makes */
	if ((kind == 0 && (!config || child || strncmp(config, "sha256:", 7) != 0)) ||
	    (kind == 1 && (!child || config || strlen(child) != 71)) ||
	    (kind == -1 && (config || child)))
		__builtin_trap();
	free(config);
	free(child);
	if (registry_config_created((const char *)data, size, &created) == 0) {
		if (!created || strlen(created) >= 64)
			__builtin_trap();
		(void)imageupdate_parse_time(created, &t);
	}
	free(created);
	return 0;
}

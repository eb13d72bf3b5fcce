/* libFuzzer target: the manifest parser and validator, the check of each
 * backend's keys and set-image on whatever parses. Outside input: every
 * manifest comes from a Git remote. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "manifest.h"
#include "setimage.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest *m = NULL;
	struct diag d;

	diag_init(&d, "fuzz.yaml");
	if (manifest_parse(&m, "fuzz.yaml", (const char *)data, size, &d) == 0 && m->nservices) {
		char err[ERR_LEN], *out = NULL, *first;
		size_t outlen;
		struct diag d2;
		size_t *order = manifest_topo_order(m);

		free(order);
		diag_init(&d2, "fuzz.yaml");
		manifest_check_backend(m, "containers", &d2);
		manifest_check_backend(m, "swarm", &d2);
		diag_release(&d2);
		diag_init(&d2, "fuzz.yaml");
		setimage_apply("fuzz.yaml", (const char *)data, size, m->services[0].name,
		    "r@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		    &out, &outlen, &d2, err);
		free(out);
		first = diag_first(&d2);
		free(first);
		diag_release(&d2);
	}
	diag_sort(&d);
	manifest_free(m);
	diag_release(&d);
	return 0;
}

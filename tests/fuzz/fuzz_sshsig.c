/* libFuzzer target: the key fingerprint read from an armored ssh signature
 * (a commit's gpgsig header, outside input), as gitverify reads it before
 * any tool judges the signature. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gitverify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *sig = malloc(size + 1), fp[160];

	if (!sig)
		return 0;
	memcpy(sig, data, size);
	sig[size] = '\0';
	gitverify_ssh_fingerprint(sig, fp, sizeof(fp));
	if (*fp && strncmp(fp, "SHA256:", 7) != 0)
		abort();
	free(sig);
	return 0;
}

/* libFuzzer target: a secret env file (and a {secret: NAME} value) read into
 * the spec and the Engine create body. Outside input of a kind: the files sit
 * on the host, but a bad one must fail with its line number, never quote its
 * content (errors reach the log, status.json and the HTTP pages), and never
 * put a string jansson refuses into the body. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "manifest.h"
#include "secretmap.h"
#include "spec.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char text[] =
	"version: 1\nproject: f\nservices:\n  web:\n"
	"    image: r/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	"    env_files: [app.env]\n"
	"    environment: {TOK: {secret: tok}}\n";

/* The only forms an error may take: a name, a line number, a fixed reason. */
static int
error_ok(const char *err)
{
	static const char *const reasons[] = {
		"expected KEY=VALUE", "expected KEY=VALUE (the name is empty)",
		"not valid UTF-8 (an environment variable holds UTF-8 text)",
		"a NUL byte (an environment variable holds UTF-8 text)", NULL,
	};
	const char *p;

	if (strncmp(err, "env file 'app.env', line ", 25) == 0)
		p = err + 25;
	else if (strncmp(err, "secret 'tok' (variable TOK), line ", 34) == 0)
		p = err + 34;
	else
		return 0;
	if (*p < '1' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	if (strncmp(p, ": ", 2) != 0)
		return 0;
	for (size_t i = 0; reasons[i]; i++)
		if (strcmp(p + 2, reasons[i]) == 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[32];
	struct manifest *m = NULL;
	struct secretmap sec;
	struct diag d;
	char err[ERR_LEN] = "";
	json_t *spec = NULL, *cfg = NULL;
	int rc;

	diag_init(&d, "f.yaml");
	if (manifest_parse(&m, "f.yaml", text, sizeof(text) - 1, &d) < 0)
		abort();
	secretmap_init(&sec, "/nonexistent", key);
	secretmap_put(&sec, "app.env", (const char *)data, size, NULL);
	secretmap_put(&sec, "tok", (const char *)data, size, NULL);
	rc = spec_service(m, &m->services[0], &sec, &spec, err);
	if (rc < 0 && !error_ok(err))
		abort();
	if (spec_container_config(m, &m->services[0], &sec, "r", ROLE_PRIMARY, &cfg, err) != rc)
		abort();
	/* every variable of the spec reaches the body: none silently dropped */
	if (rc == 0 && json_object_size(json_object_get(spec, "env")) !=
	    json_array_size(json_object_get(cfg, "Env")))
		abort();
	json_decref(spec);
	json_decref(cfg);
	secretmap_release(&sec);
	manifest_free(m);
	diag_release(&d);
	return 0;
}

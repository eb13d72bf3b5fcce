/*
 * test_docker_auth: the X-Registry-Auth header a pull sends, byte for byte
 * what the client's own base64 wrote before it used OpenSSL's, and the
 * decoding of config.json's "auth" field, good and bad.
 */
#include "docker_test.h"

/* ---------------------------------------------------------------- registry auth */

/* The base64 the client wrote itself before it used OpenSSL's, kept as the
 * reference: X-Registry-Auth must stay byte for byte what it was (base64url
 * with '=' padding), and config.json's "auth" must decode as it did. */
static char *
ref_base64url(const unsigned char *in, size_t n)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = alphabet[(v >> 6) & 63];
		*o++ = alphabet[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);

		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

/* Standard alphabet, padding optional, nothing read past the first '=', the
 * bits of an incomplete last byte dropped; NULL on any other character. */
static char *
ref_base64_decode(const char *in)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), o = 0;
	char *out = xmalloc(n / 4 * 3 + 4);
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		const char *p;

		if (in[i] == '=')
			break;
		if (!(p = strchr(alphabet, in[i]))) {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)(p - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	return out;
}

/* The header for these credentials: the JSON the engine reads, encoded by
 * the reference. */
static char *
ref_header(const char *user, const char *pass, const char *token, const char *server)
{
	json_t *ac = json_object();
	char *text, *enc, *h;

	if (user)
		json_object_set_new(ac, "username", json_string(user));
	if (pass)
		json_object_set_new(ac, "password", json_string(pass));
	if (token)
		json_object_set_new(ac, "identitytoken", json_string(token));
	json_object_set_new(ac, "serveraddress", json_string(server));
	text = json_dumps(ac, JSON_COMPACT);
	assert_non_null(text);
	enc = ref_base64url((const unsigned char *)text, strlen(text));
	h = xasprintf("X-Registry-Auth: %s", enc);
	free(enc);
	free(text);
	json_decref(ac);
	return h;
}

struct auth_env {
	char dir[32];
	char *cfg;	/* <dir>/config.json */
	char *saved;	/* $DOCKER_CONFIG before the test */
};

static int
auth_setup(void **state)
{
	struct auth_env *e = xcalloc(1, sizeof(*e));

	snprintf(e->dir, sizeof(e->dir), "/tmp/rt-docker-auth-XXXXXX");
	if (!mkdtemp(e->dir)) {
		free(e);
		return -1;
	}
	e->cfg = xasprintf("%s/config.json", e->dir);
	e->saved = getenv("DOCKER_CONFIG") ? xstrdup(getenv("DOCKER_CONFIG")) : NULL;
	setenv("DOCKER_CONFIG", e->dir, 1);
	*state = e;
	return 0;
}

static int
auth_teardown(void **state)
{
	struct auth_env *e = *state;

	if (e->saved)
		setenv("DOCKER_CONFIG", e->saved, 1);
	else
		unsetenv("DOCKER_CONFIG");
	unlink(e->cfg);
	rmdir(e->dir);
	free(e->cfg);
	free(e->saved);
	free(e);
	return 0;
}

/* docker__registry_auth for registry with config.json holding config. */
static int
auth_header(struct auth_env *e, const char *config, const char *registry, char **hdr,
    char *err)
{
	FILE *fp = fopen(e->cfg, "w");

	assert_non_null(fp);
	fputs(config, fp);
	fclose(fp);
	*hdr = NULL;
	return docker__registry_auth(registry, hdr, err);
}

/* A config.json with one auths entry for 127.0.0.1:5000 (caller frees). */
static char *
auth_config(const char *field, const char *value, const char *field2, const char *value2)
{
	json_t *entry = json_pack("{s:s}", field, value), *cfg;
	char *text;

	if (field2)
		json_object_set_new(entry, field2, json_string(value2));
	cfg = json_pack("{s:{s:o}}", "auths", "127.0.0.1:5000", entry);
	text = json_dumps(cfg, JSON_COMPACT);
	assert_non_null(text);
	json_decref(cfg);
	return text;
}

/* Literal headers the client sent before its base64 came from OpenSSL: every
 * padding, and the two characters base64url changes ('-' and '_'). */
static void
test_registry_auth_bytes(void **state)
{
	static const struct {
		const char *config, *registry, *header;
	} fixed[] = {
		{ "{\"auths\":{\"127.0.0.1:5000\":{\"username\":\"u\",\"password\":\"?\"}}}",
		  "127.0.0.1:5000", "X-Registry-Auth: eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6Ij8i"
		  "LCJzZXJ2ZXJhZGRyZXNzIjoiMTI3LjAuMC4xOjUwMDAifQ==" },
		{ "{\"auths\":{\"127.0.0.1:5000\":{\"username\":\"u\",\"password\":\"??\"}}}",
		  "127.0.0.1:5000", "X-Registry-Auth: eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6Ij8_"
		  "Iiwic2VydmVyYWRkcmVzcyI6IjEyNy4wLjAuMTo1MDAwIn0=" },
		{ "{\"auths\":{\"127.0.0.1:5000\":{\"username\":\"u\",\"password\":\"~~~\"}}}",
		  "127.0.0.1:5000", "X-Registry-Auth: eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6In5-"
		  "fiIsInNlcnZlcmFkZHJlc3MiOiIxMjcuMC4wLjE6NTAwMCJ9" },
		{ "{\"auths\":{\"127.0.0.1:5000\":{\"username\":\"u\",\"password\":"
		  "\"?>~\xc3\xbf\"}}}",
		  "127.0.0.1:5000", "X-Registry-Auth: eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6Ij8-"
		  "fsO_Iiwic2VydmVyYWRkcmVzcyI6IjEyNy4wLjAuMTo1MDAwIn0=" },
		{ "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"eDp5\","
		  "\"identitytoken\":\"t?k~n\"}}}",
		  "docker.io", "X-Registry-Auth: eyJ1c2VybmFtZSI6IngiLCJwYXNzd29yZCI6InkiLCJp"
		  "ZGVudGl0eXRva2VuIjoidD9rfm4iLCJzZXJ2ZXJhZGRyZXNzIjoiaHR0cHM6Ly9pbmRleC5kb2Nr"
		  "ZXIuaW8vdjEvIn0=" },
		{ "{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"dXNlcjpwYTpzcwx\"}}}",
		  "127.0.0.1:5000", "X-Registry-Auth: eyJ1c2VybmFtZSI6InVzZXIiLCJwYXNzd29yZCI6"
		  "InBhOnNzXGYiLCJzZXJ2ZXJhZGRyZXNzIjoiMTI3LjAuMC4xOjUwMDAifQ==" },
	};
	struct auth_env *e = *state;
	char *hdr, err[ERR_LEN];

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (auth_header(e, fixed[i].config, fixed[i].registry, &hdr, err) < 0)
			fail_msg("%s: %s", fixed[i].config, err);
		assert_non_null(hdr);
		assert_string_equal(hdr, fixed[i].header);
		free(hdr);
	}
	/* no entry for the registry, no config at all: no header, no error */
	assert_int_equal(auth_header(e, "{\"auths\":{\"other:5000\":{\"auth\":\"eDp5\"}}}",
	    "127.0.0.1:5000", &hdr, err), 0);
	assert_null(hdr);
	unlink(e->cfg);
	assert_int_equal(docker__registry_auth("127.0.0.1:5000", &hdr, err), 0);
	assert_null(hdr);
}

/* Passwords of every length to 64 over characters whose encoding holds '-'
 * and '_' at every offset, and "auth" fields of every shape: the header is
 * what the reference makes of them. */
static void
test_registry_auth_sweep(void **state)
{
	static const char *const units[] = { "?", ">", "~", "\xc3\xbf", "\xe2\x82\xac" };
	/* padded, unpadded, 4k+1 characters, text after '=', ":" at the ends */
	static const char *const good[] = { "dXNlcjpwYTpzcw==", "dXNlcjpwYTpzcw",
		"dXNlcjpwYTpzcwx", "dXNlcjpwYTpzc", "dXNlcjpwYTpzcw=x", "eDp5", "eDp5Og",
		"Ojo6", "dTo=", "Pz8+fjo/Pz8/" };
	/* a character of no alphabet, no ':', base64url, a NUL before the ':' */
	static const char *const bad[] = { "dXN*cjpwYTpzcw==", "dXNlcg==", "Pz8-fjo_Pz8_Og==",
		"dXNl cjpwYTpzcw==", "AAA6" };
	struct auth_env *e = *state;
	char *hdr, *want, *config, err[ERR_LEN], msg[ERR_LEN];
	int dash = 0, under = 0, pads[3] = { 0 };

	for (size_t n = 0; n <= 64; n++) {
		struct buf pw;
		size_t len;

		buf_init(&pw, 0);
		buf_add(&pw, "", 0);
		for (size_t k = 0; k < n; k++)
			buf_adds(&pw, units[(k + n) % 5]);
		config = auth_config("username", "u", "password", pw.data);
		if (auth_header(e, config, "127.0.0.1:5000", &hdr, err) < 0)
			fail_msg("%s: %s", config, err);
		want = ref_header("u", pw.data, NULL, "127.0.0.1:5000");
		assert_non_null(hdr);
		assert_string_equal(hdr, want);
		dash |= strchr(hdr, '-') != NULL;
		under |= strchr(hdr, '_') != NULL;
		len = strlen(hdr);
		pads[hdr[len - 1] != '=' ? 0 : hdr[len - 2] != '=' ? 1 : 2]++;
		free(hdr);
		free(want);
		free(config);
		buf_release(&pw);
	}
	assert_true(dash && under && pads[0] && pads[1] && pads[2]);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *up = ref_base64_decode(good[i]), *colon;

		assert_non_null(up);
		colon = strchr(up, ':');
		assert_non_null(colon);
		*colon = '\0';
		want = ref_header(up, colon + 1, NULL, "127.0.0.1:5000");
		config = auth_config("auth", good[i], NULL, NULL);
		if (auth_header(e, config, "127.0.0.1:5000", &hdr, err) < 0)
			fail_msg("%s: %s", config, err);
		assert_non_null(hdr);
		assert_string_equal(hdr, want);
		free(hdr);
		free(want);
		free(config);
		free(up);
	}
	snprintf(msg, sizeof(msg), "%s: auths.\"127.0.0.1:5000\".auth: expected base64 of "
	    "'user:password'", e->cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config = auth_config("auth", bad[i], NULL, NULL);
		assert_int_equal(auth_header(e, config, "127.0.0.1:5000", &hdr, err), -1);
		assert_null(hdr);
		assert_string_equal(err, msg);
		free(config);
	}
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registry_auth_bytes, auth_setup,
		    auth_teardown),
		cmocka_unit_test_setup_teardown(test_registry_auth_sweep, auth_setup,
		    auth_teardown),
	};

	return cmocka_run_group_tests_name("docker (registry auth)", tests, NULL, NULL);
}

/*
 * docker_fixture: the real-engine tests' world: an engine handle, a busybox
 * image imported for the run, a bind-mounted directory, and everything made
 * here (named rt-docker-*, labelled io.reconciler.test=1) removed in the
 * group's teardown whatever happened. The tests skip when the engine does
 * not answer. Included by test_docker_engine.c and test_docker_lifecycle.c.
 */
#ifndef TESTS_DOCKER_FIXTURE_H
#define TESTS_DOCKER_FIXTURE_H

#include "docker_test.h"

static struct docker *engine;
static char run[64];		/* unique part of every name made here */
static char image[128];		/* busybox imported for this run */
static char tmpdir[128];	/* the bind-mounted directory */

static char *names_made[32];
static int n_made;

static inline const char *
made(const char *kind, const char *suffix)
{
	assert_true(n_made < 32);
	names_made[n_made++] = xasprintf("%s:rt-docker-%s-%s", kind, run, suffix);
	return names_made[n_made - 1] + strlen(kind) + 1;
}

static inline json_t *
test_labels(void)
{
	return json_pack("{s:s,s:s,s:s}", "io.reconciler.test", "1", "io.reconciler.project",
	    "rt-docker", "io.reconciler.test-run", run);
}

/* A tar stream holding busybox and its applet links; imported as our image. */
static inline void
tar_entry(struct buf *t, const char *name, char type, unsigned mode, const char *data,
    size_t len, const char *link)
{
	unsigned char h[512];
	unsigned sum = 0;

	memset(h, 0, sizeof(h));
	snprintf((char *)h, 100, "%s", name);
	snprintf((char *)h + 100, 8, "%07o", mode);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011lo", (unsigned long)len);
	snprintf((char *)h + 136, 12, "%011lo", 1700000000UL);
	memset(h + 148, ' ', 8);
	h[156] = (unsigned char)type;
	if (link)
		snprintf((char *)h + 157, 100, "%s", link);
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (size_t i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	buf_add(t, h, 512);
	if (len) {
		static const char zero[512];

		buf_add(t, data, len);
		buf_add(t, zero, (512 - len % 512) % 512);
	}
}

static inline size_t
discard(char *p, size_t s, size_t n, void *u)
{
	struct buf *b = u;

	buf_add(b, p, s * n);
	return s * n;
}

static inline int
import_image(void)
{
	static const char *const applets[] = { "sh", "cat", "echo", "sleep", "httpd", "wget",
		"id", "true", "false", "ls", "printf", "head", "wc", "kill", NULL };
	static const char zero[1024];
	struct buf t, resp;
	char *bb = NULL, *url, err[ERR_LEN];
	size_t bblen;
	CURL *c;
	long code = 0;
	int rc = -1;

	if (file_read("/bin/busybox", 8 << 20, &bb, &bblen, err) < 0) {
		print_message("no /bin/busybox (busybox-static): %s\n", err);
		return -1;
	}
	buf_init(&t, 0);
	buf_init(&resp, 1 << 20);
	tar_entry(&t, "bin/", '5', 0755, NULL, 0, NULL);
	tar_entry(&t, "tmp/", '5', 01777, NULL, 0, NULL);
	tar_entry(&t, "bin/busybox", '0', 0755, bb, bblen, NULL);
	for (int i = 0; applets[i]; i++) {
		char n[64];

		snprintf(n, sizeof(n), "bin/%s", applets[i]);
		tar_entry(&t, n, '2', 0777, NULL, 0, "busybox");
	}
	buf_add(&t, zero, sizeof(zero));
	snprintf(image, sizeof(image), "rt-docker/busybox:%s", run);
	url = xasprintf("http://docker/v1.41/images/create?fromSrc=-&repo=rt-docker/busybox"
	    "&tag=%s&changes=LABEL%%20io.reconciler.test%%3D1", run);
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock_path());
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, t.data);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t.len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	{
		struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-tar");

		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		if (curl_easy_perform(c) == CURLE_OK) {
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
			if (code == 200 && !strstr(resp.data ? resp.data : "", "\"error\""))
				rc = 0;
		}
		curl_slist_free_all(h);
	}
	if (rc < 0)
		print_message("image import failed: %ld %s\n", code, resp.data ? resp.data : "");
	curl_easy_cleanup(c);
	free(url);
	free(bb);
	buf_release(&t);
	buf_release(&resp);
	return rc;
}

static inline void
cleanup_all(void)
{
	char err[ERR_LEN], *path;
	json_t *list = NULL, *item;
	size_t i;
	char filter[128];

	if (!engine)
		return;
	snprintf(filter, sizeof(filter), "io.reconciler.test-run=%s", run);
	if (docker_containers_list(engine, filter, 1, &list, err) == 0) {
		json_array_foreach(list, i, item)
			docker_container_remove(engine,
			    json_string_value(json_object_get(item, "Id")), 1, err);
	}
	json_decref(list);
	for (int k = 0; k < n_made; k++) {
		const char *name = strchr(names_made[k], ':') + 1;

		if (strncmp(names_made[k], "container:", 10) == 0)
			docker_container_remove(engine, name, 1, err);
	}
	for (int k = 0; k < n_made; k++) {
		const char *name = strchr(names_made[k], ':') + 1;

		if (strncmp(names_made[k], "network:", 8) == 0) {
			path = xasprintf("/networks/%s", name);
			docker_call(engine, "DELETE", path, NULL, NULL, NULL, err);
			free(path);
		} else if (strncmp(names_made[k], "volume:", 7) == 0) {
			path = xasprintf("/volumes/%s", name);
			docker_call(engine, "DELETE", path, NULL, NULL, NULL, err);
			free(path);
		}
	}
}

static inline int
group_setup(void **state)
{
	char err[ERR_LEN];
	struct stat st;

	(void)state;
	snprintf(run, sizeof(run), "%ld-%ld", (long)getpid(), (long)time(NULL) % 100000);
	if (stat(sock_path(), &st) < 0 || docker_open(&engine, NULL, err) < 0) {
		print_message("engine tests will be skipped: %s\n", stat(sock_path(), &st) < 0 ?
		    "no docker socket" : err);
		engine = NULL;
		return 0;
	}
	if (import_image() < 0) {
		docker_free(engine);
		engine = NULL;
		return 0;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/rt-docker-www-XXXXXX");
	if (!mkdtemp(tmpdir) || chmod(tmpdir, 0755) < 0)
		return -1;
	return 0;
}

static inline int
group_teardown(void **state)
{
	char err[ERR_LEN], *p;

	(void)state;
	if (engine) {
		cleanup_all();
		p = xasprintf("/images/%s", image);
		docker_call(engine, "DELETE", p, NULL, NULL, NULL, err);
		free(p);
		docker_free(engine);
		engine = NULL;
	}
	if (tmpdir[0]) {
		p = xasprintf("%s/index.html", tmpdir);
		unlink(p);
		free(p);
		rmdir(tmpdir);
	}
	for (int k = 0; k < n_made; k++)
		free(names_made[k]);
	return 0;
}

/* per-test teardown: whatever a failed test left behind goes now */
static inline int
test_teardown(void **state)
{
	(void)state;
	cleanup_all();
	return 0;
}

/* The first statement of every real-engine test: skip() leaves the test by a
 * long jump, so whatever was allocated before it would leak, and the unit tier
 * under ASan would fail on a host without an engine (tests/run.sh checks). */
#define NEED_ENGINE() do { if (!engine) skip(); } while (0)


static inline int
has_string(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

static inline long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif

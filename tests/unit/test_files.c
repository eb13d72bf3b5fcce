/* Unit tests: hostile files. Atomic writes survive a stale temporary file;
 * the host key is made only when it does not exist and is never replaced on a
 * read error; errors about secret files name the file and line, never their
 * content; an env value that is not UTF-8 is an error; credential files open
 * to group or others are refused. */
#include "helpers.h"
#include "secretmap.h"
#include "secrets.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/rt-files-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	return rmtree(dir);
}

static char *
in_dir(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static void
put(const char *name, const void *data, size_t len, mode_t mode)
{
	char *p = in_dir(name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	free(p);
}

static void
assert_file_is(const char *name, const void *data, size_t len)
{
	char *p = in_dir(name), *got = NULL, err[ERR_LEN];
	size_t n = 0;

	assert_int_equal(file_read(p, 1 << 20, &got, &n, err), 0);
	assert_int_equal(n, len);
	assert_memory_equal(got, data, len);
	free(got);
	free(p);
}

/* Only the files named may be in the directory: no temporary file is left. */
static void
assert_only(const char *a, const char *b)
{
	char cmd[256], out[256] = "";
	FILE *f;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | tr '\\n' ' '", dir);
	assert_non_null(f = popen(cmd, "r"));
	if (!fgets(out, sizeof(out), f))
		out[0] = '\0';
	pclose(f);
	snprintf(cmd, sizeof(cmd), "%s %s%s", a, b ? b : "", b ? " " : "");
	assert_string_equal(out, cmd);
}

/* --- atomic writes -------------------------------------------------------- */

/* A crash left path.tmp.<pid>; a later process with the same PID (a reboot,
 * a container's PID 1) must still be able to write path. */
static void
test_atomic_write_stale_tmp(void **state)
{
	char *path = in_dir("status.json"), *stale, err[ERR_LEN] = "";

	stale = xasprintf("%s.tmp.%ld", path, (long)getpid());
	put(strrchr(stale, '/') + 1, "half", 4, 0644);
	if (file_write_atomic(path, "{\"ok\":1}", 8, 0644, err) < 0)
		print_error("write failed: %s\n", err);
	assert_file_is("status.json", "{\"ok\":1}", 8);
	/* the stale file is not ours to remove; only it and the target are there */
	assert_only("status.json", strrchr(stale, '/') + 1);
	unlink(stale);
	free(stale);
	free(path);
}

static void
test_atomic_write_keeps_no_tmp(void **state)
{
	char *path = in_dir("f"), *bad, err[ERR_LEN] = "";
	struct stat st;

	assert_int_equal(file_write_atomic(path, "one", 3, 0640, err), 0);
	assert_int_equal(file_write_atomic(path, "two!", 4, -1, err), 0);
	assert_file_is("f", "two!", 4);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_only("f", NULL);
	/* a failed write (the target is a directory) leaves nothing behind */
	bad = in_dir("d");
	assert_int_equal(mkdir(bad, 0700), 0);
	assert_int_equal(file_write_atomic(bad, "x", 1, 0600, err), -1);
	assert_non_null(strstr(err, bad));
	assert_only("d", "f");
	rmdir(bad);
	free(bad);
	free(path);
}

/* --- the host key --------------------------------------------------------- */

static const unsigned char key0[32] = "0123456789abcdef0123456789ABCDE";

/* A key that cannot be read (not "does not exist") is an error naming the
 * file and why; the key on disk stays as it was. */
static void
test_hmac_key_unreadable_kept(void **state)
{
	char *key = in_dir("hmac.key"), err[ERR_LEN] = "";
	int fds[2], status;
	pid_t pid;
	ssize_t n;
	int rc = 0;

	put("hmac.key", key0, 32, 0600);
	/* the state dir writable by the child, the key readable by root only:
	 * EACCES on read, while a rename over it would succeed */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct secrets s;
		char e[ERR_LEN] = "";
		int r;

		close(fds[0]);
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(77);
		r = secrets_open(&s, dir, key, 1, e);
		if (write(fds[1], &r, sizeof(r)) < 0 || write(fds[1], e, strlen(e) + 1) < 0)
			_exit(1);
		secrets_release(&s);
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], &rc, sizeof(rc));
	if (n == (ssize_t)sizeof(rc))
		n = read(fds[0], err, sizeof(err) - 1);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	chmod(dir, 0700);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		free(key);
		skip();
	}
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (rc != -1)
		print_error("secrets_open as uid 65534 returned %d: the key was replaced\n", rc);
	assert_int_equal(rc, -1);
	if (!strstr(err, key) || !strstr(err, strerror(EACCES)))
		print_error("error: %s\n", err);
	assert_non_null(strstr(err, key));
	assert_non_null(strstr(err, strerror(EACCES)));
	assert_file_is("hmac.key", key0, 32);
	assert_only("hmac.key", NULL);
	free(key);
}

/* Other read errors: a directory in its place, a path through a file. */
static void
test_hmac_key_other_errors(void **state)
{
	char *key = in_dir("hmac.key"), *through, err[ERR_LEN] = "";
	struct secrets s;
	struct stat st;

	assert_int_equal(mkdir(key, 0700), 0);
	assert_int_equal(secrets_open(&s, dir, key, 1, err), -1);
	secrets_release(&s);
	assert_non_null(strstr(err, key));
	assert_non_null(strstr(err, strerror(EISDIR)));
	assert_int_equal(stat(key, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(rmdir(key), 0);

	put("file", "x", 1, 0600);
	through = in_dir("file/hmac.key");
	err[0] = '\0';
	assert_int_equal(secrets_open(&s, dir, through, 1, err), -1);
	secrets_release(&s);
	assert_non_null(strstr(err, through));
	assert_non_null(strstr(err, strerror(ENOTDIR)));
	free(through);

	/* a key cut short is not replaced either: it is the one the digests used */
	put("hmac.key", key0, 5, 0600);
	err[0] = '\0';
	assert_int_equal(secrets_open(&s, dir, key, 1, err), -1);
	secrets_release(&s);
	assert_non_null(strstr(err, key));
	assert_file_is("hmac.key", key0, 5);
	free(key);
}

/* A missing key is made (0600, 32 bytes) and read back the same next time;
 * without create it is an error naming the file. */
static void
test_hmac_key_created_once(void **state)
{
	char *key = in_dir("hmac.key"), err[ERR_LEN] = "";
	struct secrets s, t;
	struct stat st;

	assert_int_equal(secrets_open(&s, dir, key, 0, err), -1);
	secrets_release(&s);
	assert_non_null(strstr(err, key));
	assert_int_equal(secrets_open(&s, dir, key, 1, err), 0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(secrets_open(&t, dir, key, 1, err), 0);
	assert_memory_equal(s.key, t.key, 32);
	secrets_release(&s);
	secrets_release(&t);
	assert_only("hmac.key", NULL);
	free(key);
}

/* file_write_new never replaces what is there: two processes making the key
 * at once both end with the one that won. */
static void
test_write_new_exclusive(void **state)
{
	char *path = in_dir("k"), err[ERR_LEN] = "";

	assert_int_equal(file_write_new(path, "first", 5, 0600, err), 0);
	assert_int_equal(file_write_new(path, "second", 6, 0600, err), 1);
	assert_file_is("k", "first", 5);
	assert_only("k", NULL);
	free(path);
}

/* --- secret files --------------------------------------------------------- */

/* The spec of service web under a manifest with env_files and a secret env. */
static int
spec_of(const char *extra, char *err)
{
	char *text = xasprintf(MF_HEAD "services:\n  web:\n    image: r/web@" DIGEST_A "\n%s",
	    extra);
	struct secrets hs;
	struct secretmap sec;
	struct diag d;
	struct manifest *m = parse_text(text, &d);
	json_t *spec = NULL, *cfg = NULL;
	char *key = in_dir(".key");
	int rc;

	if (!m)
		diag_print(&d, stderr);
	assert_non_null(m);
	assert_int_equal(secrets_open(&hs, dir, key, 1, err), 0);
	secrets_resolve(&hs, m, &sec);
	rc = spec_service(m, manifest_service(m, "web"), &sec, &spec, err);
	if (rc == 0) {
		/* the create body carries the values: it must refuse what the spec did */
		rc = spec_container_config(m, manifest_service(m, "web"), &sec, "r1", ROLE_PRIMARY,
		    &cfg, err);
		assert_int_equal(rc, 0);
	}
	json_decref(spec);
	json_decref(cfg);
	secretmap_release(&sec);
	secrets_release(&hs);
	manifest_free(m);
	diag_release(&d);
	free(key);
	free(text);
	return rc;
}

static void
assert_no_secret(const char *err)
{
	if (strstr(err, "SECRETVALUE"))
		print_error("the error quotes the secret: %s\n", err);
	assert_null(strstr(err, "SECRETVALUE"));
}

/* A malformed line of an env file: the file and line number, no content. */
static void
test_env_file_error_has_no_content(void **state)
{
	static const char text[] = "# db\n\nA=1\r\n  SECRETVALUE-xyz\nB=2\n";
	char err[ERR_LEN] = "";

	put("app.env", text, sizeof(text) - 1, 0600);
	assert_int_equal(spec_of("    env_files: [app.env]\n", err), -1);
	assert_no_secret(err);
	if (!strstr(err, "app.env") || !strstr(err, "line 4"))
		print_error("error: %s\n", err);
	assert_non_null(strstr(err, "app.env"));
	assert_non_null(strstr(err, "line 4"));
	/* "=value" without a name */
	put("app.env", "A=1\n=SECRETVALUE-xyz\n", 20, 0600);
	assert_int_equal(spec_of("    env_files: [app.env]\n", err), -1);
	assert_no_secret(err);
	assert_non_null(strstr(err, "line 2"));
}

/* A value that is not UTF-8 cannot be put in the engine's JSON: an error
 * naming the file (and line), not a variable silently left out. */
static void
test_env_not_utf8_refused(void **state)
{
	char err[ERR_LEN] = "";

	put("app.env", "A=1\nB=SECRETVALUE-\xff\xfe\n", 21, 0600);
	assert_int_equal(spec_of("    env_files: [app.env]\n", err), -1);
	assert_no_secret(err);
	if (!strstr(err, "app.env") || !strstr(err, "line 2") || !strstr(err, "UTF-8"))
		print_error("error: %s\n", err);
	assert_non_null(strstr(err, "app.env"));
	assert_non_null(strstr(err, "line 2"));
	assert_non_null(strstr(err, "UTF-8"));
	/* in the name too */
	put("app.env", "\xc3(=1\n", 5, 0600);
	assert_int_equal(spec_of("    env_files: [app.env]\n", err), -1);
	assert_non_null(strstr(err, "line 1"));
	/* a {secret: NAME} variable */
	put("tok", "SECRETVALUE-\xc0\xaf\n", 15, 0600);
	err[0] = '\0';
	assert_int_equal(spec_of("    environment: {TOKEN: {secret: tok}}\n", err), -1);
	assert_no_secret(err);
	if (!strstr(err, "'tok'") || !strstr(err, "UTF-8"))
		print_error("error: %s\n", err);
	assert_non_null(strstr(err, "'tok'"));
	assert_non_null(strstr(err, "UTF-8"));
	/* a NUL would cut the value short in the engine's JSON */
	put("tok", "SECRETVALUE\0xyz", 15, 0600);
	assert_int_equal(spec_of("    environment: {TOKEN: {secret: tok}}\n", err), -1);
	assert_no_secret(err);
	/* a file mounted with secrets: may hold any bytes */
	assert_int_equal(spec_of("    secrets: [tok]\n", err), 0);
	put("app.env", "A=caf\xc3\xa9\n", 8, 0600);
	assert_int_equal(spec_of("    env_files: [app.env]\n", err), 0);
}

/* A credential file (token, webhook secret, ssh key) open to group or others
 * is refused, as ssh refuses such a private key; the error names the file
 * and the fix and quotes nothing of it. */
static void
test_credential_mode(void **state)
{
	char *p = in_dir("token"), *data = NULL, err[ERR_LEN] = "";
	size_t len = 0;

	put("token", "SECRETVALUE-tok\n", 16, 0640);
	assert_int_equal(file_read_secret(p, 4096, 1, &data, &len, err), -1);
	assert_null(data);
	if (!strstr(err, p) || !strstr(err, "chmod 600") || !strstr(err, "0640"))
		print_error("error: %s\n", err);
	assert_non_null(strstr(err, p));
	assert_non_null(strstr(err, "chmod 600"));
	assert_non_null(strstr(err, "0640"));
	assert_no_secret(err);
	assert_int_equal(file_check_private(p, err), -1);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(p, 0604), 0);
	assert_int_equal(file_read_secret(p, 4096, 1, &data, &len, err), -1);
	assert_int_equal(chmod(p, 0620), 0);
	assert_int_equal(file_read_secret(p, 4096, 1, &data, &len, err), -1);
	/* without the check (a file of the secrets directory) it is read */
	assert_int_equal(file_read_secret(p, 4096, 0, &data, &len, err), 0);
	secret_free(data, len);
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(file_check_private(p, err), 0);
	assert_int_equal(file_read_secret(p, 4096, 1, &data, &len, err), 0);
	assert_int_equal(len, 16);
	assert_memory_equal(data, "SECRETVALUE-tok\n", 16);
	secret_free(data, len);
	/* the cap */
	assert_int_equal(file_read_secret(p, 8, 1, &data, &len, err), -1);
	assert_non_null(strstr(err, p));
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_atomic_write_stale_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_write_keeps_no_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hmac_key_unreadable_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hmac_key_other_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hmac_key_created_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_new_exclusive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_file_error_has_no_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_not_utf8_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credential_mode, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

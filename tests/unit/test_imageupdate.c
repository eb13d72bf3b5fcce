/* Unit tests: update-images' plan for a tracked service (up to date, held
 * back by the cooldown, bumped), the image written, the commit message, and
 * the registry's JSON read for the creation date. */
#include "helpers.h"
#include "imageupdate.h"
#include "registry.h"
#include "util.h"

#include <stdlib.h>

static const char *text = MF_HEAD "services:\n"
    "  db:\n    image: postgres:16-alpine@" DIGEST_A "\n    track: {cooldown: 3d}\n"
    "  web:\n    image: 127.0.0.1:5000/team/web@" DIGEST_A "\n    track: {tag: \"1\"}\n"
    "  plain:\n    image: r/p@" DIGEST_A "\n";

#define T0 1795860000	/* 2026-11-28T10:00:00Z */

static void
test_plan(void **state)
{
	struct iu_item db, web, plain;
	char err[ERR_LEN], *s;
	struct diag d;
	struct manifest *m = parse_text(text, &d);

	(void)state;
	assert_non_null(m);
	assert_int_equal(imageupdate_item_init(&db, manifest_service(m, "db"), err), 0);
	assert_int_equal(imageupdate_item_init(&web, manifest_service(m, "web"), err), 0);
	assert_int_equal(imageupdate_item_init(&plain, manifest_service(m, "plain"), err), -1);
	s = imageupdate_ref(&db);
	assert_string_equal(s, "postgres:16-alpine");
	free(s);
	s = imageupdate_ref(&web);
	assert_string_equal(s, "127.0.0.1:5000/team/web:1");
	free(s);

	/* the same digest */
	assert_int_equal(imageupdate_judge(&db, DIGEST_A, NULL, T0, err), 0);
	assert_int_equal(db.state, IU_UP_TO_DATE);
	s = imageupdate_line(&db);
	assert_string_equal(s, "db: up to date (postgres:16-alpine " DIGEST_A ")");
	free(s);
	/* new, too young: held until created + 3d */
	assert_int_equal(imageupdate_judge(&db, DIGEST_B, "2026-11-28T10:00:00Z", T0 + 3600, err),
	    0);
	assert_int_equal(db.state, IU_HELD);
	assert_int_equal(db.until, T0 + 3 * 86400);
	s = imageupdate_line(&db);
	assert_string_equal(s, "db: held back until 2026-12-01T10:00:00Z (cooldown 3d): "
	    "postgres:16-alpine " DIGEST_B " created 2026-11-28T10:00:00Z");
	free(s);
	/* old enough (at the second), with an offset and fractions */
	assert_int_equal(imageupdate_judge(&db, DIGEST_B, "2026-11-28T12:00:00.123456+02:00",
	    T0 + 3 * 86400, err), 0);
	assert_int_equal(db.state, IU_BUMP);
	s = imageupdate_image(&db);
	assert_string_equal(s, "postgres:16-alpine@" DIGEST_B);
	free(s);
	/* a cooldown without a date cannot be judged */
	assert_int_equal(imageupdate_judge(&db, DIGEST_B, NULL, T0, err), -1);
	assert_non_null(strstr(err, "no creation date"));
	assert_int_equal(imageupdate_judge(&db, DIGEST_B, "yesterday", T0, err), -1);
	assert_non_null(strstr(err, "a bad creation date 'yesterday'"));
	assert_int_equal(imageupdate_judge(&db, DIGEST_B, "2026-11-28T10:00:00Z", T0 + 3 * 86400,
	    err), 0);

	/* no cooldown: any new digest goes, the written tag (none) kept */
	assert_int_equal(imageupdate_judge(&web, DIGEST_B, NULL, T0, err), 0);
	assert_int_equal(web.state, IU_BUMP);
	s = imageupdate_image(&web);
	assert_string_equal(s, "127.0.0.1:5000/team/web@" DIGEST_B);
	free(s);
	s = imageupdate_line(&web);
	assert_string_equal(s, "web: 127.0.0.1:5000/team/web:1 " DIGEST_A " -> " DIGEST_B
	    " (created unknown)");
	free(s);

	{
		struct iu_item both[2] = { db, web };

		s = imageupdate_message(both, 2);
		assert_string_equal(s, "deps: update 2 images\n\n"
		    "db: docker.io/library/postgres:16-alpine " DIGEST_A " -> " DIGEST_B
		    " (created 2026-11-28T10:00:00Z)\n"
		    "web: 127.0.0.1:5000/team/web:1 " DIGEST_A " -> " DIGEST_B " (created unknown)\n");
		free(s);
		both[1].state = IU_HELD;
		s = imageupdate_message(both, 2);
		assert_string_equal(s, "deps: update db to 16-alpine@sha256:bbbbbbbb…\n\n"
		    "db: docker.io/library/postgres:16-alpine " DIGEST_A " -> " DIGEST_B
		    " (created 2026-11-28T10:00:00Z)\n");
		free(s);
		both[0].state = IU_UP_TO_DATE;
		assert_null(imageupdate_message(both, 2));
	}
	imageupdate_item_release(&db);
	imageupdate_item_release(&web);
	diag_release(&d);
	manifest_free(m);
}

static void
test_parse_time(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(imageupdate_parse_time("2026-11-28T10:00:00Z", &t), 0);
	assert_int_equal(t, T0);
	assert_int_equal(imageupdate_parse_time("2026-11-28T05:30:00.5-04:30", &t), 0);
	assert_int_equal(t, T0);
	assert_int_equal(imageupdate_parse_time("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(imageupdate_parse_time("2026-11-28T10:00:00", &t), -1);
	assert_int_equal(imageupdate_parse_time("2026-13-28T10:00:00Z", &t), -1);
	assert_int_equal(imageupdate_parse_time("2026-11-28T10:00:00Zx", &t), -1);
	assert_int_equal(imageupdate_parse_time("", &t), -1);
	assert_int_equal(imageupdate_parse_time(NULL, &t), -1);
}

static void
test_registry_json(void **state)
{
	static const char index[] = "{\"schemaVersion\":2,\"manifests\":["
	    "{\"digest\":\"" DIGEST_A "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
	    "{\"digest\":\"" DIGEST_B "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
	static const char first[] = "{\"manifests\":[{\"digest\":\"" DIGEST_A "\"}]}";
	static const char manifest[] = "{\"config\":{\"digest\":\"" DIGEST_B "\"},\"layers\":[]}";
	char err[ERR_LEN], *config, *child, *created;

	(void)state;
	assert_int_equal(registry_manifest_pick(index, strlen(index), &config, &child, err), 1);
	assert_string_equal(child, DIGEST_B);
	assert_null(config);
	free(child);
	assert_int_equal(registry_manifest_pick(first, strlen(first), &config, &child, err), 1);
	assert_string_equal(child, DIGEST_A);
	free(child);
	assert_int_equal(registry_manifest_pick(manifest, strlen(manifest), &config, &child, err),
	    0);
	assert_string_equal(config, DIGEST_B);
	free(config);
	assert_int_equal(registry_manifest_pick("{\"manifests\":[]}", 16, &config, &child, err),
	    -1);
	assert_int_equal(registry_manifest_pick("[]", 2, &config, &child, err), -1);
	assert_int_equal(registry_manifest_pick("{\"config\":{\"digest\":\"md5:x\"}}", 29, &config,
	    &child, err), -1);
	assert_int_equal(registry_config_created("{\"created\":\"2026-11-28T10:00:00Z\"}", 34,
	    &created), 0);
	assert_string_equal(created, "2026-11-28T10:00:00Z");
	free(created);
	assert_int_equal(registry_config_created("{}", 2, &created), -1);
	assert_null(created);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_registry_json),
	};

	return cmocka_run_group_tests_name("imageupdate", tests, NULL, NULL);
}

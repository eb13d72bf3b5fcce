/*
 * test_events: the engine's event stream read whole. The line splitter (a
 * line cut at every byte, lines longer than a pipe read, a line over the
 * bound skipped whole), the cursor a reopened stream resumes from, which
 * events are drift, and a fake engine's stream: the since= it is asked for,
 * a line over the bound and one that is not JSON skipped with a word each.
 */
#include "docker_test.h"
#include "events.h"
#include "linesplit.h"
#include "spec.h"

/* ---------------------------------------------------------------- splitter */

struct got {
	struct buf all;		/* "line|line|<long N>|…" */
	int lines, longs, stop_at;
};

static int
got_line(char *line, size_t len, void *payload)
{
	struct got *g = payload;

	if (strlen(line) != len)
		fail_msg("line of %zu bytes, strlen %zu", len, strlen(line));
	buf_add(&g->all, line, len);
	buf_adds(&g->all, "|");
	return ++g->lines == g->stop_at ? 7 : 0;
}

static int
got_long(size_t len, void *payload)
{
	struct got *g = payload;

	g->longs++;
	buf_addf(&g->all, "<long %zu>|", len);
	return 0;
}

static void
got_init(struct got *g)
{
	memset(g, 0, sizeof(*g));
	buf_init(&g->all, 0);
	buf_adds(&g->all, "");
}

/* Feeds data in chunks of `chunk` bytes, the first one `first` bytes long. */
static void
feed_cut(struct linesplit *ls, const char *data, size_t len, size_t first, size_t chunk,
    struct got *g)
{
	size_t off = 0, k = first;

	while (off < len) {
		if (k > len - off)
			k = len - off;
		assert_int_equal(linesplit_feed(ls, data + off, k, got_line, got_long, g), 0);
		off += k;
		k = chunk;
	}
}

static void
test_split_every_byte(void **state)
{
	static const char data[] = "rt-a web die\n\nrt-b api unhealthy\nrt-c db destroy\n";
	static const char want[] = "rt-a web die||rt-b api unhealthy|rt-c db destroy|";
	size_t n = sizeof(data) - 1;

	(void)state;
	for (size_t cut = 0; cut <= n; cut++) {
		for (size_t chunk = 1; chunk <= n; chunk += (chunk < 4 ? 1 : n)) {
			struct linesplit ls;
			struct got g;

			linesplit_init(&ls, 1024);
			got_init(&g);
			feed_cut(&ls, data, n, cut ? cut : chunk, chunk, &g);
			if (strcmp(g.all.data, want) != 0)
				fail_msg("cut at %zu, then %zu bytes: got '%s', want '%s'", cut, chunk,
				    g.all.data, want);
			assert_int_equal(linesplit_finish(&ls, got_line, got_long, &g), 0);
			assert_int_equal(g.lines, 4);
			linesplit_release(&ls);
			buf_release(&g.all);
		}
	}
}

/* A line longer than one read of the pipe (4096 bytes) arrives whole. */
static void
test_split_long_line(void **state)
{
	static const size_t chunks[] = { 1, 7, 4095, 4096, 4097, 100000 };
	struct buf data, want;

	(void)state;
	buf_init(&data, 0);
	buf_init(&want, 0);
	for (int i = 0; i < 5000; i++)
		buf_add(&data, i % 61 == 60 ? " " : "x", 1);
	buf_add(&want, data.data, data.len);
	buf_adds(&data, "\nshort\n");
	buf_adds(&want, "|short|");
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		struct linesplit ls;
		struct got g;

		linesplit_init(&ls, 8192);
		got_init(&g);
		feed_cut(&ls, data.data, data.len, chunks[c], chunks[c], &g);
		assert_int_equal(g.lines, 2);
		assert_int_equal(g.longs, 0);
		if (strcmp(g.all.data, want.data) != 0)
			fail_msg("in chunks of %zu: %zu bytes, want %zu", chunks[c], g.all.len, want.len);
		linesplit_release(&ls);
		buf_release(&g.all);
	}
	buf_release(&data);
	buf_release(&want);
}

/* A line over the bound is skipped whole, said once, and the lines around it
 * are intact: no piece of it passes for a line. */
static void
test_split_over_bound(void **state)
{
	struct buf data;
	size_t n;

	(void)state;
	buf_init(&data, 0);
	buf_adds(&data, "before\n");
	for (int i = 0; i < 3000; i++)
		buf_adds(&data, "y");
	buf_adds(&data, "\nafter\n");
	n = data.len;
	/* cut in two at every byte, then in chunks of 1, 1000 and 4096 bytes */
	for (size_t cut = 0; cut <= n + 3; cut++) {
		static const size_t chunks[] = { 1, 1000, 4096 };
		size_t first = cut <= n ? (cut ? cut : n) : chunks[cut - n - 1];
		size_t chunk = cut <= n ? n : first;
		struct linesplit ls;
		struct got g;

		linesplit_init(&ls, 1024);
		got_init(&g);
		feed_cut(&ls, data.data, n, first, chunk, &g);
		if (strcmp(g.all.data, "before|<long 3000>|after|") != 0)
			fail_msg("first %zu bytes, then %zu: '%s'", first, chunk, g.all.data);
		linesplit_release(&ls);
		buf_release(&g.all);
	}
	buf_release(&data);
}

/* The bound is the line's length without its newline. */
static void
test_split_bound_edge(void **state)
{
	char line[1026];
	struct linesplit ls;
	struct got g;

	(void)state;
	memset(line, 'z', sizeof(line));
	linesplit_init(&ls, 1024);
	got_init(&g);
	line[1024] = '\n';
	assert_int_equal(linesplit_feed(&ls, line, 1025, got_line, got_long, &g), 0);
	assert_int_equal(g.lines, 1);
	assert_int_equal(g.longs, 0);
	assert_int_equal(g.all.len, 1025);
	line[1024] = 'z';
	line[1025] = '\n';
	assert_int_equal(linesplit_feed(&ls, line, 1026, got_line, got_long, &g), 0);
	assert_int_equal(g.lines, 1);
	assert_int_equal(g.longs, 1);
	assert_contains(g.all.data, "|<long 1025>|");
	linesplit_release(&ls);
	buf_release(&g.all);
}

/* The end of a stream: a last line without its newline; a partial line
 * forgotten; a callback that stops the feed. */
static void
test_split_finish_reset_stop(void **state)
{
	struct linesplit ls;
	struct got g;
	char big[2000];

	(void)state;
	linesplit_init(&ls, 1024);
	got_init(&g);
	assert_int_equal(linesplit_finish(&ls, got_line, got_long, &g), 0);
	assert_int_equal(g.lines, 0);
	assert_int_equal(linesplit_feed(&ls, "one\ntai", 7, got_line, got_long, &g), 0);
	assert_int_equal(linesplit_feed(&ls, "l", 1, got_line, got_long, &g), 0);
	assert_int_equal(linesplit_finish(&ls, got_line, got_long, &g), 0);
	assert_string_equal(g.all.data, "one|tail|");
	assert_int_equal(linesplit_finish(&ls, got_line, got_long, &g), 0);
	assert_int_equal(g.lines, 2);
	memset(big, 'b', sizeof(big));
	assert_int_equal(linesplit_feed(&ls, big, sizeof(big), got_line, got_long, &g), 0);
	assert_int_equal(linesplit_finish(&ls, got_line, got_long, &g), 0);
	assert_string_equal(g.all.data, "one|tail|<long 2000>|");
	/* a stream cut in the middle of a line: the piece is not a line */
	assert_int_equal(linesplit_feed(&ls, "rt-a web d", 10, got_line, got_long, &g), 0);
	linesplit_reset(&ls);
	assert_int_equal(linesplit_feed(&ls, "rt-b api die\n", 13, got_line, got_long, &g), 0);
	assert_string_equal(g.all.data, "one|tail|<long 2000>|rt-b api die|");
	/* a callback's non-zero answer stops the feed and comes back */
	g.stop_at = g.lines + 2;
	assert_int_equal(linesplit_feed(&ls, "a\nb\nc\n", 6, got_line, got_long, &g), 7);
	assert_string_equal(g.all.data, "one|tail|<long 2000>|rt-b api die|a|b|");
	linesplit_release(&ls);
	buf_release(&g.all);
}

/* ---------------------------------------------------------------- cursor */

#define T0 1700000000000000000LL
#define NOW (T0 + 10 * 1000000000LL)	/* the host's clock: after every event */

static json_t *
event_at(long long ns)
{
	return json_pack("{s:s,s:s,s:I,s:I}", "Type", "container", "Action", "die", "time",
	    (json_int_t)(ns / 1000000000LL), "timeNano", (json_int_t)ns);
}

static int
note(struct events_cursor *c, long long ns)
{
	json_t *e = event_at(ns);
	int r = events_cursor_note(c, e);

	json_decref(e);
	return r;
}

static void
test_cursor(void **state)
{
	struct events_cursor c = EVENTS_CURSOR_INIT;
	char since[48];
	json_t *e;

	(void)state;
	/* nothing seen yet: the first stream starts at the time it opens */
	events_cursor_open(&c, T0 + 5, since, sizeof(since));
	assert_string_equal(since, "1700000000.000000005");
	/* and so does the next one, while nothing came */
	events_cursor_open(&c, T0 + 999999, since, sizeof(since));
	assert_string_equal(since, "1700000000.000000005");
	assert_int_equal(note(&c, T0 + 100), 0);
	assert_int_equal(note(&c, T0 + 200), 0);
	assert_int_equal(note(&c, T0 + 200), 0);	/* two at one nanosecond */
	/* the stream closes; the next resumes at the last event, inclusive */
	events_cursor_open(&c, T0 + 999999, since, sizeof(since));
	assert_string_equal(since, "1700000000.000000200");
	assert_int_equal(note(&c, T0 + 200), 1);	/* replayed: seen */
	assert_int_equal(note(&c, T0 + 200), 1);	/* replayed: seen */
	assert_int_equal(note(&c, T0 + 200), 0);	/* a third at that time: new */
	assert_int_equal(note(&c, T0 + 1500000000LL), 0);
	/* a live event a little out of order is new, and the cursor stays */
	assert_int_equal(note(&c, T0 + 300), 0);
	events_cursor_open(&c, NOW, since, sizeof(since));
	assert_string_equal(since, "1700000001.500000000");
	assert_int_equal(note(&c, T0 + 1500000000LL), 1);
	assert_int_equal(note(&c, T0 + 1600000000LL), 0);
	/* an engine that gives whole seconds only */
	e = json_pack("{s:s,s:I}", "Action", "die", "time", (json_int_t)1700000002);
	assert_int_equal(events_cursor_note(&c, e), 0);
	events_cursor_open(&c, NOW, since, sizeof(since));
	assert_string_equal(since, "1700000002.000000000");
	assert_int_equal(events_cursor_note(&c, e), 1);
	json_decref(e);
	/* no time at all: new, and nothing moves */
	e = json_pack("{s:s}", "Action", "die");
	assert_int_equal(events_cursor_note(&c, e), 0);
	json_decref(e);
	events_cursor_open(&c, NOW, since, sizeof(since));
	assert_string_equal(since, "1700000002.000000000");
	/* the clock set back by an hour: from now, or the gap would be missed */
	events_cursor_open(&c, T0 + 2 * 1000000000LL - 3600 * 1000000000LL, since,
	    sizeof(since));
	assert_string_equal(since, "1699996402.000000000");
}

/* ---------------------------------------------------------------- drift */

static void
test_relevant_names(void **state)
{
	char proj[128], svc[128], act[16], longname[300];
	json_t *e;

	(void)state;
	e = json_pack("{s:s,s:s,s:{s:{s:s,s:s,s:s}}}", "Type", "container", "Action", "die",
	    "Actor", "Attributes", LABEL_PROJECT, "rt-p", LABEL_SERVICE, "web", "name", "rt-p-web");
	assert_int_equal(events_relevant(e, proj, sizeof(proj), svc, sizeof(svc), act,
	    sizeof(act)), 1);
	assert_string_equal(proj, "rt-p");
	assert_string_equal(svc, "web");
	assert_string_equal(act, "die");
	/* a name that does not fit is not ours (63 bytes at most): never cut short */
	memset(longname, 'w', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	json_object_set_new(json_object_get(json_object_get(e, "Actor"), "Attributes"),
	    LABEL_SERVICE, json_string(longname));
	assert_int_equal(events_relevant(e, proj, sizeof(proj), svc, sizeof(svc), act,
	    sizeof(act)), 0);
	json_decref(e);
}

/* ---------------------------------------------------------------- fake engine */

/* Answers GET /_ping (API 1.41) and then one GET /events with a stream that
 * holds an event, a line over the client's bound (1 MiB), a line that is not
 * JSON and a second event; keeps the request line. */
struct fake_events {
	char path[108];
	int fd;
	pthread_t th;
	char request[4096];
};

static void
fake_answer(int c, const char *text, size_t len)
{
	while (len) {
		/* the client may hang up first (a line over its bound): no SIGPIPE */
		ssize_t n = send(c, text, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		text += n;
		len -= (size_t)n;
	}
}

static void *
fake_events_run(void *arg)
{
	static const char ping[] = "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n"
	    "Connection: close\r\n\r\nOK";
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Connection: close\r\n\r\n";
	static const char ev1[] = "{\"Type\":\"container\",\"Action\":\"die\",\"time\":1700000000,"
	    "\"timeNano\":1700000000000000100,\"Actor\":{\"Attributes\":{\"name\":\"one\"}}}\n";
	static const char ev2[] = "{\"Type\":\"container\",\"Action\":\"destroy\",\"time\":"
	    "1700000000,\"timeNano\":1700000000000000200,\"Actor\":{\"Attributes\":{\"name\":"
	    "\"two\"}}}\n";
	struct fake_events *f = arg;
	char *big = xmalloc((2u << 20) + 1);

	memset(big, 'q', 2u << 20);
	big[2u << 20] = '\n';
	/* one events request (a GET /_ping before it, should one come) */
	for (int served = 0; !served;) {
		char req[4096];
		ssize_t n;
		int c = accept(f->fd, NULL, NULL);

		if (c < 0)
			break;
		n = read(c, req, sizeof(req) - 1);
		req[n > 0 ? n : 0] = '\0';
		if (strncmp(req, "GET /_ping ", 11) == 0) {
			fake_answer(c, ping, sizeof(ping) - 1);
		} else {
			served = 1;
			snprintf(f->request, sizeof(f->request), "%.*s", (int)strcspn(req, "\r"), req);
			fake_answer(c, head, sizeof(head) - 1);
			fake_answer(c, ev1, sizeof(ev1) - 1);
			fake_answer(c, big, (2u << 20) + 1);
			fake_answer(c, "{\"Type\": nope}\n", 15);
			fake_answer(c, ev2, sizeof(ev2) - 1);
		}
		close(c);
	}
	free(big);
	return NULL;
}

static void
fake_events_start(struct fake_events *f)
{
	memset(f, 0, sizeof(*f));
	f->fd = test_listen(f->path, sizeof(f->path), "events-fake");
	assert_int_equal(pthread_create(&f->th, NULL, fake_events_run, f), 0);
}

static void
fake_events_stop(struct fake_events *f)
{
	pthread_join(f->th, NULL);
	close(f->fd);
	unlink(f->path);
}

struct seen_events {
	struct buf names, skipped;
};

static int
seen_event(json_t *event, void *payload)
{
	struct seen_events *s = payload;
	const char *name = json_string_value(json_object_get(json_object_get(json_object_get(
	    event, "Actor"), "Attributes"), "name"));

	buf_addf(&s->names, "%s|", name ? name : "?");
	return 0;
}

static void
seen_skipped(const char *why, void *payload)
{
	struct seen_events *s = payload;

	buf_addf(&s->skipped, "%s|", why);
}

static void
test_stream_fake(void **state)
{
	struct docker_events_options o = DOCKER_EVENTS_OPTIONS_INIT;
	struct docker_options dop = DOCKER_OPTIONS_INIT;
	struct seen_events s;
	struct fake_events f;
	struct docker *d = NULL;
	char host[160], err[ERR_LEN];

	(void)state;
	buf_init(&s.names, 0);
	buf_init(&s.skipped, 0);
	buf_adds(&s.names, "");
	buf_adds(&s.skipped, "");
	/* lenient: the bad lines are skipped, each said, the stream goes on */
	fake_events_start(&f);
	snprintf(host, sizeof(host), "unix://%s", f.path);
	dop.host = host;
	assert_int_equal(docker_open(&d, &dop, err), 0);
	o.label = LABEL_PROJECT;
	o.since = "1700000000.000000005";
	o.timeout_ms = 10000;
	o.event = seen_event;
	o.skipped = seen_skipped;
	o.payload = &s;
	if (docker_events_follow(d, &o, err) != 0)
		fail_msg("events: %s", err);
	fake_events_stop(&f);
	docker_free(d);
	assert_string_equal(s.names.data, "one|two|");
	assert_contains(s.skipped.data, "a line of the stream is longer than 1048576 bytes "
	    "(2097152)|");
	assert_contains(s.skipped.data, "|malformed JSON line in the stream: ");
	assert_contains(f.request, "GET /v1.41/events?since=1700000000.000000005&filters=");
	/* strict (no skipped callback): the long line ends the stream */
	buf_reset(&s.names);
	fake_events_start(&f);
	assert_int_equal(docker_open(&d, &dop, err), 0);
	o.skipped = NULL;
	o.since = NULL;
	assert_int_equal(docker_events_follow(d, &o, err), -1);
	fake_events_stop(&f);
	docker_free(d);
	assert_contains(err, "a line of the stream is longer than 1048576 bytes");
	assert_string_equal(s.names.data, "one|");
	assert_contains(f.request, "GET /v1.41/events?filters=");
	buf_release(&s.names);
	buf_release(&s.skipped);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_every_byte),
		cmocka_unit_test(test_split_long_line),
		cmocka_unit_test(test_split_over_bound),
		cmocka_unit_test(test_split_bound_edge),
		cmocka_unit_test(test_split_finish_reset_stop),
		cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_relevant_names),
		cmocka_unit_test(test_stream_fake),
	};
	int failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	failed = cmocka_run_group_tests_name("events", tests, NULL, NULL);
	curl_global_cleanup();
	return failed ? 1 : 0;
}

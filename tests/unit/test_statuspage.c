/* Unit tests: the status page (HTML escaping with hostile input, a full page
 * from status and history documents, the empty states, the buffer cap). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "statuspage.h"

#define REV1 "0123456789abcdef0123456789abcdef01234567"
#define REV2 "fedcba9876543210fedcba9876543210fedcba98"
#define DIGEST "sha256:aaaaaaaaaaaabbbbbbbbbbbbccccccccccccddddddddddddeeeeeeeeeeee0000"

static char *
escape(const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(statuspage_escape(&b, s), 0);
	buf_adds(&b, "");	/* an empty result is "" too */
	return buf_detach(&b, NULL);
}

#define assert_escaped(in, want) do {					\
	char *got_ = escape(in);					\
	assert_string_equal(got_, want);				\
	free(got_);							\
} while (0)

static void
test_escape(void **state)
{
	struct buf b;

	assert_escaped("plain text, 1.2.3", "plain text, 1.2.3");
	assert_escaped("", "");
	assert_escaped(NULL, "");
	assert_escaped("<script>alert(\"x\")</script>",
	    "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
	assert_escaped("\" onmouseover=\"x", "&quot; onmouseover=&quot;x");
	assert_escaped("' autofocus onfocus='x", "&#39; autofocus onfocus=&#39;x");
	assert_escaped("a&b &amp; &#60;", "a&amp;b &amp;amp; &amp;#60;");
	assert_escaped("<<>>&&", "&lt;&lt;&gt;&gt;&amp;&amp;");
	assert_escaped("</title><img src=x onerror=alert(1)>",
	    "&lt;/title&gt;&lt;img src=x onerror=alert(1)&gt;");
	/* terminal escapes and other controls go; tab and newline stay */
	assert_escaped("a\x01z\x1b[31mred\x7f\tc\n", "a\xef\xbf\xbdz\xef\xbf\xbd[31mred"
	    "\xef\xbf\xbd\tc\n");
	/* UTF-8 passes; what is not UTF-8 is replaced, byte by byte */
	assert_escaped("h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80", "h\xc3\xa9llo \xe2\x9c\x93 "
	    "\xf0\x9f\x98\x80");
	assert_escaped("x\xffy", "x\xef\xbf\xbdy");
	assert_escaped("end\xc3", "end\xef\xbf\xbd");
	assert_escaped("\xc0\xbc" "b", "\xef\xbf\xbd\xef\xbf\xbd" "b");	/* overlong '<' */
	assert_escaped("\xed\xa0\x80<", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd&lt;");	/* surrogate */
	assert_escaped("\xff<\xfe>", "\xef\xbf\xbd&lt;\xef\xbf\xbd&gt;");
	/* the cap */
	buf_init(&b, 8);
	assert_int_equal(statuspage_escape(&b, "<<<<"), -1);
	buf_release(&b);
}

static char *
render(const char *status, const char *history, long long now)
{
	struct statuspage_options o = STATUSPAGE_OPTIONS_INIT;
	json_t *st = status ? json_loads(status, 0, NULL) : NULL;
	json_t *h = history ? json_loads(history, 0, NULL) : NULL;
	struct buf b;

	if (status)
		assert_non_null(st);
	if (history)
		assert_non_null(h);
	o.now = now;
	buf_init(&b, 1u << 20);
	assert_int_equal(statuspage_render(&b, st, h, &o), 0);
	json_decref(st);
	json_decref(h);
	return buf_detach(&b, NULL);
}

#define assert_has(page, frag) do {					\
	if (!strstr(page, frag)) {					\
		fprintf(stderr, "--- page:\n%s---\n", page);		\
		fail_msg("page lacks %s", frag);			\
	}								\
} while (0)
#define assert_lacks(page, frag) do {					\
	if (strstr(page, frag))						\
		fail_msg("page has %s", frag);				\
} while (0)

static const char status_doc[] =
	"{\"state\": \"degraded\", \"project\": \"shop\", \"revision\": \"" REV2 "\","
	" \"head\": \"" REV2 "\", \"subject\": \"fix <b>bug</b> & \\\"more\\\"\","
	" \"message\": \"degraded: fedcba987654 failed on api: <unhealthy>\","
	" \"updated\": 1000000000, \"branch\": \"main\", \"repo\": \"file:///srv/infra.git\","
	" \"errors\": [], \"quarantined\": [{\"revision\": \"" REV2 "\", \"service\": \"api\","
	"  \"reason\": \"the container is unhealthy <x>\"}],"
	" \"services\": ["
	"  {\"service\": \"api\", \"container\": \"shop-api\", \"state\": \"running\","
	"   \"health\": \"healthy\", \"image\": \"reg.example:5000/team/api@" DIGEST "\","
	"   \"status\": \"Up 3 minutes (healthy)\", \"revision\": \"" REV1 "\", \"role\": \"primary\"},"
	"  {\"service\": \"worker\", \"container\": null, \"state\": \"missing\", \"health\": \"-\","
	"   \"image\": \"busybox\", \"status\": \"\", \"revision\": \"-\", \"role\": \"-\"}],"
	" \"drift\": {\"format\": 1, \"project\": \"shop\", \"in_sync\": false, \"services\": ["
	"  {\"service\": \"api\", \"action\": \"recreate\", \"reasons\": [{\"field\": \"env\","
	"   \"message\": \"env GREETING changed: \\\"hi\\\" -> \\\"<script>alert(1)</script>\\\"\"}],"
	"   \"anomalies\": []},"
	"  {\"service\": \"worker\", \"action\": \"create\", \"reasons\": [], \"anomalies\": []},"
	"  {\"service\": \"cache\", \"action\": \"in-sync\", \"reasons\": [], \"anomalies\": []}],"
	"  \"networks\": [{\"name\": \"shop_default\", \"action\": \"create\"}], \"volumes\": []},"
	" \"daemon\": {\"pid\": 42, \"busy\": true, \"started\": 999990000, \"version\": \"1.2.3\"}}";

static const char history_doc[] =
	"[{\"cycle\": 2, \"started\": 999999700, \"ended\": 999999710, \"revision\": \"" REV2 "\","
	"  \"trigger\": \"poll\", \"outcome\": \"degraded\", \"error\": null, \"subject\": \"s2\","
	"  \"actions\": [{\"service\": \"api\", \"action\": \"recreate\", \"reasons\": [],"
	"   \"outcome\": \"failed\", \"error\": \"rolled back: <unhealthy>\", \"at\": 999999705,"
	"   \"ms\": 5300}]},"
	" {\"cycle\": 1, \"started\": 999990100, \"ended\": 999990110, \"revision\": \"" REV1 "\","
	"  \"trigger\": \"poll\", \"outcome\": \"converged\", \"error\": null, \"subject\": \"s1\","
	"  \"actions\": [{\"service\": \"api\", \"action\": \"create\", \"reasons\": [],"
	"   \"outcome\": \"ok\", \"error\": null, \"at\": 999990105, \"ms\": 1800},"
	"   {\"service\": \"worker\", \"action\": \"create\", \"reasons\": [],"
	"   \"outcome\": \"ok\", \"error\": null, \"at\": 999990106, \"ms\": 10}]}]";

static void
test_page(void **state)
{
	char *p = render(status_doc, history_doc, 1000000090);

	assert_true(strncmp(p, "<!DOCTYPE html>", 15) == 0);
	assert_has(p, "<title>degraded &middot; shop</title>");
	assert_has(p, "<meta http-equiv=\"refresh\" content=\"10\">");
	/* the header: project, state, revision with its subject, the message */
	assert_has(p, "shop <span class=\"b warn\" title=\"the outcome of the last cycle\">degraded"
	    "</span>");
	assert_has(p, ">busy</span>");
	assert_has(p, "revision <code title=\"" REV2 "\">fedcba987654</code> &ldquo;fix &lt;b&gt;bug"
	    "&lt;/b&gt; &amp; &quot;more&quot;&rdquo;");
	assert_has(p, "last cycle <time datetime=\"2001-09-09T01:46:40Z\" title=\"2001-09-09 "
	    "01:46:40 UTC\">1m ago</time>");
	assert_has(p, "<div class=\"msg warn\">degraded: fedcba987654 failed on api: &lt;unhealthy&gt;"
	    "</div>");
	/* services: state, health, short digest with the whole reference, drift */
	assert_has(p, "<b>api</b> <a href=\"#drift\" class=\"b warn\">drift</a>");
	assert_has(p, "<span class=\"b ok\" title=\"Up 3 minutes (healthy)\">running</span>");
	assert_has(p, "<span class=\"b ok\">healthy</span>");
	assert_has(p, "<code title=\"reg.example:5000/team/api@" DIGEST "\">api@sha256:aaaaaaaaaaaa"
	    "</code>");
	assert_has(p, "<td data-l=\"Revision\"><code title=\"" REV1 "\">0123456789ab</code>");
	assert_has(p, "<span class=\"b bad\">missing</span>");
	assert_has(p, "<code title=\"busybox\">busybox</code>");
	/* last rollout: the newest action of the service */
	assert_has(p, "recreate <span class=\"b bad\" title=\"rolled back: &lt;unhealthy&gt;\">failed"
	    "</span> <span class=\"mut sm\"><code title=\"" REV2 "\">fedcba987654</code> <time");
	assert_has(p, ">2h 46m ago</time></span></td></tr>\n</tbody>");	/* worker's, cycle 1 */
	/* drift: api and worker, not cache; the network; the held-back pair */
	assert_has(p, "<li><b>api</b> <span class=\"b warn\">recreate</span><ul class=\"l sm\"><li>env "
	    "GREETING changed: &quot;hi&quot; -&gt; &quot;&lt;script&gt;alert(1)&lt;/script&gt;"
	    "&quot;</li></ul></li>");
	assert_has(p, "<li><b>worker</b> <span class=\"b warn\">create</span>");
	assert_lacks(p, "<b>cache</b>");
	assert_has(p, "<li>network <code>shop_default</code> <span class=\"b warn\">create</span></li>");
	assert_has(p, "Held back");
	assert_has(p, "the container is unhealthy &lt;x&gt;");
	/* history */
	assert_has(p, "History <span class=\"n\">(last 2)</span>");
	assert_has(p, "<span class=\"b warn\">degraded</span>");
	assert_has(p, "<span class=\"mut sm\">5.3s</span>");
	assert_has(p, "<span class=\"b ok\">converged</span>");
	/* footer */
	assert_has(p, "reconcilerd 1.2.3 &middot; pid 42");
	assert_has(p, "<a href=\"/v1/status\">");
	/* nothing hostile got through, nothing is loaded from elsewhere */
	assert_lacks(p, "<script");
	assert_lacks(p, "<b>bug");
	assert_lacks(p, "<unhealthy>");
	assert_lacks(p, "<x>");
	assert_lacks(p, "src=");
	assert_lacks(p, "href=\"http");
	assert_lacks(p, "href=\"//");
	assert_lacks(p, "url(");
	assert_lacks(p, "@import");
	assert_true(utf8_invalid_at(p, strlen(p)) == (size_t)-1);
	free(p);
}

static void
test_history_rows(void **state)
{
	struct statuspage_options o = STATUSPAGE_OPTIONS_INIT;
	json_t *h = json_array();
	struct buf b;
	size_t n = 0;

	for (int i = 0; i < 50; i++)
		json_array_append_new(h, json_pack("{s:i,s:i,s:s,s:s,s:s,s:[]}", "cycle", 50 - i,
		    "started", 1000000 - i, "revision", REV1, "trigger", "poll", "outcome",
		    "converged", "actions"));
	buf_init(&b, 0);
	assert_int_equal(statuspage_render(&b, NULL, h, &o), 0);
	for (const char *s = b.data; (s = strstr(s, "<td data-l=\"When\"")); s++)
		n++;
	assert_int_equal(n, 20);
	assert_has(b.data, "(last 20)");
	buf_release(&b);
	json_decref(h);
}

static void
test_empty(void **state)
{
	char *p = render(NULL, NULL, 0);

	assert_has(p, "<title>starting &middot; reconciler</title>");
	assert_has(p, ">starting</span>");
	assert_has(p, "<p class=\"mut\">No cycle has finished yet.</p></section>\n<section "
	    "id=\"drift\"><h2>Drift</h2>\n<p class=\"mut\">No cycle has finished yet.</p>");
	assert_has(p, "The journal cannot be read now.");
	assert_lacks(p, "Held back");
	free(p);
	p = render("{\"state\": \"starting\", \"daemon\": {\"pid\": 7, \"busy\": false, "
	    "\"started\": 1000000000, \"version\": \"1.0\"}}", "[]", 0);
	assert_has(p, "Nothing done yet.");
	/* no clock: dates, not ages */
	assert_has(p, "started <time datetime=\"2001-09-09T01:46:40Z\" title=\"2001-09-09 01:46:40 "
	    "UTC\">2001-09-09 01:46:40 UTC</time>");
	assert_lacks(p, ">busy<");
	free(p);
	/* the errors, a manifest without services, nothing drifted */
	p = render("{\"state\": \"error\", \"message\": \"engine: down\", \"errors\": "
	    "[\"engine: <down>\", \"git: x\"], \"services\": [], \"drift\": {\"services\": []}}",
	    "[]", 1000);
	assert_has(p, "<div class=\"msg bad\"><ul><li>engine: &lt;down&gt;</li><li>git: x</li>"
	    "</ul></div>");
	assert_has(p, "The manifest has no services.");
	assert_has(p, "None: every service matches the manifest.");
	free(p);
	/* an engine error: neither services nor drift known */
	p = render("{\"state\": \"error\", \"errors\": [\"engine: down\"]}", "[]", 1000);
	assert_has(p, "Not known: the last cycle did not reach the engine.");
	assert_has(p, "Not known: the last cycle did not compare the manifest with the engine.");
	free(p);
}

static void
test_cap(void **state)
{
	json_t *st = json_loads(status_doc, 0, NULL), *h = json_loads(history_doc, 0, NULL);
	struct buf b;

	buf_init(&b, 2048);
	assert_int_equal(statuspage_render(&b, st, h, NULL), -1);
	assert_true(b.len <= 2048);
	buf_release(&b);
	json_decref(st);
	json_decref(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_page),
		cmocka_unit_test(test_history_rows),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_cap),
	};

	return cmocka_run_group_tests_name("statuspage", tests, NULL, NULL);
}

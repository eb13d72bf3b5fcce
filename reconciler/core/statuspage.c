/*
 * statuspage: see statuspage.h. The page is a header (project, state,
 * revision), then sections: services, drift, history. Class names and other
 * markup come from this file only; every value from the documents goes
 * through statuspage_escape.
 */
#include "statuspage.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct page {
	struct buf *b;
	const struct statuspage_options *o;
	int err;
};

static const char style[] =
	":root{--bg:#f5f6f8;--fg:#1f2328;--mut:#59636e;--card:#fff;--line:#dfe3e8;"
	"--ok:#1a7f37;--okb:#dcf5e3;--warn:#8a5a00;--warnb:#fdf1c7;--bad:#c4212c;--badb:#fde7e8;"
	"--nb:#eceff2;color-scheme:light dark}"
	"@media(prefers-color-scheme:dark){:root{--bg:#0e1116;--fg:#e6edf3;--mut:#8d96a0;"
	"--card:#161b22;--line:#2d333b;--ok:#56d364;--okb:#11291b;--warn:#e3b341;--warnb:#2b230f;"
	"--bad:#ff7b72;--badb:#33161a;--nb:#262c34}}"
	"*{box-sizing:border-box}"
	"body{margin:0;background:var(--bg);color:var(--fg);"
	"font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;overflow-wrap:break-word}"
	"main{max-width:1120px;margin:0 auto;padding:14px}"
	"header{padding:6px 2px 2px}"
	"h1{font-size:1.35rem;margin:0 0 6px;display:flex;flex-wrap:wrap;gap:8px;align-items:center}"
	"h1 .p{font-weight:400;color:var(--mut)}"
	"h2{font-size:.8rem;margin:0 0 8px;text-transform:uppercase;letter-spacing:.06em;"
	"color:var(--mut)}"
	"h2 .n{font-weight:400;text-transform:none;letter-spacing:0}"
	"section{background:var(--card);border:1px solid var(--line);border-radius:10px;"
	"padding:12px 14px;margin:12px 0}"
	"p{margin:3px 0}.sub{color:var(--mut)}.mut{color:var(--mut)}.sm{font-size:12.5px}"
	"code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}"
	"abbr,time{text-decoration:none}"
	".b{display:inline-block;padding:1px 9px;border-radius:99px;font-size:12px;font-weight:600;"
	"background:var(--nb);white-space:nowrap}"
	".ok{color:var(--ok);background:var(--okb)}.warn{color:var(--warn);background:var(--warnb)}"
	".bad{color:var(--bad);background:var(--badb)}"
	".msg{border-radius:8px;padding:8px 12px;margin:8px 0;font-weight:500}"
	".msg ul{margin:0;padding-left:18px}"
	"table{border-collapse:collapse;width:100%}"
	"th,td{text-align:left;padding:7px 8px;border-top:1px solid var(--line);vertical-align:top;"
	"font-size:14px}"
	"th{font-size:12px;font-weight:600;color:var(--mut);border-top:0;padding-top:0}"
	"td.nw{white-space:nowrap}"
	"ul.l{margin:4px 0;padding-left:18px}ul.l li{margin:2px 0}"
	"ul.l,.act,.msg{overflow-wrap:anywhere}.act{margin:1px 0}.blk{display:block}"
	"footer{color:var(--mut);font-size:12.5px;text-align:center;margin:14px 0 20px}"
	"footer a{color:inherit}a.b{text-decoration:none}"
	"@media(max-width:700px){main{padding:8px}section{padding:10px}"
	"table.c thead{display:none}table.c tr{display:block;border-top:1px solid var(--line);"
	"padding:6px 0}table.c tr:first-child{border-top:0}"
	"table.c td{display:block;position:relative;border:0;padding:2px 0 2px 7.5em;min-height:1.6em}"
	"table.c td::before{content:attr(data-l);position:absolute;left:0;top:3px;width:7em;"
	"color:var(--mut);font-size:12px}}";

/* Output ------------------------------------------------------------------ */

static void
put(struct page *pg, const char *s)
{
	if (buf_adds(pg->b, s) < 0)
		pg->err = 1;
}

static void
putf(struct page *pg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
putf(struct page *pg, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	/* only this file's own short formats come here: never cut */
	if (n < 0 || (size_t)n >= sizeof(tmp) || buf_add(pg->b, tmp, (size_t)n) < 0)
		pg->err = 1;
}

static void
esc(struct page *pg, const char *s)
{
	if (statuspage_escape(pg->b, s) < 0)
		pg->err = 1;
}

/* The length of the UTF-8 character at s (left bytes remain), 0 when the
 * bytes there are not one. */
static size_t
utf8_char(const char *s, size_t left)
{
	unsigned char c = (unsigned char)*s;
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

	return n <= left && utf8_invalid_at(s, n) == (size_t)-1 ? n : 0;
}

int
statuspage_escape(struct buf *out, const char *s)
{
	static const char fffd[] = "\xef\xbf\xbd";	/* U+FFFD */
	size_t len, run = 0, i = 0;

	if (!s)
		return 0;
	len = strlen(s);
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = NULL;
		size_t step = 1;

		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default:
			if (c >= 0x80) {
				step = utf8_char(s + i, len - i);
				if (!step) {
					step = 1;
					rep = fffd;
				}
			} else if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
				rep = fffd;
			}
		}
		if (rep) {
			if (buf_add(out, s + i - run, run) < 0 || buf_adds(out, rep) < 0)
				return -1;
			run = 0;
		} else {
			run += step;
		}
		i += step;
	}
	return buf_add(out, s + len - run, run);
}

/* Documents ---------------------------------------------------------------- */

static const char *
str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static long long
num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

/* A class for a state, outcome or health word: green, amber, red or plain. */
static const char *
tone(const char *word)
{
	static const char *const good[] = { "in-sync", "converged", "running", "healthy", "ok",
	    "applied", NULL };
	static const char *const warn[] = { "degraded", "starting", "restarting", "created",
	    "paused", "blocked", "skipped", "interrupted", "busy", "drift", "create", "recreate",
	    "start", "remove", NULL };
	static const char *const bad[] = { "error", "exited", "dead", "missing", "unhealthy",
	    "failed", "removing", "invalid", "missing-external", NULL };

	for (int i = 0; word && good[i]; i++)
		if (strcmp(word, good[i]) == 0)
			return " ok";
	for (int i = 0; word && warn[i]; i++)
		if (strcmp(word, warn[i]) == 0)
			return " warn";
	for (int i = 0; word && bad[i]; i++)
		if (strcmp(word, bad[i]) == 0)
			return " bad";
	return "";
}

static void
badge(struct page *pg, const char *word, const char *title)
{
	putf(pg, "<span class=\"b%s\"", tone(word));
	if (title && *title) {
		put(pg, " title=\"");
		esc(pg, title);
		put(pg, "\"");
	}
	put(pg, ">");
	esc(pg, word ? word : "?");
	put(pg, "</span>");
}

/* A commit id shortened to 12, the whole id in the title. */
static void
rev(struct page *pg, const char *id)
{
	char shortid[13];

	if (!id || !*id || strcmp(id, "-") == 0) {
		put(pg, "<span class=\"mut\">&mdash;</span>");
		return;
	}
	snprintf(shortid, sizeof(shortid), "%s", id);
	put(pg, "<code title=\"");
	esc(pg, id);
	put(pg, "\">");
	esc(pg, shortid);
	put(pg, "</code>");
}

/* "registry/path/web@sha256:d2d0…" as "web@sha256:d2d09c3f0082", the whole
 * reference in the title. */
static void
image(struct page *pg, const char *ref)
{
	const char *at, *name, *slash;
	char *shown;

	if (!ref || !*ref || strcmp(ref, "-") == 0) {
		put(pg, "<span class=\"mut\">&mdash;</span>");
		return;
	}
	at = strstr(ref, "@sha256:");
	name = ref;
	for (slash = strchr(ref, '/'); slash && (!at || slash < at); slash = strchr(slash + 1, '/'))
		name = slash + 1;
	shown = at ? xasprintf("%.*s@sha256:%.12s", (int)(at - name), name, at + 8) :
	    xstrdup(name);
	put(pg, "<code title=\"");
	esc(pg, ref);
	put(pg, "\">");
	esc(pg, shown);
	put(pg, "</code>");
	free(shown);
}

static void
ago(char *out, size_t n, long long secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 60)
		snprintf(out, n, "%llds ago", secs);
	else if (secs < 3600)
		snprintf(out, n, "%lldm ago", secs / 60);
	else if (secs < 86400)
		snprintf(out, n, "%lldh %lldm ago", secs / 3600, secs % 3600 / 60);
	else
		snprintf(out, n, "%lldd ago", secs / 86400);
}

/* A time as "3m ago" (or the date when there is no clock), the UTC date in
 * the title; long adds the date in the text too. */
static void
when(struct page *pg, long long t, int long_form)
{
	char iso[32], human[32], rel[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&tt, &tm)) {
		put(pg, "<span class=\"mut\">&mdash;</span>");
		return;
	}
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	strftime(human, sizeof(human), "%Y-%m-%d %H:%M:%S UTC", &tm);
	if (pg->o->now > 0)
		ago(rel, sizeof(rel), pg->o->now - t);
	else
		snprintf(rel, sizeof(rel), "%s", human);
	putf(pg, "<time datetime=\"%s\" title=\"%s\">%s</time>", iso, human, rel);
	if (long_form && pg->o->now > 0)
		putf(pg, " <span class=\"mut\">(%s)</span>", human);
}

/* Sections ----------------------------------------------------------------- */

/* 1 once a cycle has written the status. */
static int
started(const json_t *st)
{
	const char *state = str(st, "state");

	return state && strcmp(state, "starting") != 0;
}

static void
header(struct page *pg, const json_t *st)
{
	const char *state = str(st, "state"), *project = str(st, "project");
	const char *revision = str(st, "revision"), *head = str(st, "head");
	const char *subject = str(st, "subject"), *message = str(st, "message");
	const json_t *daemon = json_object_get(st, "daemon"), *errors = json_object_get(st, "errors");

	if (!project)
		project = str(json_object_get(st, "drift"), "project");
	put(pg, "<header><h1><span class=\"p\">reconciler</span> ");
	esc(pg, project ? project : "");
	put(pg, " ");
	badge(pg, state ? state : "starting", "the outcome of the last cycle");
	if (json_is_true(json_object_get(daemon, "busy")))
		badge(pg, "busy", "a cycle is running now");
	put(pg, "</h1>\n<p class=\"sub\">revision ");
	rev(pg, revision ? revision : head);
	if (subject && *subject) {
		put(pg, " &ldquo;");
		esc(pg, subject);
		put(pg, "&rdquo;");
	}
	if (revision && head && strcmp(revision, head) != 0) {
		put(pg, " &middot; branch head ");
		rev(pg, head);
		put(pg, " not applied");
	}
	put(pg, "</p>\n<p class=\"sub\">last cycle ");
	when(pg, num(st, "updated"), 1);
	if (str(st, "branch")) {
		put(pg, " &middot; branch <code>");
		esc(pg, str(st, "branch"));
		put(pg, "</code>");
	}
	if (str(st, "repo")) {
		put(pg, " of <code>");
		esc(pg, str(st, "repo"));
		put(pg, "</code>");
	}
	put(pg, "</p>\n");
	if (json_array_size(errors)) {
		size_t i;
		const json_t *e;

		put(pg, "<div class=\"msg bad\"><ul>");
		json_array_foreach(errors, i, e) {
			put(pg, "<li>");
			esc(pg, json_string_value(e));
			put(pg, "</li>");
		}
		put(pg, "</ul></div>\n");
	} else if (message && *message) {
		putf(pg, "<div class=\"msg%s\">", tone(state));
		esc(pg, message);
		put(pg, "</div>\n");
	}
	put(pg, "</header>\n");
}

/* The drift entry of a service: its plan item when it is not in sync or has
 * an anomaly, else NULL. */
static const json_t *
drift_of(const json_t *st, const char *service)
{
	const json_t *s;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(st, "drift"), "services"), i, s) {
		const char *action = str(s, "action");

		if (!service || !str(s, "service") || strcmp(str(s, "service"), service) != 0)
			continue;
		if ((action && strcmp(action, "in-sync") != 0) ||
		    json_array_size(json_object_get(s, "anomalies")))
			return s;
	}
	return NULL;
}

/* The newest journal action of service that was not a removal. */
static const json_t *
last_rollout(const json_t *history, const char *service, const json_t **cycle)
{
	const json_t *c, *a;
	size_t i, k;

	json_array_foreach(history, i, c) {
		const json_t *acts = json_object_get(c, "actions");

		/* a cycle's actions are in order: the last one is the newest */
		for (k = json_array_size(acts); k-- > 0;) {
			a = json_array_get(acts, k);
			if (str(a, "service") && service && strcmp(str(a, "service"), service) == 0 &&
			    (!str(a, "action") || strcmp(str(a, "action"), "remove") != 0)) {
				*cycle = c;
				return a;
			}
		}
	}
	return NULL;
}

static void
services(struct page *pg, const json_t *st, const json_t *history)
{
	const json_t *rows = json_object_get(st, "services"), *r;
	size_t i;

	put(pg, "<section id=\"services\"><h2>Services");
	if (json_is_array(rows))
		putf(pg, " <span class=\"n\">(%zu)</span>", json_array_size(rows));
	put(pg, "</h2>\n");
	if (!json_is_array(rows)) {
		put(pg, started(st) ? "<p class=\"mut\">Not known: the last cycle did not reach the "
		    "engine.</p></section>\n" : "<p class=\"mut\">No cycle has finished yet.</p>"
		    "</section>\n");
		return;
	}
	if (!json_array_size(rows)) {
		put(pg, "<p class=\"mut\">The manifest has no services.</p></section>\n");
		return;
	}
	put(pg, "<table class=\"c\"><thead><tr><th>Service</th><th>State</th><th>Health</th>"
	    "<th>Image</th><th>Revision</th><th>Last rollout</th></tr></thead><tbody>\n");
	json_array_foreach(rows, i, r) {
		const char *name = str(r, "service"), *role = str(r, "role"), *health = str(r, "health");
		const json_t *cyc = NULL, *a = last_rollout(history, name, &cyc);

		put(pg, "<tr><td data-l=\"Service\"><b>");
		esc(pg, name);
		put(pg, "</b>");
		if (role && strcmp(role, "primary") != 0 && strcmp(role, "-") != 0) {
			put(pg, " <span class=\"mut sm\">(");
			esc(pg, role);
			put(pg, ")</span>");
		}
		if (drift_of(st, name))
			put(pg, " <a href=\"#drift\" class=\"b warn\">drift</a>");
		put(pg, "</td><td data-l=\"State\">");
		badge(pg, str(r, "state"), str(r, "status"));
		put(pg, "</td><td data-l=\"Health\">");
		if (health && strcmp(health, "-") != 0)
			badge(pg, health, NULL);
		else
			put(pg, "<span class=\"mut\">&mdash;</span>");
		put(pg, "</td><td data-l=\"Image\">");
		image(pg, str(r, "image"));
		put(pg, "</td><td data-l=\"Revision\">");
		rev(pg, str(r, "revision"));
		put(pg, "</td><td data-l=\"Last rollout\">");
		if (a) {
			esc(pg, str(a, "action"));
			put(pg, " ");
			badge(pg, str(a, "outcome"), str(a, "error"));
			put(pg, " <span class=\"mut sm\">");
			rev(pg, str(cyc, "revision"));
			put(pg, " ");
			when(pg, num(a, "at"), 0);
			put(pg, "</span>");
		} else {
			put(pg, "<span class=\"mut\">&mdash;</span>");
		}
		put(pg, "</td></tr>\n");
	}
	put(pg, "</tbody></table></section>\n");
}

/* "field: message; …" of a reasons or anomalies array. */
static void
reasons(struct page *pg, const json_t *list)
{
	const json_t *x;
	size_t i;

	json_array_foreach(list, i, x) {
		put(pg, "<li>");
		if (json_is_string(x)) {
			esc(pg, json_string_value(x));
		} else {
			esc(pg, str(x, "message") ? str(x, "message") : str(x, "field"));
		}
		put(pg, "</li>");
	}
}

static void
drift(struct page *pg, const json_t *st)
{
	const json_t *plan = json_object_get(st, "drift"), *s, *q = json_object_get(st, "quarantined");
	static const char *const kinds[] = { "networks", "volumes" };
	size_t i, n = 0;

	put(pg, "<section id=\"drift\"><h2>Drift</h2>\n");
	if (!json_is_object(plan)) {
		put(pg, started(st) ? "<p class=\"mut\">Not known: the last cycle did not compare the "
		    "manifest with the engine.</p>\n" : "<p class=\"mut\">No cycle has finished yet."
		    "</p>\n");
	} else {
		put(pg, "<ul class=\"l\">");
		json_array_foreach(json_object_get(plan, "services"), i, s) {
			const json_t *d = drift_of(st, str(s, "service"));

			if (d != s)
				continue;
			n++;
			put(pg, "<li><b>");
			esc(pg, str(s, "service"));
			put(pg, "</b> ");
			badge(pg, str(s, "action"), NULL);
			put(pg, "<ul class=\"l sm\">");
			reasons(pg, json_object_get(s, "reasons"));
			reasons(pg, json_object_get(s, "anomalies"));
			put(pg, "</ul></li>\n");
		}
		for (int k = 0; k < 2; k++)
			json_array_foreach(json_object_get(plan, kinds[k]), i, s) {
				n++;
				putf(pg, "<li>%.*s <code>", (int)strlen(kinds[k]) - 1, kinds[k]);
				esc(pg, str(s, "name"));
				put(pg, "</code> ");
				badge(pg, str(s, "action"), NULL);
				put(pg, "</li>\n");
			}
		put(pg, "</ul>\n");
		if (!n)
			put(pg, "<p class=\"mut\">None: every service matches the manifest.</p>\n");
	}
	if (json_array_size(q)) {
		put(pg, "<p><b>Held back</b> <span class=\"mut sm\">(not retried until a new commit "
		    "or <code>reconcilerctl sync --retry</code>)</span></p><ul class=\"l\">");
		json_array_foreach(q, i, s) {
			put(pg, "<li><b>");
			esc(pg, str(s, "service"));
			put(pg, "</b> at ");
			rev(pg, str(s, "revision"));
			put(pg, ": ");
			esc(pg, str(s, "reason"));
			put(pg, "</li>\n");
		}
		put(pg, "</ul>\n");
	}
	put(pg, "</section>\n");
}

static void
history_section(struct page *pg, const json_t *history)
{
	const json_t *c, *a;
	size_t i, k;

	put(pg, "<section id=\"history\"><h2>History");
	if (json_is_array(history) && json_array_size(history))
		putf(pg, " <span class=\"n\">(last %zu)</span>", json_array_size(history) <
		    (size_t)pg->o->history_rows ? json_array_size(history) :
		    (size_t)pg->o->history_rows);
	put(pg, "</h2>\n");
	if (!json_is_array(history)) {
		put(pg, "<p class=\"mut\">The journal cannot be read now.</p></section>\n");
		return;
	}
	if (!json_array_size(history)) {
		put(pg, "<p class=\"mut\">Nothing done yet.</p></section>\n");
		return;
	}
	put(pg, "<table class=\"c\"><thead><tr><th>When</th><th>Revision</th><th>Trigger</th>"
	    "<th>Outcome</th><th>Actions</th></tr></thead><tbody>\n");
	json_array_foreach(history, i, c) {
		if (i >= (size_t)pg->o->history_rows)
			break;
		put(pg, "<tr><td data-l=\"When\" class=\"nw\">");
		when(pg, num(c, "started"), 0);
		put(pg, "</td><td data-l=\"Revision\">");
		rev(pg, str(c, "revision"));
		if (str(c, "subject")) {
			put(pg, " <span class=\"mut sm blk\">");
			esc(pg, str(c, "subject"));
			put(pg, "</span>");
		}
		put(pg, "</td><td data-l=\"Trigger\" class=\"nw\">");
		esc(pg, str(c, "trigger"));
		put(pg, "</td><td data-l=\"Outcome\" class=\"nw\">");
		badge(pg, str(c, "outcome") ? str(c, "outcome") : "running", str(c, "error"));
		put(pg, "</td><td data-l=\"Actions\"><div>");
		json_array_foreach(json_object_get(c, "actions"), k, a) {
			const json_t *why = json_object_get(a, "reasons");

			put(pg, "<div class=\"act\"><b>");
			esc(pg, str(a, "service"));
			put(pg, "</b> ");
			esc(pg, str(a, "action"));
			put(pg, " ");
			badge(pg, str(a, "outcome"), NULL);
			if (num(a, "ms") > 0)
				putf(pg, " <span class=\"mut sm\">%.1fs</span>", (double)num(a, "ms") /
				    1000.0);
			if (str(a, "error")) {
				put(pg, " <span class=\"sm\">");
				esc(pg, str(a, "error"));
				put(pg, "</span>");
			}
			if (json_array_size(why)) {
				put(pg, "<ul class=\"l sm mut\">");
				reasons(pg, why);
				put(pg, "</ul>");
			}
			put(pg, "</div>");
		}
		if (str(c, "error")) {
			put(pg, "<div class=\"sm\">");
			esc(pg, str(c, "error"));
			put(pg, "</div>");
		}
		put(pg, "</div></td></tr>\n");
	}
	put(pg, "</tbody></table></section>\n");
}

static void
footer(struct page *pg, const json_t *st)
{
	const json_t *daemon = json_object_get(st, "daemon");

	put(pg, "<footer>");
	if (str(daemon, "version")) {
		put(pg, "reconcilerd ");
		esc(pg, str(daemon, "version"));
		putf(pg, " &middot; pid %lld &middot; started ", num(daemon, "pid"));
		when(pg, num(daemon, "started"), 0);
		put(pg, " &middot; ");
	}
	put(pg, "<a href=\"/v1/status\">status JSON</a> &middot; "
	    "<a href=\"/v1/history\">history JSON</a> &middot; <a href=\"/metrics\">metrics</a>");
	if (pg->o->refresh > 0)
		putf(pg, " &middot; refreshes every %d s", pg->o->refresh);
	put(pg, "</footer>\n");
}

int
statuspage_render(struct buf *out, const json_t *status, const json_t *history,
    const struct statuspage_options *o)
{
	static const struct statuspage_options defaults = STATUSPAGE_OPTIONS_INIT;
	struct page pg = { out, o ? o : &defaults, 0 };
	const json_t *st = json_is_object(status) ? status : NULL;
	const char *project = str(st, "project"), *state = str(st, "state");

	put(&pg, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n");
	if (pg.o->refresh > 0)
		putf(&pg, "<meta http-equiv=\"refresh\" content=\"%d\">\n", pg.o->refresh);
	put(&pg, "<title>");
	esc(&pg, state ? state : "starting");
	put(&pg, " &middot; ");
	esc(&pg, project ? project : "reconciler");
	put(&pg, "</title>\n<style>");
	put(&pg, style);
	put(&pg, "</style></head>\n<body><main>\n");
	header(&pg, st);
	services(&pg, st, history);
	drift(&pg, st);
	history_section(&pg, history);
	footer(&pg, st);
	put(&pg, "</main></body></html>\n");
	return pg.err ? -1 : 0;
}

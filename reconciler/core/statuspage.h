/*
 * statuspage: the HTML page reconcilerd serves at GET / on its listeners, for
 * a person with a browser (or a phone). Pure: it renders the /v1/status
 * document and the /v1/history array into a buffer; no I/O, no clock, no
 * external asset (inline CSS only, no script), every string HTML-escaped.
 */
#ifndef RECONCILER_STATUSPAGE_H
#define RECONCILER_STATUSPAGE_H

#include <jansson.h>

#include "util.h"

struct statuspage_options {
	long long now;		/* unix seconds, for "3m ago"; 0 prints dates only */
	int history_rows;	/* cycles listed (the rest only inform "last rollout") */
	int refresh;		/* seconds between reloads (meta refresh), 0 for none */
};
#define STATUSPAGE_OPTIONS_INIT { 0, 20, 10 }

/* The headers every answer of the page carries (for http_response's
 * extra_headers): nothing may load or run but the inline style. */
#define STATUSPAGE_HEADERS \
	"Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n" \
	"X-Content-Type-Options: nosniff\r\n"
#define STATUSPAGE_CONTENT_TYPE "text/html; charset=utf-8"

/* Appends the page to out. status: the /v1/status document (NULL or without a
 * state: nothing known yet); history: the /v1/history array, newest first
 * (NULL: unavailable). Returns 0, or -1 when out's cap was reached. */
int statuspage_render(struct buf *out, const json_t *status, const json_t *history,
    const struct statuspage_options *o);

/* Appends s (NULL: nothing) escaped for HTML text and double- or
 * single-quoted attributes: & < > " ' as entities, control characters other
 * than tab and newline and bytes that are not UTF-8 as U+FFFD. 0 or -1 (cap). */
int statuspage_escape(struct buf *out, const char *s);

#endif

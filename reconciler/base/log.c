/*
 * log: see log.h. One write(2) per line so lines from worker threads never
 * interleave.
 */
#include "log.h"
#include "util.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_format format = LOG_TEXT;
static enum log_level minimum = LOG_INFO;

static const char *const names[] = { "debug", "info", "warn", "error" };

void
log_setup(enum log_format fmt, enum log_level min)
{
	format = fmt;
	minimum = min;
}

void
log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
{
	char ts[32], *msg, *line;
	struct timespec now;
	struct tm tm;
	va_list ap;
	ssize_t n;

	if (lvl < minimum)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (format == LOG_JSON) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "time", ts, "level", names[lvl],
		    "event", event, "msg", msg ? msg : "");
		char *j = json_dumps(o, JSON_COMPACT);

		line = xasprintf("%s\n", j);
		free(j);
		json_decref(o);
	} else {
		line = xasprintf("%s.%03ldZ %-5s %s %s\n", ts, now.tv_nsec / 1000000, names[lvl],
		    event, msg ? msg : "");
	}
	n = write(STDERR_FILENO, line, strlen(line));
	(void)n;
	free(line);
	free(msg);
}

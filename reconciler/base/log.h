/*
 * log: one line per event on stderr, as text (`2026-11-24T06:00:00Z info
 * rollout service=web …`) or as JSON objects. Messages are built from fields
 * by the caller; no secret value is ever passed here.
 */
#ifndef RECONCILER_LOG_H
#define RECONCILER_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_TEXT, LOG_JSON };

void log_setup(enum log_format fmt, enum log_level min);
void log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A hold: the lines of the threads that entered it wait, in order and with
 * their own time, until log_hold_release writes them, at their level or, for
 * work that only repeated what the log already says, at debug. The cycle
 * holds its lines until it knows; other threads log as usual. Past
 * LOG_HOLD_MAX lines a hold writes what it has and holds no more. */
#define LOG_HOLD_MAX 1000
struct log_hold;
struct log_hold *log_hold_new(void);
/* The calling thread's lines go to h from now on (NULL: written at once). */
void log_hold_enter(struct log_hold *h);
struct log_hold *log_hold_current(void);
/* Writes what h holds, at debug when quiet; later lines of the threads in h
 * are written at once. */
void log_hold_release(struct log_hold *h, int quiet);
/* Once no thread is in h any more; writes what it still holds first. */
void log_hold_free(struct log_hold *h);

#define log_debug(ev, ...) log_msg(LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...) log_msg(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_msg(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_msg(LOG_ERROR, ev, __VA_ARGS__)

#endif

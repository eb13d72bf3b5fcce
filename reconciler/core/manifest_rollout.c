/*
 * manifest: how a service is rolled out and judged healthy: healthcheck,
 * readiness probe, update strategy, pre-deploy hooks and the actions taken
 * when a dependency is updated.
 */
#include "durations.h"
#include "manifest_int.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void
mf__parse_healthcheck(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n,
    const char *path)
{
	static const char *const keys[] = {
		"test", "interval", "timeout", "retries", "start_period", "disable", NULL,
	};
	struct mf_health *h = &s->health;
	int disable = 0;

	if (!mf__is_map(c, n, path))
		return;
	mf__check_keys(c, n, path, keys);
	h->kind = MF_HEALTH_CMD;
	MF__FOR_KEYS(n, path, key, v, p) {
		if (strcmp(key, "test") == 0) {
			if (mf__get_cmd(c, v, p, &h->test) < 0)
				continue;
			if (!h->test.shell) {
				const char *first = h->test.argv[0];

				if (strcmp(first, "NONE") == 0) {
					if (h->test.argc > 1)
						mf__err_at(c, v, p, "NONE takes no arguments");
					h->kind = MF_HEALTH_NONE;
				} else if (strcmp(first, "CMD") == 0 || strcmp(first, "CMD-SHELL") == 0) {
					int shell = first[3] == '-';

					if (h->test.argc < 2 || (shell && h->test.argc != 2)) {
						mf__err_at(c, v, p, "%s needs %s", first, shell ?
						    "exactly one shell command string" : "a command");
						continue;
					}
					free(h->test.argv[0]);
					memmove(h->test.argv, h->test.argv + 1,
					    (h->test.argc - 1) * sizeof(char *));
					h->test.argc--;
					h->test.shell = shell;
				}
			}
		} else if (strcmp(key, "interval") == 0) {
			mf__get_duration(c, v, p, DURATIONS_MAX_HEALTH, &h->interval);
		} else if (strcmp(key, "timeout") == 0) {
			mf__get_duration(c, v, p, DURATIONS_MAX_HEALTH, &h->timeout);
		} else if (strcmp(key, "start_period") == 0) {
			mf__get_duration(c, v, p, DURATIONS_MAX_HEALTH, &h->start_period);
		} else if (strcmp(key, "retries") == 0) {
			mf__get_int(c, v, p, 1, 1000, &h->retries);
		} else if (strcmp(key, "disable") == 0) {
			mf__get_bool(c, v, p, &disable);
		}
	}
	if (disable)
		h->kind = MF_HEALTH_NONE;
	else if (!yt_get(n, "test"))
		mf__missing(c, n, path, "test");
	if (h->interval == 0)
		h->interval = 30000;
	if (h->timeout == 0)
		h->timeout = 30000;
}

/* Without update.timeout, a health gate waits as long as the healthcheck may
 * take to fail (deploy/gate.c): that wait is bounded like update.timeout. */
void
mf__check_gate(struct mf__ctx *c, const struct mf_service *s, const struct yt_node *n,
    const char *path)
{
	const struct mf_health *h = &s->health;
	int64_t wait = INT64_MAX;
	char w[32], lim[32], *p;

	if (s->update.timeout || h->kind != MF_HEALTH_CMD)
		return;
	if (durations_gate_wait(h->start_period, h->interval, h->timeout,
	    h->retries ? h->retries : 3, &wait) == 0 && wait <= DURATIONS_MAX_WAIT)
		return;
	duration_format(wait, w, sizeof(w));
	duration_format(DURATIONS_MAX_WAIT, lim, sizeof(lim));
	p = yt_path_key(path, "healthcheck");
	mf__err_at(c, yt_get(n, "healthcheck"), p, "the health gate would wait up to %s "
	    "(start_period + (interval + timeout) * retries + 30s), more than the limit of %s: "
	    "lower them, or set update.timeout", w, lim);
	free(p);
}

void
mf__parse_probe(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n, const char *path)
{
	static const char *const keys[] = { "http", "interval", "timeout", NULL };
	static const char *const hkeys[] = { "port", "path", "status", NULL };
	struct mf_probe *pr = &s->probe;
	const struct yt_node *h;

	if (!mf__is_map(c, n, path))
		return;
	mf__check_keys(c, n, path, keys);
	pr->set = 1;
	pr->status = 200;
	pr->interval = 2000;
	pr->timeout = 60000;
	MF__FOR_KEYS(n, path, key, v, p) {
		if (strcmp(key, "interval") == 0)
			mf__get_duration(c, v, p, DURATIONS_MAX_HEALTH, &pr->interval);
		else if (strcmp(key, "timeout") == 0)
			mf__get_duration(c, v, p, DURATIONS_MAX_WAIT, &pr->timeout);
	}
	h = yt_get(n, "http");
	if (!h) {
		mf__missing(c, n, path, "http");
		return;
	}
	char *hp = yt_path_key(path, "http");

	if (mf__is_map(c, h, hp)) {
		mf__check_keys(c, h, hp, hkeys);
		MF__FOR_KEYS(h, hp, key, v, p) {
			if (strcmp(key, "port") == 0) {
				mf__get_int(c, v, p, 1, 65535, &pr->port);
			} else if (strcmp(key, "path") == 0) {
				pr->path = mf__get_str(c, v, p);
				if (pr->path && pr->path[0] != '/')
					mf__err_at(c, v, p, "path must start with '/', found '%s'", pr->path);
			} else if (strcmp(key, "status") == 0) {
				mf__get_int(c, v, p, 100, 599, &pr->status);
			}
		}
		if (!yt_get(h, "port"))
			mf__missing(c, h, hp, "port");
	}
	if (!pr->path)
		pr->path = xstrdup("/");
	free(hp);
}

void
mf__parse_update(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n, const char *path)
{
	static const char *const keys[] = {
		"strategy", "min_ready", "timeout", "parallelism", "delay", NULL,
	};

	if (!mf__is_map(c, n, path))
		return;
	mf__check_keys(c, n, path, keys);
	MF__FOR_KEYS(n, path, key, v, p) {
		if (strcmp(key, "strategy") == 0) {
			if (v->type == YT_SCALAR && strcmp(v->value, "start-first") == 0) {
				s->update.strategy = MF_START_FIRST;
				s->update.strategy_explicit = 1;
			} else if (v->type == YT_SCALAR && strcmp(v->value, "stop-first") == 0) {
				s->update.strategy = MF_STOP_FIRST;
				s->update.strategy_explicit = 1;
			} else {
				mf__err_at(c, v, p, "unknown strategy %s%s%s (expected start-first or "
				    "stop-first)", v->type == YT_SCALAR ? "'" : "", v->type == YT_SCALAR ?
				    v->value : yt_type_name(v), v->type == YT_SCALAR ? "'" : "");
			}
		} else if (strcmp(key, "min_ready") == 0) {
			mf__get_duration(c, v, p, DURATIONS_MAX_WAIT, &s->update.min_ready);
		} else if (strcmp(key, "timeout") == 0) {
			mf__get_duration(c, v, p, DURATIONS_MAX_WAIT, &s->update.timeout);
		} else if (strcmp(key, "parallelism") == 0) {
			mf__get_int(c, v, p, 1, MANIFEST_REPLICAS_MAX, &s->update.parallelism);
		} else if (strcmp(key, "delay") == 0) {
			mf__get_duration(c, v, p, DURATIONS_MAX_WAIT, &s->update.delay);
		}
	}
}

void
mf__parse_hooks(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n, const char *path)
{
	static const char *const keys[] = { "pre_deploy", NULL };
	static const char *const hkeys[] = { "name", "command", "image", "timeout", NULL };
	const struct yt_node *pd;
	char *pp;

	if (!mf__is_map(c, n, path))
		return;
	mf__check_keys(c, n, path, keys);
	if (!(pd = yt_get(n, "pre_deploy")))
		return;
	pp = yt_path_key(path, "pre_deploy");
	if (mf__is_seq(c, pd, pp)) {
		for (size_t i = 0; i < pd->n; i++) {
			const struct yt_node *it = pd->items[i];
			char *p = yt_path_idx(pp, i);
			struct mf_hook h = { 0 };

			h.timeout = 300000;
			if (mf__is_map(c, it, p)) {
				mf__check_keys(c, it, p, hkeys);
				MF__FOR_KEYS(it, p, key, v, kp) {
					if (strcmp(key, "name") == 0) {
						h.name = mf__get_str(c, v, kp);
						if (h.name && !mf__name_ok(h.name))
							mf__err_at(c, v, kp, "invalid hook name '%s' (lowercase "
							    "letters, digits, '_', '-')", h.name);
					} else if (strcmp(key, "command") == 0) {
						mf__get_cmd(c, v, kp, &h.command);
					} else if (strcmp(key, "image") == 0) {
						h.image = mf__get_str(c, v, kp);
						if (h.image)
							mf__check_image(c, v, kp, h.image, MF__IMAGE_HOOK);
					} else if (strcmp(key, "timeout") == 0) {
						mf__get_duration(c, v, kp, DURATIONS_MAX_WAIT,
						    &h.timeout);
					}
				}
				if (!yt_get(it, "name"))
					mf__missing(c, it, p, "name");
				if (!yt_get(it, "command"))
					mf__missing(c, it, p, "command");
			}
			*MF__GROW(s->hooks, s->nhooks) = h;
			free(p);
		}
	}
	free(pp);
}

static const char *const signal_names[] = {
	"SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGTERM", "SIGWINCH", NULL,
};

void
mf__parse_on_dep(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n, const char *path)
{
	static const char *const keys[] = { "service", "signal", "exec", NULL };

	if (!mf__is_seq(c, n, path))
		return;
	for (size_t i = 0; i < n->n; i++) {
		const struct yt_node *it = n->items[i];
		char *p = yt_path_idx(path, i);
		struct mf_depaction a = { 0 };

		if (mf__is_map(c, it, p)) {
			mf__check_keys(c, it, p, keys);
			MF__FOR_KEYS(it, p, key, v, kp) {
				if (strcmp(key, "service") == 0) {
					a.service = mf__get_str(c, v, kp);
				} else if (strcmp(key, "signal") == 0) {
					size_t j;

					a.signal = mf__get_str(c, v, kp);
					for (j = 0; a.signal && signal_names[j]; j++)
						if (strcmp(a.signal, signal_names[j]) == 0)
							break;
					if (a.signal && !signal_names[j])
						mf__err_at(c, v, kp, "unknown signal '%s' (expected SIGHUP, "
						    "SIGUSR1, SIGUSR2, SIGINT, SIGQUIT, SIGTERM or SIGWINCH)",
						    a.signal);
				} else if (strcmp(key, "exec") == 0) {
					mf__get_cmd(c, v, kp, &a.exec);
				}
			}
			if (!yt_get(it, "service"))
				mf__missing(c, it, p, "service");
			mf__both_or_neither(c, it, p, "signal", "exec");
		}
		*MF__GROW(s->on_dep, s->non_dep) = a;
		free(p);
	}
}

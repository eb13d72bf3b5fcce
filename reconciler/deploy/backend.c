/*
 * backend: see backend.h.
 */
#include "backend.h"
#include "log.h"
#include "util.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static const struct backend_ops *const backends[] = {
	&backend_containers,
	&backend_swarm,
	NULL,
};

const struct backend_ops *
backend_find(const char *name)
{
	for (size_t i = 0; backends[i]; i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

void
deploy_crash_point(const struct converge_options *o, const char *step)
{
	if (o->crash_at && strcmp(o->crash_at, step) == 0) {
		log_warn("crash", "step=%s (test hook RECONCILER_CRASH_AT)", step);
		kill(getpid(), SIGKILL);
	}
}

void
deploy_step(const struct deploy_ctx *c, enum converge_step step)
{
	if (!c->cs || c->cs->steps[step])
		return;		/* the first time counts */
	c->cs->steps[step] = wall_ms();
	log_debug("step", "service=%s step=%s ms=%lld", c->cs->service, converge_step_name(step),
	    c->cs->steps[step] - c->cs->began);
}

/*
 * swarm_int: what the files of the Swarm backend share: following a service
 * until its tasks run the new version (or Swarm rolled it back), and running
 * a one-off job (a pre-deploy hook). swarm.c is the backend's ops;
 * swarm_follow.c the waiting.
 */
#ifndef RECONCILER_SWARM_INT_H
#define RECONCILER_SWARM_INT_H

#include "docker.h"
#include "manifest.h"

/* On every task container: the hash of the task template it was made from,
 * so this version's tasks can be told from the old ones. */
#define SWARM_LABEL_TASK_HASH "io.reconciler.task-hash"

/* Waits until the service id runs the task template whose hash is th: every
 * task Swarm wants running is of it and running (healthy, when it has a
 * healthcheck), or Swarm's update reports completed. before (borrowed) is the
 * service as inspected before an update, NULL after a create. -1 with the
 * reason when a new task fails (create), Swarm rolls the update back or
 * pauses it, the service is removed, or the time runs out (an update still
 * going is then rolled back). */
int swarm__follow(struct docker *d, const char *id, const struct mf_service *s, const char *th,
    json_t *before, char *err);
/* Runs the hook's job (body, borrowed) to its end: 0 when its task completed,
 * -1 with its exit status or error. The job stays for `docker service logs`
 * until the hook runs again. */
int swarm__run_job(struct docker *d, const struct mf_service *s, const struct mf_hook *h,
    json_t *body, char *err);
/* s or "" */
const char *swarm__str(json_t *j);

#endif

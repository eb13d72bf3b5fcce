/*
 * backup: runs that must not overlap. Within a process, runs and restores of
 * one name take turns (a claim); across processes, runs into one destination
 * take turns (a flock on the directory).
 */
#include "backup_int.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* A run waits for another of the same name in this process to end (a backup
 * before deploy meeting a scheduled run of that backup). */
static pthread_mutex_t running_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t running_cv = PTHREAD_COND_INITIALIZER;
static char running[32][64];

int
backup__claim(const char *name)
{
	int slot;

	pthread_mutex_lock(&running_mu);
	for (;;) {
		int busy = 0;

		slot = -1;
		for (int i = 0; i < 32; i++) {
			if (strcmp(running[i], name) == 0)
				busy = 1;
			if (slot == -1 && !running[i][0])
				slot = i;
		}
		if (!busy)
			break;
		pthread_cond_wait(&running_cv, &running_mu);
	}
	if (slot >= 0)
		snprintf(running[slot], sizeof(running[slot]), "%s", name);
	pthread_mutex_unlock(&running_mu);
	return slot;
}

void
backup__release(int slot)
{
	if (slot < 0)
		return;
	pthread_mutex_lock(&running_mu);
	running[slot][0] = '\0';
	pthread_cond_broadcast(&running_cv);
	pthread_mutex_unlock(&running_mu);
}

/* Every run, in any process (the daemon, reconcilerctl without one), holds a
 * lock on its destination directory while it runs: a second run there waits
 * for the first. A lock on the directory itself leaves no file behind. */
int
backup__lock_destination(const struct mf_backup *b, char *err)
{
	int fd = open(b->destination, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return errf(err, "cannot open '%s': %s", b->destination, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		log_info("backup", "name=%s waits for another run in %s to end", b->name,
		    b->destination);
		while (flock(fd, LOCK_EX) < 0) {
			if (errno == EINTR)
				continue;
			errf(err, "cannot lock '%s': %s", b->destination, strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

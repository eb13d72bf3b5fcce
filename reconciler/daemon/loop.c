/*
 * loop: reconcilerd's libuv loop. It starts cycles (the poll timer, a
 * signal, an event, a request) one at a time, each on a thread, backs
 * off while they fail, answers signals (SIGHUP reloads, SIGUSR1 syncs,
 * SIGTERM/SIGINT stop after the running step), keeps systemd told and the
 * pidfile written. It never blocks.
 */
#include "daemon_int.h"
#include "gitsrc.h"
#include "httpd.h"
#include "journal.h"
#include "log.h"
#include "notify.h"
#include "sdnotify.h"
#include "util.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void poll_cb(uv_timer_t *t);

/* A cycle runs on a thread of its own, started for it and ended after it,
 * not on the libuv pool: glibc keeps a per-thread cache of freed chunks
 * (tcache: up to 7 of each size class under 1 KiB, some 240 KiB a thread)
 * that only the thread's exit gives back to the heap, and that no trim
 * reaches. Cycles spread over the pool's four threads, which never exit,
 * filled their caches a few size classes at a time: private memory crept up
 * by ~20 KiB per 1,000 cycles after a first rise of ~0.5 MiB. */
static void
cycle_thread(void *arg)
{
	struct daemon *dm = arg;

	daemon_cycle(dm, dm->loop.trigger);
	uv_async_send(&dm->loop.cycled);
}

static void
close_all(struct daemon *dm)
{
	daemon__selfheal_close(dm);
	httpd_close(dm->loop.control);
	dm->loop.control = NULL;
	daemon__listener_close(dm);
	uv_timer_stop(&dm->loop.poll);
	uv_close((uv_handle_t *)&dm->loop.poll, NULL);
	uv_timer_stop(&dm->loop.bktimer);
	uv_close((uv_handle_t *)&dm->loop.bktimer, NULL);
	uv_close((uv_handle_t *)&dm->loop.sigterm, NULL);
	uv_close((uv_handle_t *)&dm->loop.sigint, NULL);
	uv_close((uv_handle_t *)&dm->loop.sighup, NULL);
	uv_close((uv_handle_t *)&dm->loop.sigusr1, NULL);
	uv_close((uv_handle_t *)&dm->loop.shutdown, NULL);
	uv_close((uv_handle_t *)&dm->loop.watchdog, NULL);
	uv_close((uv_handle_t *)&dm->loop.cycled, NULL);
}

/* Shutting down: the handles close once neither a cycle nor a backup runs. */
void
daemon__maybe_close(struct daemon *dm)
{
	if (!dm->loop.busy && !dm->loop.bkbusy)
		close_all(dm);
}

/* The wait after `errors` cycles in a row ended in error. */
static uint64_t
backoff_delay(const struct daemon *dm, int errors)
{
	uint64_t delay = (uint64_t)dm->cfg->poll_interval << (errors < 8 ? errors : 8);

	if (delay > 300000)
		delay = 300000;
	if (delay < (uint64_t)dm->cfg->poll_interval)
		delay = (uint64_t)dm->cfg->poll_interval;
	return delay;
}

/* What a cycle freed goes back to the system: its peak (lists, the manifest's
 * tree, curl's and libgit2's buffers) is freed in pieces across the heap,
 * which glibc keeps otherwise. A few pages' worth of madvise per cycle. */
static void
give_back_memory(void)
{
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
	malloc_trim(0);
#endif
}

static void
cycled_cb(uv_async_t *a)
{
	struct daemon *dm = a->data;

	/* sends coalesce, and the thread sends last: one join per cycle */
	if (!dm->loop.busy)
		return;
	uv_thread_join(&dm->loop.cycle_tid);
	give_back_memory();
	dm->loop.busy = 0;
	if (dm->loop.stopping) {
		log_info("shutdown", "cycle finished%s", dm->loop.bkbusy ? ", a backup still runs" :
		    ", exiting");
		daemon__maybe_close(dm);
		return;
	}
	daemon__bk_arm(dm);
	/* A remote or an engine that is down is asked again less and less often
	 * (up to 5 minutes); the first good cycle restores the interval. */
	if (dm->shared.last == CYCLE_ERROR) {
		uint64_t delay = backoff_delay(dm, dm->loop.errors);

		dm->loop.errors++;
		uv_timer_start(&dm->loop.poll, poll_cb, delay, (uint64_t)dm->cfg->poll_interval);
		/* told while it grows, not at every try once it is at its ceiling */
		if (dm->loop.errors > 1 && delay > backoff_delay(dm, dm->loop.errors - 2))
			log_warn("backoff", "next try in %llus", (unsigned long long)delay / 1000);
	} else if (dm->loop.errors) {
		dm->loop.errors = 0;
		uv_timer_start(&dm->loop.poll, poll_cb, (uint64_t)dm->cfg->poll_interval,
		    (uint64_t)dm->cfg->poll_interval);
	}
	if (dm->loop.again) {
		/* the events reader sets `again` alone: NULL is an event */
		const char *trigger = dm->loop.again_trigger ? dm->loop.again_trigger : "event";

		dm->loop.again = 0;
		dm->loop.again_trigger = NULL;
		daemon__schedule(dm, trigger);
	}
}

/* Of two triggers waiting for one cycle, the one it is logged with: someone
 * asking (a sync, a webhook, a reload) over an event. */
static int
trigger_rank(const char *trigger)
{
	return !trigger || strcmp(trigger, "event") == 0 ? 0 : 1;
}

void
daemon__schedule(struct daemon *dm, const char *trigger)
{
	int rc;

	if (dm->loop.stopping)
		return;
	if (dm->loop.busy) {
		/* a tick adds nothing to the cycle running: the next tick comes */
		if (strcmp(trigger, "poll") == 0)
			return;
		if (!dm->loop.again || trigger_rank(trigger) > trigger_rank(dm->loop.again_trigger))
			dm->loop.again_trigger = trigger;
		dm->loop.again = 1;
		return;
	}
	dm->loop.busy = 1;
	dm->loop.trigger = trigger;
	/* the pool's stack size: a cycle runs libgit2, curl, SQLite and libyaml */
	if ((rc = uv_thread_create_ex(&dm->loop.cycle_tid, &(uv_thread_options_t){
	    UV_THREAD_HAS_STACK_SIZE, 8u << 20 }, cycle_thread, dm)) < 0) {
		dm->loop.busy = 0;
		log_error("cycle", "cannot start a cycle: %s", uv_strerror(rc));
	}
}

static void
poll_cb(uv_timer_t *t)
{
	struct daemon *dm = t->data;

	/* an engine event waits out its debounce: this cycle is the one it asked for */
	if (uv_is_active((uv_handle_t *)&dm->loop.debounce)) {
		uv_timer_stop(&dm->loop.debounce);
		daemon__schedule(dm, "event");
		return;
	}
	daemon__schedule(dm, "poll");
}

static void
shutdown_timeout_cb(uv_timer_t *t)
{
	struct daemon *dm = t->data;

	/* Level-triggered: whatever step was cut short, the next start converges. */
	char *pidfile = daemon__state_path(dm, "reconcilerd.pid");

	log_warn("shutdown", "a step is still running after the shutdown timeout; exiting");
	unlink(pidfile);
	_exit(0);
}

/* systemd (Type=notify-reload reads MONOTONIC_USEC; Type=notify ignores it) */
static void
sd_reloading(struct daemon *dm)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sdnotify_send(dm->sd, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
}

/* The loop is alive: it never blocks, so a ping from it is a true sign. */
static void
watchdog_cb(uv_timer_t *t)
{
	struct daemon *dm = t->data;

	sdnotify_send(dm->sd, "WATCHDOG=1");
}

/* READY=1 once the control socket and the listener are open: the daemon then
 * answers reconcilerctl and /healthz. Not after the first cycle, which may
 * pull images and wait out health gates for longer than a start timeout;
 * STATUS= lines tell how each cycle ended. */
static void
sd_start(struct daemon *dm)
{
	char err[ERR_LEN];
	uint64_t wd;

	if (sdnotify_open(&dm->sd, getenv("NOTIFY_SOCKET"), err) < 0) {
		log_warn("sdnotify", "%s", err);
		return;
	}
	if (!dm->sd)
		return;
	sdnotify_send(dm->sd, "READY=1\nSTATUS=started, first cycle running");
	wd = sdnotify_watchdog_usec(getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"), getpid());
	if (wd) {
		uint64_t ms = wd / 2000 ? wd / 2000 : 1;

		uv_timer_start(&dm->loop.watchdog, watchdog_cb, 0, ms);
		log_info("sdnotify", "watchdog: a ping every %llums", (unsigned long long)ms);
	}
}

/* SIGHUP: a fresh config, unless a cycle is reading the current one. */
static void
reload(struct daemon *dm)
{
	struct config fresh;
	char err[ERR_LEN] = "", *shown;

	sd_reloading(dm);
	if (!dm->loop.reload || dm->loop.reload(&fresh, err, dm->loop.reload_payload) < 0) {
		log_error("reload", "config not reloaded: %s", err);
	} else if (dm->loop.busy) {
		log_warn("reload", "a cycle is running; send SIGHUP again after it");
		config_release(&fresh);
	} else {
		/* repo and state dir changes take a new clone, journal and lock */
		int moved = strcmp(fresh.repo, dm->cfg->repo) != 0 ||
		    strcmp(fresh.state_dir, dm->cfg->state_dir) != 0;

		config_release(dm->cfg);
		*dm->cfg = fresh;
		if (moved) {
			gitsrc_free(dm->cycle.git);
			dm->cycle.git = NULL;
			journal_close(dm->cycle.journal);
			dm->cycle.journal = NULL;
			if (dm->cycle.lockfd >= 0)
				close(dm->cycle.lockfd);
			dm->cycle.lockfd = -1;
			dm->cycle.head[0] = dm->cycle.good[0] = '\0';
		}
		log_setup(strcmp(dm->cfg->log_format, "json") == 0 ? LOG_JSON : LOG_TEXT,
		    LOG_INFO);
		uv_timer_set_repeat(&dm->loop.poll, (uint64_t)dm->cfg->poll_interval);
		daemon__listener_reload(dm);
		shown = url_redact(dm->cfg->repo);
		log_info("reload", "config reloaded: poll=%llds repo=%s branch=%s",
		    (long long)dm->cfg->poll_interval / 1000, shown, dm->cfg->branch);
		free(shown);
		daemon__schedule(dm, "reload");
	}
	sdnotify_send(dm->sd, "READY=1");
}

/* SIGTERM, SIGINT: no new step starts; the one running finishes. */
static void
stop_on_signal(struct daemon *dm, int signum)
{
	if (dm->loop.stopping)
		return;
	dm->loop.stopping = 1;
	atomic_store(&dm->shared.stop, 1);
	log_info("shutdown", "signal %d: %s", signum, dm->loop.busy || dm->loop.bkbusy ?
	    "finishing the current step" : "exiting");
	sdnotify_send(dm->sd, "STOPPING=1\nSTATUS=stopping%s",
	    dm->loop.busy || dm->loop.bkbusy ? ": finishing the current step" : "");
	if (dm->loop.busy || dm->loop.bkbusy) {
		uv_timer_start(&dm->loop.shutdown, shutdown_timeout_cb,
		    (uint64_t)dm->cfg->shutdown_timeout, 0);
		uv_unref((uv_handle_t *)&dm->loop.shutdown);
	} else {
		close_all(dm);
	}
}

static void
signal_cb(uv_signal_t *s, int signum)
{
	struct daemon *dm = s->data;

	if (signum == SIGHUP)
		reload(dm);
	else if (signum == SIGUSR1)
		daemon__schedule(dm, "signal");
	else
		stop_on_signal(dm, signum);
}

/* The loop, its timers and the signals it answers (close_all closes them). */
static void
handles_init(struct daemon *dm)
{
	uv_loop_init(&dm->loop.uv);
	uv_timer_init(&dm->loop.uv, &dm->loop.poll);
	uv_timer_init(&dm->loop.uv, &dm->loop.shutdown);
	uv_timer_init(&dm->loop.uv, &dm->loop.debounce);
	uv_timer_init(&dm->loop.uv, &dm->loop.watchdog);
	uv_timer_init(&dm->loop.uv, &dm->loop.bktimer);
	uv_async_init(&dm->loop.uv, &dm->loop.cycled, cycled_cb);
	dm->loop.cycled.data = dm;
	dm->loop.poll.data = dm->loop.shutdown.data = dm->loop.debounce.data = dm;
	dm->loop.watchdog.data = dm;
	dm->loop.bktimer.data = dm;
	uv_signal_init(&dm->loop.uv, &dm->loop.sigterm);
	uv_signal_init(&dm->loop.uv, &dm->loop.sigint);
	uv_signal_init(&dm->loop.uv, &dm->loop.sighup);
	uv_signal_init(&dm->loop.uv, &dm->loop.sigusr1);
	dm->loop.sigterm.data = dm->loop.sigint.data = dm;
	dm->loop.sighup.data = dm->loop.sigusr1.data = dm;
	uv_signal_start(&dm->loop.sigterm, signal_cb, SIGTERM);
	uv_signal_start(&dm->loop.sigint, signal_cb, SIGINT);
	uv_signal_start(&dm->loop.sighup, signal_cb, SIGHUP);
	uv_signal_start(&dm->loop.sigusr1, signal_cb, SIGUSR1);
}

static char *
write_pidfile(struct daemon *dm)
{
	char err[ERR_LEN], line[32], *p = daemon__state_path(dm, "reconcilerd.pid");

	if (mkdir(dm->cfg->state_dir, 0700) < 0 && errno != EEXIST) {
		log_warn("start", "cannot create '%s': %s", dm->cfg->state_dir, strerror(errno));
	}
	snprintf(line, sizeof(line), "%d\n", (int)getpid());
	if (file_write_atomic(p, line, strlen(line), 0644, err) < 0)
		log_warn("start", "%s", err);
	return p;
}

int
daemon_run(struct daemon *dm)
{
	char err[ERR_LEN], *pidfile, *shown;

	if (daemon__lock_state(dm, err) < 0) {
		log_error("start", "%s", err);
		return 2;
	}
	pidfile = write_pidfile(dm);
	dm->loop.started = (long long)time(NULL);

	handles_init(dm);
	if (daemon__listen(dm, err) < 0) {
		log_error("start", "%s", err);
		dm->loop.stopping = 1;
		close_all(dm);
		uv_run(&dm->loop.uv, UV_RUN_DEFAULT);
		uv_loop_close(&dm->loop.uv);
		unlink(pidfile);
		free(pidfile);
		return 2;
	}
	daemon__selfheal_open(dm);
	if (notify_start(&dm->notifier, err) < 0)
		log_warn("start", "%s", err);
	sd_start(dm);
	/* the first cycle right away, then one per poll interval */
	uv_timer_start(&dm->loop.poll, poll_cb, 0, (uint64_t)dm->cfg->poll_interval);
	shown = url_redact(dm->cfg->repo);
	/* in ms when below a second (RECONCILER_TEST_POLL_MS) */
	log_info("start", "reconcilerd %s repo=%s branch=%s manifest=%s poll=%lld%s pid=%d",
	    RECONCILER_VERSION, shown, dm->cfg->branch, dm->cfg->manifest,
	    (long long)dm->cfg->poll_interval / (dm->cfg->poll_interval % 1000 ? 1 : 1000),
	    dm->cfg->poll_interval % 1000 ? "ms" : "s", (int)getpid());
	free(shown);
	uv_run(&dm->loop.uv, UV_RUN_DEFAULT);
	uv_loop_close(&dm->loop.uv);
	notify_stop(dm->notifier, 3000);
	dm->notifier = NULL;
	sdnotify_free(dm->sd);
	dm->sd = NULL;
	unlink(pidfile);
	free(pidfile);
	return 0;
}

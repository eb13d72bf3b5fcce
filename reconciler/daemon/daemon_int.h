/*
 * daemon_int: what the files of reconciler/daemon/ share and nothing else
 * includes: struct daemon, split by the thread that owns each part (the
 * table below), and the daemon__ functions one file calls in another.
 * daemon.h is the API reconcilerd.c uses.
 */
#ifndef RECONCILER_DAEMON_INT_H
#define RECONCILER_DAEMON_INT_H

#include "daemon.h"
#include "cron.h"
#include "gitverify.h"
#include "tz.h"
#include "util.h"
#include "webhook.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <uv.h>

struct actual;
struct buf;
struct chan_config;
struct chan_hook;
struct chan_trigger;
struct listener;
struct converge_report;
struct desired;
struct docker;
struct events;
struct gitsrc;
struct http_request;
struct http_response;
struct httpd;
struct journal;
struct manifest;
struct mf_backup;
struct world;
struct notifier;
struct plan;
struct sdnotify;
struct secrets;

/* Counters for /metrics: written by the cycle, backup runs and webhooks,
 * read by the loop, so under shared.mu. */
#define DURATION_BUCKETS 9

struct metrics {
	unsigned long cycles[4];	/* by enum cycle_outcome */
	unsigned long rollouts_ok, rollouts_failed, rollouts_blocked;
	unsigned long duration_buckets[DURATION_BUCKETS];
	double duration_sum;
	unsigned long duration_count;
	unsigned long git_errors, engine_errors;
	/* GET /v1/diff answered from the last cycle's snapshot, or read again */
	unsigned long diffs_cycle, diffs_manifest;
	unsigned long journal_write_errors;
	long long last_cycle;		/* unix seconds */
	long long last_success;		/* unix seconds of the last in-sync/converged */
	int drifted, quarantined;
	char revision[41];
	unsigned long hooks[WEBHOOK_NSOURCES][WEBHOOK_NOUTCOMES];
	struct backup_metrics {
		char name[64];
		unsigned long ok, failed;
		long long last_success, last_size;
	} backups[32];
	/* trust.c: the head's signature check, when signatures.verify is on */
	struct trust_metrics {
		int on;
		char head[41];
		char verdict[16];
		char key[160];
		unsigned long refused;
	} trust;
};

/* A backup's schedule, kept on the loop. Runs go to the thread pool one at a
 * time, so a long dump never holds more than one pool thread. */
struct bsched {
	char name[64];
	struct cron cron;
	struct tz *tz;		/* loaded by the cycle thread; read-only after */
	time_t next;		/* unix seconds, -1: never */
	const char *pending;	/* the trigger of a run waiting its turn, or NULL */
	char err[ERR_LEN];	/* why it is not scheduled (tz NULL, next -1), or "" */
	int keep;		/* a retry: the schedule in use keeps its next run */
};

/* What the run in the pool reads of the config, copied on the loop before it
 * is queued: a reload frees the config meanwhile. */
struct bk_conf {
	char *state_dir, *secrets_dir, *docker_host;
	int64_t engine_timeout;
};

#define FLAP_LIMIT	5		/* deaths ... */
#define FLAP_WINDOW	600000		/* ... within this many ms */
#define FLAP_SERVICES	64

/* Self-heal: a service whose container dies too often is "flapping" and no
 * longer healed until a new revision or a retry. */
struct flap {
	char service[64];
	long long times[FLAP_LIMIT];	/* ring of recent deaths, ms */
	int n, flapping;
};

/* A failure the journal could not record (a full disk): held here, and
 * quarantined all the same, until it is recorded or `sync --retry`. */
struct held_failure {
	char revision[41];
	char service[64];
	char *reason;
};

/* repeat.c: what the last cycle came to, so that a cycle that only repeats
 * it is logged at debug and folded into the journal row of the first. */
#define REPEAT_REMIND_MS	600000		/* ms between reminders of a warning or error */

struct log_hold;

struct cycle_memo {
	char *sig;		/* what it came to; NULL after a cycle that acted */
	int64_t first;		/* the journal row of the first cycle that came to it */
	long long since, loud;	/* ms: since when, when last logged at its level */
	long repeats;		/* cycles that repeated it since */
	struct log_hold *hold;	/* the running cycle's lines, while it may repeat */
};

/* What a cycle came to, as cycle_end hands it to repeat.c. */
struct cycle_seen {
	const char *trigger;
	const char *rev;
	enum cycle_outcome out;
	const struct status *st;
	const struct plan *p;			/* NULL when no plan was made */
	const struct converge_report *rep;
	int64_t journal_id;			/* its journal row, or -1 */
};

enum repeat_verdict {
	REPEAT_NEW,		/* news: at its level */
	REPEAT_QUIET,		/* a repetition: at debug, no journal row */
	REPEAT_REMIND,		/* a repetition of a warning or error, told again */
	REPEAT_ASKED,		/* a repetition someone asked for: at its level */
};

/* commitstatus.c: commits whose last posted state is kept (each state is
 * posted once per commit); GitHub's limit on a status's description */
#define CSTATUS_KEEP	16
#define COMMIT_DESC_MAX	140

/* alerts.c: a failing service told once, reminded every ALERT_REMIND_MS
 * while it lasts (RECONCILER_TEST_REMIND_MS shortens it, for tests only),
 * and told `recovered` when it clears. In memory: after a restart the
 * quarantined pairs of the journal are taken as told. */
#define ALERT_REMIND_MS	(4LL * 3600 * 1000)

struct alert {
	char service[64];
	char revision[41];	/* the revision it failed at */
	char *reason;
	long long since, told;	/* ms: first seen, last told */
};

struct alerts {
	struct alert *v;
	size_t n;
};

enum alert_verdict {
	ALERT_QUIET,		/* told already, no reminder due */
	ALERT_NEW,		/* a failure not told yet: tell it */
	ALERT_REMIND,		/* the same failure, told long enough ago: remind */
};

/* Webhook delivery IDs seen lately (hooks.c): a replay starts no cycle. */
#define HOOK_SEEN	256

struct hook_seen {
	char id[HOOK_SEEN][144];	/* "source:ID" */
	size_t next;
	long long limited_logged;	/* ms: a rate-limited request's last log line */
	unsigned long limited_quiet;	/* rate-limited requests not logged since */
};

/*
 * Who owns what in struct daemon. The threads: the loop (uv_run in
 * daemon_run: timers, signals, HTTP, the events pipe, the backup schedule);
 * the cycle (daemon_cycle on a thread of its own, never two at once; --once and -n run
 * on the main thread, with no loop); one backup run at a time in the pool;
 * converge's workers (backup_before_deploy runs a backup there); the diff
 * workers of GET /v1/diff, which touch only copies made on the loop.
 *
 *   field group         owner          how the other threads may touch it
 *   ------------------  -------------  ------------------------------------------
 *   cfg                 the loop       the cycle reads it: SIGHUP swaps *cfg only
 *                                      while no cycle is queued; backup runs and
 *                                      diffs read copies made on the loop
 *   notifier, sd        set before     any thread sends through them (both are
 *                       uv_run         thread-safe); freed after uv_run returns
 *   loop.*              the loop       a backup run reads bk_running, bk_trigger
 *                                      and bkconf, the cycle reads trigger: set
 *                                      before its thread starts, kept until
 *                                      the loop joins it
 *   cycle.*             the cycle      the loop only while no cycle is queued
 *                                      (start-up, SIGHUP, daemon_free)
 *   shared.* but below  no one         under shared.mu, from any thread
 *   shared.retry        the loop sets  atomic: the cycle reads and clears it in one
 *                                      atomic_exchange, so no request is lost
 *   shared.stop         the loop sets  the cycle and converge read it between
 *                       it, once       steps; it only goes 0 -> 1
 */
struct daemon {
	struct config *cfg;
	struct notifier *notifier;
	/* systemd: readiness, a STATUS= line per cycle, the watchdog (sdnotify.h) */
	struct sdnotify *sd;
	/* SIGHUP's config, from the file and the flags (daemon.c filters it) */
	daemon_reload_fn assemble;
	void *assemble_payload;

	struct dm_loop {
		uv_loop_t uv;
		uv_timer_t poll;
		uv_signal_t sigterm, sigint, sighup, sigusr1;
		uv_thread_t cycle_tid;	/* the cycle's own thread (loop.c) */
		uv_async_t cycled;	/* it ended: join it */
		uv_timer_t shutdown;
		int busy;		/* a cycle's thread runs */
		int errors;		/* cycles in a row that ended in error: backoff */
		int again;		/* a trigger came while busy */
		const char *again_trigger;	/* which one (loop.c); NULL: an event */
		int stopping;
		const char *trigger;
		daemon_reload_fn reload;
		void *reload_payload;
		struct httpd *control;
		/* The TCP listener: a child process (listener.h, privsep.c). */
		struct listener *listener;
		uv_timer_t hookwatch;	/* the webhook secret files, for the child */
		int hookwatch_open;
		char hook_stamp[WEBHOOK_NSOURCES][160];
		char *listener_user;	/* the child's user as started */
		struct hook_seen hook_seen;
		char *control_path;	/* the socket control is bound to; "" when off */
		long long started;
		/* Self-heal: engine events for managed containers trigger a cycle
		 * (after a short debounce). */
		struct events *events;
		uv_pipe_t evpipe;
		uv_timer_t debounce;
		int evpipe_open;
		uv_timer_t watchdog;
		struct webhook_rate hook_rate;
		int diffs;		/* GET /v1/diff jobs in the thread pool */
		/* Backups: the loop owns the current schedule and the runner. */
		struct bsched *bk;
		size_t nbk;
		uv_timer_t bktimer;
		uv_work_t bkwork;
		int bkbusy;
		char bk_running[64];
		const char *bk_trigger;
		struct bk_conf bkconf;
	} loop;

	/* Owned by whichever thread runs the cycle; cycles never overlap. */
	struct dm_cycle {
		int lockfd;
		struct gitsrc *git;
		struct journal *journal;
		char head[41];		/* the branch head last seen */
		char good[41];		/* the last revision whose manifest was valid */
		const char *crash_at;
		char notified_invalid[41];	/* dedupe: one message per state change */
		char notified_unverified[41];
		/* trust.c: the last signature verdict and what it was judged on */
		struct trust_memo {
			char key[9000];
			int rc;
			size_t checked;
			struct gitverify_result r;
		} trust;
		long long git_down_since;	/* ms, 0 while Git answers */
		int git_down_notified;
		json_t *bk_failed;	/* name -> why it is not scheduled */
		/* held.c: what the journal could not record, and what was said of it */
		struct held_failure *held;
		size_t nheld;
		int journal_failing;	/* its error was logged; a recovery is logged too */
		unsigned long journal_errors_seen;	/* of this handle, already counted */
		char journal_err[ERR_LEN];
		char status_err[ERR_LEN];	/* status.json's write error, logged once */
		struct cycle_memo memo;	/* repeat.c */
		/* commitstatus.c: the state last posted on the latest commits */
		struct cstatus_sent {
			char commit[41];
			char state[8];
		} cstatus[CSTATUS_KEEP];
		unsigned cstatus_next;
		struct alerts alerts;	/* alerts.c: failures told, until they clear */
		/* gitsecrets.c: the last revision's secrets decrypted, and what
		 * they were decrypted from (revision, identity file as it was) */
		struct secrets_git_memo {
			char key[4200];
			struct secrets_git *v;
		} gitsecrets;
		/* the engine handle the cycles keep (one thread's at a time: the
		 * cycle's), and the docker_host and timeout it was opened for */
		struct docker *engine;
		char *engine_for;
	} cycle;

	struct dm_shared {
		pthread_mutex_t mu;
		struct metrics m;
		/* the last cycle's outcome; cycled_cb reads it without mu, once
		 * the cycle that wrote it is done */
		enum cycle_outcome last;
		char project[64];	/* the manifest's project, for events */
		/* only the cycle uses the flap table today; it is under mu all the same */
		struct flap flaps[FLAP_SERVICES];
		char flap_head[41];	/* the head the flapping marks belong to */
		/* Backups: the cycle hands a new schedule over when the manifest
		 * changed; the loop takes it (daemon__bk_arm). */
		struct bsched *bk_new;
		size_t nbk_new;
		int bk_handover, bk_built;
		char *bk_src, *bk_label;	/* the manifest the schedule came from */
		/* the last status written, served by /v1/status even when status.json
		 * cannot be written (a full disk) */
		char *status_text;
		/* snapshot.c: what the last cycle built, for GET /v1/diff; and
		 * the engine's API version it learnt, for handles opened since */
		struct dm_snapshot *snap;
		char engine_api[16];
		atomic_int retry;	/* sync --retry: clear quarantine first */
		atomic_int stop;	/* set once by the loop; converge reads it
					   between steps (converge_options.stop) */
	} shared;
};

/* What a cycle writes to status.json: built up step by step, written once. */
struct status {
	json_t *o;
	json_t *errors;
	json_t *quarantined;
};

/* daemon.c: the object and its state directory */
char *daemon__state_path(const struct daemon *dm, const char *name);
char *daemon__control_socket(const struct daemon *dm);
int daemon__lock_state(struct daemon *dm, char *err);
int daemon__prepare(struct daemon *dm, char *err);
void daemon__save_good(struct daemon *dm, const char *commit);

/* gitread.c: the manifest's text at a revision (the clone, repaired when
 * damaged, else the copy kept in the state dir); a valid one is kept */
int daemon__manifest_text(struct daemon *dm, const char *commit, char **text, size_t *len,
    char *err);
void daemon__manifest_keep(struct daemon *dm, const char *commit, const char *text, size_t len);

/* snapshot.c: the last cycle's revision, manifest and desired state, kept
 * immutable (refcounted, under shared.mu) so GET /v1/diff only lists and
 * diffs. What it depends on besides the revision: the config's manifest,
 * secrets, backend and host (cfgkey), and the host's secret files, kept as
 * digests (never values). */
struct dm_snapshot {
	int refs;			/* under shared.mu */
	char rev[41];
	char *cfgkey;
	const struct backend_ops *backend;
	struct manifest *m;
	struct desired *ds;
	struct snap_secret {
		char *name;
		char digest[80];	/* "" when it could not be read */
		char *error;		/* why, else NULL */
	} *secrets;
	size_t nsecrets;
};
struct secretmap;
/* The config's part a snapshot depends on (caller frees). */
char *daemon__snapshot_cfgkey(const struct config *cfg);
/* At a cycle's end: takes *m and *ds (built for backend from sm at rev)
 * into a new snapshot that replaces the last one; m NULL drops it. */
void daemon__snapshot_keep(struct daemon *dm, const char *rev, const char *cfgkey,
    const struct backend_ops *backend, struct manifest **m, struct desired *ds,
    const struct secretmap *sm);
/* Lets the snapshot go (daemon_free). */
void daemon__snapshot_drop(struct daemon *dm);
/* The snapshot of rev built under cfgkey, with a reference, or NULL. */
struct dm_snapshot *daemon__snapshot_get(struct daemon *dm, const char *rev, const char *cfgkey);
void daemon__snapshot_put(struct daemon *dm, struct dm_snapshot *s);
/* 1 when the host's secret files read now as they did for the snapshot
 * (keyfile: the HMAC key), else 0. */
int daemon__snapshot_fresh(const struct dm_snapshot *s, const char *secrets_dir,
    const char *keyfile);

/* gitsecrets.c: the manifest's secrets section at a revision, read from the
 * clone and decrypted with the config's age_identity into out (emptied
 * first; NULL: checked, then dropped). -1 with err naming the secret, its
 * file and age's reason; out is then empty. */
struct secrets_git;
int daemon__git_secrets(struct daemon *dm, const char *commit, const struct manifest *m,
    struct secrets_git *out, char *err);
void daemon__git_secrets_release(struct daemon *dm);

/* trust.c: the head's signature check (signatures.verify); 0 trusted (or
 * verify off), -1 refused with the status told; *notify is set the first
 * time a commit is refused (revision_unverified) */
int daemon__verify(struct daemon *dm, const char *head, struct status *st, int *notify);
/* reconcilerd -n: the head alone judged, with no trace left; line says who
 * signed it ("; signed by …", "" with verify off) or why it is refused */
int daemon__verify_check(struct daemon *dm, const char *head, char *line, size_t len);
void daemon__metrics_trust(const struct daemon *dm, struct buf *b);

/* status.c: status.json, the STATUS= line for systemd, the status page */
void daemon__status_init(struct status *st);
void daemon__status_error(struct status *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void daemon__status_revision(struct daemon *dm, struct status *st, const struct manifest *m,
    const char *rev);
void daemon__status_services(struct status *st, const struct world *w, int applied);
void daemon__status_converging(struct daemon *dm, const struct plan *p, const char *rev);
void daemon__status_write(struct daemon *dm, struct status *st, enum cycle_outcome out);
json_t *daemon__status_now(struct daemon *dm);
void daemon__status_page(struct daemon *dm, struct http_response *r);

/* repeat.c: changes are logged and journaled, repetitions are not */
void daemon__repeat_begin(struct daemon *dm, const char *trigger);
void daemon__repeat_news(struct daemon *dm);
void daemon__repeat_acting(struct daemon *dm, const struct plan *p);
void daemon__repeat_end(struct daemon *dm, const struct cycle_seen *cs);
void daemon__repeat_free(struct daemon *dm);
char *daemon__repeat_signature(const struct cycle_seen *cs);
enum repeat_verdict daemon__repeat_verdict(const struct cycle_memo *m, const char *sig, int did,
    const char *trigger, enum cycle_outcome out, long long now);

/* metrics.c: the counters and the /metrics text */
void daemon__metrics_cycle(struct daemon *dm, enum cycle_outcome out, const char *rev,
    int git_failed, int engine_failed, int quarantined, const struct plan *p,
    const struct converge_report *rep);
void daemon__metrics_text(struct daemon *dm, struct buf *b);

/* backups.c: backup schedules and runs */
struct bk_hook {
	struct daemon *dm;
	const char *state_dir;
	const struct manifest *m;
	const struct secrets *sec;
};
int daemon__bk_before_deploy(const struct mf_backup *b, struct docker *d, char *err,
    void *payload);
void daemon__bk_sched_build(struct daemon *dm, const struct manifest *m, json_t *errors);
void daemon__bk_sched_free(struct bsched *v, size_t n);
void daemon__bk_arm(struct daemon *dm);
void daemon__bk_kick(struct daemon *dm);

/* selfheal.c: the engine's events and flapping services */
void daemon__selfheal_open(struct daemon *dm);
void daemon__selfheal_close(struct daemon *dm);
int daemon__flap_note(struct daemon *dm, const char *service);
int daemon__flapping(struct daemon *dm, const char *service);
void daemon__flaps_clear(struct daemon *dm);
void daemon__flaps_revision(struct daemon *dm, const char *commit);
int daemon__flaps_hold(struct daemon *dm, struct plan *p, const char *rev, json_t *quarantined);

/* heal.c: a quarantined service's last good spec kept running; which heals
 * (a start, or a create of the spec that serves) never quarantine */
struct plan_service;
struct docker_options;
int daemon__heal_is(struct daemon *dm, const struct plan_service *ps);
int daemon__heal_serving(struct daemon *dm, const struct plan *p, const unsigned char *held,
    const struct actual *a, const struct secrets *sec, const struct docker_options *dopt,
    struct status *st);
void daemon__heal_failed(struct status *st, const char *revision, const char *service,
    const char *action, const char *reason);

/* held.c: failures the journal could not record, and the journal's health */
void daemon__held_add(struct daemon *dm, const char *revision, const char *service,
    const char *reason);
int daemon__held_find(struct daemon *dm, const char *revision, const char *service,
    char **reason);
void daemon__held_flush(struct daemon *dm);
int daemon__held_clear(struct daemon *dm);
void daemon__journal_watch(struct daemon *dm, struct status *st);

/* hooks.c: webhooks (POST /hooks/SOURCE on the control socket; the
 * listener child's triggers and outcomes; its config) */
void daemon__hook(struct daemon *dm, const struct http_request *req, struct http_response *r);
void daemon__hook_trigger(const struct chan_trigger *t, struct http_response *r, void *payload);
void daemon__hook_note(const struct chan_hook *h, void *payload);
void daemon__hook_config(struct daemon *dm, struct chan_config *c);

/* privsep.c: the listener child, from the daemon's side */
int daemon__listener_open(struct daemon *dm, char *err);
void daemon__listener_reload(struct daemon *dm);
void daemon__listener_close(struct daemon *dm);

/* routes.c: the control socket and the listener */
void daemon__json_body(struct http_response *r, int status, json_t *o);
int daemon__listen(struct daemon *dm, char *err);
void daemon__route_relay(const struct http_request *req, struct http_response *r,
    void *payload);

/* commitstatus.c: the deploy's state on the commit (commit_status:); state
 * pending, success, failure or error; each once per commit, pending only
 * first. describe: "service: reason (+N more)", one line, at most
 * COMMIT_DESC_MAX bytes (size > COMMIT_DESC_MAX) */
void daemon__commit_status(struct daemon *dm, const char *commit, const char *state,
    const char *description);
void daemon__commit_status_end(struct daemon *dm, const char *commit, enum cycle_outcome out,
    const struct converge_report *rep, json_t *quarantined, json_t *errors);
void daemon__commit_describe(char *out, size_t size, const char *service, const char *reason,
    int more);

/* alerts.c: rollout notifications (details, once per failure, reminders,
 * recovered). The state machine is pure: now and the interval are given. */
struct alert_cycle {
	const struct manifest *m;
	const struct secrets *sec;
	const char *rev;
	const struct world *w;			/* desired, actual (before) and plan */
	const struct converge_report *rep;	/* NULL: nothing converged */
	const unsigned char *heal;		/* per rep service: a heal */
	json_t *quarantined;			/* this cycle's, status.json's */
};
void daemon__alerts_rollout(struct daemon *dm, const struct alert_cycle *ac);
void daemon__alerts_watch(struct daemon *dm, const struct alert_cycle *ac);
enum alert_verdict daemon__alert_failing(struct alerts *a, const char *revision,
    const char *service, const char *reason, int adopt, long long now, long long remind_ms);
int daemon__alert_clear(struct alerts *a, const char *service, char *revision, size_t len,
    char **reason);
void daemon__alerts_release(struct alerts *a);

/* loop.c: the loop */
void daemon__schedule(struct daemon *dm, const char *trigger);
void daemon__maybe_close(struct daemon *dm);

#endif

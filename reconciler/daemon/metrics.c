/*
 * metrics: the counters behind /metrics and their Prometheus text. The cycle,
 * backup runs and webhooks count under the shared mutex; the loop reads.
 */
#include "daemon_int.h"
#include "converge.h"
#include "diff.h"
#include "listener.h"
#include "util.h"
#include "webhook.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static const double duration_bounds[DURATION_BUCKETS] = { 1, 2, 5, 10, 30, 60, 120, 300, 600 };

/* A cycle's outcome, counted at its end (in the cycle's thread). */
void
daemon__metrics_cycle(struct daemon *dm, enum cycle_outcome out, const char *rev, int git_failed,
    int engine_failed, int quarantined, const struct plan *p, const struct converge_report *rep)
{
	pthread_mutex_lock(&dm->shared.mu);
	dm->shared.last = out;	/* /readyz reads it from the loop while a cycle runs */
	dm->shared.m.cycles[out]++;
	dm->shared.m.git_errors += git_failed;
	dm->shared.m.engine_errors += engine_failed;
	dm->shared.m.last_cycle = time(NULL);
	if (out == CYCLE_IN_SYNC || out == CYCLE_CONVERGED)
		dm->shared.m.last_success = dm->shared.m.last_cycle;
	if (rev)
		snprintf(dm->shared.m.revision, sizeof(dm->shared.m.revision), "%s", rev);
	dm->shared.m.quarantined = quarantined;
	dm->shared.m.drifted = 0;
	for (size_t i = 0; p && i < p->nservices; i++)
		if (p->services[i].action != PLAN_IN_SYNC)
			dm->shared.m.drifted++;
	for (size_t i = 0; i < rep->nservices; i++) {
		const struct converge_service *cs = &rep->services[i];
		double secs = (double)cs->ms / 1000.0;

		if (cs->outcome == CONVERGE_SKIPPED || cs->action == PLAN_REMOVE)
			continue;
		if (cs->outcome == CONVERGE_OK)
			dm->shared.m.rollouts_ok++;
		else if (cs->outcome == CONVERGE_FAILED)
			dm->shared.m.rollouts_failed++;
		else
			dm->shared.m.rollouts_blocked++;
		for (int b = 0; b < DURATION_BUCKETS; b++)
			if (secs <= duration_bounds[b])
				dm->shared.m.duration_buckets[b]++;
		dm->shared.m.duration_sum += secs;
		dm->shared.m.duration_count++;
	}
	pthread_mutex_unlock(&dm->shared.mu);
}

static void
metrics_backups(struct metrics *m, struct buf *b)
{
	size_t n = sizeof(m->backups) / sizeof(m->backups[0]);

	buf_addf(b, "# HELP reconciler_backup_runs_total Backup runs by outcome.\n"
	    "# TYPE reconciler_backup_runs_total counter\n");
	for (size_t i = 0; i < n && m->backups[i].name[0]; i++)
		buf_addf(b, "reconciler_backup_runs_total{name=\"%s\",outcome=\"ok\"} %lu\n"
		    "reconciler_backup_runs_total{name=\"%s\",outcome=\"failed\"} %lu\n",
		    m->backups[i].name, m->backups[i].ok, m->backups[i].name, m->backups[i].failed);
	buf_addf(b, "# HELP reconciler_backup_last_success_timestamp_seconds End of the last good "
	    "run.\n# TYPE reconciler_backup_last_success_timestamp_seconds gauge\n");
	for (size_t i = 0; i < n && m->backups[i].name[0]; i++)
		if (m->backups[i].last_success)
			buf_addf(b, "reconciler_backup_last_success_timestamp_seconds{name=\"%s\"} "
			    "%lld\n", m->backups[i].name, m->backups[i].last_success);
	buf_addf(b, "# HELP reconciler_backup_last_size_bytes Size of the last good dump on "
	    "disk.\n# TYPE reconciler_backup_last_size_bytes gauge\n");
	for (size_t i = 0; i < n && m->backups[i].name[0]; i++)
		if (m->backups[i].last_success)
			buf_addf(b, "reconciler_backup_last_size_bytes{name=\"%s\"} %lld\n",
			    m->backups[i].name, m->backups[i].last_size);
}

/* A label value as Prometheus' text format escapes it. */
static void
label_value(struct buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_addf(b, "\\%c", *v);
		else if (*v == '\n')
			buf_adds(b, "\\n");
		else
			buf_add(b, v, 1);
	}
}

/* This host in the fleet: its name and labels (label_NAME, the name's
 * characters other than letters, digits and '_' as '_'), so that one
 * Prometheus sees every host's revision side by side. */
static void
metrics_host(const struct fleet_host *h, struct buf *b)
{
	buf_adds(b, "# HELP reconciler_host_info This host in the fleet: its name and labels "
	    "(the config's host and host_labels).\n# TYPE reconciler_host_info gauge\n"
	    "reconciler_host_info{host=\"");
	label_value(b, h->name ? h->name : "");
	buf_adds(b, "\"");
	for (size_t i = 0; i < h->nlabels; i++) {
		buf_adds(b, ",label_");
		for (const char *k = h->labels[i].key; *k; k++)
			buf_addf(b, "%c", isalnum((unsigned char)*k) ? *k : '_');
		buf_adds(b, "=\"");
		label_value(b, h->labels[i].value);
		buf_adds(b, "\"");
	}
	buf_adds(b, "} 1\n");
}

void
daemon__metrics_text(struct daemon *dm, struct buf *b)
{
	struct metrics *m = &dm->shared.m;
	unsigned long cum = 0;

	pthread_mutex_lock(&dm->shared.mu);
	buf_addf(b, "# HELP reconciler_build_info Version of reconcilerd.\n"
	    "# TYPE reconciler_build_info gauge\n"
	    "reconciler_build_info{version=\"%s\",revision=\"%s\"} 1\n", RECONCILER_VERSION,
	    RECONCILER_GIT_REV);
	buf_addf(b, "# HELP reconciler_sync_cycles_total Reconcile cycles by outcome.\n"
	    "# TYPE reconciler_sync_cycles_total counter\n");
	for (int o = 0; o < 4; o++)
		buf_addf(b, "reconciler_sync_cycles_total{outcome=\"%s\"} %lu\n",
		    cycle_outcome_name((enum cycle_outcome)o), m->cycles[o]);
	buf_addf(b, "# HELP reconciler_last_sync_timestamp_seconds End of the last cycle.\n"
	    "# TYPE reconciler_last_sync_timestamp_seconds gauge\n"
	    "reconciler_last_sync_timestamp_seconds %lld\n", m->last_cycle);
	buf_addf(b, "# HELP reconciler_last_success_timestamp_seconds End of the last cycle that "
	    "ended in sync or converged.\n# TYPE reconciler_last_success_timestamp_seconds gauge\n"
	    "reconciler_last_success_timestamp_seconds %lld\n", m->last_success);
	metrics_host(&dm->cfg->host, b);
	if (*m->revision)
		buf_addf(b, "# HELP reconciler_revision_info The revision of the last cycle, by host "
		    "of the fleet.\n# TYPE reconciler_revision_info gauge\n"
		    "reconciler_revision_info{host=\"%s\",revision=\"%s\"} 1\n", dm->cfg->host.name,
		    m->revision);
	buf_addf(b, "# HELP reconciler_drifted_services Services that differed from the manifest at "
	    "the last cycle.\n# TYPE reconciler_drifted_services gauge\n"
	    "reconciler_drifted_services %d\n", m->drifted);
	buf_addf(b, "# HELP reconciler_quarantined_services (revision, service) pairs held after a "
	    "failed rollout.\n# TYPE reconciler_quarantined_services gauge\n"
	    "reconciler_quarantined_services %d\n", m->quarantined);
	buf_addf(b, "# HELP reconciler_rollouts_total Service rollouts by outcome.\n"
	    "# TYPE reconciler_rollouts_total counter\n"
	    "reconciler_rollouts_total{outcome=\"ok\"} %lu\n"
	    "reconciler_rollouts_total{outcome=\"failed\"} %lu\n"
	    "reconciler_rollouts_total{outcome=\"blocked\"} %lu\n", m->rollouts_ok,
	    m->rollouts_failed, m->rollouts_blocked);
	buf_addf(b, "# HELP reconciler_rollout_duration_seconds Time to roll one service out.\n"
	    "# TYPE reconciler_rollout_duration_seconds histogram\n");
	for (int i = 0; i < DURATION_BUCKETS; i++) {
		cum = m->duration_buckets[i];
		buf_addf(b, "reconciler_rollout_duration_seconds_bucket{le=\"%g\"} %lu\n",
		    duration_bounds[i], cum);
	}
	buf_addf(b, "reconciler_rollout_duration_seconds_bucket{le=\"+Inf\"} %lu\n"
	    "reconciler_rollout_duration_seconds_sum %.3f\n"
	    "reconciler_rollout_duration_seconds_count %lu\n", m->duration_count, m->duration_sum,
	    m->duration_count);
	buf_addf(b, "# HELP reconciler_git_errors_total Cycles whose Git poll failed.\n"
	    "# TYPE reconciler_git_errors_total counter\nreconciler_git_errors_total %lu\n"
	    "# HELP reconciler_engine_errors_total Cycles that could not reach the engine.\n"
	    "# TYPE reconciler_engine_errors_total counter\nreconciler_engine_errors_total %lu\n",
	    m->git_errors, m->engine_errors);
	buf_addf(b, "# HELP reconciler_diff_requests_total GET /v1/diff answers, from the last "
	    "cycle's desired state or read again (manifest, secrets).\n"
	    "# TYPE reconciler_diff_requests_total counter\n"
	    "reconciler_diff_requests_total{from=\"cycle\"} %lu\n"
	    "reconciler_diff_requests_total{from=\"manifest\"} %lu\n",
	    m->diffs_cycle, m->diffs_manifest);
	buf_addf(b, "# HELP reconciler_journal_write_errors_total Journal writes that failed (a full "
	    "disk, an I/O error).\n# TYPE reconciler_journal_write_errors_total counter\n"
	    "reconciler_journal_write_errors_total %lu\n", m->journal_write_errors);
	buf_addf(b, "# HELP reconciler_webhooks_total Webhook requests by source and outcome.\n"
	    "# TYPE reconciler_webhooks_total counter\n");
	for (int s = 0; s < WEBHOOK_NSOURCES; s++)
		for (int o = 0; o < WEBHOOK_NOUTCOMES; o++)
			buf_addf(b, "reconciler_webhooks_total{source=\"%s\",outcome=\"%s\"} %lu\n",
			    webhook_source_name((enum webhook_source)s),
			    webhook_outcome_name((enum webhook_outcome)o), m->hooks[s][o]);
	metrics_backups(m, b);
	daemon__metrics_trust(dm, b);
	pthread_mutex_unlock(&dm->shared.mu);
	/* the loop's own: the listener child (listener.h) */
	if (dm->loop.listener)
		buf_addf(b, "# HELP reconciler_listener_restarts_total Times the listener child "
		    "died and was started again.\n# TYPE reconciler_listener_restarts_total counter\n"
		    "reconciler_listener_restarts_total %lu\n",
		    listener_restarts(dm->loop.listener));
}

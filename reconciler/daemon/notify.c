/*
 * notify: see notify.h.
 */
#include "notify.h"
#include "log.h"
#include "util.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MAX 256
#define TRIES 4

struct msg {
	struct msg *next;
	char *name;		/* the notification's name, for logs */
	char *url;		/* secret: never logged */
	char *hmac;		/* secret or NULL */
	char **hdrs;		/* extra headers (notify_post), secret: a token */
	size_t nhdrs;
	int post;		/* notify_post's: not counted as a notification */
	char *body;
	int tries;
	long long due;		/* ms, monotonic */
};

struct notifier {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct msg *head;
	int len, stop;
	unsigned long sent, failed;
};

static void
msg_free(struct msg *m)
{
	if (!m)
		return;
	if (m->url)
		explicit_bzero(m->url, strlen(m->url));
	if (m->hmac)
		explicit_bzero(m->hmac, strlen(m->hmac));
	for (size_t i = 0; i < m->nhdrs; i++) {
		explicit_bzero(m->hdrs[i], strlen(m->hdrs[i]));
		free(m->hdrs[i]);
	}
	free(m->hdrs);
	free(m->name);
	free(m->url);
	free(m->hmac);
	free(m->body);
	free(m);
}

static size_t
discard(char *p, size_t s, size_t n, void *u)
{
	return s * n;
}

static int
deliver(const struct msg *m, long *status)
{
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	int rc = -1;

	*status = 0;
	if (!c)
		return -1;
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "User-Agent: reconciler/" RECONCILER_VERSION);
	if (m->hmac) {
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int maclen = 0;
		char hex[2 * EVP_MAX_MD_SIZE + 1], *hdr;

		HMAC(EVP_sha256(), m->hmac, (int)strlen(m->hmac), (const unsigned char *)m->body,
		    strlen(m->body), mac, &maclen);
		hex_encode(mac, maclen, hex);
		hdr = xasprintf("X-Reconciler-Signature-256: sha256=%s", hex);
		h = curl_slist_append(h, hdr);
		free(hdr);
	}
	for (size_t i = 0; i < m->nhdrs; i++)
		h = curl_slist_append(h, m->hdrs[i]);
	curl_easy_setopt(c, CURLOPT_URL, m->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, m->body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
		if (*status >= 200 && *status < 300)
			rc = 0;
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc;
}

static void *
run(void *arg)
{
	struct notifier *n = arg;

	pthread_mutex_lock(&n->mu);
	for (;;) {
		struct msg *m = n->head, **pp;
		long long now = now_ms();
		long status;

		if (!m) {
			if (n->stop)
				break;
			pthread_cond_wait(&n->cv, &n->mu);
			continue;
		}
		/* the earliest due message */
		for (struct msg *x = m; x; x = x->next)
			if (x->due < m->due)
				m = x;
		if (m->due > now && !n->stop) {
			struct timespec ts;
			long long wake = m->due - now;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += wake / 1000;
			ts.tv_nsec += (wake % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&n->cv, &n->mu, &ts);
			continue;
		}
		for (pp = &n->head; *pp != m; pp = &(*pp)->next)
			;
		*pp = m->next;
		n->len--;
		pthread_mutex_unlock(&n->mu);
		if (deliver(m, &status) == 0) {
			log_info("notify", "name=%s delivered (status %ld)", m->name, status);
			pthread_mutex_lock(&n->mu);
			n->sent += !m->post;
			msg_free(m);
			continue;
		}
		pthread_mutex_lock(&n->mu);
		if (++m->tries >= TRIES || n->stop) {
			log_warn("notify", "name=%s gave up after %d tries (last status %ld)", m->name,
			    m->tries, status);
			n->failed += !m->post;
			msg_free(m);
			continue;
		}
		log_warn("notify", "name=%s failed (status %ld), retrying", m->name, status);
		m->due = now_ms() + (1000LL << (2 * m->tries));	/* 4 s, 16 s, 64 s */
		m->next = n->head;
		n->head = m;
		n->len++;
	}
	pthread_mutex_unlock(&n->mu);
	return NULL;
}

int
notify_start(struct notifier **out, char *err)
{
	struct notifier *n = xcalloc(1, sizeof(*n));
	int rc;

	pthread_mutex_init(&n->mu, NULL);
	pthread_cond_init(&n->cv, NULL);
	if ((rc = pthread_create(&n->tid, NULL, run, n)) != 0) {
		pthread_mutex_destroy(&n->mu);
		pthread_cond_destroy(&n->cv);
		free(n);
		return errf(err, "cannot start the notification thread: %s", strerror(rc));
	}
	*out = n;
	return 0;
}

void
notify_stop(struct notifier *n, long grace_ms)
{
	long long deadline = now_ms() + grace_ms;

	if (!n)
		return;
	/* let what is queued go out, for a while */
	for (;;) {
		int len;

		pthread_mutex_lock(&n->mu);
		len = n->len;
		pthread_mutex_unlock(&n->mu);
		if (!len || now_ms() > deadline)
			break;
		sleep_ms(50);
	}
	pthread_mutex_lock(&n->mu);
	n->stop = 1;
	pthread_cond_broadcast(&n->cv);
	pthread_mutex_unlock(&n->mu);
	pthread_join(n->tid, NULL);
	while (n->head) {
		struct msg *m = n->head;

		n->head = m->next;
		msg_free(m);
	}
	pthread_mutex_destroy(&n->mu);
	pthread_cond_destroy(&n->cv);
	free(n);
}

void
notify_counts(struct notifier *n, unsigned long *sent, unsigned long *failed)
{
	*sent = *failed = 0;
	if (!n)
		return;
	pthread_mutex_lock(&n->mu);
	*sent = n->sent;
	*failed = n->failed;
	pthread_mutex_unlock(&n->mu);
}

/* The second line of a chat message: the commit's subject and the images. */
static char *
detail_line(const struct notify_detail *d)
{
	struct buf b;

	buf_init(&b, 0);
	if (d->subject)
		buf_addf(&b, "\"%s\"", d->subject);
	if (d->old_image || d->new_image)
		buf_addf(&b, "%simage %s -> %s", b.len ? "; " : "",
		    d->old_image ? d->old_image : "(none)", d->new_image ? d->new_image : "(none)");
	if (!b.len) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static void
set_detail(json_t *o, const struct notify_detail *d)
{
	const char *k[] = { "subject", "old_image", "new_image", "reason" };
	const char *v[] = { d->subject, d->old_image, d->new_image, d->reason };

	for (size_t i = 0; i < 4; i++)
		json_object_set_new(o, k[i], v[i] ? json_string(v[i]) : json_null());
	json_object_set_new(o, "reminder", json_boolean(d->reminder));
}

static char *
body_for(const struct mf_notify *no, const struct manifest *m, const char *event,
    const char *revision, const char *service, const char *message,
    const struct notify_detail *d)
{
	char *text = xasprintf("[%s] %s%s%s%s%s%s%s", m->project, d && d->reminder ?
	    "reminder: " : "", event, revision ? " at " : "", revision ? revision : "",
	    service ? " (" : "", service ? service : "", service ? ")" : "");
	char *line = d ? detail_line(d) : NULL;
	char *full = xasprintf("%s: %s%s%s", text, message, line ? "\n" : "", line ? line : "");
	json_t *o;
	char *out;

	switch (no->type) {
	case MF_NOTIFY_DISCORD:
		o = json_pack("{s:s}", "content", full);
		break;
	case MF_NOTIFY_SLACK:
		o = json_pack("{s:s}", "text", full);
		break;
	default:
		o = json_pack("{s:s,s:s,s:s,s:I}", "event", event, "project", m->project, "message",
		    message, "time", (json_int_t)time(NULL));
		json_object_set_new(o, "revision", revision ? json_string(revision) : json_null());
		json_object_set_new(o, "service", service ? json_string(service) : json_null());
		if (d)
			set_detail(o, d);
		break;
	}
	out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	free(text);
	free(line);
	free(full);
	return out;
}

/* Takes msg into the queue, or frees it when the queue is full (-1). */
static int
enqueue(struct notifier *n, struct msg *msg)
{
	pthread_mutex_lock(&n->mu);
	if (n->len >= QUEUE_MAX) {
		pthread_mutex_unlock(&n->mu);
		msg_free(msg);
		return -1;
	}
	msg->next = n->head;
	n->head = msg;
	n->len++;
	pthread_cond_signal(&n->cv);
	pthread_mutex_unlock(&n->mu);
	return 0;
}

void
notify_post(struct notifier *n, const char *name, const char *url,
    const char *const *headers, size_t nheaders, const char *body)
{
	struct msg *msg;

	if (!n)
		return;
	msg = xcalloc(1, sizeof(*msg));
	msg->name = xstrdup(name);
	msg->post = 1;
	msg->url = xstrdup(url);
	msg->hdrs = xcalloc(nheaders + 1, sizeof(*msg->hdrs));
	for (; msg->nhdrs < nheaders; msg->nhdrs++)
		msg->hdrs[msg->nhdrs] = xstrdup(headers[msg->nhdrs]);
	msg->body = xstrdup(body);
	msg->due = now_ms();
	if (enqueue(n, msg) < 0)
		log_warn("notify", "name=%s: queue full, dropped", name);
}

void
notify_event(struct notifier *n, const struct manifest *m, const struct secrets *sec,
    const char *event, const char *revision, const char *service, const char *message)
{
	notify_event_detail(n, m, sec, event, revision, service, message, NULL);
}

void
notify_event_detail(struct notifier *n, const struct manifest *m, const struct secrets *sec,
    const char *event, const char *revision, const char *service, const char *message,
    const struct notify_detail *d)
{
	unsigned bit = 0;

	if (!n || !m)
		return;
	for (unsigned i = 0; manifest_event_names[i]; i++)
		if (strcmp(manifest_event_names[i], event) == 0)
			bit = 1u << i;
	for (size_t i = 0; i < m->nnotifications; i++) {
		const struct mf_notify *no = &m->notifications[i];
		struct msg *msg;
		char err[ERR_LEN], *url = NULL, *key = NULL;
		size_t len;

		if (!(no->events & bit))
			continue;
		if (secrets_read(sec, no->url_secret, 1, &url, &len, err) < 0 ||
		    (no->hmac_secret && secrets_read(sec, no->hmac_secret, 1, &key, &len, err) < 0)) {
			log_warn("notify", "name=%s: %s", no->name, err);
			if (url)
				secret_free(url, strlen(url));
			continue;
		}
		msg = xcalloc(1, sizeof(*msg));
		msg->name = xstrdup(no->name);
		msg->url = url;
		msg->hmac = key;
		msg->body = body_for(no, m, event, revision, service, message, d);
		msg->due = now_ms();
		if (enqueue(n, msg) < 0)
			log_warn("notify", "name=%s: queue full, event %s dropped", no->name, event);
	}
}

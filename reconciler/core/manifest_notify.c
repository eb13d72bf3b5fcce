/*
 * manifest: the notifications section: where events are sent (Discord, Slack
 * or a signed webhook, the URL always a secret) and which events.
 */
#include "manifest_int.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

const char *const manifest_event_names[] = {
	"rollout_succeeded", "rollout_failed", "revision_quarantined", "manifest_invalid",
	"git_unreachable", "backup_succeeded", "backup_failed", "revision_unverified",
	"recovered", NULL,
};

static char *
get_secret_ref(struct mf__ctx *c, const struct yt_node *n, const char *path, const char *why)
{
	const struct yt_node *s;
	char *name, *p;

	if (!n || n->type != YT_MAP || !(s = yt_get(n, "secret")) || n->n != 1) {
		mf__err_at(c, n, path, "expected a secret ref {secret: NAME}%s", why);
		return NULL;
	}
	p = yt_path_key(path, "secret");
	if ((name = mf__get_str(c, s, p)) && !manifest_secret_name_ok(name)) {
		mf__check_secret_name(c, s, p, name, "secret");
		free(name);
		name = NULL;
	}
	free(p);
	return name;
}

void
mf__parse_notifications(struct mf__ctx *c, const struct yt_node *n)
{
	static const char *const keys[] = { "type", "url", "hmac_secret", "events", NULL };
	struct manifest *m = c->m;

	if (!mf__is_map(c, n, "notifications"))
		return;
	MF__FOR_KEYS(n, "notifications", key, v, p) {
		struct mf_notify *no = MF__GROW(m->notifications, m->nnotifications);
		const struct yt_node *t;

		mf__check_name(c, n->keys[key_i], p, "notification");
		no->name = xstrdup(key);
		no->events = MF_EVENT_ALL;
		if (!mf__is_map(c, v, p))
			continue;
		mf__check_keys(c, v, p, keys);
		MF__FOR_KEYS(v, p, nk, nv, np) {
			if (strcmp(nk, "type") == 0) {
				if (nv->type == YT_SCALAR && strcmp(nv->value, "discord") == 0)
					no->type = MF_NOTIFY_DISCORD;
				else if (nv->type == YT_SCALAR && strcmp(nv->value, "slack") == 0)
					no->type = MF_NOTIFY_SLACK;
				else if (nv->type == YT_SCALAR && strcmp(nv->value, "webhook") == 0)
					no->type = MF_NOTIFY_WEBHOOK;
				else
					mf__err_at(c, nv, np, "unknown notification type %s%s%s (expected "
					    "discord, slack or webhook)", nv->type == YT_SCALAR ? "'" : "",
					    nv->type == YT_SCALAR ? nv->value : yt_type_name(nv),
					    nv->type == YT_SCALAR ? "'" : "");
			} else if (strcmp(nk, "url") == 0) {
				no->url_secret = get_secret_ref(c, nv, np,
				    ": webhook URLs carry credentials and never live in Git");
			} else if (strcmp(nk, "hmac_secret") == 0) {
				no->hmac_secret = get_secret_ref(c, nv, np, "");
			} else if (strcmp(nk, "events") == 0) {
				size_t ne;
				char **ev = mf__get_str_list(c, nv, np, &ne, NULL);

				/* [] would read as "none" or as "all": leave it out for all */
				if (ev && ne == 0)
					mf__err_at(c, nv, np, "events must not be empty (leave it out to send "
					    "every event)");
				if (ev)
					mf__check_dups(c, nv, np, ev, ne, "event");
				no->events = 0;
				for (size_t i = 0; ev && i < ne; i++) {
					size_t j;

					for (j = 0; manifest_event_names[j]; j++)
						if (strcmp(ev[i], manifest_event_names[j]) == 0)
							break;
					if (manifest_event_names[j]) {
						no->events |= 1u << j;
					} else {
						char *ip = yt_path_idx(np, i);
						const char *hint = mf__closest(ev[i], manifest_event_names);

						mf__err_at(c, nv->items[i], ip, "unknown event '%s'%s%s%s", ev[i],
						    hint ? " (did you mean '" : "", hint ? hint : "",
						    hint ? "'?)" : "");
						free(ip);
					}
				}
				strv_free(ev, ne);
			}
		}
		if (!(t = yt_get(v, "type")))
			mf__missing(c, v, p, "type");
		if (!yt_get(v, "url"))
			mf__missing(c, v, p, "url");
		if (yt_get(v, "hmac_secret") && t && t->type == YT_SCALAR &&
		    strcmp(t->value, "webhook") != 0) {
			char *hp = yt_path_key(p, "hmac_secret");

			mf__err_at(c, mf__key_node(v, "hmac_secret"), hp,
			    "hmac_secret is only for type webhook");
			free(hp);
		}
	}
}

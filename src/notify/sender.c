/* sender.c — delivers the outbox on the loop: due rows go out over HTTP
 * (Slack, PagerDuty, webhooks), SMTP (e-mail, through the same libcurl
 * multi) or a command (uv_spawn), each attempt recorded before it starts.
 * At least once: an attempt is first written as a lease (attempts + 1,
 * next try after the channel's timeout), so a serve killed mid-attempt
 * tries again after restart. Retries back off from 1 s doubling to 5 min,
 * or as a 429/503 Retry-After says, and give up after 24 h (failed).
 * It must never block the loop, and never put a secret in a row or a log. */
#include "notify/notify_internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/stepenv.h"
#include "util/log.h"
#include "util/timeutil.h"

#define FIRST_BACKOFF_MS 1000
#define MAX_BACKOFF_MS (5 * 60 * 1000)
#define GIVE_UP_MS (24LL * 3600 * 1000)

typedef struct attempt {
	rg_notifier *n;
	rg_outbox_row row;           /* payload owned */
	/* command channel */
	uv_process_t proc;
	uv_pipe_t in;
	uv_write_t wr;
	uv_timer_t timer;
	int handles;                 /* of proc, in, timer still open */
	int64_t exit_status;
	bool timed_out, exited;
	struct attempt *next;        /* n->cmds */
} attempt;

static void on_timer(uv_timer_t *t);

static int64_t backoff_ms(int attempts)
{
	int64_t d = FIRST_BACKOFF_MS;
	for (int i = 1; i < attempts && d < MAX_BACKOFF_MS; i++)
		d *= 2;
	return d < MAX_BACKOFF_MS ? d : MAX_BACKOFF_MS;
}

static bool in_flight(const rg_notifier *n, int64_t id)
{
	for (size_t i = 0; i < n->n_inflight; i++)
		if (n->inflight[i] == id)
			return true;
	return false;
}

static void inflight_drop(rg_notifier *n, int64_t id)
{
	for (size_t i = 0; i < n->n_inflight; i++)
		if (n->inflight[i] == id) {
			n->inflight[i] = n->inflight[--n->n_inflight];
			return;
		}
}

static void maybe_free(rg_notifier *n)
{
	if (n->closing && n->pending_close == 0 && n->children == 0 && !n->http)
		free(n);
}

static void attempt_free(attempt *a)
{
	free(a->row.payload);
	free(a);
}

/* The outcome, stored; then the next due rows. error NULL: delivered. */
static void attempt_done(attempt *a, const char *error, int64_t retry_after_ms)
{
	rg_notifier *n = a->n;
	rg_outbox_row *r = &a->row;
	int64_t now = rg_now_ms();
	inflight_drop(n, r->id);
	if (!error) {
		snprintf(r->state, sizeof r->state, "delivered");
		r->delivered_at = now;   /* last_error stays: what the earlier tries met */
	} else {
		snprintf(r->last_error, sizeof r->last_error, "%s", error);
		r->next_attempt_at = now + (retry_after_ms > 0 ? retry_after_ms : backoff_ms(r->attempts));
		if (r->next_attempt_at - r->created > GIVE_UP_MS)
			snprintf(r->state, sizeof r->state, "failed");
	}
	rg_error err = { 0 };
	if (rg_store_outbox_result(n->st, r, &err)) {
		/* the lease stands: the row is tried again once it runs out */
		rg_warn("notify: cannot record notification %lld: %s", (long long)r->id, err.message);
		n->store_trouble = true;
	} else if (error) {
		rg_info("notify: %s to channel '%s' failed (try %d): %s%s", r->event, r->channel,
			r->attempts, error, strcmp(r->state, "failed") ? "" : "; given up");
	}
	attempt_free(a);
	if (!n->closing)
		rg_sender_run(n);
}

/* ---- HTTP and SMTP ------------------------------------------------------------ */

static void on_http_done(const rg_http_result *res, void *ctx)
{
	attempt *a = ctx;
	char why[300];
	if (res->rc == RG_OK && res->status / 100 == 2) {
		attempt_done(a, NULL, 0);
		return;
	}
	if (res->rc == RG_OK)
		snprintf(why, sizeof why, "%s %ld", strncmp(a->row.payload, "From:", 5) ? "HTTP" : "SMTP",
			 res->status);
	else
		snprintf(why, sizeof why, "%s", res->message);
	bool later = res->rc == RG_OK && (res->status == 429 || res->status == 503);
	attempt_done(a, why, later ? res->retry_after_ms : 0);
}

static void on_http_dropped(void *ctx)
{
	attempt_free(ctx);
}

/* PagerDuty's routing key joins the stored event only now. */
static rg_err pagerduty_body(const rg_channel *c, const char *payload, char **out, rg_error *err)
{
	json_t *o = json_loads(payload, 0, NULL);
	if (!o || json_object_set_new(o, "routing_key", json_string(c->key.value ? c->key.value : "")))
		*out = NULL;
	else
		*out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return *out ? RG_OK : rg_fail(err, RG_EINVAL, NULL, "bad stored PagerDuty event");
}

static rg_err send_http(attempt *a, const rg_channel *c, rg_error *err)
{
	char idem[120], ts[32], sig[96], sig_h[128], ts_h[64];
	const char *headers[6] = { NULL };
	size_t nh = 0;
	char *body = NULL;
	rg_http_opts o = { .timeout_ms = c->timeout_ms, .body_limit = 4096,
			   .dropped = on_http_dropped };
	rg_err rc = RG_OK;
	snprintf(idem, sizeof idem, "Idempotency-Key: %s", a->row.key);
	switch (c->kind) {
	case RG_CHANNEL_SLACK:
		o.url = c->url_ref.value;
		headers[nh++] = "Content-Type: application/json";
		headers[nh++] = idem;
		break;
	case RG_CHANNEL_PAGERDUTY:
		o.url = c->url;
		headers[nh++] = "Content-Type: application/json";
		rc = pagerduty_body(c, a->row.payload, &body, err);
		break;
	case RG_CHANNEL_WEBHOOK:
		o.url = c->url ? c->url : c->url_ref.value;
		snprintf(ts, sizeof ts, "%lld", (long long)(rg_now_ms() / 1000));
		rg_notify_sign(c->key.value ? c->key.value : "", ts, a->row.payload,
			       strlen(a->row.payload), sig, sizeof sig);
		snprintf(ts_h, sizeof ts_h, "X-Rollguard-Timestamp: %s", ts);
		snprintf(sig_h, sizeof sig_h, "X-Rollguard-Signature: %s", sig);
		headers[nh++] = "Content-Type: application/cloudevents+json";
		headers[nh++] = idem;
		headers[nh++] = ts_h;
		headers[nh++] = sig_h;
		break;
	case RG_CHANNEL_EMAIL:
	case RG_CHANNEL_COMMAND:
	case RG_CHANNEL_KIND_COUNT:
		break;
	}
	const char *rcpt[64] = { NULL };
	char from[300], to[64][300];
	if (c->kind == RG_CHANNEL_EMAIL) {
		o.url = c->smtp;
		snprintf(from, sizeof from, "<%s>", c->from);
		o.mail_from = from;
		for (size_t i = 0; i < c->n_to && i < 63; i++) {
			snprintf(to[i], sizeof to[i], "<%s>", c->to[i]);
			rcpt[i] = to[i];
		}
		o.mail_rcpt = rcpt;
		o.username = c->username.value;
		o.password = c->password.value;
	}
	if (rc)
		return rc;
	o.headers = headers;
	o.body = body ? body : a->row.payload;
	o.body_len = strlen(o.body);
	if (!o.url)
		rc = rg_fail(err, RG_EINVAL, NULL, "channel '%s' has no URL", c->name);
	else
		rc = rg_http_send(a->n->http, &o, on_http_done, a, NULL, err);
	if (body) {
		explicit_bzero(body, strlen(body));
		free(body);
	}
	return rc;
}

/* ---- the command channel ---------------------------------------------------- */

static void on_child_closed(uv_handle_t *h)
{
	attempt *a = h->data;
	if (--a->handles > 0)
		return;
	rg_notifier *n = a->n;
	n->children--;
	for (attempt **p = &n->cmds; *p; p = &(*p)->next)
		if (*p == a) {
			*p = a->next;
			break;
		}
	char why[96];
	if (a->timed_out)
		snprintf(why, sizeof why, "timed out");
	else
		snprintf(why, sizeof why, "exited %lld", (long long)a->exit_status);
	if (n->closing) {
		attempt_free(a);
		maybe_free(n);
		return;
	}
	attempt_done(a, !a->timed_out && a->exit_status == 0 ? NULL : why, 0);
}

static void on_child_exit(uv_process_t *p, int64_t status, int sig)
{
	attempt *a = p->data;
	a->exited = true;
	a->exit_status = sig ? 128 + sig : status;
	uv_close((uv_handle_t *)&a->timer, on_child_closed);
	uv_close((uv_handle_t *)p, on_child_closed);
}

static void on_child_timeout(uv_timer_t *t)
{
	attempt *a = t->data;
	a->timed_out = true;
	uv_kill(-a->proc.pid, SIGKILL);
}

static void on_written(uv_write_t *w, int status)
{
	attempt *a = w->data;
	uv_close((uv_handle_t *)&a->in, on_child_closed);
}

static rg_err command_env(const rg_config *cfg, const rg_outbox_row *r, rg_envlist *env,
			  rg_error *err)
{
	json_t *o = json_loads(r->payload, 0, NULL);
	char run[24], inc[24];
	snprintf(run, sizeof run, "%lld", (long long)r->run_id);
	snprintf(inc, sizeof inc, "%lld", (long long)r->incident_id);
	const char *get = NULL;
#define FIELD(k) ((get = json_string_value(json_object_get(o, k))) ? get : "")
	const char *pairs[][2] = {
		{ "ROLLGUARD_SERVICE", cfg->service }, { "ROLLGUARD_EVENT", r->event },
		{ "ROLLGUARD_ENV", r->env },           { "ROLLGUARD_RUN_ID", run },
		{ "ROLLGUARD_INCIDENT_ID", inc },      { "ROLLGUARD_CHANNEL", r->channel },
		{ "ROLLGUARD_IDEMPOTENCY_KEY", r->key },
		{ "ROLLGUARD_SEVERITY", FIELD("severity") }, { "ROLLGUARD_TITLE", FIELD("title") },
		{ "ROLLGUARD_TEXT", FIELD("text") },
	};
#undef FIELD
	rg_err rc = rg_envlist_inherit(env, cfg, err);
	for (size_t i = 0; !rc && i < sizeof pairs / sizeof *pairs; i++)
		rc = rg_envlist_set(env, pairs[i][0], pairs[i][1], err);
	json_decref(o);
	return rc;
}

static rg_err send_command(attempt *a, const rg_channel *c, rg_error *err)
{
	rg_notifier *n = a->n;
	rg_envlist env = { 0 };
	rg_err rc = command_env(n->cfg, &a->row, &env, err);
	if (rc) {
		rg_envlist_release(&env);
		return rc;
	}
	uv_pipe_init(n->loop, &a->in, 0);
	uv_timer_init(n->loop, &a->timer);
	a->in.data = a->timer.data = a->proc.data = a->wr.data = a;
	char *argv[] = { "/bin/sh", "-c", c->run, NULL };
	uv_stdio_container_t stdio[3] = {
		{ .flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&a->in },
		{ .flags = UV_IGNORE }, { .flags = UV_IGNORE } };
	uv_process_options_t po = { .exit_cb = on_child_exit, .file = "/bin/sh", .args = argv,
				    .env = env.items, .cwd = n->cfg->dir, .stdio_count = 3,
				    .stdio = stdio, .flags = UV_PROCESS_DETACHED };
	int r = uv_spawn(n->loop, &a->proc, &po);
	rg_envlist_release(&env);
	n->children++;
	a->next = n->cmds;
	n->cmds = a;
	a->handles = 3;
	if (r) {
		a->exit_status = 127;
		a->handles = 2;
		uv_close((uv_handle_t *)&a->timer, on_child_closed);
		uv_close((uv_handle_t *)&a->in, on_child_closed);
		rg_warn("notify: cannot run channel '%s': %s", c->name, uv_strerror(r));
		return RG_OK;
	}
	uv_timer_start(&a->timer, on_child_timeout, (uint64_t)c->timeout_ms, 0);
	uv_buf_t buf = uv_buf_init(a->row.payload, (unsigned)strlen(a->row.payload));
	if (uv_write(&a->wr, (uv_stream_t *)&a->in, &buf, 1, on_written))
		uv_close((uv_handle_t *)&a->in, on_child_closed);
	return RG_OK;
}

/* ---- the loop ------------------------------------------------------------------- */

static void start(rg_notifier *n, rg_outbox_row *row)
{
	const rg_channel *c = rg_config_channel(n->cfg, row->channel);
	attempt *a = calloc(1, sizeof *a);
	rg_error err = { 0 };
	if (!a) {
		free(row->payload);
		return;
	}
	a->n = n;
	a->row = *row;
	row->payload = NULL;
	int64_t now = rg_now_ms();
	a->row.attempts++;
	/* the lease: if serve dies now, the row is due again after the timeout */
	a->row.next_attempt_at = now + (c ? c->timeout_ms : 0) + FIRST_BACKOFF_MS;
	if (!c) {
		snprintf(a->row.state, sizeof a->row.state, "failed");
		snprintf(a->row.last_error, sizeof a->row.last_error,
			 "channel '%s' is no longer configured", a->row.channel);
	}
	if (rg_store_outbox_result(n->st, &a->row, &err)) {
		rg_warn("notify: cannot record an attempt: %s", err.message);
		n->store_trouble = true;
		attempt_free(a);
		return;
	}
	if (!c) {
		attempt_free(a);
		return;
	}
	n->inflight[n->n_inflight++] = a->row.id;
	rg_err rc = c->kind == RG_CHANNEL_COMMAND ? send_command(a, c, &err) : send_http(a, c, &err);
	if (rc)
		attempt_done(a, err.message, 0);
}

static void schedule(rg_notifier *n)
{
	int64_t at = 0;
	bool any = false;
	rg_error err = { 0 };
	if (rg_store_outbox_next(n->st, &at, &any, &err)) {
		rg_warn("notify: %s", err.message);
		at = rg_now_ms() + FIRST_BACKOFF_MS;
		any = true;
	}
	if (!any || n->n_inflight >= RG_NOTIFY_MAX_INFLIGHT)
		return;
	int64_t wait = at - rg_now_ms();
	if (n->store_trouble && wait < FIRST_BACKOFF_MS)
		wait = FIRST_BACKOFF_MS;   /* a refused write is not retried in a spin */
	n->store_trouble = false;
	uv_timer_start(&n->timer, on_timer, wait > 0 ? (uint64_t)wait : 0, 0);
}

void rg_sender_run(rg_notifier *n)
{
	if (n->closing)
		return;
	rg_outbox_row *rows = NULL;
	size_t count = 0;
	rg_error err = { 0 };
	if (rg_store_outbox_due(n->st, rg_now_ms(), RG_NOTIFY_MAX_INFLIGHT, &rows, &count, &err)) {
		rg_warn("notify: %s", err.message);
		n->store_trouble = true;
		count = 0;
	}
	for (size_t i = 0; i < count; i++)
		if (!in_flight(n, rows[i].id) && n->n_inflight < RG_NOTIFY_MAX_INFLIGHT)
			start(n, &rows[i]);
	rg_outbox_rows_free(rows, count);
	schedule(n);
}

static void on_timer(uv_timer_t *t)
{
	rg_sender_run(t->data);
}

void rg_notify_timer_cb(uv_timer_t *t)
{
	on_timer(t);
}

static void on_http_freed(void *ctx)
{
	rg_notifier *n = ctx;
	n->http = NULL;
	maybe_free(n);
}

static void on_timer_closed(uv_handle_t *h)
{
	rg_notifier *n = h->data;
	n->pending_close--;
	maybe_free(n);
}

void rg_sender_close(rg_notifier *n)
{
	uv_timer_stop(&n->timer);
	n->pending_close++;
	uv_close((uv_handle_t *)&n->timer, on_timer_closed);
	for (attempt *a = n->cmds; a; a = a->next)
		if (!a->exited && a->proc.pid > 0)
			uv_kill(-a->proc.pid, SIGKILL);
	rg_http_free(n->http, on_http_freed, n);
}

/* checks.c — runs the config's named health checks on the libuv loop.
 * HTTP checks are GETs of the checker's rg_http (http/client.h, libcurl
 * driven by the loop); command checks are exec.c children. It must never
 * block the loop nor call a check's callback after it was cancelled. */
#include "engine/checks.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/exec.h"
#include "http/client.h"
#include "util/duration.h"
#include "util/log.h"

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_STATUS     200
#define BODY_MAX           (64 * 1024)
#define LAST_LINE_MAX      200
#define CMD_LOG_LIMIT      8192    /* enough for the last line of output */

struct rg_checker {
	uv_loop_t *loop;
	rg_http *http;
	rg_check_run *runs;      /* in flight */
	int pending;             /* the client's and exec closes still due */
	bool closing;
	void (*done)(void *ctx);
	void *done_ctx;
};

struct rg_check_run {
	rg_checker *c;
	const rg_check *check;
	rg_check_done_fn done;
	void *ctx;
	rg_check_run *prev, *next;
	uint64_t started_ns;
	rg_http_req *req;        /* HTTP, until its answer */
	rg_exec *exec;           /* command */
};

static int64_t timeout_of(const rg_check *k)
{
	return k->timeout_ms > 0 ? k->timeout_ms : DEFAULT_TIMEOUT_MS;
}

static int64_t elapsed_ms(const rg_check_run *r)
{
	return (int64_t)((uv_hrtime() - r->started_ns) / 1000000u);
}

/* ---- checker lifetime ----------------------------------------------------- */

static void checker_release(rg_checker *c)
{
	if (!c->closing || c->pending > 0)
		return;
	void (*done)(void *) = c->done;
	void *ctx = c->done_ctx;
	free(c);
	if (done)
		done(ctx);
}

static void on_part_closed(void *ctx)
{
	rg_checker *c = ctx;
	c->pending--;
	checker_release(c);
}

/* ---- runs ----------------------------------------------------------------- */

static void run_unlink(rg_check_run *r)
{
	rg_checker *c = r->c;
	if (r->prev)
		r->prev->next = r->next;
	else
		c->runs = r->next;
	if (r->next)
		r->next->prev = r->prev;
}

/* Frees everything of r; never calls its callback. */
static void run_release(rg_check_run *r)
{
	rg_checker *c = r->c;
	run_unlink(r);
	rg_http_cancel(r->req);
	if (r->exec) {
		c->pending++;
		rg_exec_close(r->exec, on_part_closed, c);
	}
	free(r);
}

/* The callback comes last, so it may start, cancel or free anything. */
static void run_finish(rg_check_run *r, rg_check_result *res)
{
	const rg_check *check = r->check;
	rg_check_done_fn done = r->done;
	void *ctx = r->ctx;
	res->duration_ms = elapsed_ms(r);
	run_release(r);
	done(check, res, ctx);
}

void rg_check_cancel(rg_check_run *r)
{
	if (r)
		run_release(r);
}

static rg_check_run *run_new(rg_checker *c, const rg_check *check, rg_check_done_fn done,
			     void *ctx)
{
	rg_check_run *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->c = c;
	r->check = check;
	r->done = done;
	r->ctx = ctx;
	r->started_ns = uv_hrtime();
	r->next = c->runs;
	if (c->runs)
		c->runs->prev = r;
	c->runs = r;
	return r;
}

/* ---- HTTP checks ---------------------------------------------------------- */

/* The URL as it may appear in a detail: without user:password@. */
static void url_for_log(const char *url, char *out, size_t size)
{
	const char *host = strstr(url, "://");
	host = host ? host + 3 : url;
	size_t authority = strcspn(host, "/?#");
	const char *at = memchr(host, '@', authority);
	if (!at) {
		snprintf(out, size, "%s", url);
		return;
	}
	snprintf(out, size, "%.*s%s", (int)(host - url), url, at + 1);
}

static void quote_for_log(const char *s, char *out, size_t size)
{
	snprintf(out, size, "%.100s%s", s, strlen(s) > 100 ? "…" : "");
}

static void http_judge(const rg_check *k, const rg_http_result *h, rg_check_result *res)
{
	char url[256], what[160];
	url_for_log(k->url, url, sizeof url);
	int expect = k->expect_status > 0 ? k->expect_status : DEFAULT_STATUS;
	if (h->rc == RG_HTTP_ETIMEOUT) {
		rg_duration_format(timeout_of(k), what, sizeof what);
		snprintf(res->detail, sizeof res->detail, "timed out after %s", what);
		res->timed_out = true;
	} else if (h->rc != RG_OK) {
		snprintf(res->detail, sizeof res->detail, "%s: %s", h->message, url);
	} else if (h->status != expect) {
		snprintf(res->detail, sizeof res->detail, "HTTP %ld from %s", h->status, url);
	} else if (k->contains && !memmem(h->body, h->body_len, k->contains, strlen(k->contains))) {
		quote_for_log(k->contains, what, sizeof what);
		snprintf(res->detail, sizeof res->detail, "body does not contain '%s'", what);
	} else {
		res->ok = true;
		snprintf(res->detail, sizeof res->detail, "HTTP %ld from %s", h->status, url);
	}
}

static void on_http_done(const rg_http_result *h, void *ctx)
{
	rg_check_run *r = ctx;
	r->req = NULL;   /* the client frees it after this call */
	rg_check_result res = { 0 };
	http_judge(r->check, h, &res);
	run_finish(r, &res);
}

/* The first BODY_MAX bytes are enough to look for `contains`; the client
 * stops reading there, so a huge or endless body costs neither memory nor
 * the whole timeout. */
static rg_err http_start(rg_check_run *r, rg_error *err)
{
	static const char *const headers[] = { "User-Agent: rollguard-check", NULL };
	const rg_check *k = r->check;
	if (!k->url)
		return rg_fail(err, RG_EINVAL, "url", "check '%s' has no url", k->name);
	rg_http_opts o = {
		.url = k->url,
		.timeout_ms = timeout_of(k),
		.body_limit = BODY_MAX,
		.headers = headers,
	};
	rg_error e = { 0 };
	rg_err rc = rg_http_get(r->c->http, &o, on_http_done, r, &r->req, &e);
	if (rc)
		return rg_fail(err, rc, e.field[0] ? e.field : NULL, "check '%s': %s", k->name,
			       e.message);
	return RG_OK;
}

/* ---- command checks ------------------------------------------------------- */

/* The last non-empty line of the output, at most LAST_LINE_MAX bytes, cut on
 * a UTF-8 boundary, control characters replaced. */
static void last_line(const char *log, size_t len, char *out, size_t size)
{
	while (len && isspace((unsigned char)log[len - 1]))
		len--;
	size_t start = len;
	while (start && log[start - 1] != '\n')
		start--;
	size_t n = len - start;
	if (n > LAST_LINE_MAX) {
		n = LAST_LINE_MAX;
		while (n && ((unsigned char)log[start + n] & 0xC0) == 0x80)
			n--;
	}
	if (n >= size)
		n = size - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)log[start + i];
		out[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	out[n] = '\0';
}

static void on_command_done(rg_exec *x, const rg_exec_result *er, void *ctx)
{
	rg_check_run *r = ctx;
	rg_check_result res = { 0 };
	char status[64], line[LAST_LINE_MAX + 1];
	if (er->timed_out) {
		char d[32];
		rg_duration_format(timeout_of(r->check), d, sizeof d);
		snprintf(status, sizeof status, "timed out after %s", d);
		res.timed_out = true;
	} else if (er->exit_code >= 0) {
		res.ok = er->exit_code == 0;
		snprintf(status, sizeof status, "exit %d", er->exit_code);
	} else {
		snprintf(status, sizeof status, "killed by signal %d", er->term_signal);
	}
	size_t len;
	const char *log = rg_exec_log(x, &len);
	last_line(log, len, line, sizeof line);
	if (line[0])
		snprintf(res.detail, sizeof res.detail, "%s: %s", status, line);
	else
		snprintf(res.detail, sizeof res.detail, "%s", status);
	run_finish(r, &res);
}

static rg_err command_start(rg_check_run *r, const char *cwd, char **env, rg_error *err)
{
	if (!r->check->run)
		return rg_fail(err, RG_EINVAL, "run", "check '%s' has no command", r->check->name);
	rg_exec_opts o = {
		.command = r->check->run,
		.cwd = cwd,
		.env = env,
		.timeout_ms = timeout_of(r->check),
		.log_limit = CMD_LOG_LIMIT,
	};
	return rg_exec_start(r->c->loop, &o, on_command_done, r, &r->exec, err);
}

/* ---- interface ------------------------------------------------------------ */

rg_err rg_check_start(rg_checker *c, const rg_check *check, const char *cwd, char **env,
		      rg_check_done_fn done, void *ctx, rg_check_run **out, rg_error *err)
{
	if (!c || !check || !done)
		return rg_fail(err, RG_EINVAL, NULL, "check: missing argument");
	if (c->closing)
		return rg_fail(err, RG_EINTERNAL, NULL, "check '%s': checker is closing",
			       check->name);
	rg_check_run *r = run_new(c, check, done, ctx);
	if (!r)
		return rg_fail(err, RG_ENOMEM, NULL, "check '%s': out of memory", check->name);
	rg_err rc = check->kind == RG_CHECK_HTTP ? http_start(r, err)
						 : command_start(r, cwd, env, err);
	if (rc) {
		run_release(r);
		return rc;
	}
	if (out)
		*out = r;
	return RG_OK;
}

rg_err rg_checker_new(uv_loop_t *loop, rg_checker **out, rg_error *err)
{
	rg_checker *c = calloc(1, sizeof *c);
	if (!c)
		return rg_fail(err, RG_ENOMEM, NULL, "checks: out of memory");
	c->loop = loop;
	rg_err rc = rg_http_new(loop, &c->http, err);
	if (rc) {
		free(c);
		return rc;
	}
	*out = c;
	return RG_OK;
}

rg_http *rg_checker_http(rg_checker *c)
{
	return c->http;
}

/* Runs in flight are released first (HTTP requests cancelled, children
 * closed), then the client; done runs once every one of them has closed. */
void rg_checker_free(rg_checker *c, void (*done)(void *ctx), void *ctx)
{
	if (!c || c->closing)
		return;
	while (c->runs)
		run_release(c->runs);
	c->closing = true;
	c->done = done;
	c->done_ctx = ctx;
	c->pending++;
	rg_http_free(c->http, on_part_closed, c);
	c->http = NULL;
}

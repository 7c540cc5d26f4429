/* checks.c — runs the config's named health checks on the libuv loop.
 * HTTP checks go through one libcurl multi handle driven by the loop (the
 * multi-socket pattern); command checks are exec.c children. It must never
 * block the loop nor call a check's callback after it was cancelled. */
#include "engine/checks.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/exec.h"
#include "util/duration.h"
#include "util/log.h"

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_STATUS     200
#define BODY_MAX           (64 * 1024)
#define LAST_LINE_MAX      200
#define CMD_LOG_LIMIT      8192    /* enough for the last line of output */

/* One socket curl asked us to watch. */
typedef struct watched_sock {
	uv_poll_t poll;
	curl_socket_t fd;
	rg_checker *c;
	struct watched_sock *prev, *next;
} watched_sock;

struct rg_checker {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;        /* curl's one timeout */
	rg_check_run *runs;      /* in flight */
	watched_sock *socks;     /* being watched (not yet handed to uv_close) */
	int pending;             /* uv_close callbacks and exec closes still due */
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
	CURL *easy;              /* HTTP */
	char *body;              /* HTTP with `contains`: the first BODY_MAX bytes */
	size_t body_len;
	bool body_full;          /* we stopped reading at BODY_MAX */
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

static void on_closed(uv_handle_t *h)
{
	rg_checker *c = h->data;
	if (h->type == UV_POLL)
		free(h);   /* the uv_poll_t is the first member of watched_sock */
	c->pending--;
	checker_release(c);
}

static void on_exec_closed(void *ctx)
{
	rg_checker *c = ctx;
	c->pending--;
	checker_release(c);
}

static void sock_close(rg_checker *c, watched_sock *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		c->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	c->pending++;
	uv_close((uv_handle_t *)&s->poll, on_closed);
}

/* ---- the multi-socket pattern: curl says what to watch, the loop watches -- */

static void check_multi_info(rg_checker *c);

static void on_poll(uv_poll_t *p, int status, int events)
{
	watched_sock *s = (watched_sock *)p;
	rg_checker *c = s->c;
	int flags = 0;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	int running;
	CURLMcode mc = curl_multi_socket_action(c->multi, s->fd, flags, &running);
	if (mc != CURLM_OK)
		rg_warn("checks: curl: %s", curl_multi_strerror(mc));
	check_multi_info(c);
}

static void on_curl_timer(uv_timer_t *t)
{
	rg_checker *c = t->data;
	int running;
	CURLMcode mc = curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	if (mc != CURLM_OK)
		rg_warn("checks: curl: %s", curl_multi_strerror(mc));
	check_multi_info(c);
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer; 0 means "as soon as possible",
 * which a 0 ms uv timer gives on the next loop iteration, not re-entrantly. */
static int curl_timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	rg_checker *c = userp;
	if (timeout_ms < 0)
		return uv_timer_stop(&c->timer) == 0 ? 0 : -1;
	int r = uv_timer_start(&c->timer, on_curl_timer, (uint64_t)timeout_ms, 0);
	if (r)
		rg_warn("checks: timer: %s", uv_strerror(r));
	return r ? -1 : 0;
}

static watched_sock *sock_watch(rg_checker *c, curl_socket_t fd)
{
	watched_sock *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	int r = uv_poll_init_socket(c->loop, &s->poll, fd);
	if (r) {
		rg_warn("checks: poll: %s", uv_strerror(r));
		free(s);
		return NULL;
	}
	s->poll.data = c;
	s->fd = fd;
	s->c = c;
	s->next = c->socks;
	if (c->socks)
		c->socks->prev = s;
	c->socks = s;
	CURLMcode mc = curl_multi_assign(c->multi, fd, s);
	if (mc != CURLM_OK) {
		rg_warn("checks: curl: %s", curl_multi_strerror(mc));
		sock_close(c, s);
		return NULL;
	}
	return s;
}

/* CURLMOPT_SOCKETFUNCTION. curl forgets the socket right after REMOVE, and
 * always says REMOVE before it closes one, so a reused fd number never meets
 * a stale poll handle. Returning -1 makes curl fail the transfers (7.85+). */
static int curl_socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	rg_checker *c = userp;
	watched_sock *s = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (s)
			sock_close(c, s);
		return 0;
	}
	if (!s && !(s = sock_watch(c, fd)))
		return -1;
	int events = 0;
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	int r = uv_poll_start(&s->poll, events, on_poll);
	if (r)
		rg_warn("checks: poll: %s", uv_strerror(r));
	return r ? -1 : 0;
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
	if (r->easy) {
		CURLMcode mc = curl_multi_remove_handle(c->multi, r->easy);
		if (mc != CURLM_OK)
			rg_warn("checks: curl: %s", curl_multi_strerror(mc));
		curl_easy_cleanup(r->easy);
	}
	if (r->exec) {
		c->pending++;
		rg_exec_close(r->exec, on_exec_closed, c);
	}
	free(r->body);
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

static void http_judge(rg_check_run *r, CURLcode rc, long status, long os_errno,
		       rg_check_result *res)
{
	const rg_check *k = r->check;
	char url[256], what[160];
	url_for_log(k->url, url, sizeof url);
	int expect = k->expect_status > 0 ? k->expect_status : DEFAULT_STATUS;
	if (rc == CURLE_WRITE_ERROR && r->body_full)
		rc = CURLE_OK;   /* we stopped reading, the response itself was fine */
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		rg_duration_format(timeout_of(k), what, sizeof what);
		snprintf(res->detail, sizeof res->detail, "timed out after %s", what);
	} else if (rc == CURLE_COULDNT_CONNECT && os_errno == ECONNREFUSED) {
		snprintf(res->detail, sizeof res->detail, "connection refused: %s", url);
	} else if (rc != CURLE_OK) {
		snprintf(what, sizeof what, "%s", curl_easy_strerror(rc));
		if (!isupper((unsigned char)what[1]))   /* "Couldn't" yes, "URL" no */
			what[0] = (char)tolower((unsigned char)what[0]);
		snprintf(res->detail, sizeof res->detail, "%s: %s", what, url);
	} else if (status != expect) {
		snprintf(res->detail, sizeof res->detail, "HTTP %ld from %s", status, url);
	} else if (k->contains && (!r->body ||
				   !memmem(r->body, r->body_len, k->contains, strlen(k->contains)))) {
		quote_for_log(k->contains, what, sizeof what);
		snprintf(res->detail, sizeof res->detail, "body does not contain '%s'", what);
	} else {
		res->ok = true;
		snprintf(res->detail, sizeof res->detail, "HTTP %ld from %s", status, url);
	}
}

static void http_done(rg_check_run *r, CURLcode rc)
{
	long status = 0, os_errno = 0;
	if (curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		status = 0;
	if (curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &os_errno) != CURLE_OK)
		os_errno = 0;
	rg_check_result res = { 0 };
	http_judge(r, rc, status, os_errno, &res);
	run_finish(r, &res);
}

/* Stops once a callback freed the checker: its multi handle is gone. */
static void check_multi_info(rg_checker *c)
{
	CURLMsg *m;
	int left;
	while (!c->closing && (m = curl_multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURLcode rc = m->data.result;   /* m dies with the handle */
		rg_check_run *r = NULL;
		if (curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r) != CURLE_OK ||
		    !r) {
			rg_warn("checks: finished transfer without its check");
			continue;
		}
		http_done(r, rc);
	}
}

/* Keeps the start of the body, enough to look for `contains`; past that the
 * transfer is stopped (CURLE_WRITE_ERROR, judged as success by http_judge),
 * so a huge or endless body costs neither memory nor the whole timeout. */
static size_t on_body(char *p, size_t size, size_t nmemb, void *userp)
{
	rg_check_run *r = userp;
	size_t n = size * nmemb;
	size_t room = BODY_MAX - r->body_len;
	if (r->check->contains && !r->body && !(r->body = malloc(BODY_MAX)))
		return 0;
	size_t take = n < room ? n : room;
	if (r->body)
		memcpy(r->body + r->body_len, p, take);
	r->body_len += take;
	if (take < n) {
		r->body_full = true;
		return 0;
	}
	return n;
}

/* Check sockets are close-on-exec, so step commands started meanwhile (and
 * the services they leave running) never inherit a health check's socket. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose,
				 struct curl_sockaddr *a)
{
	int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static CURLcode http_setup(CURL *e, rg_check_run *r)
{
	CURLcode rc = CURLE_OK;
#define SET(opt, val) \
	do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_URL, r->check->url);
	SET(CURLOPT_TIMEOUT_MS, (long)timeout_of(r->check));
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_USERAGENT, "rollguard-check");
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, r);
	SET(CURLOPT_PRIVATE, r);
	SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
#undef SET
	return rc;
}

static rg_err http_start(rg_check_run *r, rg_error *err)
{
	if (!r->check->url)
		return rg_fail(err, RG_EINVAL, "url", "check '%s' has no url", r->check->name);
	r->easy = curl_easy_init();
	if (!r->easy)
		return rg_fail(err, RG_ENOMEM, NULL, "check '%s': cannot create a transfer",
			       r->check->name);
	CURLcode rc = http_setup(r->easy, r);
	if (rc != CURLE_OK)
		return rg_fail(err, RG_EINVAL, "url", "check '%s': %s", r->check->name,
			       curl_easy_strerror(rc));
	CURLMcode mc = curl_multi_add_handle(r->c->multi, r->easy);
	if (mc != CURLM_OK) {
		curl_easy_cleanup(r->easy);   /* not in the multi: run_release must not remove it */
		r->easy = NULL;
		return rg_fail(err, RG_EIO, NULL, "check '%s': %s", r->check->name,
			       curl_multi_strerror(mc));
	}
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

static rg_err global_init(rg_error *err)
{
	static bool done;   /* the engine runs on one thread: no lock needed */
	if (done)
		return RG_OK;
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK)
		return rg_fail(err, RG_EIO, NULL, "curl: %s", curl_easy_strerror(rc));
	done = true;
	return RG_OK;
}

static rg_err multi_setup(rg_checker *c, rg_error *err)
{
	CURLMcode mc = CURLM_OK;
#define SET(opt, val) \
	do { if (mc == CURLM_OK) mc = curl_multi_setopt(c->multi, opt, val); } while (0)
	SET(CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
	SET(CURLMOPT_SOCKETDATA, c);
	SET(CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	SET(CURLMOPT_TIMERDATA, c);
#undef SET
	if (mc != CURLM_OK)
		return rg_fail(err, RG_EIO, NULL, "curl: %s", curl_multi_strerror(mc));
	return RG_OK;
}

rg_err rg_checker_new(uv_loop_t *loop, rg_checker **out, rg_error *err)
{
	rg_err rc = global_init(err);
	if (rc)
		return rc;
	rg_checker *c = calloc(1, sizeof *c);
	if (!c)
		return rg_fail(err, RG_ENOMEM, NULL, "checks: out of memory");
	c->loop = loop;
	c->multi = curl_multi_init();
	if (!c->multi) {
		free(c);
		return rg_fail(err, RG_ENOMEM, NULL, "curl: cannot create a multi handle");
	}
	int r = uv_timer_init(loop, &c->timer);
	rc = r ? rg_fail(err, RG_EIO, NULL, "checks: timer: %s", uv_strerror(r))
	       : multi_setup(c, err);
	if (rc) {
		curl_multi_cleanup(c->multi);
		if (r == 0) {   /* the timer is a live handle: free c once it closed */
			c->closing = true;
			c->pending = 1;
			c->timer.data = c;
			uv_close((uv_handle_t *)&c->timer, on_closed);
		} else {
			free(c);
		}
		return rc;
	}
	c->timer.data = c;
	*out = c;
	return RG_OK;
}

/* Order matters: transfers leave the multi first (curl may still call the
 * socket and timer callbacks, so those handles stay open), then the multi
 * goes, then every handle is closed; done runs from the last close callback. */
void rg_checker_free(rg_checker *c, void (*done)(void *ctx), void *ctx)
{
	if (!c || c->closing)
		return;
	while (c->runs)
		run_release(c->runs);
	CURLMcode mc = curl_multi_cleanup(c->multi);
	if (mc != CURLM_OK)
		rg_warn("checks: curl: %s", curl_multi_strerror(mc));
	c->multi = NULL;
	c->closing = true;
	c->done = done;
	c->done_ctx = ctx;
	while (c->socks)
		sock_close(c, c->socks);
	c->pending++;
	uv_close((uv_handle_t *)&c->timer, on_closed);
}

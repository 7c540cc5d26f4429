/* client.c — outbound HTTP GETs on the libuv loop: one libcurl multi handle
 * per rg_http, driven by the multi-socket pattern (curl says which sockets
 * and which timeout to watch, the loop watches them). It must never block
 * the loop, use a proxy from the environment, follow a redirect, or call a
 * request's callback after it was cancelled. */
#include "http/client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "util/duration.h"
#include "util/log.h"
#include "util/strbuf.h"

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_BODY_LIMIT (64 * 1024)

/* One socket curl asked us to watch. */
typedef struct watched_sock {
	uv_poll_t poll;
	curl_socket_t fd;
	rg_http *h;
	struct watched_sock *prev, *next;
} watched_sock;

struct rg_http {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;        /* curl's one timeout */
	rg_http_req *reqs;       /* in flight */
	watched_sock *socks;     /* being watched (not yet handed to uv_close) */
	int pending;             /* uv_close callbacks still due */
	bool closing;
	void (*done)(void *ctx);
	void *done_ctx;
};

struct rg_http_req {
	rg_http *h;
	CURL *easy;
	struct curl_slist *headers;
	rg_http_done_fn done;
	void (*dropped)(void *ctx);
	void *ctx;
	int64_t timeout_ms;
	uint64_t started_ns;
	size_t body_limit;
	rg_strbuf body;          /* the first body_limit bytes */
	bool truncated;          /* we stopped reading at body_limit */
	bool out_of_memory;      /* we stopped reading for want of memory */
	int64_t retry_after_ms;  /* Retry-After of the answer */
	char *upload;            /* SMTP: the message being sent (owned) */
	size_t upload_len, upload_off;
	struct curl_slist *rcpt; /* SMTP recipients */
	rg_http_req *prev, *next;
};

/* ---- client lifetime ------------------------------------------------------ */

static void http_release(rg_http *h)
{
	if (!h->closing || h->pending > 0)
		return;
	void (*done)(void *) = h->done;
	void *ctx = h->done_ctx;
	free(h);
	if (done)
		done(ctx);
}

static void on_closed(uv_handle_t *handle)
{
	rg_http *h = handle->data;
	if (handle->type == UV_POLL)
		free(handle);   /* the uv_poll_t is the first member of watched_sock */
	h->pending--;
	http_release(h);
}

static void sock_close(rg_http *h, watched_sock *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		h->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	h->pending++;
	uv_close((uv_handle_t *)&s->poll, on_closed);
}

/* ---- the multi-socket pattern: curl says what to watch, the loop watches -- */

static void check_multi_info(rg_http *h);

static void on_poll(uv_poll_t *p, int status, int events)
{
	watched_sock *s = (watched_sock *)p;
	rg_http *h = s->h;
	int flags = 0;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	int running;
	CURLMcode mc = curl_multi_socket_action(h->multi, s->fd, flags, &running);
	if (mc != CURLM_OK)
		rg_warn("http: curl: %s", curl_multi_strerror(mc));
	check_multi_info(h);
}

static void on_curl_timer(uv_timer_t *t)
{
	rg_http *h = t->data;
	int running;
	CURLMcode mc = curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	if (mc != CURLM_OK)
		rg_warn("http: curl: %s", curl_multi_strerror(mc));
	check_multi_info(h);
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer; 0 means "as soon as possible",
 * which a 0 ms uv timer gives on the next loop iteration, not re-entrantly. */
static int curl_timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	rg_http *h = userp;
	if (timeout_ms < 0)
		return uv_timer_stop(&h->timer) == 0 ? 0 : -1;
	int r = uv_timer_start(&h->timer, on_curl_timer, (uint64_t)timeout_ms, 0);
	if (r)
		rg_warn("http: timer: %s", uv_strerror(r));
	return r ? -1 : 0;
}

static watched_sock *sock_watch(rg_http *h, curl_socket_t fd)
{
	watched_sock *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	int r = uv_poll_init_socket(h->loop, &s->poll, fd);
	if (r) {
		rg_warn("http: poll: %s", uv_strerror(r));
		free(s);
		return NULL;
	}
	s->poll.data = h;
	s->fd = fd;
	s->h = h;
	s->next = h->socks;
	if (h->socks)
		h->socks->prev = s;
	h->socks = s;
	CURLMcode mc = curl_multi_assign(h->multi, fd, s);
	if (mc != CURLM_OK) {
		rg_warn("http: curl: %s", curl_multi_strerror(mc));
		sock_close(h, s);
		return NULL;
	}
	return s;
}

/* CURLMOPT_SOCKETFUNCTION. curl forgets the socket right after REMOVE, and
 * always says REMOVE before it closes one, so a reused fd number never meets
 * a stale poll handle. Returning -1 makes curl fail the transfers (7.85+). */
static int curl_socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	rg_http *h = userp;
	watched_sock *s = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (s)
			sock_close(h, s);
		return 0;
	}
	if (!s && !(s = sock_watch(h, fd)))
		return -1;
	int events = 0;
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	int r = uv_poll_start(&s->poll, events, on_poll);
	if (r)
		rg_warn("http: poll: %s", uv_strerror(r));
	return r ? -1 : 0;
}

/* ---- requests ------------------------------------------------------------- */

static void req_unlink(rg_http_req *r)
{
	rg_http *h = r->h;
	if (r->prev)
		r->prev->next = r->next;
	else
		h->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

/* Takes r off the list and out of curl; the body stays for the callback. */
static void req_detach(rg_http_req *r)
{
	req_unlink(r);
	if (r->easy) {
		CURLMcode mc = curl_multi_remove_handle(r->h->multi, r->easy);
		if (mc != CURLM_OK)
			rg_warn("http: curl: %s", curl_multi_strerror(mc));
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	curl_slist_free_all(r->headers);
	r->headers = NULL;
	curl_slist_free_all(r->rcpt);
	r->rcpt = NULL;
}

static void req_free(rg_http_req *r)
{
	free(r->upload);
	rg_strbuf_release(&r->body);
	free(r);
}

void rg_http_cancel(rg_http_req *r)
{
	if (!r)
		return;
	req_detach(r);
	req_free(r);
}

static int64_t elapsed_ms(const rg_http_req *r)
{
	return (int64_t)((uv_hrtime() - r->started_ns) / 1000000u);
}

/* curl's words, lowercased unless the second letter says it is an acronym
 * ("Couldn't resolve host name" → "couldn't …", "URL using bad …" stays). */
static void curl_words(CURLcode rc, char *out, size_t size)
{
	snprintf(out, size, "%s", curl_easy_strerror(rc));
	if (out[0] && !isupper((unsigned char)out[1]))
		out[0] = (char)tolower((unsigned char)out[0]);
}

static void classify(rg_http_req *r, CURLcode rc, long status, long os_errno,
		     rg_http_result *res)
{
	if (rc == CURLE_WRITE_ERROR && r->truncated)
		rc = CURLE_OK;   /* we stopped reading, the response itself was fine */
	if (rc == CURLE_OK) {
		res->rc = RG_OK;
		snprintf(res->message, sizeof res->message, "HTTP %ld", status);
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		char d[32];
		rg_duration_format(r->timeout_ms, d, sizeof d);
		res->rc = RG_HTTP_ETIMEOUT;
		snprintf(res->message, sizeof res->message, "timed out after %s", d);
	} else if (rc == CURLE_COULDNT_CONNECT && os_errno == ECONNREFUSED) {
		res->rc = RG_EIO;
		snprintf(res->message, sizeof res->message, "connection refused");
	} else if (rc == CURLE_WRITE_ERROR && r->out_of_memory) {
		res->rc = RG_EIO;
		snprintf(res->message, sizeof res->message, "out of memory for the body");
	} else {
		res->rc = RG_EIO;
		curl_words(rc, res->message, sizeof res->message);
	}
}

/* The callback comes last, so it may start, cancel or free anything. */
static void req_finish(rg_http_req *r, CURLcode rc)
{
	long status = 0, os_errno = 0;
	if (curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		status = 0;
	if (curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &os_errno) != CURLE_OK)
		os_errno = 0;
	rg_http_result res = {
		.status = status,
		.body = r->body.len ? r->body.buf : "",
		.body_len = r->body.len,
		.truncated = r->truncated,
		.duration_ms = elapsed_ms(r),
		.retry_after_ms = r->retry_after_ms,
	};
	classify(r, rc, status, os_errno, &res);
	req_detach(r);
	r->done(&res, r->ctx);
	req_free(r);
}

/* Stops once a callback freed the client: its multi handle is gone. */
static void check_multi_info(rg_http *h)
{
	CURLMsg *m;
	int left;
	while (!h->closing && (m = curl_multi_info_read(h->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURLcode rc = m->data.result;   /* m dies with the handle */
		rg_http_req *r = NULL;
		if (curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r) != CURLE_OK ||
		    !r) {
			rg_warn("http: finished transfer without its request");
			continue;
		}
		req_finish(r, rc);
	}
}

/* Keeps the start of the body; past body_limit the transfer is stopped
 * (CURLE_WRITE_ERROR, judged a success by classify), so a huge or endless
 * body costs neither memory nor the whole timeout. The buffer grows as the
 * body arrives: most answers are far below the limit. */
static size_t on_body(char *p, size_t size, size_t nmemb, void *userp)
{
	rg_http_req *r = userp;
	size_t n = size * nmemb;
	size_t room = r->body_limit - r->body.len;
	size_t take = n < room ? n : room;
	if (rg_strbuf_add(&r->body, p, take)) {
		r->out_of_memory = true;
		return 0;
	}
	if (take < n) {
		r->truncated = true;
		return 0;
	}
	return n;
}

/* Only Retry-After is kept: a 429 or 503 says when to come back. */
static size_t on_header(char *p, size_t size, size_t nmemb, void *userp)
{
	rg_http_req *r = userp;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";
	if (n > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
		long long secs = 0;
		size_t i = sizeof name - 1;
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		while (i < n && isdigit((unsigned char)p[i]) && secs < 86400)
			secs = secs * 10 + (p[i++] - '0');
		r->retry_after_ms = secs * 1000;
	}
	return n;
}

static size_t on_upload(char *buf, size_t size, size_t nmemb, void *userp)
{
	rg_http_req *r = userp;
	size_t room = size * nmemb, left = r->upload_len - r->upload_off;
	size_t n = left < room ? left : room;
	memcpy(buf, r->upload + r->upload_off, n);
	r->upload_off += n;
	return n;
}

/* Sockets are close-on-exec, so step commands started meanwhile (and the
 * services they leave running) never inherit a request's socket. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose,
				 struct curl_sockaddr *a)
{
	int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

/* An empty CURLOPT_PROXY disables http_proxy, HTTPS_PROXY, ALL_PROXY…:
 * checks and queries go straight to the host their URL names. */
static CURLcode req_setup(CURL *e, rg_http_req *r, const char *url)
{
	CURLcode rc = CURLE_OK;
#define SET(opt, val) \
	do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_PROTOCOLS_STR, r->rcpt ? "smtp,smtps" : "http,https");
	SET(CURLOPT_USERAGENT, "rollguard");
	SET(CURLOPT_HTTPHEADER, r->headers);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, r);
	SET(CURLOPT_PRIVATE, r);
	SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, r);
#undef SET
	return rc;
}

/* A POST copies its body; an SMTP message is read from r->upload. */
static CURLcode req_setup_send(CURL *e, rg_http_req *r, const rg_http_opts *o)
{
	CURLcode rc = CURLE_OK;
#define SET(opt, val) \
	do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
	if (o->username)
		SET(CURLOPT_USERNAME, o->username);
	if (o->password)
		SET(CURLOPT_PASSWORD, o->password);
	if (r->rcpt) {
		SET(CURLOPT_MAIL_FROM, o->mail_from);
		SET(CURLOPT_MAIL_RCPT, r->rcpt);
		SET(CURLOPT_READFUNCTION, on_upload);
		SET(CURLOPT_READDATA, r);
		SET(CURLOPT_UPLOAD, 1L);
		SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->upload_len);
	} else if (o->body) {
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
		SET(CURLOPT_COPYPOSTFIELDS, o->body);
	}
#undef SET
	return rc;
}

static rg_err req_headers(rg_http_req *r, const char *const *headers, rg_error *err)
{
	for (size_t i = 0; headers && headers[i]; i++) {
		struct curl_slist *l = curl_slist_append(r->headers, headers[i]);
		if (!l)
			return rg_fail(err, RG_ENOMEM, NULL, "out of memory for headers");
		r->headers = l;
	}
	return RG_OK;
}

static rg_http_req *req_new(rg_http *h, const rg_http_opts *o, rg_http_done_fn done, void *ctx)
{
	rg_http_req *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->h = h;
	r->done = done;
	r->dropped = o->dropped;
	r->ctx = ctx;
	r->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	r->body_limit = o->body_limit > 0 ? o->body_limit : DEFAULT_BODY_LIMIT;
	r->started_ns = uv_hrtime();
	r->next = h->reqs;
	if (h->reqs)
		h->reqs->prev = r;
	h->reqs = r;
	return r;
}

/* On failure r keeps no transfer, so rg_http_cancel frees it cleanly. */
static rg_err req_start(rg_http_req *r, const rg_http_opts *o, rg_error *err)
{
	rg_err rc = req_headers(r, o->headers, err);
	if (rc)
		return rc;
	if (!(r->easy = curl_easy_init()))
		return rg_fail(err, RG_ENOMEM, NULL, "cannot create a transfer");
	for (size_t i = 0; o->mail_rcpt && o->mail_rcpt[i]; i++) {
		struct curl_slist *l = curl_slist_append(r->rcpt, o->mail_rcpt[i]);
		if (!l)
			return rg_fail(err, RG_ENOMEM, NULL, "out of memory for recipients");
		r->rcpt = l;
	}
	if (r->rcpt && o->body) {
		if (!(r->upload = malloc(o->body_len + 1)))
			return rg_fail(err, RG_ENOMEM, NULL, "out of memory for the message");
		memcpy(r->upload, o->body, o->body_len);
		r->upload_len = o->body_len;
	}
	CURLcode cc = req_setup(r->easy, r, o->url);
	if (cc == CURLE_OK)
		cc = req_setup_send(r->easy, r, o);
	CURLMcode mc = cc == CURLE_OK ? curl_multi_add_handle(r->h->multi, r->easy) : CURLM_OK;
	if (cc == CURLE_OK && mc == CURLM_OK)
		return RG_OK;
	curl_easy_cleanup(r->easy);   /* not in the multi: must not be removed */
	r->easy = NULL;
	if (cc != CURLE_OK)
		return rg_fail(err, RG_EINVAL, "url", "%s", curl_easy_strerror(cc));
	return rg_fail(err, RG_EIO, NULL, "%s", curl_multi_strerror(mc));
}

rg_err rg_http_get(rg_http *h, const rg_http_opts *o, rg_http_done_fn done, void *ctx,
		   rg_http_req **out, rg_error *err)
{
	rg_http_opts get = *o;
	get.body = NULL;
	get.mail_rcpt = NULL;
	return rg_http_send(h, &get, done, ctx, out, err);
}

rg_err rg_http_send(rg_http *h, const rg_http_opts *o, rg_http_done_fn done, void *ctx,
		    rg_http_req **out, rg_error *err)
{
	if (!h || !o || !o->url || !done)
		return rg_fail(err, RG_EINVAL, NULL, "http: missing argument");
	if (h->closing)
		return rg_fail(err, RG_EINTERNAL, NULL, "http: client is closing");
	rg_http_req *r = req_new(h, o, done, ctx);
	if (!r)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	rg_err rc = req_start(r, o, err);
	if (rc) {
		rg_http_cancel(r);
		return rc;
	}
	if (out)
		*out = r;
	return RG_OK;
}

/* ---- interface: new and free ---------------------------------------------- */

static rg_err global_init(rg_error *err)
{
	static bool done;   /* the control plane runs on one thread: no lock needed */
	if (done)
		return RG_OK;
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK)
		return rg_fail(err, RG_EIO, NULL, "curl: %s", curl_easy_strerror(rc));
	done = true;
	return RG_OK;
}

static rg_err multi_setup(rg_http *h, rg_error *err)
{
	CURLMcode mc = CURLM_OK;
#define SET(opt, val) \
	do { if (mc == CURLM_OK) mc = curl_multi_setopt(h->multi, opt, val); } while (0)
	SET(CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
	SET(CURLMOPT_SOCKETDATA, h);
	SET(CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	SET(CURLMOPT_TIMERDATA, h);
#undef SET
	if (mc != CURLM_OK)
		return rg_fail(err, RG_EIO, NULL, "curl: %s", curl_multi_strerror(mc));
	return RG_OK;
}

rg_err rg_http_new(uv_loop_t *loop, rg_http **out, rg_error *err)
{
	rg_err rc = global_init(err);
	if (rc)
		return rc;
	rg_http *h = calloc(1, sizeof *h);
	if (!h)
		return rg_fail(err, RG_ENOMEM, NULL, "http: out of memory");
	h->loop = loop;
	h->multi = curl_multi_init();
	if (!h->multi) {
		free(h);
		return rg_fail(err, RG_ENOMEM, NULL, "curl: cannot create a multi handle");
	}
	int r = uv_timer_init(loop, &h->timer);
	rc = r ? rg_fail(err, RG_EIO, NULL, "http: timer: %s", uv_strerror(r))
	       : multi_setup(h, err);
	if (rc) {
		curl_multi_cleanup(h->multi);
		if (r == 0) {   /* the timer is a live handle: free h once it closed */
			h->closing = true;
			h->pending = 1;
			h->timer.data = h;
			uv_close((uv_handle_t *)&h->timer, on_closed);
		} else {
			free(h);
		}
		return rc;
	}
	h->timer.data = h;
	*out = h;
	return RG_OK;
}

/* Order matters: transfers leave the multi first (curl may still call the
 * socket and timer callbacks, so those handles stay open), then the multi
 * goes, then every handle is closed; done runs from the last close callback.
 * closing is set first, so a dropped hook cannot start a new request. */
void rg_http_free(rg_http *h, void (*done)(void *ctx), void *ctx)
{
	if (!h || h->closing)
		return;
	h->closing = true;
	h->done = done;
	h->done_ctx = ctx;
	while (h->reqs) {
		rg_http_req *r = h->reqs;
		void (*dropped)(void *) = r->dropped;
		void *rctx = r->ctx;
		rg_http_cancel(r);
		if (dropped)
			dropped(rctx);
	}
	CURLMcode mc = curl_multi_cleanup(h->multi);
	if (mc != CURLM_OK)
		rg_warn("http: curl: %s", curl_multi_strerror(mc));
	h->multi = NULL;
	while (h->socks)
		sock_close(h, h->socks);
	h->pending++;
	uv_close((uv_handle_t *)&h->timer, on_closed);
}

/* client.c — HTTP/JSON and Server-Sent Events client of the rollguard API,
 * on libcurl's easy interface (a multi handle only to tick while streaming).
 * It never prints, never follows redirects (the token must only reach the
 * server the user named) and never puts the token into a message. */
#include "cmd/client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/tokens.h"
#include "cmd/output.h"
#include "config/config.h"
#include "util/names.h"
#include "util/timeutil.h"

#define API_PREFIX "/api/v1"
#define BODY_MAX ((size_t)64 << 20)   /* a whole answer (logs are the largest) */
#define LINE_MAX_BYTES ((size_t)1 << 20)
#define SSE_DATA_MAX ((size_t)1 << 20)
#define CONNECT_TIMEOUT_MS 5000L
#define REQUEST_TIMEOUT_MS 30000L
#define TOKEN_MAX 400

/* ---- buffers ---------------------------------------------------------------- */

/* A zeroed buf is ready: its text is a zeroed rg_strbuf. */
typedef struct buf {
	rg_strbuf text;
	size_t limit;       /* most bytes kept, the NUL included */
	bool overflow;      /* past limit or out of memory: the transfer was aborted */
} buf;

static bool buf_append(buf *b, const char *p, size_t n)
{
	if (b->text.len + n + 1 > b->limit || rg_strbuf_add(&b->text, p, n)) {
		b->overflow = true;
		return false;
	}
	return true;
}

static size_t buf_write(char *p, size_t size, size_t n, void *ud)
{
	/* Returning less than asked makes curl abort with CURLE_WRITE_ERROR. */
	return buf_append(ud, p, size * n) ? size * n : 0;
}

/* ---- pure helpers ------------------------------------------------------------- */

rg_err rg_client_url_normalize(const char *in, char *out, size_t size, rg_error *err)
{
	size_t skip = !strncmp(in, "http://", 7) ? 7 : !strncmp(in, "https://", 8) ? 8 : 0;
	size_t n = strlen(in);
	while (n > skip && in[n - 1] == '/')
		n--;
	bool clean = skip && n > skip && in[skip] != '/';
	for (size_t i = 0; clean && i < n; i++)
		clean = in[i] > ' ' && in[i] < 0x7f;
	if (!clean)
		return rg_fail(err, RG_EINVAL, "url",
			       "invalid server url '%s' (expected http://HOST:PORT)", in);
	if (n + 1 > size)
		return rg_fail(err, RG_EINVAL, "url", "server url too long (%zu characters)", n);
	memcpy(out, in, n);
	out[n] = '\0';
	return RG_OK;
}

rg_err rg_client_query_add(char *path, size_t size, const char *key, const char *value,
			   rg_error *err)
{
	size_t n = strlen(path);
	int w = snprintf(path + n, size - n, "%c%s=", strchr(path, '?') ? '&' : '?', key);
	for (n += w > 0 ? (size_t)w : 0; n < size && *value; value++) {
		unsigned char ch = (unsigned char)*value;
		if (isalnum(ch) || strchr("-._~", ch))
			w = snprintf(path + n, size - n, "%c", ch);
		else
			w = snprintf(path + n, size - n, "%%%02X", ch);
		n += (size_t)w;
	}
	if (n >= size)
		return rg_fail(err, RG_EINVAL, key, "request path too long");
	return RG_OK;
}

bool rg_client_token_valid(const char *token)
{
	size_t n = strlen(token);
	if (n == 0 || n > TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (token[i] <= ' ' || token[i] >= 0x7f)
			return false;
	return true;
}

bool rg_client_state_terminal(const char *state)
{
	static const char *const terminal[] = {
		"succeeded", "failed", "rolled_back", "rollback_failed", "aborted",
	};
	for (size_t i = 0; state && i < sizeof terminal / sizeof *terminal; i++)
		if (!strcmp(state, terminal[i]))
			return true;
	return false;
}

/* ---- set-up ------------------------------------------------------------------------ */

/* Without ROLLGUARD_TOKEN: the admin token serve made in the state
 * directory that config (or ./rollguard.yaml) names, when this user can
 * read it. Silent when it cannot: the server then says what is missing. */
static void token_from_state(const char *config, char *out, size_t size)
{
	rg_config cfg;
	rg_diags diags = { 0 };
	rg_error ignored;
	char path[4096];
	out[0] = '\0';
	if (access(config, R_OK) != 0)
		return;
	if (!rg_config_load(config, &cfg, &diags, &ignored)) {
		snprintf(path, sizeof path, "%s/" RG_ADMIN_TOKEN_FILE, cfg.state_dir);
		if (rg_token_read_file(path, out, size, &ignored))
			out[0] = '\0';
		rg_config_release(&cfg);
	}
	rg_diags_release(&diags);
}

rg_err rg_client_init(rg_client *c, const char *config, rg_error *err)
{
	char from_file[TOKEN_MAX + 1];
	memset(c, 0, sizeof *c);
	const char *url = getenv("ROLLGUARD_URL");
	rg_err rc = rg_client_url_normalize(url && *url ? url : RG_CLIENT_DEFAULT_URL, c->url,
					    sizeof c->url, err);
	if (rc)
		return rc;
	const char *token = getenv("ROLLGUARD_TOKEN");
	if (!token || !*token) {
		token_from_state(config ? config : "rollguard.yaml", from_file, sizeof from_file);
		token = from_file;
	}
	if (*token) {
		if (!rg_client_token_valid(token))
			return rg_fail(err, RG_EINVAL, "token",
				       "ROLLGUARD_TOKEN is malformed (expected up to %d printable "
				       "characters without spaces)", TOKEN_MAX);
		snprintf(c->auth, sizeof c->auth, "Authorization: Bearer %s", token);
	}
	explicit_bzero(from_file, sizeof from_file);
	if (!(c->easy = curl_easy_init()))
		return rg_fail(err, RG_ENOMEM, NULL, "cannot start the http client");
	return RG_OK;
}

void rg_client_release(rg_client *c)
{
	if (c->easy)
		curl_easy_cleanup(c->easy);
	explicit_bzero(c->auth, sizeof c->auth);
	c->easy = NULL;
}

/* ---- one transfer ---------------------------------------------------------------- */

static rg_err headers_build(const rg_client *c, const char *accept, bool json_body,
			    int64_t last_event_id, struct curl_slist **out, rg_error *err)
{
	char accept_h[64], last_h[64];
	snprintf(accept_h, sizeof accept_h, "Accept: %s", accept);
	snprintf(last_h, sizeof last_h, "Last-Event-ID: %lld", (long long)last_event_id);
	const char *lines[] = {
		accept_h, c->auth[0] ? c->auth : NULL,
		json_body ? "Content-Type: application/json" : NULL,
		last_event_id > 0 ? last_h : NULL,
	};
	struct curl_slist *h = NULL;
	for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
		if (!lines[i])
			continue;
		struct curl_slist *n = curl_slist_append(h, lines[i]);
		if (!n) {
			curl_slist_free_all(h);
			return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
		}
		h = n;
	}
	*out = h;
	return RG_OK;
}

#define SETOPT(h, opt, val) do { if (cc == CURLE_OK) cc = curl_easy_setopt(h, opt, val); } while (0)

/* An https:// server is always verified (peer and host name); a server
 * with a certificate of its own (self-signed, a private CA) is trusted by
 * naming that certificate in ROLLGUARD_CACERT, never by skipping the check. */
static CURLcode easy_trust(CURL *h)
{
	const char *ca = getenv("ROLLGUARD_CACERT");
	CURLcode cc = CURLE_OK;
	SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca && *ca)
		SETOPT(h, CURLOPT_CAINFO, ca);
	return cc;
}

/* Options every request shares: where, who, how long, and no redirects. */
static CURLcode easy_common(CURL *h, const char *url, struct curl_slist *hdrs, char *errbuf)
{
	CURLcode cc = CURLE_OK;
	SETOPT(h, CURLOPT_URL, url);
	SETOPT(h, CURLOPT_HTTPHEADER, hdrs);
	SETOPT(h, CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	SETOPT(h, CURLOPT_USERAGENT, "rollguard-cli");
	return cc ? cc : easy_trust(h);
}

static void lower_first(char *s)
{
	if (s[0] && !isupper((unsigned char)s[1]))   /* "SSL …" stays as it is */
		s[0] = (char)tolower((unsigned char)s[0]);
}

/* A server whose certificate is not trusted: say how to trust it, since
 * turning verification off is not a way rollguard offers. */
static rg_err untrusted(const rg_client *c, const char *errbuf, rg_error *err)
{
	return rg_fail(err, RG_EIO, "url",
		       "cannot trust rollguard at %s (%s); name its certificate or CA in "
		       "ROLLGUARD_CACERT=FILE", c->url,
		       errbuf[0] ? errbuf : "certificate verification failed");
}

/* Transport failures: the ones meaning "nobody answered" become
 * RG_EUNAVAILABLE with field "url", so the caller can say how to start one. */
static rg_err transfer_error(const rg_client *c, CURL *h, CURLcode cc, const char *errbuf,
			     bool overflow, rg_error *err)
{
	char reason[128];
	long os_errno = 0;
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
		snprintf(reason, sizeof reason, "%s",
			 os_errno ? strerror((int)os_errno) : "could not connect");
		break;
	case CURLE_COULDNT_RESOLVE_HOST: snprintf(reason, sizeof reason, "unknown host"); break;
	case CURLE_OPERATION_TIMEDOUT: snprintf(reason, sizeof reason, "timed out"); break;
	case CURLE_GOT_NOTHING: snprintf(reason, sizeof reason, "empty reply"); break;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR: snprintf(reason, sizeof reason, "connection lost"); break;
	case CURLE_SSL_CONNECT_ERROR:
		snprintf(reason, sizeof reason, "tls handshake failed");
		break;
	case CURLE_PEER_FAILED_VERIFICATION: return untrusted(c, errbuf, err);
	default:
		if (overflow)
			return rg_fail(err, RG_EIO, NULL, "answer from %s too large (over %zu MiB)",
				       c->url, BODY_MAX >> 20);
		snprintf(reason, sizeof reason, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
		lower_first(reason);
		return rg_fail(err, RG_EIO, NULL, "request to %s failed: %s", c->url, reason);
	}
	lower_first(reason);
	return rg_fail(err, RG_EUNAVAILABLE, "url", "cannot reach rollguard at %s (%s)", c->url,
		       reason);
}

/* A 3xx/4xx/5xx answer: the server's {"error":{"code","message","field"}}. */
static rg_err http_error(long status, const buf *b, rg_error *err)
{
	rg_err code = rg_err_from_http_status((int)status);
	if (code == RG_OK)
		code = RG_EINTERNAL;
	json_t *j = b->text.len ? json_loadb(b->text.buf, b->text.len, 0, NULL) : NULL;
	json_t *e = json_object_get(j, "error");
	const char *msg = json_string_value(json_object_get(e, "message"));
	const char *field = json_string_value(json_object_get(e, "field"));
	if (code == RG_EUNAVAILABLE)
		field = NULL;   /* it answered: "url" is reserved for "nobody answered" */
	if (msg)
		rg_fail(err, code, field, "%s", msg);
	else
		rg_fail(err, code, NULL, "server answered HTTP %ld", status);
	json_decref(j);
	return code;
}

static rg_err perform(rg_client *c, bool post, const char *path, const char *payload,
		      const char *accept, buf *resp, long *status, rg_error *err)
{
	char url[1024];
	if ((size_t)snprintf(url, sizeof url, "%s%s%s", c->url, API_PREFIX, path) >= sizeof url)
		return rg_fail(err, RG_EINVAL, NULL, "request path too long");
	struct curl_slist *hdrs = NULL;
	rg_err rc = headers_build(c, accept, post, 0, &hdrs, err);
	if (rc)
		return rc;
	CURL *h = c->easy;
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_reset(h);
	CURLcode cc = easy_common(h, url, hdrs, errbuf);
	SETOPT(h, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
	SETOPT(h, CURLOPT_WRITEFUNCTION, buf_write);
	SETOPT(h, CURLOPT_WRITEDATA, resp);
	if (post)
		SETOPT(h, CURLOPT_POSTFIELDS, payload ? payload : "{}");
	if (cc == CURLE_OK)
		cc = curl_easy_perform(h);
	curl_slist_free_all(hdrs);
	if (cc != CURLE_OK)
		return transfer_error(c, h, cc, errbuf, resp->overflow, err);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	return RG_OK;
}

rg_err rg_client_call(rg_client *c, const char *method, const char *path,
		      const json_t *body, json_t **out, rg_error *err)
{
	*out = NULL;
	bool post = !strcmp(method, "POST");
	char *payload = NULL;
	/* A control POST carries "{}", so a server that parses every body is happy. */
	if (post && !(payload = body ? json_dumps(body, JSON_COMPACT) : strdup("{}")))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	buf resp = { .limit = BODY_MAX };
	long status = 0;
	rg_err rc = perform(c, post, path, payload, "application/json", &resp, &status, err);
	free(payload);
	if (!rc && (status < 200 || status > 299))
		rc = http_error(status, &resp, err);
	if (!rc) {
		json_error_t je;
		const char *text = resp.text.len ? resp.text.buf : "";
		*out = json_loadb(text, resp.text.len, JSON_REJECT_DUPLICATES, &je);
		if (!*out)
			rc = rg_fail(err, RG_EIO, NULL, "answer from %s is not JSON (%s)", c->url,
				     je.text);
	}
	rg_strbuf_release(&resp.text);
	return rc;
}

rg_err rg_client_get_text(rg_client *c, const char *path, char **text, size_t *len,
			  rg_error *err)
{
	*text = NULL;
	*len = 0;
	buf resp = { .limit = BODY_MAX };
	long status = 0;
	rg_err rc = perform(c, false, path, NULL, "text/plain", &resp, &status, err);
	if (!rc && (status < 200 || status > 299))
		rc = http_error(status, &resp, err);
	if (!rc && !(*text = rg_strbuf_detach(&resp.text, len)))
		rc = rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	if (rc) {
		rg_strbuf_release(&resp.text);
		*len = 0;
		return rc;
	}
	return RG_OK;
}

/* ---- lines and Server-Sent Events ---------------------------------------------------- */

size_t rg_cli_lines_take(char *b, size_t len, rg_line_fn fn, void *ctx, int *stopped)
{
	size_t start = 0;
	*stopped = 0;
	while (start < len) {
		char *nl = memchr(b + start, '\n', len - start);
		if (!nl)
			break;
		size_t end = (size_t)(nl - b), n = end - start;
		if (n > 0 && b[end - 1] == '\r')
			n--;
		b[start + n] = '\0';
		int stop = fn(ctx, b + start, n);
		start = end + 1;
		if (stop) {
			*stopped = 1;
			break;
		}
	}
	return start;
}

void rg_cli_sse_init(rg_cli_sse *p)
{
	memset(p, 0, sizeof *p);
	rg_strbuf_init(&p->data);
}

void rg_cli_sse_release(rg_cli_sse *p)
{
	rg_strbuf_release(&p->data);
	rg_cli_sse_init(p);
}

static int sse_data_append(rg_cli_sse *p, const char *v, size_t n)
{
	/* Room for the '\n' separator first, so neither add below can fail
	 * and a failure keeps data as it was. */
	if (p->data.len + n + 2 > SSE_DATA_MAX || rg_strbuf_grow(&p->data, n + 1))
		return -1;
	if (p->has_data)
		rg_strbuf_add(&p->data, "\n", 1);
	rg_strbuf_add(&p->data, v, n);
	p->has_data = true;
	return 0;
}

static void sse_reset_event(rg_cli_sse *p)
{
	p->event[0] = '\0';
	rg_strbuf_reset(&p->data);
	p->has_data = false;
	p->dispatched = false;
}

static void copy_field(char *dst, size_t size, const char *v, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

int rg_cli_sse_line(rg_cli_sse *p, const char *line, size_t len)
{
	if (p->dispatched)
		sse_reset_event(p);
	if (len == 0) {
		if (!p->has_data) {   /* an event without data is not dispatched */
			sse_reset_event(p);
			return 0;
		}
		if (!p->event[0])
			snprintf(p->event, sizeof p->event, "message");
		p->dispatched = true;
		return 1;
	}
	if (line[0] == ':')
		return 0;   /* a comment: keep-alive */
	const char *colon = memchr(line, ':', len);
	size_t name_len = colon ? (size_t)(colon - line) : len;
	const char *v = colon ? colon + 1 : line + len;
	size_t vn = len - (size_t)(v - line);
	if (vn > 0 && v[0] == ' ') {
		v++;
		vn--;
	}
	if (name_len == 4 && !memcmp(line, "data", 4))
		return sse_data_append(p, v, vn);
	if (name_len == 5 && !memcmp(line, "event", 5))
		copy_field(p->event, sizeof p->event, v, vn);
	else if (name_len == 2 && !memcmp(line, "id", 2) && !memchr(v, '\0', vn))
		copy_field(p->id, sizeof p->id, v, vn);
	return 0;   /* "retry" and unknown fields are ignored, as the spec says */
}

/* ---- streaming --------------------------------------------------------------------- */

typedef struct stream {
	CURL *h;
	buf pending;        /* bytes of the event stream not yet cut into lines */
	buf other;          /* the body of an answer that is not an event stream */
	long status;
	bool checked, is_sse;
} stream;

static size_t stream_write(char *p, size_t size, size_t n, void *ud)
{
	stream *s = ud;
	if (!s->checked) {
		char *ct = NULL;
		curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
		curl_easy_getinfo(s->h, CURLINFO_CONTENT_TYPE, &ct);
		s->is_sse = s->status == 200 && ct && !strncmp(ct, "text/event-stream", 17);
		s->checked = true;
	}
	return buf_write(p, size, n, s->is_sse ? &s->pending : &s->other);
}

/* Cuts the complete lines out of s->pending; returns nonzero if on_line stopped. */
static int stream_drain(stream *s, rg_line_fn on_line, void *ctx)
{
	int stopped = 0;
	if (!s->pending.text.len)
		return 0;
	rg_strbuf *t = &s->pending.text;
	size_t used = rg_cli_lines_take(t->buf, t->len, on_line, ctx, &stopped);
	memmove(t->buf, t->buf + used, t->len - used);
	rg_strbuf_setlen(t, t->len - used);
	return stopped;
}

/* Runs the transfer on a multi handle so on_tick gets called while the
 * server is silent; returns 1 if a callback stopped it, 0 when it finished
 * (*cc tells how), -1 when curl itself failed. */
static int stream_loop(CURLM *m, stream *s, rg_line_fn on_line, rg_tick_fn on_tick,
		       void *ctx, CURLcode *cc)
{
	int running = 1;
	for (;;) {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			return -1;
		if (s->is_sse && stream_drain(s, on_line, ctx))
			return 1;
		if (on_tick && on_tick(ctx))
			return 1;
		if (!running)
			break;
		if (curl_multi_poll(m, NULL, 0, 250, NULL) != CURLM_OK)
			return -1;
	}
	int left = 0;
	CURLMsg *msg = curl_multi_info_read(m, &left);
	*cc = msg && msg->msg == CURLMSG_DONE ? msg->data.result : CURLE_OK;
	return 0;
}

static rg_err stream_result(rg_client *c, stream *s, int how, CURLcode cc, const char *errbuf,
			    rg_error *err)
{
	if (how == 1)
		return RG_OK;
	if (how < 0)
		return rg_fail(err, RG_EIO, NULL, "event stream from %s failed", c->url);
	if (cc != CURLE_OK)
		return transfer_error(c, s->h, cc, errbuf, s->pending.overflow || s->other.overflow,
				      err);
	if (s->status < 200 || s->status > 299)
		return http_error(s->status, &s->other, err);
	if (!s->is_sse)
		return rg_fail(err, RG_EIO, NULL, "%s did not answer with an event stream", c->url);
	return RG_OK;
}

rg_err rg_client_stream(rg_client *c, const char *path, int64_t last_event_id,
			rg_line_fn on_line, rg_tick_fn on_tick, void *ctx, rg_error *err)
{
	char url[1024];
	if ((size_t)snprintf(url, sizeof url, "%s%s%s", c->url, API_PREFIX, path) >= sizeof url)
		return rg_fail(err, RG_EINVAL, NULL, "request path too long");
	struct curl_slist *hdrs = NULL;
	rg_err rc = headers_build(c, "text/event-stream", false, last_event_id, &hdrs, err);
	if (rc)
		return rc;
	stream s = { .pending.limit = LINE_MAX_BYTES, .other.limit = BODY_MAX };
	CURLM *m = curl_multi_init();
	s.h = curl_easy_init();
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode cc = m && s.h ? easy_common(s.h, url, hdrs, errbuf) : CURLE_OUT_OF_MEMORY;
	SETOPT(s.h, CURLOPT_WRITEFUNCTION, stream_write);
	SETOPT(s.h, CURLOPT_WRITEDATA, &s);
	if (cc != CURLE_OK || curl_multi_add_handle(m, s.h) != CURLM_OK) {
		rc = rg_fail(err, RG_ENOMEM, NULL, "cannot open the event stream");
	} else {
		int how = stream_loop(m, &s, on_line, on_tick, ctx, &cc);
		rc = stream_result(c, &s, how, cc, errbuf, err);
		curl_multi_remove_handle(m, s.h);
	}
	curl_easy_cleanup(s.h);
	curl_multi_cleanup(m);
	curl_slist_free_all(hdrs);
	rg_strbuf_release(&s.pending.text);
	rg_strbuf_release(&s.other.text);
	return rc;
}

/* ---- following a run ------------------------------------------------------------------
 *
 * The stream gives events as they happen; GET /runs/{id} gives the truth. Both
 * feed the observer through one filter (event id > last_id), so an event seen
 * on the stream and again in a snapshot is told once. The snapshot is fetched
 * after new events when the observer wants runs, every few seconds anyway (a
 * stream that stalls without closing cannot hide the run's end), and every
 * 500 ms once the stream broke. A server that goes away is retried for a
 * minute, since a restart resumes every run. */

#define FOLLOW_POLL_MS 500
#define FOLLOW_REFRESH_MS 250
#define FOLLOW_CHECK_MS 5000
#define FOLLOW_GIVE_UP_MS 60000

typedef struct follow {
	rg_client *c;
	int64_t run_id;
	const rg_follow_ops *ops;
	void *ctx;
	rg_cli_sse sse;
	int64_t last_id;         /* newest event handed to on_event */
	json_t *run;             /* newest snapshot */
	bool done, stop, ended, dirty;
	int64_t refreshed_ms;    /* monotonic */
	int64_t failing_since;   /* monotonic start of failed snapshots in a row; 0 = none */
	rg_err rc;               /* a fatal error, filled into err */
	rg_error *err;
} follow;

static void follow_event(follow *f, const json_t *ev, int64_t id)
{
	if (id > 0)
		f->last_id = id;
	if (f->ops->on_event && f->ops->on_event(f->ctx, ev))
		f->stop = true;
	f->dirty = true;
}

static bool transient(rg_err rc)
{
	return rc == RG_EUNAVAILABLE || rc == RG_EIO || rc == RG_EINTERNAL;
}

static void follow_take_snapshot(follow *f, json_t *run)
{
	json_t *events = json_object_get(run, "events");
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) {
		json_int_t id = json_integer_value(json_object_get(ev, "id"));
		if (id > f->last_id && !f->stop)
			follow_event(f, ev, id);
	}
	json_decref(f->run);
	f->run = run;
	f->dirty = false;
	if (f->ops->on_run && f->ops->on_run(f->ctx, run))
		f->stop = true;
	if (rg_client_state_terminal(json_string_value(json_object_get(run, "state"))))
		f->done = true;
}

static void follow_refresh(follow *f)
{
	char path[64];
	snprintf(path, sizeof path, "/runs/%lld", (long long)f->run_id);
	rg_error e;
	json_t *run = NULL;
	rg_error_clear(&e);
	rg_err rc = rg_client_call(f->c, "GET", path, NULL, &run, &e);
	int64_t now = rg_mono_ms();
	f->refreshed_ms = now;
	bool given_up = f->failing_since && now - f->failing_since > FOLLOW_GIVE_UP_MS;
	if (rc && (!transient(rc) || given_up)) {
		*f->err = e;
		f->rc = rc;
	} else if (rc && !f->failing_since) {
		f->failing_since = now;
	} else if (!rc) {
		f->failing_since = 0;
		follow_take_snapshot(f, run);
	}
}

static int follow_line(void *ctx, const char *line, size_t len)
{
	follow *f = ctx;
	int r = rg_cli_sse_line(&f->sse, line, len);
	if (r < 0)
		return 1;   /* treat as a broken stream: polling takes over */
	if (r == 0)
		return 0;
	if (!strcmp(f->sse.event, "end")) {
		f->ended = true;
		return 1;
	}
	json_t *ev = json_loads(f->sse.data.buf, 0, NULL);
	json_int_t id = json_integer_value(json_object_get(ev, "id"));
	if (!id)
		id = strtoll(f->sse.id, NULL, 10);
	/* An event without any id cannot be matched against snapshots: tell it as is. */
	if (json_is_object(ev) && (id > f->last_id || id <= 0))
		follow_event(f, ev, id);
	json_decref(ev);
	return f->stop;
}

static int follow_tick(void *ctx)
{
	follow *f = ctx;
	if (f->ops->on_tick && f->ops->on_tick(f->ctx))
		f->stop = true;
	int64_t since = rg_mono_ms() - f->refreshed_ms;
	if (!f->stop && ((f->dirty && f->ops->on_run && since >= FOLLOW_REFRESH_MS) ||
			 since >= FOLLOW_CHECK_MS))
		follow_refresh(f);
	return f->stop || f->done || f->rc;
}

static void follow_sleep(follow *f, int64_t ms)
{
	int64_t until = rg_mono_ms() + ms;
	while (!f->stop && rg_mono_ms() < until) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		if (f->ops->on_tick && f->ops->on_tick(f->ctx))
			f->stop = true;
	}
}

rg_err rg_client_follow(rg_client *c, int64_t run_id, const rg_follow_ops *ops, void *ctx,
			json_t **final, rg_error *err)
{
	follow f = { .c = c, .run_id = run_id, .ops = ops, .ctx = ctx, .err = err };
	char path[80];
	snprintf(path, sizeof path, "/runs/%lld/events", (long long)run_id);
	rg_cli_sse_init(&f.sse);
	follow_refresh(&f);
	if (!f.rc && !f.done && !f.stop) {
		rg_error ignored;   /* a stream that cannot open or breaks: poll instead */
		rg_client_stream(c, path, f.last_id, follow_line, follow_tick, &f, &ignored);
	}
	while (!f.rc && !f.done && !f.stop) {
		if (!f.ended)
			follow_sleep(&f, FOLLOW_POLL_MS);
		f.ended = false;
		if (!f.stop)
			follow_refresh(&f);
	}
	rg_cli_sse_release(&f.sse);
	if (f.rc) {
		json_decref(f.run);
		*final = NULL;
		return f.rc;
	}
	*final = f.run;
	return RG_OK;
}

int rg_client_list(const char *config, const char *path, const char *key, bool json,
		   int (*print)(const json_t *list))
{
	rg_client c;
	rg_error e;
	json_t *answer = NULL;
	rg_error_clear(&e);
	if (rg_client_init(&c, config, &e) || rg_client_call(&c, "GET", path, NULL, &answer, &e)) {
		rg_client_release(&c);
		return rg_out_error(&e);
	}
	rg_client_release(&c);
	json_t *list = json_object_get(answer, key);
	int code = json ? rg_out_json(list) : print(list);
	json_decref(answer);
	return code;
}

/* sse.c — Server-Sent Events streams of a run's timeline.
 * A stream reads committed events from the store and never waits: with
 * nothing to send it suspends its connection and returns 0. It must never
 * resume a connection that is not suspended (undefined in libmicrohttpd). */
#include "api/sse.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsontext.h"
#include "util/log.h"
#include "util/strbuf.h"

typedef struct sse_stream {
	rg_sse_hub *hub;              /* NULL once the hub is gone */
	struct MHD_Connection *conn;
	int64_t run_id;
	int64_t last_id;              /* newest event id sent */
	rg_strbuf out;                /* from out_off on: bytes not yet handed to MHD */
	size_t out_off;
	bool suspended;               /* we suspended it and nobody resumed it yet */
	bool keepalive;               /* a keep-alive is due */
	bool finished;                /* the end frame is queued */
	struct sse_stream *prev, *next;
} sse_stream;

struct rg_sse_hub {
	rg_store *store;
	rg_sse_kick_fn kick;
	void *kick_ctx;
	sse_stream *head;
	size_t n;
	bool closing;
};

/* ---- framing (pure) ---------------------------------------------------------- */

/* An event type goes on its own line of the stream; anything that could
 * break the framing is replaced by the generic SSE type. */
static const char *frame_type(const char *type)
{
	if (!type || !*type || strlen(type) > 64 ||
	    strspn(type, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-") !=
		    strlen(type))
		return "message";
	return type;
}

rg_err rg_sse_format_event(const json_t *event, char **out, size_t *len, rg_error *err)
{
	*out = NULL;
	json_t *id = json_object_get(event, "id");
	if (!json_is_integer(id))
		return rg_fail(err, RG_EINTERNAL, NULL, "event without an integer id");
	const char *type = frame_type(json_string_value(json_object_get(event, "type")));
	char head[128];   /* the type is at most 64 characters */
	snprintf(head, sizeof head, "id: %lld\nevent: %s\ndata: ",
		 (long long)json_integer_value(id), type);
	/* Compact JSON has no raw newline: jansson escapes them inside strings. */
	if (!(*out = rg_json_frame(event, head, "\n\n", len)))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory for an event");
	return RG_OK;
}

/* ---- stream buffer ----------------------------------------------------------- */

static rg_err out_append(sse_stream *s, const char *p, size_t n, rg_error *err)
{
	if (s->out_off == s->out.len) {
		s->out_off = 0;
		rg_strbuf_reset(&s->out);
	}
	if (rg_strbuf_add(&s->out, p, n))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory for an event stream");
	return RG_OK;
}

static rg_err append_events(sse_stream *s, const json_t *events, rg_error *err)
{
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) {
		char *frame;
		size_t len;
		rg_err rc = rg_sse_format_event(ev, &frame, &len, err);
		if (rc)
			return rc;
		rc = out_append(s, frame, len, err);
		free(frame);
		if (rc)
			return rc;
		s->last_id = json_integer_value(json_object_get(ev, "id"));
	}
	return RG_OK;
}

static rg_err append_end(sse_stream *s, const char *state, rg_error *err)
{
	json_t *o = json_pack("{s:s}", "state", state);
	size_t n = 0;
	char *frame = rg_json_frame(o, "event: end\ndata: ", "\n\n", &n);
	json_decref(o);
	if (!frame)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory for an event stream");
	rg_err rc = out_append(s, frame, n, err);
	free(frame);
	s->finished = true;
	return rc;
}

/* The run's state is read before its events: a terminal state seen here
 * was committed together with its last event, so when the events read
 * afterwards are all sent, nothing is left and the stream may end. */
static rg_err stream_fill(sse_stream *s, rg_error *err)
{
	rg_run run;
	memset(&run, 0, sizeof run);
	rg_err rc = rg_store_run_get(s->hub->store, s->run_id, &run, err);
	if (rc)
		return rc;
	bool terminal = rg_run_state_terminal(run.state);
	char state[RG_STATE_LEN];
	snprintf(state, sizeof state, "%s", rg_run_state_name(run.state));
	rg_run_release(&run);

	json_t *events = NULL;
	rc = rg_store_events_json(s->hub->store, s->run_id, s->last_id, &events, err);
	if (rc)
		return rc;
	if (json_array_size(events) > 0) {
		rc = append_events(s, events, err);
		s->keepalive = false;
	} else if (terminal) {
		rc = append_end(s, state, err);
	} else if (s->keepalive) {
		static const char comment[] = ": keep-alive\n\n";
		rc = out_append(s, comment, sizeof comment - 1, err);
		s->keepalive = false;
	}
	json_decref(events);
	return rc;
}

/* ---- MHD callbacks ----------------------------------------------------------- */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	sse_stream *s = cls;
	if (s->out_off == s->out.len) {
		if (s->finished || !s->hub || s->hub->closing)
			return MHD_CONTENT_READER_END_OF_STREAM;
		rg_error err;
		rg_error_clear(&err);
		if (stream_fill(s, &err)) {
			rg_warn("api: events stream of run %lld: %s", (long long)s->run_id,
				err.message);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		if (s->out_off == s->out.len) {
			MHD_suspend_connection(s->conn);
			s->suspended = true;
			return 0;
		}
	}
	size_t n = s->out.len - s->out_off;
	if (n > max)
		n = max;
	memcpy(buf, s->out.buf + s->out_off, n);
	s->out_off += n;
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	sse_stream *s = cls;
	if (s->hub) {
		if (s->prev)
			s->prev->next = s->next;
		else
			s->hub->head = s->next;
		if (s->next)
			s->next->prev = s->prev;
		s->hub->n--;
	}
	rg_strbuf_release(&s->out);
	free(s);
}

/* ---- hub --------------------------------------------------------------------- */

rg_err rg_sse_hub_new(rg_store *store, rg_sse_kick_fn kick, void *kick_ctx, rg_sse_hub **out,
		      rg_error *err)
{
	rg_sse_hub *hub = calloc(1, sizeof *hub);
	if (!hub)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	hub->store = store;
	hub->kick = kick;
	hub->kick_ctx = kick_ctx;
	*out = hub;
	return RG_OK;
}

static bool stream_wake(sse_stream *s)
{
	if (!s->suspended)
		return false;   /* it reads the store again before it next waits */
	s->suspended = false;
	MHD_resume_connection(s->conn);
	return true;
}

void rg_sse_notify(rg_sse_hub *hub, int64_t run_id)
{
	bool woke = false;
	for (sse_stream *s = hub->head; s; s = s->next)
		if (s->run_id == run_id)
			woke |= stream_wake(s);
	if (woke && hub->kick)
		hub->kick(hub->kick_ctx);
}

void rg_sse_keepalive(rg_sse_hub *hub)
{
	bool woke = false;
	for (sse_stream *s = hub->head; s; s = s->next) {
		s->keepalive = true;
		woke |= stream_wake(s);
	}
	if (woke && hub->kick)
		hub->kick(hub->kick_ctx);
}

void rg_sse_hub_shutdown(rg_sse_hub *hub)
{
	hub->closing = true;
	for (sse_stream *s = hub->head; s; s = s->next)
		stream_wake(s);
}

void rg_sse_hub_free(rg_sse_hub *hub)
{
	if (!hub)
		return;
	/* MHD_stop_daemon freed every stream; should one survive, it must not
	 * touch the hub later. */
	for (sse_stream *s = hub->head; s; s = s->next)
		s->hub = NULL;
	free(hub);
}

size_t rg_sse_hub_streams(const rg_sse_hub *hub)
{
	return hub->n;
}

static rg_err stream_headers(struct MHD_Response *r, rg_error *err)
{
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream") &&
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache") &&
	    /* nginx would otherwise buffer the stream */
	    MHD_add_response_header(r, "X-Accel-Buffering", "no"))
		return RG_OK;
	return rg_fail(err, RG_ENOMEM, NULL, "out of memory for response headers");
}

rg_err rg_sse_open(rg_sse_hub *hub, struct MHD_Connection *conn, int64_t run_id,
		   int64_t after_id, struct MHD_Response **out, rg_error *err)
{
	sse_stream *s = calloc(1, sizeof *s);
	if (!s)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	s->hub = hub;
	s->conn = conn;
	s->run_id = run_id;
	s->last_id = after_id;
	/* Something to send at once, so the headers go out without waiting
	 * for the first event; it also tells clients when to reconnect. */
	char retry[32];
	int n = snprintf(retry, sizeof retry, "retry: %d\n\n", RG_SSE_RETRY_MS);
	rg_err rc = out_append(s, retry, (size_t)n, err);
	struct MHD_Response *r = rc ? NULL :
		MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, s,
						  stream_free);
	if (!r) {
		rg_strbuf_release(&s->out);
		free(s);
		return rc ? rc : rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	}
	s->next = hub->head;
	if (hub->head)
		hub->head->prev = s;
	hub->head = s;
	hub->n++;
	rc = stream_headers(r, err);
	if (rc) {
		MHD_destroy_response(r);   /* frees s through stream_free */
		return rc;
	}
	*out = r;
	return RG_OK;
}

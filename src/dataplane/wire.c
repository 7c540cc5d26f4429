/* wire.c — framing and codecs of the controller ↔ proxy protocol (wire.h).
 * Bounded everywhere: a frame never exceeds RG_WIRE_MAX_PAYLOAD, a string
 * never its destination, and a reader holds at most two frames' bytes. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/wire.h"

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* ---- writing ---------------------------------------------------------------- */

void rg_wire_begin(rg_wire_buf *b, rg_wire_type type, uint32_t seq)
{
	put_le(b->data, RG_WIRE_MAGIC, 4);
	put_le(b->data + 4, RG_WIRE_VERSION, 2);
	put_le(b->data + 6, (uint64_t)type, 2);
	put_le(b->data + 8, 0, 4);
	put_le(b->data + 12, seq, 4);
	b->len = RG_WIRE_HDR;
	b->overflow = false;
}

static uint8_t *room(rg_wire_buf *b, size_t n)
{
	if (b->overflow || b->len + n > sizeof b->data) {
		b->overflow = true;
		return NULL;
	}
	uint8_t *p = b->data + b->len;
	b->len += n;
	return p;
}

void rg_wire_put_u32(rg_wire_buf *b, uint32_t v)
{
	uint8_t *p = room(b, 4);
	if (p)
		put_le(p, v, 4);
}

void rg_wire_put_i64(rg_wire_buf *b, int64_t v)
{
	uint8_t *p = room(b, 8);
	if (p)
		put_le(p, (uint64_t)v, 8);
}

void rg_wire_put_str(rg_wire_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n > UINT16_MAX) {
		b->overflow = true;
		return;
	}
	uint8_t *p = room(b, 2 + n);
	if (p) {
		put_le(p, n, 2);
		memcpy(p + 2, s, n);
	}
}

rg_err rg_wire_end(rg_wire_buf *b, rg_error *err)
{
	if (b->overflow)
		return rg_fail(err, RG_ETOOLARGE, NULL, "a proxy message over %d bytes",
			       RG_WIRE_MAX_PAYLOAD);
	put_le(b->data + 8, b->len - RG_WIRE_HDR, 4);
	return RG_OK;
}

/* ---- reading ---------------------------------------------------------------- */

void rg_wire_reader_init(rg_wire_reader *r)
{
	r->len = r->used = 0;
}

/* Frames handed out are dropped only now, so their payload stayed valid. */
static void compact(rg_wire_reader *r)
{
	if (r->used == 0)
		return;
	memmove(r->data, r->data + r->used, r->len - r->used);
	r->len -= r->used;
	r->used = 0;
}

uint8_t *rg_wire_space(rg_wire_reader *r, size_t *n)
{
	compact(r);
	*n = sizeof r->data - r->len;
	return r->data + r->len;
}

void rg_wire_filled(rg_wire_reader *r, size_t n)
{
	r->len += n;
}

int rg_wire_next(rg_wire_reader *r, rg_wire_msg *m, rg_error *err)
{
	compact(r);
	if (r->len < RG_WIRE_HDR)
		return 0;
	const uint8_t *h = r->data;
	uint32_t magic = (uint32_t)get_le(h, 4);
	unsigned version = (unsigned)get_le(h + 4, 2), type = (unsigned)get_le(h + 6, 2);
	uint32_t len = (uint32_t)get_le(h + 8, 4);
	if (magic != RG_WIRE_MAGIC)
		return -rg_fail(err, RG_EIO, NULL, "the peer does not speak the proxy protocol");
	if (version != RG_WIRE_VERSION)
		return -rg_fail(err, RG_EIO, NULL, "proxy protocol version %u, want %d", version,
				RG_WIRE_VERSION);
	if (type == 0 || type >= RG_WIRE_TYPES || len > RG_WIRE_MAX_PAYLOAD)
		return -rg_fail(err, RG_EIO, NULL, "bad proxy message (type %u, %u bytes)", type,
				(unsigned)len);
	if (r->len < RG_WIRE_HDR + (size_t)len)
		return 0;
	m->type = (rg_wire_type)type;
	m->seq = (uint32_t)get_le(h + 12, 4);
	m->len = len;
	m->payload = h + RG_WIRE_HDR;
	r->used = RG_WIRE_HDR + len;
	return 1;
}

void rg_wire_cursor_init(rg_wire_cursor *c, const rg_wire_msg *m)
{
	c->p = m->payload;
	c->left = m->len;
	c->bad = false;
}

static const uint8_t *take(rg_wire_cursor *c, size_t n)
{
	if (c->bad || c->left < n) {
		c->bad = true;
		return NULL;
	}
	const uint8_t *p = c->p;
	c->p += n;
	c->left -= n;
	return p;
}

uint32_t rg_wire_get_u32(rg_wire_cursor *c)
{
	const uint8_t *p = take(c, 4);
	return p ? (uint32_t)get_le(p, 4) : 0;
}

int64_t rg_wire_get_i64(rg_wire_cursor *c)
{
	const uint8_t *p = take(c, 8);
	return p ? (int64_t)get_le(p, 8) : 0;
}

void rg_wire_get_str(rg_wire_cursor *c, char *out, size_t size)
{
	out[0] = '\0';
	const uint8_t *p = take(c, 2);
	size_t n = p ? (size_t)get_le(p, 2) : 0;
	const uint8_t *s = p ? take(c, n) : NULL;
	if (!s)
		return;
	if (n >= size || memchr(s, '\0', n)) {
		c->bad = true;
		return;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

rg_err rg_wire_done(const rg_wire_cursor *c, const char *what, rg_error *err)
{
	if (c->bad || c->left)
		return rg_fail(err, RG_EINVAL, NULL, "bad %s message", what);
	return RG_OK;
}

/* ---- the route state -------------------------------------------------------- */

void rg_wire_put_routes(rg_wire_buf *b, const rg_route_state *st)
{
	rg_wire_put_str(b, st->env);
	rg_wire_put_str(b, st->stable_version);
	rg_wire_put_str(b, st->stable);
	rg_wire_put_str(b, st->canary_version);
	rg_wire_put_str(b, st->canary);
	rg_wire_put_u32(b, (uint32_t)st->canary_weight);
	rg_wire_put_str(b, st->standby_version);
	rg_wire_put_str(b, st->standby);
	rg_wire_put_i64(b, st->seed);
	rg_wire_put_i64(b, st->run_id);
	rg_wire_put_i64(b, st->updated);
}

rg_err rg_wire_get_routes(const rg_wire_msg *m, rg_route_state *st, rg_error *err)
{
	rg_wire_cursor c;
	rg_wire_cursor_init(&c, m);
	memset(st, 0, sizeof *st);
	rg_wire_get_str(&c, st->env, sizeof st->env);
	rg_wire_get_str(&c, st->stable_version, sizeof st->stable_version);
	rg_wire_get_str(&c, st->stable, sizeof st->stable);
	rg_wire_get_str(&c, st->canary_version, sizeof st->canary_version);
	rg_wire_get_str(&c, st->canary, sizeof st->canary);
	st->canary_weight = (int)(int32_t)rg_wire_get_u32(&c);
	rg_wire_get_str(&c, st->standby_version, sizeof st->standby_version);
	rg_wire_get_str(&c, st->standby, sizeof st->standby);
	st->seed = rg_wire_get_i64(&c);
	st->run_id = rg_wire_get_i64(&c);
	st->updated = rg_wire_get_i64(&c);
	return rg_wire_done(&c, "routes", err);
}

/* ---- descriptors -------------------------------------------------------------- */

rg_err rg_wire_send_fds(int sock, const rg_wire_buf *b, const int *fds, size_t n_fds,
			rg_error *err)
{
	if (n_fds > RG_WIRE_MAX_FDS)
		return rg_fail(err, RG_EINVAL, NULL, "too many descriptors (%zu)", n_fds);
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * RG_WIRE_MAX_FDS)];
	} ctl;
	memset(&ctl, 0, sizeof ctl);
	struct iovec iov = { (void *)b->data, b->len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (n_fds) {
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	ssize_t n;
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)b->len)
		return rg_fail(err, RG_EIO, NULL, "cannot send to the proxy socket: %s",
			       n < 0 ? strerror(errno) : "short write");
	return RG_OK;
}

static void keep_fds(struct msghdr *msg, int *fds, size_t max, size_t *n_fds)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int got[RG_WIRE_MAX_FDS];
		memcpy(got, CMSG_DATA(c), sizeof(int) * (k > RG_WIRE_MAX_FDS ? RG_WIRE_MAX_FDS : k));
		for (size_t i = 0; i < k && i < RG_WIRE_MAX_FDS; i++) {
			if (*n_fds < max)
				fds[(*n_fds)++] = got[i];
			else
				close(got[i]);
		}
	}
}

rg_err rg_wire_recv(int sock, rg_wire_reader *r, rg_wire_msg *m, int *fds, size_t max,
		    size_t *n_fds, int timeout_ms, rg_error *err)
{
	*n_fds = 0;
	for (;;) {
		int got = rg_wire_next(r, m, err);
		if (got < 0)
			return -got;
		if (got > 0)
			return RG_OK;
		struct pollfd p = { .fd = sock, .events = POLLIN };
		int pr = poll(&p, 1, timeout_ms);
		if (pr == 0)
			return rg_fail(err, RG_EUNAVAILABLE, NULL, "the proxy did not answer within %d ms",
				       timeout_ms);
		if (pr < 0 && errno == EINTR)
			continue;
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int) * RG_WIRE_MAX_FDS)];
		} ctl;
		size_t space;
		uint8_t *dst = rg_wire_space(r, &space);
		struct iovec iov = { dst, space };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				      .msg_controllen = sizeof ctl.buf };
		ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return rg_fail(err, RG_EUNAVAILABLE, NULL, "the proxy socket closed%s%s",
				       n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
		keep_fds(&msg, fds, max, n_fds);
		rg_wire_filled(r, (size_t)n);
	}
}

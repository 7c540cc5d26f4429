/* wire.h — the controller ↔ proxy protocol on STATE/proxy.sock (after
 * OpenBSD's imsg): a fixed 16-byte header, then at most RG_WIRE_MAX_PAYLOAD
 * bytes of payload, file descriptors alongside with SCM_RIGHTS. Nothing is
 * parsed that was not framed: a frame with a bad magic, version or length
 * ends the connection. Integers are little-endian, strings a u16 length and
 * their bytes (no NUL). Described in docs/dataplane.md.
 *
 *   header: u32 magic "RGDP" | u16 version | u16 type | u32 length | u32 seq
 *
 * Pure framing and codecs: no socket is read or written here except by the
 * two descriptor-passing helpers, which are blocking and only used at a
 * hand-over (never on the controller's loop). */
#ifndef RG_DATAPLANE_WIRE_H
#define RG_DATAPLANE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

#define RG_WIRE_MAGIC 0x50444752u /* "RGDP" read as little-endian bytes */
#define RG_WIRE_VERSION 1
#define RG_WIRE_HDR 16
#define RG_WIRE_MAX_PAYLOAD 16384
#define RG_WIRE_MAX_FDS 64

typedef enum rg_wire_type {
	RG_WIRE_HELLO = 1,    /* controller → proxy: u32 version, i32 pid */
	RG_WIRE_WELCOME,      /* proxy → controller: u32 version, i32 pid, str shm path,
			       * u64 config fingerprint, str binary identity */
	RG_WIRE_ROUTES,       /* controller → proxy: one environment's route state */
	RG_WIRE_ACK,          /* proxy → controller: u32 seq acked, u32 rg_err, i64 swap µs,
			       * str message */
	RG_WIRE_STOP,         /* controller → proxy: drain and exit */
	RG_WIRE_TAKEOVER,     /* new proxy → old: hand me your sockets */
	RG_WIRE_SOCKETS,      /* old → new: u32 n, n env names; fds: lock, control, listeners */
	RG_WIRE_TYPES
} rg_wire_type;

/* A frame being written. Put calls after an overflow are ignored and
 * rg_wire_end then fails, so a writer checks once. */
typedef struct rg_wire_buf {
	uint8_t data[RG_WIRE_HDR + RG_WIRE_MAX_PAYLOAD];
	size_t len;
	bool overflow;
} rg_wire_buf;

void rg_wire_begin(rg_wire_buf *b, rg_wire_type type, uint32_t seq);
void rg_wire_put_u32(rg_wire_buf *b, uint32_t v);
void rg_wire_put_i64(rg_wire_buf *b, int64_t v);
void rg_wire_put_str(rg_wire_buf *b, const char *s);
/* Writes the length into the header. RG_ETOOLARGE after an overflow. */
rg_err rg_wire_end(rg_wire_buf *b, rg_error *err);

/* Bytes as they arrive, cut into frames. */
typedef struct rg_wire_reader {
	uint8_t data[2 * (RG_WIRE_HDR + RG_WIRE_MAX_PAYLOAD)];
	size_t len, used;             /* bytes held; bytes of frames handed out */
} rg_wire_reader;

/* One frame; payload points into the reader until the next rg_wire_next. */
typedef struct rg_wire_msg {
	rg_wire_type type;
	uint32_t seq;
	uint32_t len;
	const uint8_t *payload;
} rg_wire_msg;

void rg_wire_reader_init(rg_wire_reader *r);
/* Where up to *room bytes may be read into (then rg_wire_filled). */
uint8_t *rg_wire_space(rg_wire_reader *r, size_t *room);
void rg_wire_filled(rg_wire_reader *r, size_t n);
/* 1: *m is the next frame; 0: more bytes are needed; RG_EIO-valued error
 * (negative return, err set): the peer does not speak this protocol. */
int rg_wire_next(rg_wire_reader *r, rg_wire_msg *m, rg_error *err);

/* Reading a payload: a get past the end, or a string longer than its
 * destination, marks the cursor bad (and returns 0 / an empty string). */
typedef struct rg_wire_cursor {
	const uint8_t *p;
	size_t left;
	bool bad;
} rg_wire_cursor;

void rg_wire_cursor_init(rg_wire_cursor *c, const rg_wire_msg *m);
uint32_t rg_wire_get_u32(rg_wire_cursor *c);
int64_t rg_wire_get_i64(rg_wire_cursor *c);
void rg_wire_get_str(rg_wire_cursor *c, char *out, size_t size);
/* RG_EINVAL ("bad NAME message") when bad or bytes are left over. */
rg_err rg_wire_done(const rg_wire_cursor *c, const char *what, rg_error *err);

/* The route state as a ROUTES payload, and back. */
void rg_wire_put_routes(rg_wire_buf *b, const rg_route_state *st);
rg_err rg_wire_get_routes(const rg_wire_msg *m, rg_route_state *st, rg_error *err);

/* Blocking, for a hand-over only: send b with fds; receive one frame (into
 * r, *m as rg_wire_next) and the fds that came with it (*n_fds, at most
 * max; the caller owns them). timeout_ms bounds the wait. */
rg_err rg_wire_send_fds(int sock, const rg_wire_buf *b, const int *fds, size_t n_fds,
			rg_error *err);
rg_err rg_wire_recv(int sock, rg_wire_reader *r, rg_wire_msg *m, int *fds, size_t max,
		    size_t *n_fds, int timeout_ms, rg_error *err);

#endif

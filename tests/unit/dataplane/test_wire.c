/* test_wire.c — the controller ↔ proxy protocol (dataplane/wire.h): frames
 * cut from bytes however they arrive, every bound enforced (magic, version,
 * type, length, string sizes, leftovers), the route state's codec, and
 * descriptors passed with SCM_RIGHTS over a socketpair. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/wire.h"

static rg_route_state sample(void)
{
	rg_route_state st;
	memset(&st, 0, sizeof st);
	strcpy(st.env, "prod");
	strcpy(st.stable_version, "v1");
	strcpy(st.stable, "127.0.0.1:9001, 127.0.0.1:9002");
	strcpy(st.canary_version, "v2");
	strcpy(st.canary, "127.0.0.1:9003");
	st.canary_weight = 25;
	strcpy(st.standby_version, "v0");
	st.seed = -42;
	st.run_id = 7;
	st.updated = 1234567890123;
	return st;
}

Test(wire, routes_round_trip_byte_by_byte)
{
	static rg_wire_buf b;
	static rg_wire_reader r;
	rg_route_state st = sample(), back;
	rg_wire_begin(&b, RG_WIRE_ROUTES, 9);
	rg_wire_put_routes(&b, &st);
	cr_assert_eq(rg_wire_end(&b, NULL), RG_OK);
	rg_wire_reader_init(&r);
	rg_wire_msg m;
	for (size_t i = 0; i < b.len; i++) {
		cr_assert_eq(rg_wire_next(&r, &m, NULL), 0, "a frame before its last byte (%zu)", i);
		size_t room;
		uint8_t *p = rg_wire_space(&r, &room);
		cr_assert_geq(room, 1);
		*p = b.data[i];
		rg_wire_filled(&r, 1);
	}
	cr_assert_eq(rg_wire_next(&r, &m, NULL), 1);
	cr_assert_eq(m.type, RG_WIRE_ROUTES);
	cr_assert_eq(m.seq, 9);
	cr_assert_eq(rg_wire_get_routes(&m, &back, NULL), RG_OK);
	cr_assert_eq(memcmp(&st, &back, sizeof st), 0);
	cr_assert_eq(rg_wire_next(&r, &m, NULL), 0);
}

static int feed_one(rg_wire_reader *r, const rg_wire_buf *b, rg_wire_msg *m, rg_error *err)
{
	size_t room;
	uint8_t *p = rg_wire_space(r, &room);
	memcpy(p, b->data, b->len);
	rg_wire_filled(r, b->len);
	return rg_wire_next(r, m, err);
}

Test(wire, bad_frames_end_the_connection)
{
	static rg_wire_buf b;
	static rg_wire_reader r;
	rg_wire_msg m;
	rg_error err = { 0 };
	/* magic */
	rg_wire_begin(&b, RG_WIRE_HELLO, 0);
	rg_wire_end(&b, NULL);
	b.data[0] ^= 0xff;
	rg_wire_reader_init(&r);
	cr_assert_lt(feed_one(&r, &b, &m, &err), 0);
	cr_assert_str_eq(err.message, "the peer does not speak the proxy protocol");
	/* version */
	rg_wire_begin(&b, RG_WIRE_HELLO, 0);
	rg_wire_end(&b, NULL);
	b.data[4] = 9;
	rg_wire_reader_init(&r);
	cr_assert_lt(feed_one(&r, &b, &m, &err), 0);
	cr_assert_str_eq(err.message, "proxy protocol version 9, want 1");
	/* a length over the bound is refused from the header alone */
	rg_wire_begin(&b, RG_WIRE_HELLO, 0);
	rg_wire_end(&b, NULL);
	b.data[8] = 0xff, b.data[9] = 0xff, b.data[10] = 0x01;
	rg_wire_reader_init(&r);
	cr_assert_lt(feed_one(&r, &b, &m, &err), 0);
	/* an unknown type */
	rg_wire_begin(&b, RG_WIRE_TYPES, 0);
	rg_wire_end(&b, NULL);
	rg_wire_reader_init(&r);
	cr_assert_lt(feed_one(&r, &b, &m, &err), 0);
}

Test(wire, writer_and_cursor_bounds)
{
	static rg_wire_buf b;
	static rg_wire_reader r;
	char big[RG_WIRE_MAX_PAYLOAD + 10];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	rg_wire_begin(&b, RG_WIRE_ACK, 1);
	rg_wire_put_str(&b, big);
	rg_error err = { 0 };
	cr_assert_eq(rg_wire_end(&b, &err), RG_ETOOLARGE);
	/* a string longer than its destination, and bytes left over */
	rg_wire_begin(&b, RG_WIRE_ACK, 1);
	rg_wire_put_str(&b, "0123456789");
	rg_wire_put_u32(&b, 5);
	cr_assert_eq(rg_wire_end(&b, NULL), RG_OK);
	rg_wire_reader_init(&r);
	rg_wire_msg m;
	cr_assert_eq(feed_one(&r, &b, &m, NULL), 1);
	rg_wire_cursor c;
	char small[4];
	rg_wire_cursor_init(&c, &m);
	rg_wire_get_str(&c, small, sizeof small);
	cr_assert(c.bad);
	cr_assert_str_eq(small, "");
	char ok[16];
	rg_wire_cursor_init(&c, &m);
	rg_wire_get_str(&c, ok, sizeof ok);
	cr_assert_str_eq(ok, "0123456789");
	cr_assert_eq(rg_wire_done(&c, "ack", &err), RG_EINVAL, "a u32 is left");
	cr_assert_eq(rg_wire_get_u32(&c), 5);
	cr_assert_eq(rg_wire_done(&c, "ack", NULL), RG_OK);
	cr_assert_eq(rg_wire_get_i64(&c), 0);
	cr_assert(c.bad, "a read past the end");
	/* a routes payload cut short */
	rg_route_state st = sample();
	rg_wire_begin(&b, RG_WIRE_ROUTES, 1);
	rg_wire_put_routes(&b, &st);
	rg_wire_end(&b, NULL);
	b.len -= 3;
	b.data[8] = (uint8_t)(b.len - RG_WIRE_HDR);
	b.data[9] = (uint8_t)((b.len - RG_WIRE_HDR) >> 8);
	rg_wire_reader_init(&r);
	cr_assert_eq(feed_one(&r, &b, &m, NULL), 1);
	cr_assert_eq(rg_wire_get_routes(&m, &st, &err), RG_EINVAL);
	cr_assert_str_eq(err.message, "bad routes message");
}

Test(wire, descriptors_travel_with_a_frame)
{
	int sp[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	static rg_wire_buf b;
	static rg_wire_reader r;
	rg_wire_begin(&b, RG_WIRE_SOCKETS, 3);
	rg_wire_put_u32(&b, 1);
	rg_wire_put_str(&b, "prod");
	cr_assert_eq(rg_wire_end(&b, NULL), RG_OK);
	cr_assert_eq(rg_wire_send_fds(sp[0], &b, fds, 2, NULL), RG_OK);
	rg_wire_reader_init(&r);
	rg_wire_msg m;
	int got[4];
	size_t n = 0;
	cr_assert_eq(rg_wire_recv(sp[1], &r, &m, got, 4, &n, 1000, NULL), RG_OK);
	cr_assert_eq(m.type, RG_WIRE_SOCKETS);
	cr_assert_eq(n, 2);
	/* the passed write end reaches the original read end */
	cr_assert_eq(write(got[1], "z", 1), 1);
	char c;
	cr_assert_eq(read(fds[0], &c, 1), 1);
	cr_assert_eq(c, 'z');
	/* nothing more: the wait is bounded */
	rg_error err = { 0 };
	cr_assert_eq(rg_wire_recv(sp[1], &r, &m, got, 4, &n, 50, &err), RG_EUNAVAILABLE);
	close(sp[0]);
	cr_assert_eq(rg_wire_recv(sp[1], &r, &m, got, 4, &n, 1000, &err), RG_EUNAVAILABLE);
	for (int i = 0; i < 2; i++)
		close(fds[i]), close(got[i]);
	close(sp[1]);
}

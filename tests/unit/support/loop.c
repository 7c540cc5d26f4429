/* loop.c — running and ending a test's libuv loop (see loop.h). */
#include "loop.h"

#include <criterion/criterion.h>

typedef struct firing {
	void (*fire)(void *arg);
	void *arg;
} firing;

static void on_timer(uv_timer_t *t)
{
	firing *f = t->data;
	f->fire(f->arg);
	uv_close((uv_handle_t *)t, NULL);
}

void loop_run_firing(uv_loop_t *loop, uint64_t ms, void (*fire)(void *arg), void *arg)
{
	firing f = { .fire = fire, .arg = arg };
	uv_timer_t t;
	cr_assert_eq(uv_timer_init(loop, &t), 0);
	t.data = &f;
	cr_assert_eq(uv_timer_start(&t, on_timer, ms, 0), 0);
	uint64_t t0 = uv_hrtime();
	cr_assert_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
	cr_assert_lt((uv_hrtime() - t0) / 1000000u, 5000);
}

void loop_count_freed(void *ctx)
{
	*(int *)ctx += 1;
}

void loop_finish_http(uv_loop_t *loop, rg_http *h)
{
	int freed = 0;
	rg_http_free(h, loop_count_freed, &freed);
	cr_assert_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(freed, 1);
	cr_assert_eq(uv_loop_close(loop), 0, "handles left on the loop");
}

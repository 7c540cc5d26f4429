/* loop.h — for tests that drive a libuv loop of their own: run it with one
 * action fired from a timer, and end it by freeing an rg_http client and
 * proving nothing was left on the loop. Test support only. */
#ifndef RG_TEST_SUPPORT_LOOP_H
#define RG_TEST_SUPPORT_LOOP_H

#include <stdint.h>
#include <uv.h>

#include "http/client.h"

/* Runs loop until nothing is left on it, with fire(arg) called once after
 * ms from a timer of its own (closed after the call). Fails the test if the
 * run took 5 s or more. arg stays the caller's. */
void loop_run_firing(uv_loop_t *loop, uint64_t ms, void (*fire)(void *arg), void *arg);

/* A free hook (rg_http_free, rg_checker_free): adds one to the int at ctx. */
void loop_count_freed(void *ctx);

/* Frees h (gone after this), runs loop until nothing is left, asserts the
 * free hook ran once, and closes loop (the caller's storage). */
void loop_finish_http(uv_loop_t *loop, rg_http *h);

#endif

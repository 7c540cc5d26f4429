/* alloc.c — allocation torture for the test build of rollguard only
 * (linked with -Wl,--wrap=malloc,… by `make`'s build/asan/rollguard):
 * with ROLLGUARD_TORTURE_ALLOC=N set, the Nth allocation rollguard's own
 * code asks for while serve is armed (util/torture.h) fails, once, as if
 * memory ran out. Allocations inside libraries are not counted. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/torture.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

static atomic_long count;
static long fail_at = -1;

/* true when this allocation is the one to fail. */
static int refuse(void)
{
	if (!rg_torture_armed())
		return 0;
	if (fail_at < 0) {
		const char *v = getenv("ROLLGUARD_TORTURE_ALLOC");
		fail_at = v && *v ? strtol(v, NULL, 10) : 0;
	}
	if (fail_at == 0)
		return 0;
	long n = atomic_fetch_add(&count, 1) + 1;
	if (n != fail_at)
		return 0;
	fprintf(stderr, "torture: allocation %ld refused\n", n);
	return 1;
}

/* How many were counted, so that a sweep knows how far to go. */
__attribute__((destructor)) static void report(void)
{
	if (fail_at > 0)
		fprintf(stderr, "torture: %ld allocations\n", atomic_load(&count));
}

void *__wrap_malloc(size_t n)
{
	return refuse() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
	return refuse() ? NULL : __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
	return refuse() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return refuse() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
	return refuse() ? NULL : __real_strndup(s, n);
}

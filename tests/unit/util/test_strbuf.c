/* test_strbuf.c — the growable buffer and the array-grow helper.
 * The invariant is the contract: buf is a NUL-terminated string of len
 * bytes after every call, and a failed call changes nothing. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/strbuf.h"

static void holds(const rg_strbuf *sb, const char *want, size_t len)
{
	cr_assert_eq(sb->len, len);
	cr_assert_eq(memcmp(sb->buf, want, len), 0);
	cr_assert_eq(sb->buf[len], '\0', "always NUL-terminated");
	cr_assert(sb->alloc == 0 || sb->alloc > sb->len);
}

Test(strbuf, init_is_empty_string_without_allocating)
{
	rg_strbuf sb;
	rg_strbuf_init(&sb);
	holds(&sb, "", 0);
	cr_assert_eq(sb.alloc, 0);
	rg_strbuf stat = RG_STRBUF_INIT;
	holds(&stat, "", 0);
	rg_strbuf_release(&sb);
	rg_strbuf_release(&stat);
	holds(&sb, "", 0);
}

Test(strbuf, add_addstr_addf_append)
{
	rg_strbuf sb = RG_STRBUF_INIT;
	cr_assert_eq(rg_strbuf_addstr(&sb, "id: "), RG_OK);
	cr_assert_eq(rg_strbuf_addf(&sb, "%d-%s", 42, "x"), RG_OK);
	cr_assert_eq(rg_strbuf_add(&sb, "a\0b", 3), RG_OK);
	holds(&sb, "id: 42-xa\0b", 11);
	rg_strbuf_release(&sb);
	cr_assert_eq(sb.alloc, 0);
}

Test(strbuf, addf_longer_than_the_room)
{
	rg_strbuf sb = RG_STRBUF_INIT;
	char big[5000];
	memset(big, 'q', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	cr_assert_eq(rg_strbuf_addstr(&sb, "<"), RG_OK);
	cr_assert_eq(rg_strbuf_addf(&sb, "%s>", big), RG_OK);
	cr_assert_eq(sb.len, 5001);
	cr_assert_eq(sb.buf[0], '<');
	cr_assert_eq(sb.buf[4999], 'q');
	cr_assert_eq(sb.buf[5000], '>');
	cr_assert_eq(sb.buf[5001], '\0');
	rg_strbuf_release(&sb);
}

Test(strbuf, many_small_adds)
{
	rg_strbuf sb = RG_STRBUF_INIT;
	for (int i = 0; i < 10000; i++)
		cr_assert_eq(rg_strbuf_add(&sb, "ab", 2), RG_OK);
	cr_assert_eq(sb.len, 20000);
	cr_assert_eq(strlen(sb.buf), 20000);
	rg_strbuf_release(&sb);
}

Test(strbuf, zeroed_struct_works_like_init)
{
	rg_strbuf sb;
	memset(&sb, 0, sizeof sb);
	cr_assert_eq(rg_strbuf_addstr(&sb, "hi"), RG_OK);
	holds(&sb, "hi", 2);
	rg_strbuf_release(&sb);
	memset(&sb, 0, sizeof sb);
	rg_strbuf_release(&sb);
	holds(&sb, "", 0);
}

Test(strbuf, reset_keeps_the_allocation)
{
	rg_strbuf sb = RG_STRBUF_INIT;
	cr_assert_eq(rg_strbuf_addstr(&sb, "hello"), RG_OK);
	size_t alloc = sb.alloc;
	char *buf = sb.buf;
	rg_strbuf_reset(&sb);
	holds(&sb, "", 0);
	cr_assert_eq(sb.alloc, alloc);
	cr_assert_eq(sb.buf, buf);
	rg_strbuf_reset(&sb);
	rg_strbuf_release(&sb);
	rg_strbuf empty = RG_STRBUF_INIT;
	rg_strbuf_reset(&empty);   /* must not write the shared "" */
	holds(&empty, "", 0);
}

Test(strbuf, grow_then_setlen)
{
	rg_strbuf sb = RG_STRBUF_INIT;
	cr_assert_eq(rg_strbuf_grow(&sb, 100), RG_OK);
	cr_assert_geq(sb.alloc, 101);
	holds(&sb, "", 0);
	memcpy(sb.buf, "written", 7);
	rg_strbuf_setlen(&sb, 7);
	holds(&sb, "written", 7);
	rg_strbuf_setlen(&sb, 3);
	holds(&sb, "wri", 3);
	rg_strbuf_release(&sb);
}

Test(strbuf, grow_overflow_is_enomem_and_changes_nothing)
{
	rg_strbuf sb = RG_STRBUF_INIT;
	cr_assert_eq(rg_strbuf_addstr(&sb, "keep"), RG_OK);
	cr_assert_eq(rg_strbuf_grow(&sb, SIZE_MAX - 2), RG_ENOMEM);
	cr_assert_eq(rg_strbuf_add(&sb, "x", SIZE_MAX), RG_ENOMEM);
	holds(&sb, "keep", 4);
	rg_strbuf_release(&sb);
}

Test(strbuf, detach_hands_over_the_string)
{
	rg_strbuf sb = RG_STRBUF_INIT;
	cr_assert_eq(rg_strbuf_addstr(&sb, "mine"), RG_OK);
	size_t len = 0;
	char *s = rg_strbuf_detach(&sb, &len);
	cr_assert_str_eq(s, "mine");
	cr_assert_eq(len, 4);
	holds(&sb, "", 0);
	cr_assert_eq(sb.alloc, 0);
	free(s);
	/* Nothing allocated yet: the caller still gets a string of its own. */
	s = rg_strbuf_detach(&sb, NULL);
	cr_assert_not_null(s);
	cr_assert_str_eq(s, "");
	cr_assert_neq(s, rg_strbuf_slopbuf);
	free(s);
}

Test(alloc_grow, grows_by_a_factor_and_keeps_contents)
{
	int *a = NULL;
	size_t n = 0, cap = 0, reallocs = 0;
	for (int i = 0; i < 100000; i++) {
		size_t before = cap;
		cr_assert_eq(RG_ALLOC_GROW(a, n + 1, cap), RG_OK);
		reallocs += cap != before;
		cr_assert_geq(cap, n + 1);
		a[n++] = i;
	}
	for (int i = 0; i < 100000; i++)
		cr_assert_eq(a[i], i);
	cr_assert_lt(reallocs, 40, "a factor, not one at a time: %zu", reallocs);
	free(a);
}

Test(alloc_grow, enough_room_is_a_no_op)
{
	char *a = malloc(8);
	char *before = a;
	size_t cap = 8;
	cr_assert_eq(RG_ALLOC_GROW(a, 8, cap), RG_OK);
	cr_assert_eq(a, before);
	cr_assert_eq(cap, 8);
	free(a);
}

Test(alloc_grow, overflow_is_enomem_and_changes_nothing)
{
	int64_t *a = NULL;
	size_t cap = 0;
	cr_assert_eq(RG_ALLOC_GROW(a, 4, cap), RG_OK);
	int64_t *before = a;
	size_t cap_before = cap;
	cr_assert_eq(RG_ALLOC_GROW(a, SIZE_MAX / 4, cap), RG_ENOMEM);
	cr_assert_eq(a, before);
	cr_assert_eq(cap, cap_before);
	free(a);
}

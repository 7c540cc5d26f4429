/* alloc.h — the one way to grow an array (git's ALLOC_GROW).
 * Capacity grows by half again plus 16 (git's alloc_nr), so n appends cost
 * O(n) copying; failure is RG_ENOMEM, never an abort, and leaves the array
 * and its capacity as they were (still the caller's to free). */
#ifndef RG_ALLOC_H
#define RG_ALLOC_H

#include <stddef.h>

#include "util/err.h"

/* array_ptr is the address of the caller's pointer (any T **; read and
 * written with memcpy, so no cast is needed), *cap the elements allocated.
 * Makes room for at least need elements of elem bytes; RG_ENOMEM when
 * need * elem overflows or realloc fails. */
rg_err rg_grow(void *array_ptr, size_t *cap, size_t need, size_t elem);

/* RG_ALLOC_GROW(list->items, list->n + 1, list->cap) — evaluates to rg_err. */
#define RG_ALLOC_GROW(ptr, need, cap) rg_grow(&(ptr), &(cap), (need), sizeof *(ptr))

#endif

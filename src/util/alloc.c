/* alloc.c — growing arrays by a factor (see alloc.h). */
#include "util/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

rg_err rg_grow(void *array_ptr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return RG_OK;
	size_t ncap = *cap < (SIZE_MAX - 16) / 3 * 2 ? (*cap + 16) * 3 / 2 : SIZE_MAX;
	if (ncap < need)
		ncap = need;
	if (elem && ncap > SIZE_MAX / elem)
		return RG_ENOMEM;
	void *old;
	memcpy(&old, array_ptr, sizeof old);
	void *grown = realloc(old, ncap * elem);
	if (!grown)
		return RG_ENOMEM;
	memcpy(array_ptr, &grown, sizeof grown);
	*cap = ncap;
	return RG_OK;
}

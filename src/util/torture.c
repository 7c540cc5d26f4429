/* torture.c — whether the test build's allocation torture counts now. */
#include "util/torture.h"

#include <stdatomic.h>

static atomic_bool armed;

void rg_torture_arm(bool on)
{
#ifdef RG_TEST_HOOKS
	atomic_store(&armed, on);
#else
	(void)on;
#endif
}

bool rg_torture_armed(void)
{
	return atomic_load(&armed);
}

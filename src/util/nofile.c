/* nofile.c — raising RLIMIT_NOFILE (nofile.h). */
#include <sys/resource.h>

#include "util/nofile.h"

long rg_nofile_raise(void)
{
	struct rlimit r;
	if (getrlimit(RLIMIT_NOFILE, &r) != 0)
		return 1024;
	if (r.rlim_cur < r.rlim_max) {
		struct rlimit want = { r.rlim_max, r.rlim_max };
		/* a hard limit of "unlimited" may exceed nr_open: keep what we had */
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			r.rlim_cur = r.rlim_max;
	}
	return r.rlim_cur == RLIM_INFINITY || r.rlim_cur > 1L << 30 ? 1L << 30 : (long)r.rlim_cur;
}

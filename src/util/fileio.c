/* fileio.c — see fileio.h. */
#include "util/fileio.h"

#include <errno.h>
#include <unistd.h>

int rg_read_full(int fd, char *buf, size_t size, size_t *n)
{
	*n = 0;
	while (*n < size) {
		ssize_t r = read(fd, buf + *n, size - *n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		*n += (size_t)r;
	}
	return 0;
}

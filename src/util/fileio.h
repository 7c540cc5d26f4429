/* fileio.h — reading a file descriptor to its end or a bound, the loop
 * every reader of a small file (a secret, a certificate) needs. */
#ifndef RG_FILEIO_H
#define RG_FILEIO_H

#include <stddef.h>

/* Reads fd into buf until size bytes or end of file, retrying EINTR; *n is
 * what was read. 0, or -1 with errno set. */
int rg_read_full(int fd, char *buf, size_t size, size_t *n);

#endif

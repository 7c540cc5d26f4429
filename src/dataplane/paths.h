/* paths.h — where the proxy process and its controllers meet in the state
 * directory, and which binary a process runs (an upgrade hands the
 * sockets to a proxy of the newer binary). Shared by link.c (controller)
 * and cmd/proxy.c (the proxy process). */
#ifndef RG_DATAPLANE_PATHS_H
#define RG_DATAPLANE_PATHS_H

#include <stddef.h>

#include "util/err.h"

#define RG_DP_PATH_MAX 4096
#define RG_DP_IDENT_LEN 96

typedef struct rg_dp_paths {
	char sock[RG_DP_PATH_MAX];    /* STATE/proxy.sock: the protocol (wire.h) */
	char shm[RG_DP_PATH_MAX];     /* STATE/proxy.shm: statistics (shm.h) */
	char lock[RG_DP_PATH_MAX];    /* STATE/proxy.lock: one proxy per directory */
	char pid[RG_DP_PATH_MAX];     /* STATE/proxy.pid */
} rg_dp_paths;

/* RG_EINVAL when a path would not fit a Unix socket address. */
rg_err rg_dp_paths_of(const char *state_dir, rg_dp_paths *out, rg_error *err);
/* The running binary's path (without a " (deleted)" suffix: a newer binary
 * has replaced it there) and its identity (device, inode, change time of
 * the image this process runs). */
rg_err rg_dp_self(char *exe, size_t exe_size, char *ident, size_t ident_size, rg_error *err);

#endif

/* nofile.h — the descriptor limit. serve and the proxy process raise their
 * soft RLIMIT_NOFILE to the hard limit at start (the proxy needs two
 * descriptors a connection; serve, step pipes, the store and checks), and
 * the proxy's max_connections default is derived from it. */
#ifndef RG_UTIL_NOFILE_H
#define RG_UTIL_NOFILE_H

/* Raises the soft limit to the hard one (as far as the kernel allows) and
 * returns the soft limit now in force (1024 if it cannot be read). */
long rg_nofile_raise(void);

#endif

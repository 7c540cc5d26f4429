/* paths.c — the proxy's files in the state directory and this process's
 * binary (paths.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dataplane/paths.h"

rg_err rg_dp_paths_of(const char *state_dir, rg_dp_paths *out, rg_error *err)
{
	struct sockaddr_un a;
	if (strlen(state_dir) + sizeof "/proxy.sock" > sizeof a.sun_path)
		return rg_fail(err, RG_EINVAL, "server.state",
			       "state directory '%s' is too long for the proxy socket (at most %zu "
			       "characters)", state_dir, sizeof a.sun_path - sizeof "/proxy.sock");
	snprintf(out->sock, sizeof out->sock, "%s/proxy.sock", state_dir);
	snprintf(out->shm, sizeof out->shm, "%s/proxy.shm", state_dir);
	snprintf(out->lock, sizeof out->lock, "%s/proxy.lock", state_dir);
	snprintf(out->pid, sizeof out->pid, "%s/proxy.pid", state_dir);
	return RG_OK;
}

rg_err rg_dp_self(char *exe, size_t exe_size, char *ident, size_t ident_size, rg_error *err)
{
	ssize_t n = readlink("/proc/self/exe", exe, exe_size - 1);
	struct stat sb;
	if (n <= 0 || stat("/proc/self/exe", &sb) < 0)
		return rg_fail(err, RG_EIO, NULL, "cannot find the running binary: %s", strerror(errno));
	exe[n] = '\0';
	static const char deleted[] = " (deleted)";
	size_t len = (size_t)n, dl = sizeof deleted - 1;
	if (len > dl && strcmp(exe + len - dl, deleted) == 0)
		exe[len - dl] = '\0';
	snprintf(ident, ident_size, "%llx:%llx:%lld.%09ld", (unsigned long long)sb.st_dev,
		 (unsigned long long)sb.st_ino, (long long)sb.st_ctim.tv_sec, sb.st_ctim.tv_nsec);
	return RG_OK;
}

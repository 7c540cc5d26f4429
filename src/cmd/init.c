/* init.c — `rollguard init [-c FILE] [--force]`: writes the commented starter.
 * It must never overwrite a file without --force, and never leave a half
 * written config behind: a crash mid-write leaves the old file or none. */
#include "cmd/cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"

static rg_err write_all(int fd, const char *path, rg_error *err)
{
	const char *p = rg_config_starter;
	size_t left = strlen(rg_config_starter);
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return rg_fail(err, RG_EIO, "config", "cannot write '%s': %s", path,
				       strerror(n < 0 ? errno : EIO));
		p += n;
		left -= (size_t)n;
	}
	if (fsync(fd) != 0)
		return rg_fail(err, RG_EIO, "config", "cannot write '%s': %s", path, strerror(errno));
	return RG_OK;
}

/* The mode a new file would get, or the mode of the file being replaced. */
static mode_t file_mode(const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0)
		return st.st_mode & 07777;
	mode_t mask = umask(0);
	umask(mask);
	return 0644 & ~mask;
}

/* Without --force: O_EXCL, so a file created meanwhile is not clobbered
 * either. With it: a temporary file renamed over the old one. */
static rg_err write_starter(const char *path, bool force, rg_error *err)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
		return rg_fail(err, RG_EINVAL, "config", "path too long: '%s'", path);
	int fd = force ? mkstemp(tmp) : open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	const char *target = force ? tmp : path;
	if (fd < 0 && errno == EEXIST && !force)
		return rg_fail(err, RG_ECONFLICT, "config",
			       "'%s' already exists (use --force to overwrite it)", path);
	if (fd < 0)
		return rg_fail(err, RG_EIO, "config", "cannot create '%s': %s", target, strerror(errno));
	rg_err rc = RG_OK;
	if (force && fchmod(fd, file_mode(path)) != 0)
		rc = rg_fail(err, RG_EIO, "config", "cannot chmod '%s': %s", tmp, strerror(errno));
	if (!rc)
		rc = write_all(fd, path, err);
	if (close(fd) != 0 && !rc)
		rc = rg_fail(err, RG_EIO, "config", "cannot write '%s': %s", path, strerror(errno));
	if (!rc && force && rename(tmp, path) != 0)
		rc = rg_fail(err, RG_EIO, "config", "cannot replace '%s': %s", path, strerror(errno));
	if (rc)
		unlink(target);
	return rc;
}

int cmd_init(int argc, char **argv)
{
	rg_cli_args a;
	int code;
	if (!rg_cli_args_get("init", argc, argv, &a, &code))
		return code;
	const char *path = rg_cli_config_path(&a);
	rg_error err = { 0 };
	rg_err rc = write_starter(path, a.force, &err);
	if (rc) {
		fprintf(stderr, "error: %s\n", err.message);
		return rc == RG_ECONFLICT || rc == RG_EINVAL ? RG_EXIT_USAGE : RG_EXIT_RUN_FAILED;
	}
	printf("wrote %s: edit it, then check it with 'rollguard lint -c %s'\n", path, path);
	return RG_EXIT_OK;
}

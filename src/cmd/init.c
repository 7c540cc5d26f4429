/* init.c — `rollguard init [-c FILE] [--force]`: writes the commented starter.
 * It must never overwrite a file without --force, and never leave a half
 * written config behind: a crash mid-write leaves the old file or none. */
#include "cmd/cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"

static int usage(FILE *to, int code)
{
	fputs("usage: rollguard init [-c FILE] [--force]\n"
	      "\n"
	      "Writes a commented starter configuration to edit, then check with\n"
	      "'rollguard lint'. An existing file is left alone unless --force.\n"
	      "\n"
	      "  -c, --config FILE   where to write it (default rollguard.yaml)\n"
	      "      --force         overwrite FILE if it exists\n"
	      "  -h, --help          this help\n",
	      to);
	return code;
}

/* Returns -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, const char **path, bool *force)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	opterr = 0;
	optind = 0; /* glibc: a full reset, so a second call parses afresh */
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		if (c == 'c') {
			*path = optarg;
		} else if (c == 'f') {
			*force = true;
		} else if (c == 'h') {
			return usage(stdout, RG_EXIT_OK);
		} else {
			if (optopt == 'c')
				fprintf(stderr, "error: '%s' needs a file name\n", argv[optind - 1]);
			else
				fprintf(stderr, "error: unknown option '%s'\n", argv[optind - 1]);
			return usage(stderr, RG_EXIT_USAGE);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "error: unexpected argument '%s'\n", argv[optind]);
		return usage(stderr, RG_EXIT_USAGE);
	}
	return -1;
}

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
	const char *path = "rollguard.yaml";
	bool force = false;
	int code = parse_args(argc, argv, &path, &force);
	if (code >= 0)
		return code;
	rg_error err = { 0 };
	rg_err rc = write_starter(path, force, &err);
	if (rc) {
		fprintf(stderr, "error: %s\n", err.message);
		return rc == RG_ECONFLICT || rc == RG_EINVAL ? RG_EXIT_USAGE : RG_EXIT_RUN_FAILED;
	}
	printf("wrote %s: edit it, then check it with 'rollguard lint -c %s'\n", path, path);
	return RG_EXIT_OK;
}

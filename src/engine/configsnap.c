/* configsnap.c — configuration snapshots. When a release goes live, the
 * contents of its environment's config_files (.env, config/app.yaml…) are
 * stored with it, in the go-live transaction; a rollback writes the target
 * release's contents back before its first step runs, so its commands see
 * them in place. Writing is atomic per file (a temporary file, then
 * rename) and idempotent, so a restart that writes them again is harmless.
 * Files are small by nature: one larger than 1 MiB is not kept, and the
 * timeline says so. */
#include "engine/engine_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

#define MAX_CONFIG_FILE (1024 * 1024)

static void hash_of(const unsigned char *p, size_t n, char hex[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, p, n);
	sodium_bin2hex(hex, 65, h, sizeof h);
}

/* Reads path (relative to the config's directory) into f; false when it
 * is missing or too large (why says which). */
static bool read_one(const rg_config *cfg, const char *path, rg_config_file *f, char *why,
		     size_t size)
{
	char full[PATH_MAX];
	snprintf(full, sizeof full, "%s/%s", cfg->dir, path);
	FILE *in = fopen(full, "rb");
	if (!in) {
		snprintf(why, size, "'%s' not kept: %s", path, strerror(errno));
		return false;
	}
	memset(f, 0, sizeof *f);
	snprintf(f->path, sizeof f->path, "%s", path);
	f->content = malloc(MAX_CONFIG_FILE + 1);
	size_t n = f->content ? fread(f->content, 1, MAX_CONFIG_FILE + 1, in) : 0;
	bool bad = ferror(in) || !f->content || n > MAX_CONFIG_FILE;
	fclose(in);
	if (bad) {
		snprintf(why, size, "'%s' not kept: %s", path,
			 n > MAX_CONFIG_FILE ? "larger than 1 MiB" : "cannot be read");
		free(f->content);
		f->content = NULL;
		return false;
	}
	f->len = n;
	hash_of(f->content, n, f->hash);
	return true;
}

rg_err rg_configsnap_take(rg_active *a, rg_error *err)
{
	const rg_env *e = a->env;
	if (!e->n_config_files)
		return RG_OK;
	rg_config_file *files = calloc(e->n_config_files, sizeof *files);
	if (!files)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory keeping the config files");
	size_t n = 0;
	char kept[700] = "", why[300];
	size_t used = 0;
	for (size_t i = 0; i < e->n_config_files; i++) {
		if (read_one(a->eng->cfg, e->config_files[i], &files[n], why, sizeof why)) {
			used += (size_t)snprintf(kept + used, used < sizeof kept ? sizeof kept - used : 0,
						 "%s%s", n ? ", " : "", files[n].path);
			n++;
		} else {
			rg_store_event_add(a->eng->store, a->run.id, "config_not_kept", NULL, why, NULL);
		}
	}
	rg_err rc = rg_store_release_config_put(a->eng->store, a->run.env, a->run.version, files, n, err);
	char msg[800];
	snprintf(msg, sizeof msg, "config of %s kept: %s", a->run.version, n ? kept : "none");
	if (!rc)
		rc = rg_store_event_add(a->eng->store, a->run.id, "config_kept", NULL, msg, err);
	rg_config_files_free(files, e->n_config_files);
	return rc;
}

/* tmp file beside path, then rename: a reader sees the old or the new
 * content, never half; the mode of the file it replaces is kept. */
static rg_err write_atomic(const char *path, const unsigned char *p, size_t n, rg_error *err)
{
	struct stat st;
	mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 07777) : 0600;
	char tmp[PATH_MAX + 16];
	snprintf(tmp, sizeof tmp, "%s.rollguard-tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return rg_fail(err, RG_EIO, NULL, "cannot write '%s': %s", tmp, strerror(errno));
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(fd, p + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		done += (size_t)w;
	}
	bool ok = done == n && fchmod(fd, mode) == 0 && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return rg_fail(err, RG_EIO, NULL, "cannot write '%s': %s", path, strerror(e));
	}
	return RG_OK;
}

void rg_configsnap_restore(rg_active *a)
{
	const char *target = a->plan.target;
	rg_config_file *files = NULL;
	size_t n = 0;
	rg_error err;
	if (!a->env->n_config_files || !target[0])
		return;
	if (rg_store_release_config_get(a->eng->store, a->run.env, target, &files, &n, &err)) {
		rg_run_note(a, "config_not_restored", NULL, err.message);
		return;
	}
	char done[700] = "", msg[900];
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		char full[PATH_MAX];
		snprintf(full, sizeof full, "%s/%s", a->eng->cfg->dir, files[i].path);
		if (write_atomic(full, files[i].content, files[i].len, &err)) {
			rg_run_note(a, "config_not_restored", NULL, err.message);
			continue;
		}
		used += (size_t)snprintf(done + used, used < sizeof done ? sizeof done - used : 0, "%s%s",
					 used ? ", " : "", files[i].path);
	}
	if (n) {
		snprintf(msg, sizeof msg, "config of %s put back%s: %s", target,
			 a->plan.config_only ? "" : " before the rollback's steps",
			 used ? done : "nothing could be written");
		rg_run_note(a, "config_restored", NULL, msg);
	}
	rg_config_files_free(files, n);
}

/* artifacts.c — listing, checksumming and checking a backup's files. */
#include "backup/artifacts.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static rg_err sha256_file(const char *path, char hex[65], int64_t *size, rg_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return rg_fail(err, RG_EIO, NULL, "cannot open '%s': %s", path, strerror(errno));
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	unsigned char buf[65536];
	ssize_t n;
	*size = 0;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
		*size += n;
	}
	int saved = errno;
	close(fd);
	if (n < 0)
		return rg_fail(err, RG_EIO, NULL, "cannot read '%s': %s", path, strerror(saved));
	unsigned char out[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(&st, out);
	sodium_bin2hex(hex, 65, out, sizeof out);
	return RG_OK;
}

/* nftw has no context argument: one scan at a time per thread. */
static _Thread_local struct scan {
	size_t root_len;
	json_t *list;
	int64_t bytes;
	rg_error *err;
	rg_err rc;
} *scan_now;

static int visit(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	struct scan *s = scan_now;
	if (type == FTW_SL || type == FTW_SLN) {
		s->rc = rg_fail(s->err, RG_EINVAL, NULL, "'%s' is a symbolic link; a backup holds files only", path);
		return 1;
	}
	if (type == FTW_DNR || type == FTW_NS) {
		s->rc = rg_fail(s->err, RG_EIO, NULL, "cannot read '%s'", path);
		return 1;
	}
	if (type != FTW_F || !S_ISREG(sb->st_mode))
		return 0;
	char hex[65];
	int64_t size;
	if ((s->rc = sha256_file(path, hex, &size, s->err)))
		return 1;
	s->bytes += size;
	json_array_append_new(s->list, json_pack("{s:s, s:I, s:s}", "name", path + s->root_len + 1,
						 "size", (json_int_t)size, "sha256", hex));
	return 0;
}

static int by_name(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	return strcmp(json_string_value(json_object_get(x, "name")),
		      json_string_value(json_object_get(y, "name")));
}

/* The list in name order, so two scans of the same files compare equal. */
static json_t *sorted(json_t *list)
{
	size_t n = json_array_size(list);
	json_t **items = calloc(n ? n : 1, sizeof *items);
	json_t *out = json_array();
	if (!items || !out) {
		free(items);
		json_decref(out);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		items[i] = json_array_get(list, i);
	qsort(items, n, sizeof *items, by_name);
	for (size_t i = 0; i < n; i++)
		json_array_append(out, items[i]);
	free(items);
	return out;
}

static rg_err scan_json(const char *dir, json_t **out, int64_t *bytes, rg_error *err)
{
	struct scan s = { strlen(dir), json_array(), 0, err, RG_OK };
	if (!s.list)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	scan_now = &s;
	int r = nftw(dir, visit, 16, FTW_PHYS);
	scan_now = NULL;
	if (r != 0 && !s.rc)
		s.rc = rg_fail(err, RG_EIO, NULL, "cannot walk '%s': %s", dir, strerror(errno));
	if (!s.rc && json_array_size(s.list) == 0)
		s.rc = rg_fail(err, RG_EINVAL, NULL, "the backup command wrote nothing into '%s'", dir);
	json_t *list = s.rc ? NULL : sorted(s.list);
	json_decref(s.list);
	if (s.rc)
		return s.rc;
	if (!list)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	*out = list;
	*bytes = s.bytes;
	return RG_OK;
}

rg_err rg_artifacts_scan(const char *dir, char **files, int64_t *bytes, rg_error *err)
{
	json_t *list;
	rg_err rc = scan_json(dir, &list, bytes, err);
	if (rc)
		return rc;
	*files = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	return *files ? RG_OK : rg_fail(err, RG_ENOMEM, NULL, "out of memory");
}

static const char *field(const json_t *f, const char *key)
{
	const char *v = json_string_value(json_object_get(f, key));
	return v ? v : "";
}

rg_err rg_artifacts_check(const char *dir, const char *files, rg_error *err)
{
	json_t *want = json_loads(files, 0, NULL), *have = NULL;
	int64_t bytes;
	if (!json_is_array(want)) {
		json_decref(want);
		return rg_fail(err, RG_EINVAL, NULL, "the recorded file list of '%s' is unreadable", dir);
	}
	rg_err rc = scan_json(dir, &have, &bytes, err);
	for (size_t i = 0; !rc && i < json_array_size(want); i++) {
		const json_t *w = json_array_get(want, i), *h = json_array_get(have, i);
		if (!h || strcmp(field(w, "name"), field(h, "name")) != 0)
			rc = rg_fail(err, RG_EINVAL, NULL, "'%s' is missing from %s", field(w, "name"), dir);
		else if (json_integer_value(json_object_get(w, "size")) != json_integer_value(json_object_get(h, "size")))
			rc = rg_fail(err, RG_EINVAL, NULL, "'%s' changed size: %lld bytes, %lld recorded",
				     field(w, "name"), (long long)json_integer_value(json_object_get(h, "size")),
				     (long long)json_integer_value(json_object_get(w, "size")));
		else if (strcmp(field(w, "sha256"), field(h, "sha256")) != 0)
			rc = rg_fail(err, RG_EINVAL, NULL, "'%s' does not match its recorded SHA-256", field(w, "name"));
	}
	if (!rc && json_array_size(have) > json_array_size(want))
		rc = rg_fail(err, RG_EINVAL, NULL, "'%s' was added to %s after the backup",
			     field(json_array_get(have, json_array_size(want)), "name"), dir);
	json_decref(want);
	json_decref(have);
	return rc;
}

static int remove_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	return remove(path) == 0 ? 0 : -1;
}

rg_err rg_artifacts_remove(const char *dir, rg_error *err)
{
	struct stat st;
	if (lstat(dir, &st) != 0 && errno == ENOENT)
		return RG_OK;
	if (nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return rg_fail(err, RG_EIO, NULL, "cannot remove '%s': %s", dir, strerror(errno));
	return RG_OK;
}

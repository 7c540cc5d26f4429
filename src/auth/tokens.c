/* tokens.c — making, checking and keeping API tokens (see tokens.h). */
#include "auth/tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/names.h"
#include "util/timeutil.h"

#define ID_BYTES (RG_TOKEN_ID_LEN / 2)
#define SECRET_BYTES 32
#define TOUCH_EVERY_MS 60000

/* ---- the key ------------------------------------------------------------------ */

static rg_err key_make(const char *path, rg_token_key *key, rg_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return rg_fail(err, RG_EIO, "token.key", "cannot create %s: %s", path,
			       strerror(errno));
	randombytes_buf(key->k, sizeof key->k);
	ssize_t w = write(fd, key->k, sizeof key->k);
	int sync_rc = fsync(fd);
	close(fd);
	if (w != (ssize_t)sizeof key->k || sync_rc != 0) {
		unlink(path);
		return rg_fail(err, RG_EIO, "token.key", "cannot write %s", path);
	}
	return RG_OK;
}

static rg_err key_read(const char *path, rg_token_key *key, rg_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return rg_fail(err, RG_EIO, "token.key", "cannot read %s: %s", path,
			       strerror(errno));
	if (fstat(fd, &st) != 0 || (st.st_mode & 077)) {
		close(fd);
		return rg_fail(err, RG_EFORBIDDEN, "token.key",
			       "%s may be read by others (mode %03o); make it 0600", path,
			       (unsigned)(st.st_mode & 0777));
	}
	ssize_t n = read(fd, key->k, sizeof key->k);
	close(fd);
	if (n != (ssize_t)sizeof key->k)
		return rg_fail(err, RG_EIO, "token.key", "%s is not a token key (%d bytes)", path,
			       (int)n);
	return RG_OK;
}

rg_err rg_token_key_open(const char *state_dir, rg_token_key *key, rg_error *err)
{
	char path[4096];
	if (sodium_init() < 0)
		return rg_fail(err, RG_EINTERNAL, NULL, "libsodium did not start");
	snprintf(path, sizeof path, "%s/" RG_TOKEN_KEY_FILE, state_dir);
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		rg_err rc = key_make(path, key, err);
		if (rc != RG_EIO || access(path, F_OK) != 0)
			return rc;   /* else another process made it first: read theirs */
	}
	return key_read(path, key, err);
}

void rg_token_key_wipe(rg_token_key *key)
{
	sodium_memzero(key->k, sizeof key->k);
}

/* ---- tokens ------------------------------------------------------------------- */

static void token_hash(const rg_token_key *key, const char *token,
		       unsigned char out[RG_TOKEN_HASH_LEN])
{
	crypto_generichash(out, RG_TOKEN_HASH_LEN, (const unsigned char *)token, strlen(token),
			   key->k, sizeof key->k);
}

static void envs_text(const rg_token_spec *spec, char *out, size_t size)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < spec->n_envs && used < size; i++) {
		int w = snprintf(out + used, size - used, "%s%s", i ? "," : "", spec->envs[i]);
		used += w > 0 ? (size_t)w : 0;
	}
}

static rg_err spec_check(const rg_token_spec *spec, rg_error *err)
{
	if (!spec->name || !rg_name_valid(spec->name) || strlen(spec->name) > RG_NAME_MAX)
		return rg_fail(err, RG_EINVAL, "name",
			       "invalid token name '%.64s' (letters, digits, . _ + -, up to 64)",
			       spec->name ? spec->name : "");
	if (!spec->roles || (spec->roles & ~RG_ROLE_ALL))
		return rg_fail(err, RG_EINVAL, "role", "a token needs at least one role");
	if (spec->n_envs > RG_PRINCIPAL_MAX_ENVS)
		return rg_fail(err, RG_EINVAL, "env", "at most %d environments per token",
			       RG_PRINCIPAL_MAX_ENVS);
	for (size_t i = 0; i < spec->n_envs; i++)
		if (!rg_name_valid(spec->envs[i]))
			return rg_fail(err, RG_EINVAL, "env", "invalid environment name '%.64s'",
				       spec->envs[i]);
	return RG_OK;
}

rg_err rg_token_create(rg_store *s, const rg_token_key *key, const rg_token_spec *spec,
		       char *out, size_t size, rg_error *err)
{
	unsigned char id[ID_BYTES], secret[SECRET_BYTES];
	char secret_text[sodium_base64_ENCODED_LEN(SECRET_BYTES,
						   sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	rg_token_row row;
	rg_err rc = spec_check(spec, err);
	if (rc)
		return rc;
	if (size < RG_TOKEN_TEXT_MAX)
		return rg_fail(err, RG_EINTERNAL, NULL, "token buffer too small");
	memset(&row, 0, sizeof row);
	randombytes_buf(id, sizeof id);
	randombytes_buf(secret, sizeof secret);
	sodium_bin2hex(row.id, sizeof row.id, id, sizeof id);
	sodium_bin2base64(secret_text, sizeof secret_text, secret, sizeof secret,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(out, size, "rg_%s_%s", row.id, secret_text);
	sodium_memzero(secret, sizeof secret);
	sodium_memzero(secret_text, sizeof secret_text);
	token_hash(key, out, row.hash);
	snprintf(row.name, sizeof row.name, "%s", spec->name);
	rg_roles_text(spec->roles, row.roles, sizeof row.roles);
	envs_text(spec, row.envs, sizeof row.envs);
	row.created = rg_now_ms();
	row.expires = spec->expires;
	snprintf(row.created_by, sizeof row.created_by, "%s",
		 spec->created_by ? spec->created_by : "");
	rc = rg_store_token_insert(s, &row, err);
	if (rc)
		sodium_memzero(out, size);
	return rc;
}

bool rg_token_public_id(const char *token, char id[RG_TOKEN_ID_LEN + 1])
{
	size_t n = strlen(token);
	if (n != 3 + RG_TOKEN_ID_LEN + 1 + 43 || strncmp(token, "rg_", 3) != 0 ||
	    token[3 + RG_TOKEN_ID_LEN] != '_')
		return false;
	for (size_t i = 3; i < 3 + RG_TOKEN_ID_LEN; i++)
		if (!strchr("0123456789abcdef", token[i]))
			return false;
	memcpy(id, token + 3, RG_TOKEN_ID_LEN);
	id[RG_TOKEN_ID_LEN] = '\0';
	return true;
}

static void principal_fill(const rg_token_row *row, rg_principal *p)
{
	rg_error ignored;
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s", row->name);
	if (rg_roles_parse(row->roles, &p->roles, &ignored))
		p->roles = 0;    /* a row we did not write: it may do nothing */
	for (const char *e = row->envs; *e && p->n_envs < RG_PRINCIPAL_MAX_ENVS; ) {
		size_t n = strcspn(e, ",");
		snprintf(p->envs[p->n_envs++], sizeof p->envs[0], "%.*s", (int)n, e);
		e += n + (e[n] == ',');
	}
}

/* A found token row, once its secret (or a session opened with it) is
 * known good: its principal, unless it has expired. */
static rg_err row_principal(rg_store *s, const rg_token_row *row, int64_t now,
			    rg_principal *out, rg_error *err)
{
	if (row->expires && now >= row->expires) {
		char when[40];
		rg_time_format_iso(row->expires, when, sizeof when);
		return rg_fail(err, RG_EUNAUTH, NULL, "token '%s' expired at %s", row->name, when);
	}
	principal_fill(row, out);
	if (now - row->last_used >= TOUCH_EVERY_MS) {
		rg_error ignored;
		rg_store_token_touch(s, row->name, now, &ignored);   /* a note, not a gate */
	}
	return RG_OK;
}

rg_err rg_token_authenticate(rg_store *s, const rg_token_key *key, const char *token,
			     int64_t now, rg_principal *out, rg_error *err)
{
	char id[RG_TOKEN_ID_LEN + 1];
	unsigned char hash[RG_TOKEN_HASH_LEN];
	rg_token_row row;
	bool found = false;
	if (!token || !rg_token_public_id(token, id))
		return rg_fail(err, RG_EUNAUTH, NULL, "invalid token");
	rg_err rc = rg_store_token_find(s, id, &row, &found, err);
	if (rc)
		return rc;
	token_hash(key, token, hash);
	/* A missing id still costs a comparison, so its absence takes no less
	 * time than a wrong secret. */
	bool same = sodium_memcmp(hash, row.hash, sizeof hash) == 0;
	if (!found || !same)
		return rg_fail(err, RG_EUNAUTH, NULL, "invalid token");
	return row_principal(s, &row, now, out, err);
}

rg_err rg_token_principal_by_id(rg_store *s, const char *id, int64_t now, int64_t *expires,
				rg_principal *out, rg_error *err)
{
	rg_token_row row;
	bool found = false;
	rg_err rc = rg_store_token_find(s, id, &row, &found, err);
	if (rc)
		return rc;
	if (!found)
		return rg_fail(err, RG_EUNAUTH, NULL, "the token this session was opened with "
			       "was revoked");
	if (expires)
		*expires = row.expires;
	return row_principal(s, &row, now, out, err);
}

/* ---- the first admin ------------------------------------------------------------ */

static rg_err write_secret_file(const char *path, const char *token, rg_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return rg_fail(err, RG_EIO, "admin.token", "cannot create %s: %s", path,
			       strerror(errno));
	size_t n = strlen(token);
	bool ok = write(fd, token, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	close(fd);
	if (!ok) {
		unlink(path);
		return rg_fail(err, RG_EIO, "admin.token", "cannot write %s", path);
	}
	return RG_OK;
}

rg_err rg_token_first_admin(rg_store *s, const rg_token_key *key, const char *state_dir,
			    char *path, size_t size, bool *made, rg_error *err)
{
	int64_t count = 0;
	char token[RG_TOKEN_TEXT_MAX];
	*made = false;
	snprintf(path, size, "%s/" RG_ADMIN_TOKEN_FILE, state_dir);
	rg_err rc = rg_store_token_count(s, &count, err);
	if (rc || count > 0)
		return rc;
	/* A file left by a start that died before storing its token. */
	if (unlink(path) != 0 && errno != ENOENT)
		return rg_fail(err, RG_EIO, "admin.token", "cannot replace %s: %s", path,
			       strerror(errno));
	rg_token_spec spec = { .name = "admin", .roles = RG_ROLE_ADMIN, .created_by = "serve" };
	rc = rg_token_create(s, key, &spec, token, sizeof token, err);
	if (!rc)
		rc = write_secret_file(path, token, err);
	if (rc)
		rg_store_token_delete(s, "admin", NULL);
	sodium_memzero(token, sizeof token);
	*made = !rc;
	return rc;
}

rg_err rg_token_read_file(const char *path, char *out, size_t size, rg_error *err)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return rg_fail(err, RG_EIO, "token", "cannot read %s: %s", path, strerror(errno));
	bool ok = fgets(out, (int)size, f) != NULL;
	fclose(f);
	out[ok ? strcspn(out, "\r\n") : 0] = '\0';
	if (!ok || !out[0])
		return rg_fail(err, RG_EINVAL, "token", "%s holds no token", path);
	return RG_OK;
}

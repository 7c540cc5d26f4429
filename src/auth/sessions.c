/* sessions.c — dashboard sessions (see sessions.h). */
#include "auth/sessions.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define SESSION_BYTES 32
#define COOKIE_PREFIX "s_"

static void random_text(const char *prefix, char out[RG_SESSION_TEXT_MAX])
{
	unsigned char bytes[SESSION_BYTES];
	char text[sodium_base64_ENCODED_LEN(SESSION_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	randombytes_buf(bytes, sizeof bytes);
	sodium_bin2base64(text, sizeof text, bytes, sizeof bytes,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(out, RG_SESSION_TEXT_MAX, "%s%s", prefix, text);
	sodium_memzero(bytes, sizeof bytes);
	sodium_memzero(text, sizeof text);
}

static void cookie_hash(const rg_token_key *key, const char *cookie,
			unsigned char out[RG_TOKEN_HASH_LEN])
{
	crypto_generichash(out, RG_TOKEN_HASH_LEN, (const unsigned char *)cookie, strlen(cookie),
			   key->k, sizeof key->k);
}

/* "s_" and 43 base64url characters: anything else is no session, and is
 * refused before it costs a lookup. */
static bool cookie_shaped(const char *cookie)
{
	size_t n = cookie ? strlen(cookie) : 0;
	if (n != strlen(COOKIE_PREFIX) + 43 || strncmp(cookie, COOKIE_PREFIX, 2) != 0)
		return false;
	for (size_t i = 2; i < n; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
			    cookie[i]))
			return false;
	return true;
}

rg_err rg_session_open(rg_store *s, const rg_token_key *key, const char *token, int64_t now,
		       rg_session *out, rg_error *err)
{
	char id[RG_TOKEN_ID_LEN + 1];
	int64_t token_expires = 0;
	memset(out, 0, sizeof *out);
	rg_err rc = rg_token_authenticate(s, key, token, now, &out->who, err);
	if (!rc && !rg_token_public_id(token, id))
		rc = rg_fail(err, RG_EUNAUTH, NULL, "invalid token");
	if (!rc)
		rc = rg_token_principal_by_id(s, id, now, &token_expires, &out->who, err);
	if (rc)
		return rc;
	rg_session_row row;
	memset(&row, 0, sizeof row);
	random_text(COOKIE_PREFIX, out->cookie);
	random_text("", out->csrf);
	out->expires = now + RG_SESSION_TTL_MS;
	if (token_expires && token_expires < out->expires)
		out->expires = token_expires;
	cookie_hash(key, out->cookie, row.hash);
	snprintf(row.token_id, sizeof row.token_id, "%s", id);
	snprintf(row.csrf, sizeof row.csrf, "%s", out->csrf);
	row.created = now;
	row.expires = out->expires;
	rc = rg_store_session_insert(s, &row, now, err);
	if (rc)
		sodium_memzero(out, sizeof *out);
	return rc;
}

rg_err rg_session_check(rg_store *s, const rg_token_key *key, const char *cookie, int64_t now,
			rg_session *out, rg_error *err)
{
	unsigned char hash[RG_TOKEN_HASH_LEN];
	rg_session_row row;
	bool found = false;
	memset(out, 0, sizeof *out);
	if (!cookie_shaped(cookie))
		return rg_fail(err, RG_EUNAUTH, NULL, "not signed in (no valid session)");
	cookie_hash(key, cookie, hash);
	rg_err rc = rg_store_session_find(s, hash, &row, &found, err);
	if (rc)
		return rc;
	if (!found || now >= row.expires)
		return rg_fail(err, RG_EUNAUTH, NULL,
			       found ? "the session has expired: sign in again"
				     : "not signed in (no valid session)");
	rc = rg_token_principal_by_id(s, row.token_id, now, NULL, &out->who, err);
	if (rc)
		return rc;
	snprintf(out->csrf, sizeof out->csrf, "%s", row.csrf);
	out->expires = row.expires;
	return RG_OK;
}

rg_err rg_session_end(rg_store *s, const rg_token_key *key, const char *cookie, rg_error *err)
{
	unsigned char hash[RG_TOKEN_HASH_LEN];
	if (!cookie_shaped(cookie))
		return RG_OK;
	cookie_hash(key, cookie, hash);
	return rg_store_session_delete(s, hash, err);
}

bool rg_session_csrf_ok(const rg_session *session, const char *presented)
{
	size_t n = strlen(session->csrf);
	if (!presented || !n || strlen(presented) != n)
		return false;
	return sodium_memcmp(session->csrf, presented, n) == 0;
}

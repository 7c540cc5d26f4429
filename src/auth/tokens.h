/* tokens.h — API tokens: made at random, kept only as a keyed hash.
 * A token reads "rg_<id>_<secret>": the id (16 hex digits) finds its row,
 * the whole text's BLAKE2b hash under the state directory's token key is
 * compared in constant time. The key lives in its own file (mode 0600)
 * beside state.db, so a copy of the database alone cannot check guesses.
 * These functions work on a store of their own: `rollguard token` calls
 * them with or without a running serve (SQLite serialises the writers). */
#ifndef RG_AUTH_TOKENS_H
#define RG_AUTH_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/principal.h"
#include "store/store.h"
#include "util/err.h"

#define RG_TOKEN_KEY_FILE "token.key"
#define RG_ADMIN_TOKEN_FILE "admin.token"
#define RG_TOKEN_TEXT_MAX 80          /* "rg_" + 16 + "_" + 43, and the NUL */
#define RG_TOKEN_KEY_LEN 32
#define RG_TOKEN_ID_LEN 16           /* hex digits of a token's public id */

typedef struct rg_token_key {
	unsigned char k[RG_TOKEN_KEY_LEN];
} rg_token_key;

/* Reads state_dir/token.key, making it (0600, random) when it is missing.
 * A key file others may read is refused, naming the file and its mode. */
rg_err rg_token_key_open(const char *state_dir, rg_token_key *key, rg_error *err);
void rg_token_key_wipe(rg_token_key *key);

typedef struct rg_token_spec {
	const char *name;             /* rg_name_valid */
	unsigned roles;               /* RG_ROLE_*, not 0 */
	const char *const *envs;      /* n_envs names; 0: every environment */
	size_t n_envs;
	int64_t expires;              /* ms since the epoch; 0 = never */
	const char *created_by;       /* who made it, for the list */
} rg_token_spec;

/* Makes a token for spec and stores its hash; the token text goes to out
 * (RG_TOKEN_TEXT_MAX) and nowhere else. RG_ECONFLICT for a name in use. */
rg_err rg_token_create(rg_store *s, const rg_token_key *key, const rg_token_spec *spec,
		       char *out, size_t size, rg_error *err);
/* The principal a presented token names. RG_EUNAUTH ("invalid token", or
 * "token 'ci' expired at …") for anything else; the text of a bad token
 * is never repeated. Notes the time of use, at most once a minute. */
rg_err rg_token_authenticate(rg_store *s, const rg_token_key *key, const char *token,
			     int64_t now, rg_principal *out, rg_error *err);
/* The public id of a token's text ("rg_<id>_…"); false for any other shape. */
bool rg_token_public_id(const char *token, char id[RG_TOKEN_ID_LEN + 1]);
/* The principal of the token whose public id is id while it is valid; a
 * revoked (gone) or expired one is RG_EUNAUTH. *expires (may be NULL) gets
 * the token's expiry, 0 for never. For sessions (auth/sessions.h), whose
 * token was checked when they were opened. */
rg_err rg_token_principal_by_id(rg_store *s, const char *id, int64_t now, int64_t *expires,
				rg_principal *out, rg_error *err);
/* On a state directory without any token: makes "admin" (role admin) and
 * writes it to state_dir/admin.token (0600, created exclusively). *made
 * says whether it did; path gets the file's path either way. */
rg_err rg_token_first_admin(rg_store *s, const rg_token_key *key, const char *state_dir,
			    char *path, size_t size, bool *made, rg_error *err);
/* Reads a token from a file (the admin file, or one Alertmanager's
 * credentials_file also reads): its first line, without the newline. */
rg_err rg_token_read_file(const char *path, char *out, size_t size, rg_error *err);

#endif

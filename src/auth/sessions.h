/* sessions.h — dashboard sign-in: a person pastes a token once and the
 * browser holds a session cookie instead (issue "Dashboard", DESIGN §7).
 * The cookie is 256 random bits the store keeps only as a keyed hash (the
 * token key, auth/tokens.h), so a copy of state.db opens no session. A
 * session acts as the token it was opened with: revoking or expiring the
 * token ends it. Every write made with a session must carry its CSRF token,
 * which a page of another site cannot read. */
#ifndef RG_AUTH_SESSIONS_H
#define RG_AUTH_SESSIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/principal.h"
#include "auth/tokens.h"
#include "store/store.h"
#include "util/err.h"

#define RG_SESSION_COOKIE "rg_session"
#define RG_SESSION_TTL_MS (12LL * 3600 * 1000)
#define RG_SESSION_TEXT_MAX 64      /* cookie and CSRF texts, with the NUL */

typedef struct rg_session {
	char cookie[RG_SESSION_TEXT_MAX]; /* set by rg_session_open only: sent once, never stored */
	char csrf[RG_SESSION_TEXT_MAX];
	int64_t expires;                  /* ms: 12 h after opening, or the token's expiry if sooner */
	rg_principal who;                 /* the token's principal */
} rg_session;

/* Checks token as a bearer token would be, then stores a new session for
 * it. RG_EUNAUTH for a bad, revoked or expired token (its text is never
 * repeated). */
rg_err rg_session_open(rg_store *s, const rg_token_key *key, const char *token, int64_t now,
		       rg_session *out, rg_error *err);
/* The session a cookie value names, while it and its token are valid
 * (out->cookie stays ""). RG_EUNAUTH otherwise. */
rg_err rg_session_check(rg_store *s, const rg_token_key *key, const char *cookie, int64_t now,
			rg_session *out, rg_error *err);
/* Signs out: the session is gone from the store. */
rg_err rg_session_end(rg_store *s, const rg_token_key *key, const char *cookie, rg_error *err);
/* Whether presented (may be NULL) is the session's CSRF token; constant time. */
bool rg_session_csrf_ok(const rg_session *session, const char *presented);

#endif

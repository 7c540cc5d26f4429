/* Dashboard sessions: opened with a valid token only, kept hashed, bounded
 * by the token's life, checked with their CSRF token, ended on sign-out. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "auth/sessions.h"
#include "../support/store_dir.h"

static store_dir tmp;
static rg_store *s;
static rg_token_key key;
static rg_error err;
static char token[RG_TOKEN_TEXT_MAX];

#define NOW 1800000000000LL

static void setup(void)
{
	store_dir_make(&tmp);
	cr_assert_eq(rg_store_open(tmp.path, &s, &err), RG_OK, "%s", err.message);
	cr_assert_eq(rg_token_key_open(tmp.dir, &key, &err), RG_OK, "%s", err.message);
	rg_token_spec spec = { .name = "dana", .roles = RG_ROLE_DEPLOYER,
			       .expires = NOW + 3600 * 1000 };
	cr_assert_eq(rg_token_create(s, &key, &spec, token, sizeof token, &err), RG_OK, "%s",
		     err.message);
}

static void teardown(void)
{
	rg_store_free(s);
	store_dir_remove(&tmp);
}

TestSuite(sessions, .init = setup, .fini = teardown);

Test(sessions, a_session_acts_as_its_token)
{
	rg_session open, seen;
	cr_assert_eq(rg_session_open(s, &key, token, NOW, &open, &err), RG_OK, "%s", err.message);
	cr_assert_eq(strncmp(open.cookie, "s_", 2), 0);
	cr_assert_eq(strlen(open.cookie), 45);
	cr_assert_str_eq(open.who.name, "dana");
	/* bounded by the token's expiry, sooner than the 12 h of a session */
	cr_assert_eq(open.expires, NOW + 3600 * 1000);
	cr_assert_eq(rg_session_check(s, &key, open.cookie, NOW + 1000, &seen, &err), RG_OK, "%s",
		     err.message);
	cr_assert_str_eq(seen.who.name, "dana");
	cr_assert_eq(seen.who.roles, RG_ROLE_DEPLOYER);
	cr_assert_str_eq(seen.csrf, open.csrf);
	cr_assert_str_eq(seen.cookie, "");
	cr_assert(rg_session_csrf_ok(&seen, open.csrf));
	cr_assert_not(rg_session_csrf_ok(&seen, NULL));
	cr_assert_not(rg_session_csrf_ok(&seen, ""));
	char wrong[RG_SESSION_TEXT_MAX];
	snprintf(wrong, sizeof wrong, "%s", open.csrf);
	wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
	cr_assert_not(rg_session_csrf_ok(&seen, wrong));
}

Test(sessions, a_bad_token_opens_nothing)
{
	rg_session out;
	char bad[RG_TOKEN_TEXT_MAX];
	snprintf(bad, sizeof bad, "%s", token);
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'x' ? 'y' : 'x';
	cr_assert_eq(rg_session_open(s, &key, bad, NOW, &out, &err), RG_EUNAUTH);
	cr_assert_null(strstr(err.message, bad));
	cr_assert_eq(rg_session_open(s, &key, "", NOW, &out, &err), RG_EUNAUTH);
	cr_assert_eq(rg_session_open(s, &key, token, NOW + 3600 * 1000, &out, &err), RG_EUNAUTH,
		     "an expired token");
}

Test(sessions, unknown_expired_or_revoked_sessions_are_refused)
{
	rg_session open, seen;
	cr_assert_eq(rg_session_open(s, &key, token, NOW, &open, &err), RG_OK, "%s", err.message);
	cr_assert_eq(rg_session_check(s, &key, "s_nope", NOW, &seen, &err), RG_EUNAUTH);
	cr_assert_eq(rg_session_check(s, &key, NULL, NOW, &seen, &err), RG_EUNAUTH);
	char other[RG_SESSION_TEXT_MAX];
	snprintf(other, sizeof other, "%s", open.cookie);
	other[5] = other[5] == 'A' ? 'B' : 'A';
	cr_assert_eq(rg_session_check(s, &key, other, NOW, &seen, &err), RG_EUNAUTH);
	cr_assert_eq(rg_session_check(s, &key, open.cookie, open.expires, &seen, &err), RG_EUNAUTH);
	cr_assert(strstr(err.message, "expired"), "%s", err.message);
	cr_assert_eq(rg_store_token_delete(s, "dana", &err), RG_OK);
	cr_assert_eq(rg_session_check(s, &key, open.cookie, NOW, &seen, &err), RG_EUNAUTH);
	cr_assert(strstr(err.message, "revoked"), "%s", err.message);
}

Test(sessions, signing_out_ends_it)
{
	rg_session open, seen;
	cr_assert_eq(rg_session_open(s, &key, token, NOW, &open, &err), RG_OK, "%s", err.message);
	cr_assert_eq(rg_session_end(s, &key, open.cookie, &err), RG_OK, "%s", err.message);
	cr_assert_eq(rg_session_check(s, &key, open.cookie, NOW, &seen, &err), RG_EUNAUTH);
	cr_assert_eq(rg_session_end(s, &key, "junk", &err), RG_OK, "nothing to end is no error");
}

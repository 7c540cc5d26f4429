/* Tokens: made at random, kept hashed, checked exactly; and the audit chain. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "auth/audit.h"
#include "auth/tokens.h"
#include "../support/store_dir.h"
#include "util/timeutil.h"

static store_dir tmp;
static rg_store *s;
static rg_token_key key;
static rg_error err;

static void setup(void)
{
	store_dir_make(&tmp);
	cr_assert_eq(rg_store_open(tmp.path, &s, &err), RG_OK, "%s", err.message);
	cr_assert_eq(rg_token_key_open(tmp.dir, &key, &err), RG_OK, "%s", err.message);
}

static void teardown(void)
{
	rg_store_free(s);
	store_dir_remove(&tmp);
}

TestSuite(tokens, .init = setup, .fini = teardown);

static void make(const char *name, unsigned roles, const char *env, int64_t expires,
		 char *out)
{
	const char *envs[] = { env };
	rg_token_spec spec = { .name = name, .roles = roles, .envs = envs, .n_envs = env ? 1 : 0,
			       .expires = expires };
	cr_assert_eq(rg_token_create(s, &key, &spec, out, RG_TOKEN_TEXT_MAX, &err), RG_OK, "%s",
		     err.message);
}

Test(tokens, a_token_names_its_principal)
{
	char t[RG_TOKEN_TEXT_MAX];
	rg_principal p;
	make("ann", RG_ROLE_APPROVER | RG_ROLE_VIEWER, "production", 0, t);
	cr_assert_eq(strncmp(t, "rg_", 3), 0);
	cr_assert_eq(rg_token_authenticate(s, &key, t, rg_now_ms(), &p, &err), RG_OK, "%s",
		     err.message);
	cr_assert_str_eq(p.name, "ann");
	cr_assert_eq(p.roles, RG_ROLE_APPROVER | RG_ROLE_VIEWER);
	cr_assert_eq(p.n_envs, 1);
	cr_assert_str_eq(p.envs[0], "production");
}

Test(tokens, anything_else_is_refused_without_repeating_it)
{
	char t[RG_TOKEN_TEXT_MAX], wrong[RG_TOKEN_TEXT_MAX];
	rg_principal p;
	make("ann", RG_ROLE_VIEWER, NULL, 0, t);
	snprintf(wrong, sizeof wrong, "%s", t);
	wrong[strlen(wrong) - 1] = wrong[strlen(wrong) - 1] == 'A' ? 'B' : 'A';
	const char *bad[] = { wrong, "", "rg_", "Bearer x", "rg_0123456789abcdef_short" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		cr_assert_eq(rg_token_authenticate(s, &key, bad[i], rg_now_ms(), &p, &err),
			     RG_EUNAUTH, "%s", bad[i]);
		cr_assert_str_eq(err.message, "invalid token");
	}
	/* another key (another state directory) does not accept it */
	rg_token_key other;
	randombytes_buf(other.k, sizeof other.k);
	cr_assert_eq(rg_token_authenticate(s, &other, t, rg_now_ms(), &p, &err), RG_EUNAUTH);
}

Test(tokens, only_the_hash_is_stored)
{
	char t[RG_TOKEN_TEXT_MAX], sql[256];
	make("ann", RG_ROLE_VIEWER, NULL, 0, t);
	sqlite3 *db;
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_open(tmp.path, &db), SQLITE_OK);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM tokens WHERE instr(hash, '%s') OR "
		 "instr(hex(hash), hex('%s')) OR id = '%s'", t + 20, t + 20, t);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_eq(sqlite3_column_int(st, 0), 0, "the secret part is nowhere in the row");
	sqlite3_finalize(st);
	sqlite3_close(db);
	json_t *list = NULL;
	cr_assert_eq(rg_store_tokens_json(s, &list, &err), RG_OK);
	char *text = json_dumps(list, 0);
	cr_assert_null(strstr(text, t + 20));
	cr_assert_null(strstr(text, "hash"));
	free(text);
	json_decref(list);
}

Test(tokens, expired_revoked_and_duplicate)
{
	char t[RG_TOKEN_TEXT_MAX], t2[RG_TOKEN_TEXT_MAX];
	rg_principal p;
	int64_t now = rg_now_ms();
	make("ci", RG_ROLE_DEPLOYER, NULL, now + 1000, t);
	cr_assert_eq(rg_token_authenticate(s, &key, t, now, &p, &err), RG_OK);
	cr_assert_eq(rg_token_authenticate(s, &key, t, now + 1000, &p, &err), RG_EUNAUTH);
	cr_assert(strstr(err.message, "token 'ci' expired at"), "%s", err.message);
	rg_token_spec dup = { .name = "ci", .roles = RG_ROLE_VIEWER };
	cr_assert_eq(rg_token_create(s, &key, &dup, t2, sizeof t2, &err), RG_ECONFLICT);
	cr_assert_eq(rg_store_token_delete(s, "ci", &err), RG_OK);
	cr_assert_eq(rg_token_authenticate(s, &key, t, now, &p, &err), RG_EUNAUTH);
	cr_assert_eq(rg_store_token_delete(s, "ci", &err), RG_ENOTFOUND);
	rg_token_spec bad = { .name = "a b", .roles = RG_ROLE_VIEWER };
	cr_assert_eq(rg_token_create(s, &key, &bad, t2, sizeof t2, &err), RG_EINVAL);
	cr_assert_str_eq(err.field, "name");
}

Test(tokens, first_admin_once_into_a_private_file)
{
	char path[256], t[RG_TOKEN_TEXT_MAX];
	bool made = false;
	struct stat st;
	rg_principal p;
	cr_assert_eq(rg_token_first_admin(s, &key, tmp.dir, path, sizeof path, &made, &err), RG_OK,
		     "%s", err.message);
	cr_assert(made);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(rg_token_read_file(path, t, sizeof t, &err), RG_OK);
	cr_assert_eq(rg_token_authenticate(s, &key, t, rg_now_ms(), &p, &err), RG_OK);
	cr_assert_str_eq(p.name, "admin");
	cr_assert_eq(p.roles, RG_ROLE_ADMIN);
	cr_assert_eq(rg_token_first_admin(s, &key, tmp.dir, path, sizeof path, &made, &err), RG_OK);
	cr_assert_not(made, "never a second time");
	char keypath[256];
	snprintf(keypath, sizeof keypath, "%s/" RG_TOKEN_KEY_FILE, tmp.dir);
	cr_assert_eq(stat(keypath, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	chmod(keypath, 0644);
	cr_assert_eq(rg_token_key_open(tmp.dir, &key, &err), RG_EFORBIDDEN);
	cr_assert(strstr(err.message, "mode 644"), "%s", err.message);
}

/* ---- the audit chain ---- */

static void append(const char *actor, const char *action)
{
	rg_audit_entry e = { .actor = actor, .address = "127.0.0.1", .action = action,
			     .env = "production", .target = "v1", .result = "accepted",
			     .status = 201 };
	cr_assert_eq(rg_audit_append(s, &e, &err), RG_OK, "%s", err.message);
}

static void tamper(const char *sql)
{
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(tmp.path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
}

static rg_audit_report verify(void)
{
	rg_audit_report r;
	cr_assert_eq(rg_audit_verify(s, &r, &err), RG_OK, "%s", err.message);
	return r;
}

Test(tokens, audit_chain_intact)
{
	append("ann", "deploy");
	append("bob", "approve");
	append("ann", "abort");
	rg_audit_report r = verify();
	cr_assert(r.intact, "%s", r.why);
	cr_assert_eq(r.entries, 3);
	json_t *j = NULL;
	cr_assert_eq(rg_audit_json(s, NULL, 2, &j, &err), RG_OK);
	cr_assert_eq(json_array_size(j), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "action")), "abort");
	json_decref(j);
}

Test(tokens, audit_changed_entry_is_named)
{
	append("ann", "deploy");
	append("bob", "approve");
	append("ann", "abort");
	tamper("UPDATE audit SET actor='mallory' WHERE seq=2");
	rg_audit_report r = verify();
	cr_assert_not(r.intact);
	cr_assert_eq(r.bad_seq, 2);
	cr_assert_str_eq(r.why, "entry 2 was changed");
}

Test(tokens, audit_removed_entry_is_named)
{
	append("ann", "deploy");
	append("bob", "approve");
	append("ann", "abort");
	tamper("DELETE FROM audit WHERE seq=2");
	rg_audit_report r = verify();
	cr_assert_not(r.intact);
	cr_assert_eq(r.bad_seq, 3);
	cr_assert(strstr(r.why, "entry 2 is missing"), "%s", r.why);
}

Test(tokens, audit_reordered_entries_are_found)
{
	append("ann", "deploy");
	append("bob", "approve");
	append("ann", "abort");
	/* swap the contents of entries 1 and 2, hashes and all */
	tamper("UPDATE audit SET seq=-1 WHERE seq=1; UPDATE audit SET seq=1 WHERE seq=2;"
	       "UPDATE audit SET seq=2 WHERE seq=-1");
	rg_audit_report r = verify();
	cr_assert_not(r.intact);
	cr_assert_eq(r.bad_seq, 1);
}

Test(tokens, audit_rehashed_entry_breaks_the_next_link)
{
	append("ann", "deploy");
	append("bob", "approve");
	append("ann", "abort");
	/* a forger who recomputes entry 2's own hash still breaks entry 3's link */
	tamper("UPDATE audit SET hash='00', actor='x' WHERE seq=2");
	rg_audit_report r = verify();
	cr_assert_not(r.intact);
	cr_assert_eq(r.bad_seq, 2);
}

/* test_outbox.c — the notification outbox rows: a pending row comes due,
 * an attempt's outcome is kept, secrets are masked in what is stored, and
 * the listing pages and filters without the payload. */
#include <criterion/criterion.h>
#include <string.h>

#include "store/store.h"
#include "util/secrets.h"

#include "../support/store_dir.h"

static store_dir tmp;
static rg_store *s;
static rg_secrets *secrets;
static rg_error err;

static void setup(void)
{
	store_dir_make(&tmp);
	cr_assert_eq(rg_store_open(tmp.path, &s, &err), RG_OK, "%s", err.message);
	cr_assert_eq(rg_secrets_new(&secrets, &err), RG_OK);
	cr_assert_eq(rg_secrets_add(secrets, "hunter2-secret", 14, NULL, &err), RG_OK);
	rg_store_set_secrets(s, secrets);
}

static void teardown(void)
{
	rg_store_free(s);
	rg_secrets_free(secrets);
	store_dir_remove(&tmp);
}

TestSuite(store_outbox, .init = setup, .fini = teardown);

static int64_t add(const char *channel, const char *env, int64_t created, const char *payload)
{
	rg_outbox_row r = { .created = created, .run_id = 4 };
	snprintf(r.channel, sizeof r.channel, "%s", channel);
	snprintf(r.event, sizeof r.event, "rollback_started");
	snprintf(r.env, sizeof r.env, "%s", env);
	snprintf(r.key, sizeof r.key, "rollguard-%s-%lld", channel, (long long)created);
	r.payload = (char *)payload;
	cr_assert_eq(rg_store_outbox_add(s, &r, &err), RG_OK, "%s", err.message);
	return r.id;
}

Test(store_outbox, due_result_and_listing)
{
	int64_t a = add("devops", "production", 1000, "{\"text\":\"reason: hunter2-secret\"}");
	add("audit", "staging", 2000, "{}");
	rg_outbox_row *rows = NULL;
	size_t n = 0;
	cr_assert_eq(rg_store_outbox_due(s, 1500, 10, &rows, &n, &err), RG_OK);
	cr_assert_eq(n, 1, "only what is due");
	cr_assert_eq(rows[0].id, a);
	cr_assert_str_eq(rows[0].state, "pending");
	cr_assert_null(strstr(rows[0].payload, "hunter2-secret"), "secrets masked when stored");
	rows[0].attempts = 1;
	rows[0].next_attempt_at = 9000;
	snprintf(rows[0].last_error, sizeof rows[0].last_error, "HTTP 500");
	cr_assert_eq(rg_store_outbox_result(s, &rows[0], &err), RG_OK);
	rg_outbox_rows_free(rows, n);

	int64_t at = 0;
	bool any = false;
	cr_assert_eq(rg_store_outbox_next(s, &at, &any, &err), RG_OK);
	cr_assert(any);
	cr_assert_eq(at, 2000);

	json_t *list = NULL;
	cr_assert_eq(rg_store_notifications_failed_json(s, NULL, 0, 10, &list, &err), RG_OK);
	cr_assert_eq(json_array_size(list), 1, "the pending row whose try failed");
	json_t *one = json_array_get(list, 0);
	cr_assert_str_eq(json_string_value(json_object_get(one, "last_error")), "HTTP 500");
	cr_assert_eq(json_integer_value(json_object_get(one, "attempts")), 1);
	cr_assert_null(json_object_get(one, "payload"));
	json_decref(list);
	cr_assert_eq(rg_store_notifications_json(s, "staging", 0, 10, &list, &err), RG_OK);
	cr_assert_eq(json_array_size(list), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "channel")), "audit");
	json_decref(list);
}

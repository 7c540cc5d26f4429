/* test_store_secrets.c — what the store keeps of secrets: nothing. Event
 * messages, step logs and errors are stored with known values masked, and
 * the database files are private to their owner. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store.h"
#include "util/secrets.h"

#include "../support/store_dir.h"

static store_dir tmp;
static rg_store *s;
static rg_secrets *secrets;
static rg_error err;

#define SECRET "hunter2-very-secret"

static void setup(void)
{
	store_dir_make(&tmp);
	cr_assert_eq(rg_store_open(tmp.path, &s, &err), RG_OK, "%s", err.message);
	cr_assert_eq(rg_secrets_new(&secrets, &err), RG_OK);
	cr_assert_eq(rg_secrets_add(secrets, SECRET, strlen(SECRET), NULL, &err), RG_OK);
	rg_store_set_secrets(s, secrets);
}

static void teardown(void)
{
	rg_store_free(s);
	s = NULL;
	rg_secrets_free(secrets);
	store_dir_remove(&tmp);
}

TestSuite(store_secrets, .init = setup, .fini = teardown);

static int64_t insert_run(void)
{
	rg_run r;
	memset(&r, 0, sizeof r);
	snprintf(r.env, sizeof r.env, "production");
	cr_assert(rg_run_kind_parse("deploy", &r.kind));
	snprintf(r.version, sizeof r.version, "v1");
	cr_assert(rg_run_state_parse("running", &r.state));
	r.phase = RG_PHASE_FORWARD;
	snprintf(r.actor, sizeof r.actor, "alice");
	snprintf(r.error, sizeof r.error, "app: exit 1: token=" SECRET);
	cr_assert_eq(rg_store_run_insert(s, &r, &err), RG_OK, "%s", err.message);
	return r.id;
}

static int mode_of(const char *path)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0, "%s", path);
	return (int)(st.st_mode & 0777);
}

Test(store_secrets, database_files_are_private)
{
	char path[160];
	insert_run();   /* a write: the -wal and -shm files exist */
	cr_assert_eq(mode_of(tmp.path), 0600);
	snprintf(path, sizeof path, "%s-wal", tmp.path);
	cr_assert_eq(mode_of(path), 0600);
	snprintf(path, sizeof path, "%s-shm", tmp.path);
	cr_assert_eq(mode_of(path), 0600);
}

Test(store_secrets, an_older_readable_database_is_made_private)
{
	rg_store_free(s);
	cr_assert_eq(chmod(tmp.path, 0644), 0);
	cr_assert_eq(rg_store_open(tmp.path, &s, &err), RG_OK, "%s", err.message);
	cr_assert_eq(mode_of(tmp.path), 0600);
}

Test(store_secrets, events_logs_and_errors_are_masked)
{
	int64_t id = insert_run();
	cr_assert_eq(rg_store_event_add(s, id, "step_failed", "app", "exit 1: " SECRET " leaked",
					&err), RG_OK);
	rg_step_run sr;
	memset(&sr, 0, sizeof sr);
	sr.run_id = id;
	snprintf(sr.phase, sizeof sr.phase, "forward");
	snprintf(sr.name, sizeof sr.name, "app");
	snprintf(sr.action, sizeof sr.action, "run");
	snprintf(sr.state, sizeof sr.state, "failed");
	snprintf(sr.error, sizeof sr.error, "exit 1: " SECRET);
	cr_assert_eq(rg_store_step_put(s, &sr, &err), RG_OK, "%s", err.message);
	const char log[] = "start\nsecret is " SECRET "\n" SECRET SECRET "\n";
	cr_assert_eq(rg_store_step_set_log(s, id, "forward", 0, log, strlen(log), &err), RG_OK);

	char *stored = NULL;
	cr_assert_eq(rg_store_step_log(s, id, "app", &stored, &err), RG_OK);
	cr_assert_str_eq(stored, "start\nsecret is ***\n******\n");
	free(stored);

	json_t *ev = NULL, *run = NULL;
	cr_assert_eq(rg_store_events_json(s, id, 0, &ev, &err), RG_OK, "%s", err.message);
	char *text = json_dumps(ev, 0);
	cr_assert(strstr(text, "exit 1: *** leaked"), "%s", text);
	free(text);
	json_decref(ev);
	cr_assert_eq(rg_store_run_json(s, id, &run, &err), RG_OK, "%s", err.message);
	text = json_dumps(run, 0);
	cr_assert_null(strstr(text, SECRET), "%s", text);
	cr_assert(strstr(text, "token=***"), "%s", text);
	free(text);
	json_decref(run);
}

/* test_counters.c — the /metrics figures kept in memory (api/counters.h):
 * read once from a store, then moved by news and pruning alone. Every check
 * compares with what a fresh load of the same store says, so the figures in
 * memory and those a restart would read agree. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/counters.h"

#include "../support/sql_fixture.h"
#include "../support/store_dir.h"

static store_dir tmp;
static rg_store *s;
static sqlite3 *db;   /* fixtures in plain SQL, as the engine would leave them */
static rg_counters *c;
static rg_error err;

static void setup(void)
{
	store_dir_make(&tmp);
	cr_assert_eq(rg_store_open(tmp.path, &s, &err), RG_OK, "%s", err.message);
	cr_assert_eq(sqlite3_open(tmp.path, &db), SQLITE_OK);
}

static void teardown(void)
{
	rg_counters_free(c);
	c = NULL;
	sqlite3_close(db);
	rg_store_free(s);
	store_dir_remove(&tmp);
}

TestSuite(api_counters, .init = setup, .fini = teardown);

#define sql(...) sql_fixture(db, __VA_ARGS__)

static void run(int id, const char *kind, const char *state, long long ended)
{
	sql("INSERT INTO runs(id, env, kind, version, state, created, ended)"
	    " VALUES (%d, 'prod', '%s', 'v%d', '%s', 1, %lld)", id, kind, id, state, ended);
}

static void step(int run_id, int idx, long long started, long long ended)
{
	sql("INSERT INTO step_runs(run_id, phase, idx, name, state, started, ended)"
	    " VALUES (%d, 'forward', %d, 's%d', 'succeeded', %lld, %lld)", run_id, idx, idx,
	    started, ended);
}

/* The rendered figures of c. Owned by the caller. */
static char *text(const rg_counters *from)
{
	json_t *m = NULL;
	const rg_step_histogram *h = NULL;
	cr_assert_eq(rg_counters_figures(from, &m, &h, &err), RG_OK, "%s", err.message);
	char *out = NULL;
	size_t len = 0;
	cr_assert_eq(rg_metrics_render_with(m, h, &out, &len, &err), RG_OK, "%s", err.message);
	json_decref(m);
	return out;
}

static void has(const char *t, const char *line)
{
	char want[256];
	snprintf(want, sizeof want, "\n%s\n", line);
	cr_assert(strstr(t, want), "missing line '%s' in:\n%s", line, t);
}

/* What a restart would read matches what c says now. */
static void agrees_with_store(void)
{
	rg_counters *fresh = NULL;
	cr_assert_eq(rg_counters_load(s, &fresh, &err), RG_OK, "%s", err.message);
	char *a = text(c), *b = text(fresh);
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
	rg_counters_free(fresh);
}

static void news_state(int id, const char *kind, const char *from, const char *to)
{
	rg_news n = { .kind = RG_NEWS_RUN_STATE, .run_id = id, .env = "prod", .version = "v",
		      .run_kind = kind, .from = from, .to = to };
	rg_counters_news(c, &n);
}

Test(api_counters, loaded_once_from_the_store)
{
	run(1, "deploy", "succeeded", 10);
	run(2, "deploy", "rolled_back", 20);
	run(3, "rollback", "succeeded", 30);
	run(4, "deploy", "running", 0);
	step(1, 0, 1000, 1050);      /* 0.05 s */
	step(1, 1, 1000, 3000);      /* 2 s */
	step(4, 0, 1000, 1100);      /* its run is still going: not yet */
	cr_assert_eq(rg_counters_load(s, &c, &err), RG_OK, "%s", err.message);
	char *t = text(c);
	has(t, "rollguard_runs{state=\"succeeded\"} 2");
	has(t, "rollguard_runs{state=\"running\"} 1");
	has(t, "rollguard_runs{state=\"rolled_back\"} 1");
	has(t, "rollguard_runs{state=\"queued\"} 0");
	has(t, "rollguard_rollbacks_total 2");
	has(t, "rollguard_step_duration_seconds_bucket{le=\"0.1\"} 1");
	has(t, "rollguard_step_duration_seconds_bucket{le=\"5\"} 2");
	has(t, "rollguard_step_duration_seconds_count 2");
	free(t);
}

/* A deploy's life told by news, the store changed as the engine would: the
 * figures follow without reading the store until the run finishes. */
Test(api_counters, follow_a_run_to_its_rollback)
{
	cr_assert_eq(rg_counters_load(s, &c, &err), RG_OK, "%s", err.message);
	run(1, "deploy", "queued", 0);
	news_state(1, "deploy", "", "queued");
	agrees_with_store();
	sql("UPDATE runs SET state='running' WHERE id=1");
	news_state(1, "deploy", "queued", "running");
	step(1, 0, 1000, 1200);
	agrees_with_store();   /* the step's run is unfinished: not counted by either */
	sql("UPDATE runs SET state='rolling_back' WHERE id=1");
	news_state(1, "deploy", "running", "rolling_back");
	sql("UPDATE runs SET state='rolled_back', ended=5 WHERE id=1");
	news_state(1, "deploy", "rolling_back", "rolled_back");
	agrees_with_store();
	char *t = text(c);
	has(t, "rollguard_rollbacks_total 1");
	has(t, "rollguard_runs{state=\"rolled_back\"} 1");
	has(t, "rollguard_runs{state=\"running\"} 0");
	has(t, "rollguard_step_duration_seconds_count 1");
	free(t);
	run(2, "rollback", "queued", 0);
	news_state(2, "rollback", "", "queued");
	sql("UPDATE runs SET state='succeeded', ended=6 WHERE id=2");
	news_state(2, "rollback", "queued", "succeeded");
	agrees_with_store();
	t = text(c);
	has(t, "rollguard_rollbacks_total 2");
	free(t);
}

Test(api_counters, decisions_by_env_and_action)
{
	cr_assert_eq(rg_counters_load(s, &c, &err), RG_OK, "%s", err.message);
	rg_decision d;
	memset(&d, 0, sizeof d);
	snprintf(d.action, sizeof d.action, "rollback");
	rg_news n = { .kind = RG_NEWS_DECISION, .run_id = 1, .env = "prod", .decision = &d };
	rg_counters_news(c, &n);
	rg_counters_news(c, &n);
	n.env = "we\"ird";
	rg_counters_news(c, &n);
	char *t = text(c);
	has(t, "rollguard_decisions_total{env=\"prod\",action=\"rollback\"} 2");
	has(t, "rollguard_decisions_total{env=\"we\\\"ird\",action=\"rollback\"} 1");
	free(t);
}

/* Pruned runs leave the gauge; the counters keep what they counted. */
Test(api_counters, pruning_lowers_the_gauge_only)
{
	run(1, "deploy", "rolled_back", 10);
	run(2, "deploy", "succeeded", 20);
	step(2, 0, 1000, 1050);
	cr_assert_eq(rg_counters_load(s, &c, &err), RG_OK, "%s", err.message);
	rg_retention_result res = { .runs = 2 };
	res.by_state[RG_RUN_ROLLED_BACK] = 1;
	res.by_state[RG_RUN_SUCCEEDED] = 5;   /* more than counted: never below 0 */
	rg_counters_pruned(c, &res);
	char *t = text(c);
	has(t, "rollguard_runs{state=\"rolled_back\"} 0");
	has(t, "rollguard_runs{state=\"succeeded\"} 0");
	has(t, "rollguard_rollbacks_total 1");
	has(t, "rollguard_step_duration_seconds_count 1");
	free(t);
}

Test(api_counters, news_it_cannot_place_is_dropped)
{
	cr_assert_eq(rg_counters_load(s, &c, &err), RG_OK, "%s", err.message);
	news_state(9, "deploy", "nonsense", "running");
	news_state(9, "deploy", "running", NULL);
	news_state(9, "deploy", "queued", "running");   /* from a state none is in */
	char *t = text(c);
	has(t, "rollguard_runs{state=\"running\"} 1");
	has(t, "rollguard_runs{state=\"queued\"} 0");
	free(t);
	rg_counters_news(NULL, &(rg_news){ .kind = RG_NEWS_TIMELINE });
}

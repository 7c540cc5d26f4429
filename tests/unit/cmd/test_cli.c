/* test_cli.c — the CLI's pure parts: argument parsing and checks, formatting
 * of times, timelines, status lines and tables, SSE and line parsing, and the
 * client's URL, token and query handling. No server, no network. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/client.h"
#include "cmd/cmd.h"
#include "cmd/output.h"

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })

static rg_err parse(const char *cmd, int argc, char **argv, rg_cli_args *a, rg_error *e)
{
	rg_error_clear(e);
	return rg_cli_parse(cmd, argc, argv, a, e);
}

/* ---- argument parsing ------------------------------------------------------ */

Test(cli_args, deploy_in_any_order)
{
	rg_cli_args a;
	rg_error e;
	char **v = ARGV("deploy", "--env", "production", "v1.2.0", "--wait");
	cr_assert_eq(parse("deploy", 5, v, &a, &e), RG_OK, "%s", e.message);
	cr_assert_str_eq(a.env, "production");
	cr_assert_eq(a.noperands, 1);
	cr_assert_str_eq(a.operands[0], "v1.2.0");
	cr_assert(a.wait);
	cr_assert(!a.json);
}

Test(cli_args, equals_form)
{
	rg_cli_args a;
	rg_error e;
	char **v = ARGV("rollback", "--env=staging", "--to=v1", "--reason=p95 too high",
			"--dry-run", "--force", "--json");
	cr_assert_eq(parse("rollback", 7, v, &a, &e), RG_OK, "%s", e.message);
	cr_assert_str_eq(a.env, "staging");
	cr_assert_str_eq(a.to, "v1");
	cr_assert_str_eq(a.reason, "p95 too high");
	cr_assert(a.dry_run && a.force && a.json);
}

Test(cli_args, unknown_option_named)
{
	rg_cli_args a;
	rg_error e;
	cr_assert_eq(parse("deploy", 4, ARGV("deploy", "v1", "--env=x", "--bogus=1"), &a, &e),
		     RG_EINVAL);
	cr_assert_str_eq(e.message, "unknown option '--bogus'");
	cr_assert_eq(parse("deploy", 3, ARGV("deploy", "v1", "-x"), &a, &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "unknown option '-x'");
}

Test(cli_args, option_of_another_command_rejected)
{
	rg_cli_args a;
	rg_error e;
	cr_assert_eq(parse("show", 3, ARGV("show", "12", "--wait"), &a, &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "unknown option '--wait'");
}

Test(cli_args, no_abbreviations)
{
	rg_cli_args a;
	rg_error e;
	char **v = ARGV("deploy", "v1", "--env=x", "--wai");
	cr_assert_eq(parse("deploy", 4, v, &a, &e), RG_EINVAL);
}

Test(cli_args, extra_operand_named)
{
	rg_cli_args a;
	rg_error e;
	cr_assert_eq(parse("deploy", 4, ARGV("deploy", "v1", "v2", "--env=x"), &a, &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "unexpected argument 'v2'");
	cr_assert_eq(parse("logs", 4, ARGV("logs", "1", "app", "more"), &a, &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "unexpected argument 'more'");
}

Test(cli_args, missing_pieces)
{
	rg_cli_args a;
	rg_error e;
	cr_assert_eq(parse("deploy", 2, ARGV("deploy", "v1"), &a, &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "missing --env E");
	cr_assert_eq(parse("deploy", 2, ARGV("deploy", "--env=x"), &a, &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "missing VERSION");
	cr_assert_eq(parse("deploy", 3, ARGV("deploy", "v1", "--env"), &a, &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "option '--env' needs a value (E)");
	cr_assert_eq(parse("show", 1, ARGV("show"), &a, &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "missing RUN");
}

Test(cli_args, switch_with_value_and_repeats)
{
	rg_cli_args a;
	rg_error e;
	cr_assert_eq(parse("status", 2, ARGV("status", "--watch=yes"), &a, &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "option '--watch' takes no value");
	cr_assert_eq(parse("status", 3, ARGV("status", "--env=a", "--env=b"), &a, &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "option '--env' given twice");
}

Test(cli_args, double_dash_and_help)
{
	rg_cli_args a;
	rg_error e;
	cr_assert_eq(parse("logs", 4, ARGV("logs", "--", "12", "--json"), &a, &e), RG_OK);
	cr_assert_eq(a.noperands, 2);
	cr_assert_str_eq(a.operands[1], "--json");
	/* --help wins over what is missing */
	cr_assert_eq(parse("deploy", 2, ARGV("deploy", "--help"), &a, &e), RG_OK);
	cr_assert(a.help);
	cr_assert_eq(parse("history", 3, ARGV("history", "--limit", "5"), &a, &e), RG_OK);
	cr_assert_str_eq(a.limit, "5");
}

Test(cli_args, value_may_start_with_dash)
{
	rg_cli_args a;
	rg_error e;
	char **v = ARGV("rollback", "--env", "p", "--reason", "--odd");
	cr_assert_eq(parse("rollback", 5, v, &a, &e), RG_OK, "%s", e.message);
	cr_assert_str_eq(a.reason, "--odd");
}

Test(cli_args, config_file_every_spelling)
{
	rg_cli_args a;
	rg_error e;
	const char *cmds[] = { "init", "lint", "serve" };
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
		const char *c = cmds[i];
		cr_assert_eq(parse(c, 3, ARGV((char *)c, "-c", "a.yaml"), &a, &e), RG_OK, "%s", c);
		cr_assert_str_eq(a.config, "a.yaml");
		cr_assert_eq(parse(c, 2, ARGV((char *)c, "-cb.yaml"), &a, &e), RG_OK, "%s", c);
		cr_assert_str_eq(a.config, "b.yaml");
		cr_assert_eq(parse(c, 3, ARGV((char *)c, "--config", "c.yaml"), &a, &e), RG_OK);
		cr_assert_str_eq(a.config, "c.yaml");
		cr_assert_eq(parse(c, 2, ARGV((char *)c, "--config=d.yaml"), &a, &e), RG_OK);
		cr_assert_str_eq(a.config, "d.yaml");
		cr_assert_eq(parse(c, 1, ARGV((char *)c), &a, &e), RG_OK);
		cr_assert_null(a.config);
		cr_assert_str_eq(rg_cli_config_path(&a), "rollguard.yaml");
	}
}

Test(cli_args, config_file_errors)
{
	rg_cli_args a;
	rg_error e;
	cr_assert_eq(parse("lint", 2, ARGV("lint", "-c"), &a, &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "option '-c' needs a value (FILE)");
	cr_assert_eq(parse("lint", 2, ARGV("lint", "--config"), &a, &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "option '--config' needs a value (FILE)");
	cr_assert_eq(parse("lint", 5, ARGV("lint", "-c", "a", "-c", "b"), &a, &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "option '-c' given twice");
	cr_assert_eq(parse("lint", 2, ARGV("lint", "x.yaml"), &a, &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "unexpected argument 'x.yaml'");
	cr_assert_eq(parse("lint", 2, ARGV("lint", "--force"), &a, &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "unknown option '--force'");
	/* -c belongs to the commands that read a config (the clients, for
	 * the state directory's admin token) */
	cr_assert_eq(parse("version", 3, ARGV("version", "-c", "a"), &a, &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "unknown option '-c'");
	cr_assert_eq(parse("status", 2, ARGV("status", "--config=a"), &a, &e), RG_OK);
	cr_assert_str_eq(a.config, "a");
}

Test(cli_args, init_force_and_serve_log_format)
{
	rg_cli_args a;
	rg_error e;
	cr_assert_eq(parse("init", 4, ARGV("init", "--force", "-c", "n.yaml"), &a, &e), RG_OK);
	cr_assert(a.force);
	cr_assert_str_eq(a.config, "n.yaml");
	cr_assert_eq(parse("init", 2, ARGV("init", "--force=1"), &a, &e), RG_EINVAL);
	cr_assert_eq(parse("serve", 5, ARGV("serve", "--log-format", "json", "-c", "s.yaml"), &a,
			   &e), RG_OK, "%s", e.message);
	cr_assert_str_eq(a.log_format, "json");
	cr_assert_str_eq(a.config, "s.yaml");
	cr_assert_eq(parse("serve", 2, ARGV("serve", "--log-format=text"), &a, &e), RG_OK);
	cr_assert_str_eq(a.log_format, "text");
	cr_assert_eq(parse("serve", 2, ARGV("serve", "--log-format"), &a, &e), RG_EINVAL);
	cr_assert_eq(parse("serve", 2, ARGV("serve", "--force"), &a, &e), RG_EINVAL);
	cr_assert_eq(parse("lint", 2, ARGV("lint", "--log-format=json"), &a, &e), RG_EINVAL);
	cr_assert_eq(parse("serve", 2, ARGV("serve", "-h"), &a, &e), RG_OK);
	cr_assert(a.help);
}

Test(cli_args, no_bundled_or_unknown_short_options)
{
	rg_cli_args a;
	rg_error e;
	cr_assert_eq(parse("lint", 2, ARGV("lint", "-x"), &a, &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "unknown option '-x'");
	cr_assert_eq(parse("init", 2, ARGV("init", "-fc"), &a, &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "unknown option '-fc'");
}

/* The help of init, lint and serve comes from the same table as their parser. */
Test(cli_args, help_names_what_the_parser_accepts)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	cr_assert_eq(rg_help_print("serve", f), 0);
	fclose(f);
	cr_assert(strstr(text, "-c, --config FILE"), "%s", text);
	cr_assert(strstr(text, "--log-format text|json"), "%s", text);
	free(text);
	f = open_memstream(&text, &len);
	cr_assert_eq(rg_help_print("init", f), 0);
	fclose(f);
	cr_assert(strstr(text, "--force"), "%s", text);
	cr_assert(strstr(text, "overwrite FILE"), "%s", text);
	free(text);
}

/* ---- checks of values ------------------------------------------------------------ */

Test(cli_check, names)
{
	rg_error e;
	rg_error_clear(&e);
	cr_assert_eq(rg_cli_check_name("version", "v1.2.0+build_7", &e), RG_OK);
	cr_assert_eq(rg_cli_check_name("version", "v1;x", &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "invalid version 'v1;x' (allowed: letters, digits, . _ + -, up "
				    "to 64, starting with a letter or digit)");
	char long_name[80];
	memset(long_name, 'a', sizeof long_name);
	long_name[64] = '\0';
	cr_assert_eq(rg_cli_check_name("version", long_name, &e), RG_OK);
	long_name[64] = 'a';
	long_name[65] = '\0';
	cr_assert_eq(rg_cli_check_name("version", long_name, &e), RG_EINVAL);
	cr_assert_eq(rg_cli_check_name("environment", "", &e), RG_EINVAL);
	cr_assert_eq(rg_cli_check_name("environment", "-prod", &e), RG_EINVAL);
	cr_assert_eq(rg_cli_check_step("smoke-tests", &e), RG_OK);
	cr_assert_eq(rg_cli_check_step("../etc", &e), RG_EINVAL);
	cr_assert_eq(rg_cli_check_step("a/b", &e), RG_EINVAL);
}

Test(cli_check, run_ids)
{
	rg_error e;
	int64_t id = 0;
	rg_error_clear(&e);
	cr_assert_eq(rg_cli_parse_run_id("12", &id, &e), RG_OK);
	cr_assert_eq(id, 12);
	const char *bad[] = { "0", "-1", "+3", " 4", "12a", "", "abc", "99999999999999999999" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		cr_assert_eq(rg_cli_parse_run_id(bad[i], &id, &e), RG_EINVAL, "%s", bad[i]);
	cr_assert_str_eq(e.message, "invalid run id '99999999999999999999' (expected a number "
				    "like 12)");
}

Test(cli_check, limits_and_text)
{
	rg_error e;
	int n = 0;
	rg_error_clear(&e);
	cr_assert_eq(rg_cli_parse_limit("1000", &n, &e), RG_OK);
	cr_assert_eq(n, 1000);
	cr_assert_eq(rg_cli_parse_limit("1001", &n, &e), RG_EINVAL);
	cr_assert_eq(rg_cli_parse_limit("0", &n, &e), RG_EINVAL);
	cr_assert_eq(rg_cli_check_text("reason", "p95 over 500 ms", 500, &e), RG_OK);
	cr_assert_eq(rg_cli_check_text("reason", "two\nlines", 500, &e), RG_EINVAL);
	cr_assert_str_eq(e.message, "reason contains control characters");
	cr_assert_eq(rg_cli_check_text("reason", "abcdef", 5, &e), RG_EINVAL);
}

Test(cli_check, suggestions)
{
	cr_assert_str_eq(rg_help_suggest("deplyo"), "deploy");
	cr_assert_str_eq(rg_help_suggest("rollbak"), "rollback");
	cr_assert_str_eq(rg_help_suggest("stat"), "status");
	cr_assert_str_eq(rg_help_suggest("histroy"), "history");
	cr_assert_null(rg_help_suggest("frobnicate"));
	cr_assert_eq(rg_out_edit_distance("ab", "ba"), 1);
	cr_assert_eq(rg_out_edit_distance("", "abc"), 3);
	cr_assert_eq(rg_out_edit_distance("kitten", "sitting"), 3);
}

Test(cli_check, every_command_has_help)
{
	const char *names[] = { "init", "lint", "serve", "deploy", "rollback", "status",
				"history", "show", "logs", "abort", "promote", "pause",
				"resume", "version", "help" };
	FILE *devnull = fopen("/dev/null", "w");
	cr_assert_not_null(devnull);
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		cr_assert_eq(rg_help_print(names[i], devnull), 0, "%s", names[i]);
	cr_assert_eq(rg_help_print("nope", devnull), -1);
	/* demo is 'make demo' in the source tree, not a command of the binary */
	cr_assert_eq(rg_help_print("demo", devnull), -1);
	fclose(devnull);
}

/* ---- formatting -------------------------------------------------------------------- */

Test(cli_format, offsets_and_clocks)
{
	char b[64];
	rg_out_offset(b, sizeof b, 1234);
	cr_assert_str_eq(b, "T+1.234s");
	rg_out_offset(b, sizeof b, 0);
	cr_assert_str_eq(b, "T+0.000s");
	rg_out_offset(b, sizeof b, -50);
	cr_assert_str_eq(b, "T-0.050s");
	rg_out_offset(b, sizeof b, 61001);
	cr_assert_str_eq(b, "T+61.001s");
	rg_out_clock(b, sizeof b, 12000);
	cr_assert_str_eq(b, "00:12");
	rg_out_clock(b, sizeof b, 754999);
	cr_assert_str_eq(b, "12:34");
	rg_out_clock(b, sizeof b, 3723000);
	cr_assert_str_eq(b, "1:02:03");
	rg_out_clock(b, sizeof b, -5);
	cr_assert_str_eq(b, "00:00");
}

Test(cli_format, durations)
{
	struct { int64_t ms; const char *want; } cases[] = {
		{ -1, "-" }, { 0, "0ms" }, { 850, "850ms" }, { 1000, "1.0s" }, { 12345, "12.3s" },
		{ 59999, "59.9s" }, { 60000, "1m00s" }, { 245000, "4m05s" }, { 3720000, "1h02m" },
		{ 90061000, "1d01h" },
	};
	char b[32];
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		rg_out_duration(b, sizeof b, cases[i].ms);
		cr_assert_str_eq(b, cases[i].want, "%lld", (long long)cases[i].ms);
	}
}

Test(cli_format, local_time)
{
	char b[32];
	setenv("TZ", "UTC", 1);
	tzset();
	rg_out_time(b, sizeof b, 1732353314123);
	cr_assert_str_eq(b, "2024-11-23 09:15:14");
	rg_out_time(b, sizeof b, -1);
	cr_assert_str_eq(b, "-");
}

Test(cli_format, clean_strips_control_characters)
{
	char b[32];
	rg_out_clean(b, sizeof b, "a\033[31mb\nc\x7f");
	cr_assert_str_eq(b, "a?[31mb?c?");
	rg_out_clean(b, sizeof b, NULL);
	cr_assert_str_eq(b, "");
	rg_out_clean(b, 4, "abcdef");
	cr_assert_str_eq(b, "abc");
}

Test(cli_format, json_times)
{
	json_t *o = json_pack("{s:I, s:s, s:n}", "started_ms", (json_int_t)1500, "ended",
			      "2024-11-23T09:15:14.123Z", "created");
	cr_assert_eq(rg_out_ms(o, "started"), 1500);
	cr_assert_eq(rg_out_ms(o, "ended"), 1732353314123);
	cr_assert_eq(rg_out_ms(o, "created"), -1);
	cr_assert_eq(rg_out_ms(o, "nothing"), -1);
	json_object_set_new(o, "created_ms", json_integer(0));   /* null sent as 0 */
	cr_assert_eq(rg_out_ms(o, "created"), -1);
	json_decref(o);
}

Test(cli_format, event_lines)
{
	char b[256];
	json_t *ev = json_pack("{s:I, s:s, s:s, s:s}", "at_ms", (json_int_t)11532, "type",
			       "step_failed", "step", "smoke", "message", "check health: HTTP 503");
	rg_out_event_line(b, sizeof b, ev, 10000);
	cr_assert_str_eq(b, "T+1.532s  step_failed  smoke: check health: HTTP 503");
	json_decref(ev);
	ev = json_pack("{s:s, s:s, s:n, s:s}", "at", "1970-01-01T00:00:10.000Z", "type", "queued",
		       "step", "message", "deploy v1 to production");
	rg_out_event_line(b, sizeof b, ev, 10000);
	cr_assert_str_eq(b, "T+0.000s  queued  deploy v1 to production");
	json_decref(ev);
	ev = json_pack("{s:I, s:s, s:s}", "at_ms", (json_int_t)10100, "type", "step_started",
		       "step", "app");
	rg_out_event_line(b, sizeof b, ev, 10000);
	cr_assert_str_eq(b, "T+0.100s  step_started  app");
	json_decref(ev);
	ev = json_pack("{s:s}", "type", "run_started");
	rg_out_event_line(b, sizeof b, ev, 10000);
	cr_assert_str_eq(b, "T+?  run_started");
	json_decref(ev);
}

Test(cli_format, status_lines)
{
	char b[256];
	json_t *run = json_pack("{s:s, s:s, s:s, s:i, s:i, s:I}", "state", "running", "phase",
				"forward", "step", "app", "cursor", 2, "total", 5, "started_ms",
				(json_int_t)1000);
	rg_out_status_line(b, sizeof b, run, 13000);
	cr_assert_str_eq(b, "[step 3/5] app  running  00:12");
	json_object_set_new(run, "phase", json_string("reverse"));
	json_object_set_new(run, "cursor", json_integer(9));
	rg_out_status_line(b, sizeof b, run, 13000);
	cr_assert_str_eq(b, "[rollback 5/5] app  running  00:12");
	json_object_set_new(run, "step", json_string(""));
	json_object_set_new(run, "state", json_string("awaiting_approval"));
	rg_out_status_line(b, sizeof b, run, 41000);
	cr_assert_str_eq(b, "awaiting_approval  00:40");
	json_object_set_new(run, "ended_ms", json_integer(6000));
	rg_out_status_line(b, sizeof b, run, 99000);
	cr_assert_str_eq(b, "awaiting_approval  00:05");
	json_decref(run);
}

Test(cli_format, run_results)
{
	char b[256];
	json_t *run = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:n}", "id", 12, "kind", "deploy",
				"env", "production", "version", "v1.2.0", "state", "rolled_back",
				"error", "smoke failed (check health: HTTP 503)", "reason");
	rg_out_run_result(b, sizeof b, run);
	cr_assert_str_eq(b, "run 12 rolled_back: smoke failed (check health: HTTP 503)");
	json_object_set_new(run, "state", json_string("succeeded"));
	json_object_set_new(run, "error", json_null());
	rg_out_run_result(b, sizeof b, run);
	cr_assert_str_eq(b, "run 12 succeeded: v1.2.0 is live on production");
	json_object_set_new(run, "kind", json_string("rollback"));
	rg_out_run_result(b, sizeof b, run);
	cr_assert_str_eq(b, "run 12 succeeded: production is back on v1.2.0");
	json_object_set_new(run, "state", json_string("aborted"));
	rg_out_run_result(b, sizeof b, run);
	cr_assert_str_eq(b, "run 12 aborted");
	json_object_set_new(run, "reason", json_string("aborted by alice"));
	rg_out_run_result(b, sizeof b, run);
	cr_assert_str_eq(b, "run 12 aborted: aborted by alice");
	json_decref(run);
}

/* ---- tables ------------------------------------------------------------------------- */

static char *table_text(const rg_out_table *t)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	rg_out_table_print(t, f);
	fclose(f);
	return text;
}

Test(cli_table, aligned_without_trailing_spaces)
{
	static const char *const headers[] = { "ID", "STATE", "REASON" };
	rg_out_table t;
	rg_error e;
	rg_error_clear(&e);
	rg_out_table_init(&t, 3, headers);
	const char *row[] = { "12", "rolled_back", "smoke failed" };
	cr_assert_eq(rg_out_table_add(&t, row, &e), RG_OK);
	cr_assert_eq(rg_out_table_add(&t, (const char *[]){ "9", NULL, "" }, &e), RG_OK);
	char *text = table_text(&t);
	cr_assert_str_eq(text, "ID  STATE        REASON\n"
			       "12  rolled_back  smoke failed\n"
			       "9   -\n");
	free(text);
	rg_out_table_release(&t);
}

Test(cli_table, utf8_and_control_characters)
{
	static const char *const headers[] = { "A", "B" };
	rg_out_table t;
	rg_error e;
	rg_error_clear(&e);
	rg_out_table_init(&t, 2, headers);
	for (int i = 0; i < 40; i++)   /* past the first allocation */
		cr_assert_eq(rg_out_table_add(&t, (const char *[]){ "ok", "x" }, &e), RG_OK);
	cr_assert_eq(rg_out_table_add(&t, (const char *[]){ "héllo", "\033[2J" }, &e), RG_OK);
	char *text = table_text(&t);
	cr_assert_not_null(strstr(text, "\nok     x\n"));
	cr_assert_not_null(strstr(text, "\nhéllo  ?[2J\n"));
	free(text);
	rg_out_table_release(&t);
}

/* ---- SSE and lines ---------------------------------------------------------------------- */

static int feed(rg_cli_sse *p, const char *line)
{
	return rg_cli_sse_line(p, line, strlen(line));
}

Test(cli_sse, one_event)
{
	rg_cli_sse p;
	rg_cli_sse_init(&p);
	cr_assert_eq(feed(&p, "id: 7"), 0);
	cr_assert_eq(feed(&p, "event: step_started"), 0);
	cr_assert_eq(feed(&p, "data: {\"id\":7}"), 0);
	cr_assert_eq(feed(&p, ""), 1);
	cr_assert_str_eq(p.id, "7");
	cr_assert_str_eq(p.event, "step_started");
	cr_assert_str_eq(p.data.buf, "{\"id\":7}");
	rg_cli_sse_release(&p);
}

Test(cli_sse, multi_line_data_comments_and_defaults)
{
	rg_cli_sse p;
	rg_cli_sse_init(&p);
	cr_assert_eq(feed(&p, ": keep-alive"), 0);
	cr_assert_eq(feed(&p, ""), 0);   /* nothing to dispatch */
	cr_assert_eq(feed(&p, "data:a"), 0);
	cr_assert_eq(feed(&p, "data:  b"), 0);
	cr_assert_eq(feed(&p, "retry: 100"), 0);
	cr_assert_eq(feed(&p, "bogus"), 0);
	cr_assert_eq(feed(&p, ""), 1);
	cr_assert_str_eq(p.event, "message");
	cr_assert_str_eq(p.data.buf, "a\n b");
	rg_cli_sse_release(&p);
}

Test(cli_sse, fields_reset_but_id_persists)
{
	rg_cli_sse p;
	rg_cli_sse_init(&p);
	feed(&p, "id: 3");
	feed(&p, "event: end");
	feed(&p, "data: {\"state\":\"succeeded\"}");
	cr_assert_eq(feed(&p, ""), 1);
	cr_assert_eq(feed(&p, "data: x"), 0);
	cr_assert_eq(feed(&p, ""), 1);
	cr_assert_str_eq(p.event, "message");
	cr_assert_str_eq(p.data.buf, "x");
	cr_assert_str_eq(p.id, "3");
	feed(&p, "event: lonely");
	cr_assert_eq(feed(&p, ""), 0);   /* an event without data is dropped */
	rg_cli_sse_release(&p);
}

typedef struct lines {
	char got[8][64];
	int n, stop_at;
} lines;

static int collect(void *ctx, const char *line, size_t len)
{
	lines *l = ctx;
	cr_assert_eq(strlen(line), len);
	snprintf(l->got[l->n], sizeof l->got[l->n], "%s", line);
	return ++l->n == l->stop_at;
}

Test(cli_sse, lines_split_across_chunks)
{
	lines l = { .stop_at = -1 };
	char buf[64] = "id: 1\r\nevent: x\n\npart";
	int stopped = 0;
	size_t used = rg_cli_lines_take(buf, strlen("id: 1\r\nevent: x\n\npart"), collect, &l,
					&stopped);
	cr_assert_eq(used, strlen("id: 1\r\nevent: x\n\n"));
	cr_assert_eq(l.n, 3);
	cr_assert_str_eq(l.got[0], "id: 1");
	cr_assert_str_eq(l.got[1], "event: x");
	cr_assert_str_eq(l.got[2], "");
	cr_assert_eq(stopped, 0);
}

Test(cli_sse, lines_stop_early)
{
	lines l = { .stop_at = 1 };
	char buf[32] = "a\nb\n";
	int stopped = 0;
	cr_assert_eq(rg_cli_lines_take(buf, 4, collect, &l, &stopped), 2);
	cr_assert_eq(stopped, 1);
}

/* ---- client helpers ------------------------------------------------------------------- */

Test(cli_client, urls)
{
	char out[64];
	rg_error e;
	rg_error_clear(&e);
	cr_assert_eq(rg_client_url_normalize("http://127.0.0.1:7070//", out, sizeof out, &e),
		     RG_OK);
	cr_assert_str_eq(out, "http://127.0.0.1:7070");
	cr_assert_eq(rg_client_url_normalize("https://rg.example:443/base", out, sizeof out, &e),
		     RG_OK);
	cr_assert_str_eq(out, "https://rg.example:443/base");
	const char *bad[] = { "ftp://x", "127.0.0.1:7070", "http://", "http:///x", "http://a b",
			      "http://a\r\nX: y", "" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		cr_assert_eq(rg_client_url_normalize(bad[i], out, sizeof out, &e), RG_EINVAL, "%s",
			     bad[i]);
	const char *too_long = "http://a-very-long-host-name-that-does-not-fit.example";
	cr_assert_eq(rg_client_url_normalize(too_long, out, 16, &e), RG_EINVAL);
}

Test(cli_client, token)
{
	cr_assert(rg_client_token_valid("rg_abc123-._~"));
	cr_assert(!rg_client_token_valid(""));
	cr_assert(!rg_client_token_valid("a b"));
	cr_assert(!rg_client_token_valid("abc\r\nX-Evil: 1"));
}

Test(cli_client, query_encoding)
{
	char path[64] = "/runs";
	rg_error e;
	rg_error_clear(&e);
	cr_assert_eq(rg_client_query_add(path, sizeof path, "env", "prod+eu", &e), RG_OK);
	cr_assert_eq(rg_client_query_add(path, sizeof path, "limit", "20", &e), RG_OK);
	cr_assert_str_eq(path, "/runs?env=prod%2Beu&limit=20");
	char tiny[12] = "/runs";
	cr_assert_eq(rg_client_query_add(tiny, sizeof tiny, "env", "production", &e), RG_EINVAL);
}

Test(cli_client, terminal_states)
{
	const char *done[] = { "succeeded", "failed", "rolled_back", "rollback_failed", "aborted" };
	const char *live[] = { "queued", "awaiting_approval", "running", "paused", "verifying",
			       "monitoring", "rolling_back" };
	for (size_t i = 0; i < sizeof done / sizeof *done; i++)
		cr_assert(rg_client_state_terminal(done[i]), "%s", done[i]);
	for (size_t i = 0; i < sizeof live / sizeof *live; i++)
		cr_assert(!rg_client_state_terminal(live[i]), "%s", live[i]);
	cr_assert(!rg_client_state_terminal(NULL));
}

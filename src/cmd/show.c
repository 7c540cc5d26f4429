/* show.c — `rollguard show RUN [--json]`: one run's header, steps table,
 * decision and timeline (T+ offsets from the run's creation). It only
 * reads; --json prints the server's document unchanged. */
#include "cmd/cmd.h"

#include <string.h>

#include "cmd/client.h"
#include "cmd/output.h"

static void field_line(const char *label, const char *value)
{
	char clean[1100];
	rg_out_clean(clean, sizeof clean, value);
	if (clean[0])
		printf("%-11s %s\n", label, clean);
}

static void time_line(const char *label, const json_t *run, const char *name)
{
	char when[32];
	int64_t ms = rg_out_ms(run, name);
	if (ms < 0)
		return;
	rg_out_time(when, sizeof when, ms);
	field_line(label, when);
}

static void header_print(const json_t *run)
{
	char kind[16], version[96], env[96], from[96], took[32], state[64];
	rg_out_clean(kind, sizeof kind, rg_out_str_or(run, "kind", "run"));
	rg_out_clean(version, sizeof version, rg_out_str_or(run, "version", "?"));
	rg_out_clean(env, sizeof env, rg_out_str_or(run, "env", "?"));
	rg_out_clean(from, sizeof from, rg_out_str(run, "from_version"));
	printf("run %lld: %s %s %s %s%s%s%s\n", (long long)rg_out_int(run, "id", 0), kind, version,
	       !strcmp(kind, "rollback") ? "on" : "to", env, from[0] ? " (from " : "", from,
	       from[0] ? ")" : "");
	snprintf(state, sizeof state, "%s%s%s", rg_out_str_or(run, "state", "?"),
		 rg_out_str(run, "phase") ? ", phase " : "", rg_out_str_or(run, "phase", ""));
	field_line("state", state);
	field_line("actor", rg_out_str(run, "actor"));
	char schema[200] = "";
	const char *sv = rg_out_str(run, "schema"), *sf = rg_out_str(run, "from_schema");
	if (sv || sf)
		snprintf(schema, sizeof schema, "%s%s%s", sv ? sv : "(none)", sf ? " (from " : "",
			 sf ? sf : "");
	if (sf)
		strncat(schema, ")", sizeof schema - strlen(schema) - 1);
	char clean[200];
	rg_out_clean(clean, sizeof clean, schema);
	field_line("schema", clean[0] ? clean : NULL);
	if (json_is_true(json_object_get(run, "emergency")))
		field_line("emergency", json_is_true(json_object_get(run, "skip_monitor"))
						? "yes: approval gates and the monitor window skipped"
						: "yes: approval gates skipped");
	field_line("reason", rg_out_str(run, "reason"));
	field_line("error", rg_out_str(run, "error"));
	field_line("warning", rg_out_str(run, "warning"));
	time_line("created", run, "created");
	time_line("started", run, "started");
	time_line("ended", run, "ended");
	int64_t start = rg_out_ms(run, "started"), end = rg_out_ms(run, "ended");
	if (start >= 0 && end >= start) {
		rg_out_duration(took, sizeof took, end - start);
		field_line("took", took);
	}
}

static rg_err step_row(rg_out_table *t, const json_t *step, rg_error *err)
{
	char tries[24], exit_code[24], took[32];
	int64_t ms = rg_out_int(step, "duration_ms", -1), code = rg_out_int(step, "exit_code", -1);
	int64_t start = rg_out_ms(step, "started"), end = rg_out_ms(step, "ended");
	if (ms < 0 && start >= 0 && end >= start)
		ms = end - start;
	rg_out_duration(took, sizeof took, ms);
	snprintf(tries, sizeof tries, "%lld", (long long)rg_out_int(step, "attempts", 0));
	if (code >= 0)
		snprintf(exit_code, sizeof exit_code, "%lld", (long long)code);
	else
		snprintf(exit_code, sizeof exit_code, "-");
	const char *cells[] = {
		rg_out_str(step, "name"), rg_out_str(step, "phase"), rg_out_str(step, "action"),
		rg_out_str(step, "state"), tries, exit_code, took, rg_out_str_or(step, "error", ""),
	};
	return rg_out_table_add(t, cells, err);
}

static rg_err steps_print(const json_t *steps, rg_error *err)
{
	static const char *const headers[] = {
		"STEP", "PHASE", "ACTION", "STATE", "TRIES", "EXIT", "DURATION", "ERROR",
	};
	rg_out_table t;
	json_t *step;
	size_t i;
	if (!json_array_size(steps)) {
		printf("\nno steps run\n");
		return RG_OK;
	}
	rg_out_table_init(&t, sizeof headers / sizeof *headers, headers);
	json_array_foreach(steps, i, step) {
		rg_err rc = step_row(&t, step, err);
		if (rc) {
			rg_out_table_release(&t);
			return rc;
		}
	}
	putchar('\n');
	rg_out_table_print(&t, stdout);
	rg_out_table_release(&t);
	return RG_OK;
}

/* A sequential test's evidence in one line: counts per side, the
 * log-likelihood ratio against its bounds, α and β. */
static void evidence_line(const json_t *ev, char *out, size_t size)
{
	const json_t *c = json_object_get(ev, "canary"), *b = json_object_get(ev, "baseline");
	snprintf(out, size,
		 "%s test: canary %lld/%lld, baseline %lld/%lld; log-likelihood ratio %.3g (fail >= %.3g, pass <= %.3g); alpha %g, beta %g, min_effect %g",
		 rg_out_str_or(ev, "test", "?"), (long long)rg_out_int(c, "events", 0),
		 (long long)rg_out_int(c, "requests", 0), (long long)rg_out_int(b, "events", 0),
		 (long long)rg_out_int(b, "requests", 0), json_number_value(json_object_get(ev, "llr")),
		 json_number_value(json_object_get(ev, "upper")), json_number_value(json_object_get(ev, "lower")),
		 json_number_value(json_object_get(ev, "alpha")), json_number_value(json_object_get(ev, "beta")),
		 json_number_value(json_object_get(ev, "min_effect")));
}

static void decision_print(const json_t *d, int64_t base_ms, const char *title)
{
	char line[600], at[32];
	if (!json_is_object(d))
		return;
	snprintf(line, sizeof line, "%s (%s) -> %s", rg_out_str_or(d, "trigger", "?"),
		 rg_out_str_or(d, "severity", "?"), rg_out_str_or(d, "action", "?"));
	printf("\n%s\n", title);
	field_line("  trigger", line);
	field_line("  window", rg_out_str(d, "window"));
	field_line("  observed", rg_out_str(d, "observed"));
	field_line("  threshold", rg_out_str(d, "threshold"));
	if (json_is_object(json_object_get(d, "evidence"))) {
		evidence_line(json_object_get(d, "evidence"), line, sizeof line);
		field_line("  evidence", line);
	}
	field_line("  reason", rg_out_str(d, "reason"));
	int64_t ms = rg_out_ms(d, "at");
	if (ms >= 0 && base_ms >= 0) {
		rg_out_offset(at, sizeof at, ms - base_ms);
		field_line("  at", at);
	}
}

/* The decision that acted, then any other (notify, waiting for approval). */
static void decisions_print(const json_t *run, int64_t base_ms)
{
	const json_t *acted = json_object_get(run, "decision");
	decision_print(acted, base_ms, "decision");
	const json_t *all = json_object_get(run, "decisions");
	size_t i;
	json_t *d;
	json_array_foreach(all, i, d) {
		if (json_is_object(acted) && rg_out_ms(d, "at") == rg_out_ms(acted, "at") &&
		    strcmp(rg_out_str_or(d, "trigger", ""), rg_out_str_or(acted, "trigger", "")) == 0)
			continue;
		decision_print(d, base_ms, "other decision");
	}
}

static void timeline_print(const json_t *events, int64_t base_ms)
{
	char line[1400];
	json_t *ev;
	size_t i;
	if (!json_array_size(events))
		return;
	if (base_ms < 0)
		base_ms = rg_out_ms(json_array_get(events, 0), "at");
	printf("\ntimeline\n");
	json_array_foreach(events, i, ev) {
		rg_out_event_line(line, sizeof line, ev, base_ms);
		printf("  %s\n", line);
	}
}

static int show_run(rg_client *c, int64_t id, bool json)
{
	char path[64];
	rg_error e;
	json_t *run = NULL;
	rg_error_clear(&e);
	snprintf(path, sizeof path, "/runs/%lld", (long long)id);
	if (rg_client_call(c, "GET", path, NULL, &run, &e))
		return rg_out_error(&e);
	int code = RG_EXIT_OK;
	if (json) {
		code = rg_out_json(run);
	} else {
		int64_t base = rg_out_ms(run, "created");
		header_print(run);
		rg_out_approval(stdout, "", json_object_get(run, "approval"));
		if (steps_print(json_object_get(run, "steps"), &e))
			code = rg_out_error(&e);
		decisions_print(run, base);
		timeline_print(json_object_get(run, "events"), base);
	}
	json_decref(run);
	return code;
}

int cmd_show(int argc, char **argv)
{
	rg_cli_args a;
	rg_client c;
	rg_error e;
	int64_t id;
	int code;
	if (!rg_cli_args_get("show", argc, argv, &a, &code))
		return code;
	rg_error_clear(&e);
	if (rg_cli_parse_run_id(a.operands[0], &id, &e))
		return rg_out_error(&e);
	if (rg_client_init(&c, a.config, &e)) {
		rg_client_release(&c);
		return rg_out_error(&e);
	}
	code = show_run(&c, id, a.json);
	rg_client_release(&c);
	return code;
}

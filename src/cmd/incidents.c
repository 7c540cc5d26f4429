/* incidents.c — the incident commands, clients of the incident routes
 * (api/incidents.h): `incidents`, `incident ID`, `ack`, `note`, `resolve`,
 * `checklist` and `postmortem` (rendered here from the incident's JSON by
 * incident/postmortem.c). Nothing here reaches the store. */
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

#include "cmd/client.h"
#include "cmd/output.h"
#include "incident/postmortem.h"

#define NOTE_MAX 500

/* One call; *answer is the caller's. Exit code, or -1 to go on. */
static int call(const rg_cli_args *a, const char *method, const char *path, json_t *body,
		json_t **answer)
{
	rg_client c;
	rg_error e;
	rg_error_clear(&e);
	if (rg_client_init(&c, a->config, &e) || rg_client_call(&c, method, path, body, answer, &e)) {
		rg_client_release(&c);
		json_decref(body);
		return rg_out_error(&e);
	}
	rg_client_release(&c);
	json_decref(body);
	return -1;
}

static void line(const json_t *i)
{
	char text[600];
	rg_out_clean(text, sizeof text, rg_out_str_or(i, "failed_version", "-"));
	printf("incident %lld  %s  %s  %s of %s  %s  level %lld", (long long)rg_out_int(i, "id", 0),
	       rg_out_str(i, "severity"), rg_out_str(i, "env"), rg_out_str(i, "kind"), text,
	       rg_out_str(i, "state"), (long long)rg_out_int(i, "level", 0));
	if (json_is_string(json_object_get(i, "acked_by")))
		printf("  acked by %s", rg_out_str(i, "acked_by"));
	printf("\n");
}

int cmd_incidents(int argc, char **argv)
{
	rg_cli_args a;
	rg_error e;
	int code;
	char path[200] = "/incidents";
	json_t *answer = NULL;
	if (!rg_cli_args_get("incidents", argc, argv, &a, &code))
		return code;
	rg_error_clear(&e);
	if ((a.env && rg_cli_check_name("environment", a.env, &e)) ||
	    (a.env && rg_client_query_add(path, sizeof path, "env", a.env, &e)) ||
	    (a.open && rg_client_query_add(path, sizeof path, "open", "true", &e)) ||
	    (a.before && rg_client_query_add(path, sizeof path, "before", a.before, &e)))
		return rg_out_error(&e);
	if ((code = call(&a, "GET", path, NULL, &answer)) >= 0)
		return code;
	json_t *list = json_object_get(answer, "incidents");
	size_t i;
	json_t *it;
	if (a.json) {
		code = rg_out_json(list);
	} else {
		if (!json_array_size(list))
			printf("no incidents\n");
		json_array_foreach(list, i, it) line(it);
		if (json_object_get(answer, "next_before"))
			printf("more: --before %lld\n", (long long)rg_out_int(answer, "next_before", 0));
		code = RG_EXIT_OK;
	}
	json_decref(answer);
	return code;
}

static void print_checklist(const json_t *inc)
{
	size_t i;
	json_t *it;
	char text[300];
	json_array_foreach(json_object_get(inc, "checklist"), i, it) {
		rg_out_clean(text, sizeof text, rg_out_str(it, "text"));
		bool done = json_is_true(json_object_get(it, "ticked"));
		printf("  %2lld. [%c] %s", (long long)rg_out_int(it, "item", 0), done ? 'x' : ' ', text);
		if (done)
			printf("  (%s, %s)", rg_out_str(it, "by"), rg_out_str(it, "at"));
		printf("\n");
	}
}

static void print_incident(const json_t *inc)
{
	size_t i;
	json_t *ev;
	char text[1200];
	line(inc);
	printf("  opened %s by %s\n", rg_out_str(inc, "opened"), rg_out_str_or(inc, "opened_by", "-"));
	printf("  restored release: %s\n", rg_out_str_or(inc, "restored_version", "-"));
	const json_t *d = json_object_get(inc, "decision");
	if (json_is_object(d)) {
		rg_out_clean(text, sizeof text, rg_out_str(d, "reason"));
		printf("  decision: %s (%s): %s\n", rg_out_str(d, "trigger"), rg_out_str(d, "action"), text);
	}
	if (json_is_string(json_object_get(inc, "next_escalation_at")))
		printf("  next escalation: %s\n", rg_out_str(inc, "next_escalation_at"));
	printf("timeline:\n");
	json_array_foreach(json_object_get(inc, "timeline"), i, ev) {
		rg_out_clean(text, sizeof text, rg_out_str(ev, "message"));
		const char *actor = rg_out_str_or(ev, "actor", NULL);
		printf("  %s  %-8s %-22s %s%s%s\n", rg_out_str(ev, "at"),
		       !strcmp(rg_out_str(ev, "source"), "run") ? "run" : "incident", rg_out_str(ev, "type"),
		       actor ? actor : "", actor ? ": " : "", text);
	}
	printf("checklist:\n");
	print_checklist(inc);
}

static int parse_id(const rg_cli_args *a, int64_t *id)
{
	rg_error e;
	rg_error_clear(&e);
	return rg_cli_parse_run_id(a->operands[0], id, &e) ? rg_out_error(&e) : -1;
}

/* GET /incidents/ID of cmd's operand: exit code, or -1 with *answer. */
static int fetch(const char *cmd, int argc, char **argv, rg_cli_args *a, json_t **answer)
{
	int code;
	int64_t id;
	char path[64];
	if (!rg_cli_args_get(cmd, argc, argv, a, &code))
		return code;
	if ((code = parse_id(a, &id)) >= 0)
		return code;
	snprintf(path, sizeof path, "/incidents/%lld", (long long)id);
	return call(a, "GET", path, NULL, answer);
}

int cmd_incident(int argc, char **argv)
{
	rg_cli_args a;
	int code;
	json_t *answer = NULL;
	if ((code = fetch("incident", argc, argv, &a, &answer)) >= 0)
		return code;
	if (a.json)
		code = rg_out_json(answer);
	else
		print_incident(answer), code = RG_EXIT_OK;
	json_decref(answer);
	return code;
}

/* ack, note, resolve and checklist --tick: POST …/ID/<what>. */
static int answer_cmd(const char *cmd, const char *what, const char *key, int argc, char **argv)
{
	rg_cli_args a;
	rg_error e;
	int code;
	int64_t id;
	char path[80];
	json_t *answer = NULL;
	if (!rg_cli_args_get(cmd, argc, argv, &a, &code))
		return code;
	if ((code = parse_id(&a, &id)) >= 0)
		return code;
	const char *text = !strcmp(cmd, "note") ? a.operands[1] : !strcmp(cmd, "checklist") ? a.tick : a.note;
	rg_error_clear(&e);
	if (text && rg_cli_check_text(key, text, NOTE_MAX, &e))
		return rg_out_error(&e);
	bool post = strcmp(cmd, "checklist") != 0 || a.tick;
	snprintf(path, sizeof path, "/incidents/%lld%s%s", (long long)id, post ? "/" : "", post ? what : "");
	json_t *body = post ? json_object() : NULL;
	if (body && text)
		json_object_set_new(body, key, json_string(text));
	if ((code = call(&a, post ? "POST" : "GET", path, body, &answer)) >= 0)
		return code;
	if (a.json) {
		code = rg_out_json(answer);
	} else if (!strcmp(cmd, "checklist")) {
		line(answer);
		print_checklist(answer);
		code = RG_EXIT_OK;
	} else {
		line(answer);
		code = RG_EXIT_OK;
	}
	json_decref(answer);
	return code;
}

int cmd_ack(int argc, char **argv)
{
	return answer_cmd("ack", "ack", "note", argc, argv);
}

int cmd_note(int argc, char **argv)
{
	return answer_cmd("note", "note", "note", argc, argv);
}

int cmd_resolve(int argc, char **argv)
{
	return answer_cmd("resolve", "resolve", "note", argc, argv);
}

int cmd_checklist(int argc, char **argv)
{
	return answer_cmd("checklist", "checklist", "tick", argc, argv);
}

int cmd_postmortem(int argc, char **argv)
{
	rg_cli_args a;
	rg_error e;
	int code;
	json_t *answer = NULL;
	if ((code = fetch("postmortem", argc, argv, &a, &answer)) >= 0)
		return code;
	rg_strbuf sb;
	rg_strbuf_init(&sb);
	rg_error_clear(&e);
	if (rg_postmortem_render(answer, &sb, &e)) {
		code = rg_out_error(&e);
	} else {
		fwrite(sb.buf, 1, sb.len, stdout);
		code = RG_EXIT_OK;
	}
	rg_strbuf_release(&sb);
	json_decref(answer);
	return code;
}

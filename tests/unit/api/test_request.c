/* test_request.c — the API's pure input handling: body limits, strict JSON
 * with field names, route matching, error bodies, SSE framing, listen
 * addresses. No server, no engine: nothing here may start either. */
#include <criterion/criterion.h>
#include <string.h>

#include "api/request.h"
#include "api/routes.h"
#include "api/server.h"
#include "api/sse.h"

/* ---- bodies ------------------------------------------------------------------ */

Test(api_body, keeps_up_to_the_limit)
{
	rg_body b;
	rg_error err;
	rg_body_init(&b, 8);
	cr_assert_eq(rg_body_append(&b, "1234", 4, &err), RG_OK);
	cr_assert_eq(rg_body_append(&b, "5678", 4, &err), RG_OK);
	cr_assert_eq(b.text.len, 8);
	cr_assert_str_eq(b.text.buf, "12345678");
	cr_assert_not(b.too_large);
	rg_body_release(&b);
}

Test(api_body, one_byte_over_is_too_large_and_stays_so)
{
	rg_body b;
	rg_error err;
	rg_body_init(&b, 8);
	cr_assert_eq(rg_body_append(&b, "12345", 5, &err), RG_OK);
	cr_assert_eq(rg_body_append(&b, "6789", 4, &err), RG_ETOOLARGE);
	cr_assert(b.too_large);
	cr_assert_eq(b.text.len, 0);
	cr_assert_eq(b.text.alloc, 0, "what arrived so far is freed");
	cr_assert_eq(rg_body_append(&b, "x", 1, &err), RG_ETOOLARGE);
	cr_assert_eq(err.code, RG_ETOOLARGE);
	cr_assert(strstr(err.message, "larger than 8 bytes"));
	rg_body_release(&b);
}

Test(api_body, grows_past_its_first_buffer)
{
	rg_body b;
	rg_error err;
	char chunk[1000];
	memset(chunk, 'a', sizeof chunk);
	rg_body_init(&b, RG_BODY_MAX);
	for (int i = 0; i < 65; i++)
		cr_assert_eq(rg_body_append(&b, chunk, sizeof chunk, &err), RG_OK);
	cr_assert_eq(b.text.len, 65000);
	cr_assert_eq(rg_body_append(&b, chunk, 536, &err), RG_OK);   /* exactly 65536 */
	cr_assert_eq(rg_body_append(&b, "z", 1, &err), RG_ETOOLARGE);
	rg_body_release(&b);
}

Test(api_body, declared_length)
{
	rg_error err;
	cr_assert_eq(rg_body_check_length(NULL, 100, &err), RG_OK);
	cr_assert_eq(rg_body_check_length("100", 100, &err), RG_OK);
	cr_assert_eq(rg_body_check_length("0", 100, &err), RG_OK);
	cr_assert_eq(rg_body_check_length("101", 100, &err), RG_ETOOLARGE);
	cr_assert_eq(rg_body_check_length("99999999999999999999999999", 100, &err), RG_ETOOLARGE);
	cr_assert_eq(rg_body_check_length("0000000000000000000000000100", 100, &err), RG_OK);
	cr_assert_eq(rg_body_check_length("-1", 100, &err), RG_EINVAL);
	cr_assert_eq(rg_body_check_length("", 100, &err), RG_EINVAL);
	cr_assert_eq(rg_body_check_length("12abc", 100, &err), RG_EINVAL);
}

/* ---- strict JSON --------------------------------------------------------------- */

static const rg_json_field fields[] = {
	{ "env", RG_JSON_STRING, true, 0 },
	{ "reason", RG_JSON_STRING, false, 5 },
	{ "dry_run", RG_JSON_BOOL, false, 0 },
	{ "limit", RG_JSON_INT, false, 0 },
};

static rg_err check(const char *body, rg_error *err)
{
	json_t *obj = NULL;
	rg_error_clear(err);
	rg_err rc = rg_json_parse_checked(body, strlen(body), fields, 4, &obj, err);
	cr_assert_eq(obj == NULL, rc != RG_OK);
	json_decref(obj);
	return rc;
}

Test(api_json, accepts_known_fields)
{
	rg_error err;
	json_t *obj;
	const char *body = "{\"env\":\"prod\",\"reason\":\"héllo\",\"dry_run\":true,\"limit\":3}";
	cr_assert_eq(rg_json_parse_checked(body, strlen(body), fields, 4, &obj, &err), RG_OK);
	cr_assert_str_eq(rg_json_get_str(obj, "env"), "prod");
	cr_assert(rg_json_get_bool(obj, "dry_run"));
	cr_assert_eq(rg_json_get_int(obj, "limit"), 3);
	json_decref(obj);
}

Test(api_json, malformed_names_line_and_column)
{
	rg_error err;
	cr_assert_eq(check("{\n  \"env\": \"x\",\n  oops\n}", &err), RG_EINVAL);
	cr_assert(strstr(err.message, "line 3"), "%s", err.message);
	cr_assert(strstr(err.message, "column"), "%s", err.message);
	cr_assert_str_eq(err.field, "");
}

Test(api_json, trailing_garbage_and_scalars_are_refused)
{
	rg_error err;
	cr_assert_eq(check("{\"env\":\"x\"} x", &err), RG_EINVAL);
	cr_assert_eq(check("\"env\"", &err), RG_EINVAL);
	cr_assert_eq(check("[1]", &err), RG_EINVAL);
	cr_assert(strstr(err.message, "must be a JSON object"), "%s", err.message);
}

Test(api_json, duplicate_keys_are_refused)
{
	rg_error err;
	cr_assert_eq(check("{\"env\":\"a\",\"env\":\"b\"}", &err), RG_EINVAL);
	cr_assert(strstr(err.message, "duplicate"), "%s", err.message);
}

Test(api_json, unknown_field_is_named)
{
	rg_error err;
	cr_assert_eq(check("{\"env\":\"x\",\"verison\":\"1\"}", &err), RG_EINVAL);
	cr_assert_str_eq(err.field, "verison");
	cr_assert(strstr(err.message, "unknown field 'verison'"), "%s", err.message);
}

Test(api_json, wrong_type_is_named)
{
	rg_error err;
	cr_assert_eq(check("{\"env\":1}", &err), RG_EINVAL);
	cr_assert_str_eq(err.field, "env");
	cr_assert_eq(check("{\"env\":\"x\",\"dry_run\":\"yes\"}", &err), RG_EINVAL);
	cr_assert_str_eq(err.field, "dry_run");
	cr_assert_eq(check("{\"env\":\"x\",\"limit\":1.5}", &err), RG_EINVAL);
	cr_assert_str_eq(err.field, "limit");
	cr_assert_eq(check("{\"env\":null}", &err), RG_EINVAL);
	cr_assert_str_eq(err.field, "env");
}

Test(api_json, missing_required_is_named)
{
	rg_error err;
	cr_assert_eq(check("{\"dry_run\":false}", &err), RG_EINVAL);
	cr_assert_str_eq(err.field, "env");
	cr_assert(strstr(err.message, "missing field 'env'"), "%s", err.message);
	cr_assert_eq(check("", &err), RG_EINVAL);   /* empty body is {} */
	cr_assert_str_eq(err.field, "env");
}

Test(api_json, null_optional_is_absent)
{
	rg_error err;
	json_t *obj;
	const char *body = "{\"env\":\"x\",\"reason\":null}";
	cr_assert_eq(rg_json_parse_checked(body, strlen(body), fields, 4, &obj, &err), RG_OK);
	cr_assert_null(rg_json_get_str(obj, "reason"));
	cr_assert_not(rg_json_get_bool(obj, "dry_run"));
	json_decref(obj);
}

Test(api_json, string_length_counts_characters)
{
	rg_error err;
	cr_assert_eq(check("{\"env\":\"x\",\"reason\":\"ééééé\"}", &err), RG_OK);
	cr_assert_eq(check("{\"env\":\"x\",\"reason\":\"abcdef\"}", &err), RG_EINVAL);
	cr_assert_str_eq(err.field, "reason");
	cr_assert_eq(rg_utf8_chars("aé€😀"), 4);
}

Test(api_json, empty_table_takes_only_empty_objects)
{
	rg_error err;
	json_t *obj = NULL;
	cr_assert_eq(rg_json_parse_checked("  \n", 3, NULL, 0, &obj, &err), RG_OK);
	json_decref(obj);
	cr_assert_eq(rg_json_parse_checked("{}", 2, NULL, 0, &obj, &err), RG_OK);
	json_decref(obj);
	cr_assert_eq(rg_json_parse_checked("{\"a\":1}", 7, NULL, 0, &obj, &err), RG_EINVAL);
	cr_assert_str_eq(err.field, "a");
}

Test(api_json, nul_inside_a_string_is_refused)
{
	rg_error err;
	cr_assert_eq(check("{\"env\":\"a\\u0000b\"}", &err), RG_EINVAL);
}

Test(api_int, strict_decimal)
{
	rg_error err;
	int64_t v = -1;
	cr_assert_eq(rg_parse_int("1", 1, 1000, "limit", &v, &err), RG_OK);
	cr_assert_eq(v, 1);
	cr_assert_eq(rg_parse_int("1000", 1, 1000, "limit", &v, &err), RG_OK);
	cr_assert_eq(rg_parse_int("0", 0, 5, "after", &v, &err), RG_OK);
	cr_assert_eq(v, 0);
	const char *bad[] = { "", "0", "1001", "-1", "+1", " 1", "1 ", "01", "1e3", "abc",
			      "99999999999999999999" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		rg_error_clear(&err);
		cr_assert_eq(rg_parse_int(bad[i], 1, 1000, "limit", &v, &err), RG_EINVAL, "%s",
			     bad[i]);
		cr_assert_str_eq(err.field, "limit");
	}
	cr_assert_eq(rg_parse_int(NULL, 1, 1000, "limit", &v, &err), RG_EINVAL);
}

/* ---- routes --------------------------------------------------------------------- */

static rg_route_result find(const char *method, const char *path, rg_route_match *m,
			    rg_error *err)
{
	rg_error_clear(err);
	return rg_route_find(method, path, m, err);
}

Test(api_routes, fixed_paths)
{
	rg_route_match m;
	rg_error err;
	cr_assert_eq(find("GET", "/health", &m, &err), RG_ROUTE_FOUND);
	cr_assert_str_eq(m.name, "health");
	cr_assert_eq(find("GET", "/metrics", &m, &err), RG_ROUTE_FOUND);
	cr_assert_eq(find("POST", "/api/v1/deploys", &m, &err), RG_ROUTE_FOUND);
	cr_assert_str_eq(m.name, "deploys");
	cr_assert_eq(find("POST", "/api/v1/rollbacks", &m, &err), RG_ROUTE_FOUND);
	cr_assert_eq(find("GET", "/api/v1/status", &m, &err), RG_ROUTE_FOUND);
	cr_assert_eq(find("GET", "/api/v1/runs", &m, &err), RG_ROUTE_FOUND);
	cr_assert_str_eq(m.name, "runs");
	cr_assert_eq(m.run_id, 0);
}

Test(api_routes, captures_run_id_and_step)
{
	rg_route_match m;
	rg_error err;
	cr_assert_eq(find("GET", "/api/v1/runs/42", &m, &err), RG_ROUTE_FOUND);
	cr_assert_str_eq(m.name, "run");
	cr_assert_eq(m.run_id, 42);
	cr_assert_eq(find("GET", "/api/v1/runs/7/events", &m, &err), RG_ROUTE_FOUND);
	cr_assert_str_eq(m.name, "run_events");
	cr_assert_eq(m.run_id, 7);
	cr_assert_eq(find("GET", "/api/v1/runs/9/steps/smoke-test/log", &m, &err), RG_ROUTE_FOUND);
	cr_assert_str_eq(m.name, "step_log");
	cr_assert_eq(m.run_id, 9);
	cr_assert_str_eq(m.step, "smoke-test");
	const char *controls[] = { "abort", "promote", "pause", "resume" };
	for (size_t i = 0; i < 4; i++) {
		char path[64], name[32];
		snprintf(path, sizeof path, "/api/v1/runs/3/%s", controls[i]);
		snprintf(name, sizeof name, "run_%s", controls[i]);
		cr_assert_eq(find("POST", path, &m, &err), RG_ROUTE_FOUND, "%s", path);
		cr_assert_str_eq(m.name, name);
		cr_assert_eq(m.run_id, 3);
	}
}

Test(api_routes, bad_run_ids_are_unknown_runs)
{
	rg_route_match m;
	rg_error err;
	const char *ids[] = { "abc", "0", "-1", "01", "1.5", "99999999999999999999" };
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		char path[64], want[64];
		snprintf(path, sizeof path, "/api/v1/runs/%s/events", ids[i]);
		snprintf(want, sizeof want, "no run '%s'", ids[i]);
		cr_assert_eq(find("GET", path, &m, &err), RG_ROUTE_NOT_FOUND, "%s", path);
		cr_assert_str_eq(err.message, want);
		cr_assert_eq(err.code, RG_ENOTFOUND);
	}
	cr_assert_eq(find("POST", "/api/v1/runs/abc/abort", &m, &err), RG_ROUTE_NOT_FOUND);
	cr_assert_str_eq(err.message, "no run 'abc'");
}

Test(api_routes, unknown_paths)
{
	rg_route_match m;
	rg_error err;
	const char *paths[] = { "/", "/api/v1", "/api/v1/runs/", "/api/v1/runs/1/", "/healthz",
				"/api/v1/runs/1/steps//log", "/api/v1/runs/1/steps/a/b/log",
				"/api/v2/runs", "//health", "" };
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		cr_assert_eq(find("GET", paths[i], &m, &err), RG_ROUTE_NOT_FOUND, "%s", paths[i]);
	find("GET", "/nope", &m, &err);
	cr_assert(strstr(err.message, "'/nope'"), "%s", err.message);
}

Test(api_routes, wrong_method_lists_allowed)
{
	rg_route_match m;
	rg_error err;
	cr_assert_eq(find("GET", "/api/v1/deploys", &m, &err), RG_ROUTE_BAD_METHOD);
	cr_assert_str_eq(m.allow, "POST");
	cr_assert_eq(find("DELETE", "/api/v1/runs/5", &m, &err), RG_ROUTE_BAD_METHOD);
	cr_assert_str_eq(m.allow, "GET");
	cr_assert_eq(find("GET", "/api/v1/runs/5/abort", &m, &err), RG_ROUTE_BAD_METHOD);
	cr_assert_str_eq(m.allow, "POST");
	cr_assert_eq(find("POST", "/health", &m, &err), RG_ROUTE_BAD_METHOD);
	cr_assert(strstr(err.message, "POST"), "%s", err.message);
}

Test(api_routes, log_text_masks_control_characters)
{
	char out[16];
	rg_request_log_text(out, sizeof out, "/a\nb\x1b[0m");
	cr_assert_str_eq(out, "/a?b?[0m");
	rg_request_log_text(out, 4, "/abcdef");
	cr_assert_str_eq(out, "/ab");
}

/* ---- error bodies ------------------------------------------------------------------ */

Test(api_errors, body_shape)
{
	json_t *v = rg_api_error_json("invalid_input", "missing field 'env'", "env");
	cr_assert_not_null(v);
	json_t *e = json_object_get(v, "error");
	cr_assert_str_eq(json_string_value(json_object_get(e, "code")), "invalid_input");
	cr_assert_str_eq(json_string_value(json_object_get(e, "message")), "missing field 'env'");
	cr_assert_str_eq(json_string_value(json_object_get(e, "field")), "env");
	cr_assert_eq(json_object_size(v), 1);
	json_decref(v);
	v = rg_api_error_json("not_found", "no run '3'", "");
	cr_assert_null(json_object_get(json_object_get(v, "error"), "field"));
	json_decref(v);
}

Test(api_errors, reply_status_and_body)
{
	rg_reply reply;
	rg_error err;
	memset(&reply, 0, sizeof reply);
	rg_fail(&err, RG_ETOOLARGE, NULL, "request body is larger than 65536 bytes");
	cr_assert_eq(rg_reply_error(&reply, 413, rg_err_name(RG_ETOOLARGE), &err), RG_OK);
	cr_assert_eq(reply.status, 413);
	cr_assert_str_eq(reply.content_type, "application/json");
	cr_assert_str_eq(reply.body, "{\"error\":{\"code\":\"too_large\",\"message\":"
				     "\"request body is larger than 65536 bytes\"}}\n");
	cr_assert_eq(reply.body_len, strlen(reply.body));
	rg_reply_release(&reply);
}

/* ---- SSE framing -------------------------------------------------------------------- */

Test(api_sse, frame_of_an_event)
{
	json_t *ev = json_pack("{s:i, s:s, s:s}", "id", 12, "type", "step_started", "message",
			       "line one\nline two");
	char *out;
	size_t len;
	rg_error err;
	cr_assert_eq(rg_sse_format_event(ev, &out, &len, &err), RG_OK);
	cr_assert_str_eq(out, "id: 12\nevent: step_started\ndata: {\"id\":12,\"type\":"
			      "\"step_started\",\"message\":\"line one\\nline two\"}\n\n");
	cr_assert_eq(len, strlen(out));
	free(out);
	json_decref(ev);
}

Test(api_sse, odd_type_becomes_message)
{
	json_t *ev = json_pack("{s:i, s:s}", "id", 1, "type", "bad\ntype");
	char *out;
	size_t len;
	rg_error err;
	cr_assert_eq(rg_sse_format_event(ev, &out, &len, &err), RG_OK);
	cr_assert(strstr(out, "\nevent: message\n"), "%s", out);
	free(out);
	json_decref(ev);
	ev = json_pack("{s:s}", "type", "x");
	cr_assert_eq(rg_sse_format_event(ev, &out, &len, &err), RG_EINTERNAL);
	json_decref(ev);
}


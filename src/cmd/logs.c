/* logs.c — `rollguard logs RUN [STEP]`: the output of one step, or of every
 * step of the run in order, each under a header. Logs are written byte for
 * byte (the server already redacted secrets); it must never alter them. */
#include "cmd/cmd.h"

#include <stdlib.h>
#include <string.h>

#include "cmd/client.h"
#include "cmd/output.h"
#include "util/names.h"

/* Writes the log; *ends_nl tells whether it ended a line (for what follows). */
static rg_err log_write(rg_client *c, int64_t id, const char *step, bool *ends_nl,
			rg_error *err)
{
	char path[256], *text = NULL;
	size_t len = 0;
	snprintf(path, sizeof path, "/runs/%lld/steps/%s/log", (long long)id, step);
	rg_err rc = rg_client_get_text(c, path, &text, &len, err);
	if (rc)
		return rc;
	if (fwrite(text, 1, len, stdout) != len)
		rc = rg_fail(err, RG_EIO, NULL, "cannot write to standard output");
	*ends_nl = len == 0 || text[len - 1] == '\n';
	free(text);
	return rc;
}

static bool seen_before(const json_t *steps, size_t upto, const char *name)
{
	for (size_t i = 0; i < upto; i++)
		if (!strcmp(rg_out_str_or(json_array_get(steps, i), "name", ""), name))
			return true;
	return false;
}

/* "==> app <==", or "==> app (undo) <==" when the newest run of the step,
 * whose log the server keeps, was not its forward run. */
static void log_header(const json_t *steps, size_t first, const char *name)
{
	char action[32] = "";
	json_t *step;
	size_t i;
	json_array_foreach(steps, i, step)
		if (i >= first && !strcmp(rg_out_str_or(step, "name", ""), name))
			rg_out_clean(action, sizeof action, rg_out_str_or(step, "action", "run"));
	printf("%s==> %s%s%s%s <==\n", first ? "\n" : "", name, strcmp(action, "run") ? " (" : "",
	       strcmp(action, "run") ? action : "", strcmp(action, "run") ? ")" : "");
}

/* Every step once, in the run's order: a step both run and undone has one
 * log per name on the server, the newest. */
static rg_err logs_all(rg_client *c, int64_t id, rg_error *err)
{
	char path[64];
	json_t *run = NULL, *step;
	size_t i;
	snprintf(path, sizeof path, "/runs/%lld", (long long)id);
	rg_err rc = rg_client_call(c, "GET", path, NULL, &run, err);
	json_t *steps = json_object_get(run, "steps");
	if (!rc && !json_array_size(steps))
		printf("run %lld has no steps yet\n", (long long)id);
	json_array_foreach(steps, i, step) {
		const char *name = rg_out_str_or(step, "name", "");
		bool ends_nl = true;
		if (rc || seen_before(steps, i, name) || !rg_ident_valid(name))
			continue;
		log_header(steps, i, name);
		rc = log_write(c, id, name, &ends_nl, err);
		if (rc == RG_ENOTFOUND) {
			printf("(no log)\n");
			rc = RG_OK;
		} else if (!ends_nl) {
			putchar('\n');
		}
	}
	json_decref(run);
	return rc;
}

int cmd_logs(int argc, char **argv)
{
	rg_cli_args a;
	rg_client c;
	rg_error e;
	int64_t id;
	int code;
	bool ends_nl;
	if (!rg_cli_args_get("logs", argc, argv, &a, &code))
		return code;
	rg_error_clear(&e);
	const char *step = a.noperands > 1 ? a.operands[1] : NULL;
	if (rg_cli_parse_run_id(a.operands[0], &id, &e) || (step && rg_cli_check_step(step, &e)))
		return rg_out_error(&e);
	if (rg_client_init(&c, a.config, &e)) {
		rg_client_release(&c);
		return rg_out_error(&e);
	}
	rg_err rc = step ? log_write(&c, id, step, &ends_nl, &e) : logs_all(&c, id, &e);
	fflush(stdout);
	rg_client_release(&c);
	return rc ? rg_out_error(&e) : RG_EXIT_OK;
}

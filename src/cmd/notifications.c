/* notifications.c — `rollguard notifications [--env E] [--failed] [--json]`:
 * the notification outbox as the server keeps it (GET /api/v1/notifications):
 * when, channel, event, tries, last error, delivered. Never a payload. */
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

#include "cmd/client.h"
#include "cmd/output.h"

static rg_err notification_row(rg_out_table *t, const json_t *n, rg_error *err)
{
	char id[24], run[24], when[40], tries[16], delivered[40];
	snprintf(id, sizeof id, "%lld", (long long)rg_out_int(n, "id", 0));
	snprintf(run, sizeof run, "%lld", (long long)rg_out_int(n, "run_id", 0));
	snprintf(tries, sizeof tries, "%lld", (long long)rg_out_int(n, "attempts", 0));
	rg_out_time(when, sizeof when, rg_out_ms(n, "created"));
	if (rg_out_ms(n, "delivered_at"))
		rg_out_time(delivered, sizeof delivered, rg_out_ms(n, "delivered_at"));
	else
		snprintf(delivered, sizeof delivered, "-");
	const char *cells[] = { id, when, rg_out_str(n, "channel"), rg_out_str(n, "event"),
				rg_out_str_or(n, "env", "-"), run, tries, rg_out_str(n, "state"),
				delivered, rg_out_str_or(n, "last_error", "-") };
	return rg_out_table_add(t, cells, err);
}

static int notifications_print(const json_t *list)
{
	static const char *const headers[] = { "ID", "WHEN", "CHANNEL", "EVENT", "ENV", "RUN",
					       "TRIES", "STATE", "DELIVERED", "LAST ERROR" };
	return rg_out_list_table(list, "no notifications", headers,
				 sizeof headers / sizeof *headers, notification_row);
}

int cmd_notifications(int argc, char **argv)
{
	rg_cli_args a;
	rg_error e;
	int code;
	char path[200];
	if (!rg_cli_args_get("notifications", argc, argv, &a, &code))
		return code;
	rg_error_clear(&e);
	if (a.env && rg_cli_check_name("environment", a.env, &e))
		return rg_out_error(&e);
	snprintf(path, sizeof path, "/notifications?limit=100%s%s%s", a.env ? "&env=" : "",
		 a.env ? a.env : "", a.failed ? "&failed=1" : "");
	return rg_client_list(a.config, path, "notifications", a.json, notifications_print);
}

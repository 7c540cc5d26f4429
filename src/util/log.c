/* log.c — one line per message on stderr; JSON mode escapes the text. */
#include "util/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>

#include "util/secrets.h"
#include "util/timeutil.h"

static int log_json;
static rg_log_level log_level = RG_LOG_INFO;
static const char *level_names[] = { "debug", "info", "warn", "error" };

void rg_log_set_json(int json) { log_json = json; }
void rg_log_set_level(rg_log_level l) { log_level = l; }

static rg_secrets *log_secrets;
void rg_log_set_secrets(rg_secrets *s) { log_secrets = s; }

void rg_log(rg_log_level l, const char *fmt, ...)
{
	if (l < log_level)
		return;
	char msg[2048], ts[40];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
	rg_secrets_redact(log_secrets, msg, &len);
	rg_time_format_iso(rg_now_ms(), ts, sizeof ts);
	if (!log_json) {
		fprintf(stderr, "%s %-5s %s\n", ts, level_names[l], msg);
		return;
	}
	json_t *o = json_pack("{s:s, s:s, s:s}", "ts", ts, "level", level_names[l], "msg", msg);
	char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (line)
		fprintf(stderr, "%s\n", line);
	free(line);
	json_decref(o);
}

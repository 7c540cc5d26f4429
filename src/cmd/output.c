/* output.c — tables, timelines, durations and the live view of a run.
 * It only formats and prints what the API returned; it must never decide
 * anything about a run, and never let server text put escape sequences on
 * the user's terminal. */
#include "cmd/output.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/timeutil.h"

/* ---- reading the API's JSON ------------------------------------------------ */

const char *rg_out_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

const char *rg_out_str_or(const json_t *obj, const char *key, const char *dflt)
{
	const char *s = rg_out_str(obj, key);
	return s && *s ? s : dflt;
}

int64_t rg_out_int(const json_t *obj, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

int64_t rg_out_ms(const json_t *obj, const char *name)
{
	char key[64];
	snprintf(key, sizeof key, "%s_ms", name);
	int64_t ms = rg_out_int(obj, key, -1);
	const char *iso = rg_out_str(obj, name);
	if (ms <= 0 && iso && rg_time_parse_iso(iso, &ms) != 0)
		ms = -1;
	return ms > 0 ? ms : -1;   /* 0 is "never" (a null time sent as 0), not 1970 */
}

/* ---- formatting ------------------------------------------------------------------ */

void rg_out_clean(char *dst, size_t size, const char *src)
{
	size_t i = 0;
	if (!size)
		return;
	for (; src && *src && i + 1 < size; src++)
		dst[i++] = ((unsigned char)*src < 0x20 || *src == 0x7f) ? '?' : *src;
	dst[i] = '\0';
}

void rg_out_offset(char *buf, size_t size, int64_t ms)
{
	long long a = ms < 0 ? -(long long)ms : (long long)ms;
	snprintf(buf, size, "T%c%lld.%03llds", ms < 0 ? '-' : '+', a / 1000, a % 1000);
}

void rg_out_clock(char *buf, size_t size, int64_t ms)
{
	long long s = ms > 0 ? (long long)ms / 1000 : 0;
	if (s >= 3600)
		snprintf(buf, size, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, size, "%02lld:%02lld", s / 60, s % 60);
}

void rg_out_duration(char *buf, size_t size, int64_t ms)
{
	long long m = (long long)ms;
	if (m < 0)
		snprintf(buf, size, "-");
	else if (m < 1000)
		snprintf(buf, size, "%lldms", m);
	else if (m < 60000)
		snprintf(buf, size, "%lld.%llds", m / 1000, m / 100 % 10);
	else if (m < 3600000)
		snprintf(buf, size, "%lldm%02llds", m / 60000, m / 1000 % 60);
	else if (m < 86400000)
		snprintf(buf, size, "%lldh%02lldm", m / 3600000, m / 60000 % 60);
	else
		snprintf(buf, size, "%lldd%02lldh", m / 86400000, m / 3600000 % 24);
}

void rg_out_time(char *buf, size_t size, int64_t ms)
{
	struct tm tm;
	time_t secs = (time_t)(ms / 1000);
	if (ms < 0 || !localtime_r(&secs, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, size, "-");
}

void rg_out_event_line(char *buf, size_t size, const json_t *event, int64_t base_ms)
{
	char off[32], type[64], step[96], msg[1024];
	int64_t at = rg_out_ms(event, "at");
	if (at < 0 || base_ms < 0)
		snprintf(off, sizeof off, "T+?");
	else
		rg_out_offset(off, sizeof off, at - base_ms);
	rg_out_clean(type, sizeof type, rg_out_str_or(event, "type", "event"));
	rg_out_clean(step, sizeof step, rg_out_str(event, "step"));
	rg_out_clean(msg, sizeof msg, rg_out_str(event, "message"));
	const char *sep = step[0] && msg[0] ? ": " : "";
	snprintf(buf, size, "%s  %s%s%s%s%s", off, type, step[0] || msg[0] ? "  " : "", step, sep,
		 msg);
}

void rg_out_status_line(char *buf, size_t size, const json_t *run, int64_t now_ms)
{
	char clock[32], state[32], step[96];
	int64_t start = rg_out_ms(run, "started"), end = rg_out_ms(run, "ended");
	if (start < 0)
		start = rg_out_ms(run, "created");
	if (end >= 0)
		now_ms = end;   /* an ended run's clock stands still */
	rg_out_clock(clock, sizeof clock, start < 0 ? 0 : now_ms - start);
	rg_out_clean(state, sizeof state, rg_out_str_or(run, "state", "unknown"));
	rg_out_clean(step, sizeof step, rg_out_str(run, "step"));
	int64_t total = rg_out_int(run, "total", 0), n = rg_out_int(run, "cursor", 0) + 1;
	const char *phase = rg_out_str_or(run, "phase", "forward");
	if (n > total)
		n = total;
	if (n < 1)
		n = 1;
	if (step[0] && total > 0)
		snprintf(buf, size, "[%s %lld/%lld] %s  %s  %s",
			 strcmp(phase, "reverse") ? "step" : "rollback", (long long)n,
			 (long long)total, step, state, clock);
	else if (step[0])
		snprintf(buf, size, "%s  %s  %s", step, state, clock);
	else
		snprintf(buf, size, "%s  %s", state, clock);
}

void rg_out_run_result(char *buf, size_t size, const json_t *run)
{
	char state[32], why[1024], version[96], env[96];
	long long id = (long long)rg_out_int(run, "id", 0);
	rg_out_clean(state, sizeof state, rg_out_str_or(run, "state", "unknown"));
	rg_out_clean(version, sizeof version, rg_out_str_or(run, "version", "?"));
	rg_out_clean(env, sizeof env, rg_out_str_or(run, "env", "?"));
	rg_out_clean(why, sizeof why, rg_out_str_or(run, "error", rg_out_str(run, "reason")));
	bool rollback = !strcmp(rg_out_str_or(run, "kind", "deploy"), "rollback");
	if (!strcmp(state, "succeeded") && rollback)
		snprintf(buf, size, "run %lld succeeded: %s is back on %s", id, env, version);
	else if (!strcmp(state, "succeeded"))
		snprintf(buf, size, "run %lld succeeded: %s is live on %s", id, version, env);
	else if (why[0])
		snprintf(buf, size, "run %lld %s: %s", id, state, why);
	else
		snprintf(buf, size, "run %lld %s", id, state);
}

static void approval_people(FILE *out, const char *indent, const json_t *list, const char *verb, const char *key)
{
	size_t i;
	const json_t *p;
	json_array_foreach(list, i, p) {
		char who[96], when[40], text[520];
		rg_out_clean(who, sizeof who, rg_out_str_or(p, "by", "?"));
		rg_out_clean(text, sizeof text, rg_out_str_or(p, key, ""));
		rg_out_time(when, sizeof when, rg_out_ms(p, "at"));
		fprintf(out, "%s  %s by %s at %s%s%s\n", indent, verb, who, when, text[0] ? ": " : "", text);
	}
}

void rg_out_approval(FILE *out, const char *indent, const json_t *approval)
{
	if (!json_is_object(approval))
		return;
	char gate[32], status[32], from[300] = "", when[40];
	rg_out_clean(gate, sizeof gate, rg_out_str_or(approval, "gate", "?"));
	rg_out_clean(status, sizeof status, rg_out_str_or(approval, "status", "?"));
	size_t i, used = 0;
	const json_t *f;
	json_array_foreach(json_object_get(approval, "from"), i, f)
		if (json_is_string(f) && used < sizeof from)
			used += (size_t)snprintf(from + used, sizeof from - used, "%s%s", i ? ", " : "",
						 json_string_value(f));
	long long required = (long long)rg_out_int(approval, "required", 0);
	long long needed = (long long)rg_out_int(approval, "needed", 0);
	char cfrom[300];
	rg_out_clean(cfrom, sizeof cfrom, from);
	if (!strcmp(status, "waiting")) {
		rg_out_time(when, sizeof when, rg_out_ms(approval, "timeout_at"));
		fprintf(out, "%sapproval  %s gate, waiting: %lld of %lld approval%s still needed from %s; "
			"times out at %s\n", indent, gate, needed, required, required == 1 ? "" : "s", cfrom, when);
	} else if (rg_out_ms(approval, "starts_at") >= 0) {
		rg_out_time(when, sizeof when, rg_out_ms(approval, "starts_at"));
		fprintf(out, "%sapproval  %s gate, approved; starts at %s (abort stops it)\n", indent, gate, when);
	} else {
		fprintf(out, "%sapproval  %s gate, %s (%lld required from %s)\n", indent, gate, status, required,
			cfrom);
	}
	approval_people(out, indent, json_object_get(approval, "approved_by"), "approved", "comment");
	approval_people(out, indent, json_object_get(approval, "rejected_by"), "rejected", "reason");
}

void rg_out_traffic_line(char *buf, size_t size, const json_t *traffic)
{
	char router[32], stable[96], canary[96];
	const json_t *s = json_object_get(traffic, "stable"), *c = json_object_get(traffic, "canary");
	if (!size)
		return;
	buf[0] = '\0';
	if (!json_is_object(traffic))
		return;
	rg_out_clean(router, sizeof router, rg_out_str_or(traffic, "router", "?"));
	rg_out_clean(stable, sizeof stable, rg_out_str_or(s, "version", "?"));
	rg_out_clean(canary, sizeof canary, rg_out_str_or(c, "version", "?"));
	int64_t w = rg_out_int(traffic, "canary_weight", 0);
	w = w < 0 ? 0 : w > 100 ? 100 : w;
	if (json_is_object(c) && json_is_object(s))
		snprintf(buf, size, "%s %lld%% \u00b7 %s %lld%% (%s)", canary, (long long)w, stable,
			 (long long)(100 - w), router);
	else if (json_is_object(c))
		snprintf(buf, size, "%s %lld%% (%s)", canary, (long long)w, router);
	else if (json_is_object(s))
		snprintf(buf, size, "%s 100%% (%s)", stable, router);
	else
		snprintf(buf, size, "nothing routed yet (%s)", router);
}

size_t rg_out_edit_distance(const char *a, const char *b)
{
	enum { MAX = 64 };
	size_t n = strlen(a), m = strlen(b);
	if (n > MAX || m > MAX)
		return (size_t)-1;
	size_t d[MAX + 1][MAX + 1];
	for (size_t i = 0; i <= n; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= n; i++) {
		for (size_t j = 1; j <= m; j++) {
			size_t cost = a[i - 1] != b[j - 1], best = d[i - 1][j - 1] + cost;
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[n][m];
}

/* ---- tables ------------------------------------------------------------------------ */

void rg_out_table_init(rg_out_table *t, size_t ncols, const char *const *headers)
{
	memset(t, 0, sizeof *t);
	t->ncols = ncols;
	t->headers = headers;
}

rg_err rg_out_table_add(rg_out_table *t, const char *const *cells, rg_error *err)
{
	if (RG_ALLOC_GROW(t->cells, (t->nrows + 1) * t->ncols, t->cap))
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
	char **row = t->cells + t->nrows * t->ncols;
	for (size_t i = 0; i < t->ncols; i++) {
		const char *s = cells[i] ? cells[i] : "-";
		size_t n = strlen(s) + 1;
		if (!(row[i] = malloc(n))) {
			while (i--)
				free(row[i]);
			return rg_fail(err, RG_ENOMEM, NULL, "out of memory");
		}
		rg_out_clean(row[i], n, s);
	}
	t->nrows++;
	return RG_OK;
}

static size_t utf8_width(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void table_row(const rg_out_table *t, const char *const *row, const size_t *w, FILE *out)
{
	size_t used = t->ncols;   /* cells up to the last non-empty one: no trailing spaces */
	while (used > 1 && !row[used - 1][0])
		used--;
	for (size_t i = 0; i < used; i++) {
		fputs(row[i], out);
		for (size_t pad = utf8_width(row[i]); i + 1 < used && pad < w[i] + 2; pad++)
			fputc(' ', out);
	}
	fputc('\n', out);
}

int rg_out_list_table(const json_t *list, const char *empty, const char *const *headers,
		      size_t ncols, rg_out_row_fn row)
{
	rg_out_table t;
	rg_error e = { 0 };
	size_t i;
	const json_t *item;
	if (!json_array_size(list)) {
		printf("%s\n", empty);
		return RG_EXIT_OK;
	}
	rg_out_table_init(&t, ncols, headers);
	json_array_foreach(list, i, item)
		if (row(&t, item, &e))
			break;
	if (!e.code)
		rg_out_table_print(&t, stdout);
	rg_out_table_release(&t);
	return e.code ? rg_out_error(&e) : RG_EXIT_OK;
}

void rg_out_table_print(const rg_out_table *t, FILE *out)
{
	size_t *w = calloc(t->ncols ? t->ncols : 1, sizeof *w);
	if (!w)
		return;
	for (size_t i = 0; i < t->ncols; i++)
		w[i] = utf8_width(t->headers[i]);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t i = 0; i < t->ncols; i++) {
			size_t n = utf8_width(t->cells[r * t->ncols + i]);
			if (n > w[i])
				w[i] = n;
		}
	table_row(t, t->headers, w, out);
	for (size_t r = 0; r < t->nrows; r++)
		table_row(t, (const char *const *)(t->cells + r * t->ncols), w, out);
	free(w);
}

void rg_out_table_release(rg_out_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

/* ---- printing ------------------------------------------------------------------------ */

int rg_out_error(const rg_error *e)
{
	char msg[sizeof e->message];
	rg_out_clean(msg, sizeof msg, e->message);
	fprintf(stderr, "error: %s\n", msg);
	if (e->code == RG_EUNAVAILABLE && !strcmp(e->field, "url"))
		fprintf(stderr, "hint: start one with 'rollguard serve -c rollguard.yaml', "
				"or set ROLLGUARD_URL\n");
	return rg_err_exit_code(e->code);
}

int rg_out_json(const json_t *j)
{
	if (json_dumpf(j, stdout, JSON_INDENT(2)) != 0 || fputc('\n', stdout) == EOF ||
	    fflush(stdout) != 0) {
		fprintf(stderr, "error: cannot write to standard output\n");
		return RG_EXIT_RUN_FAILED;
	}
	return RG_EXIT_OK;
}

/* ---- the live view of a run ----------------------------------------------------------
 *
 * On a terminal, one status line is redrawn in place ("\r\033[K") and each
 * event is printed above it, so the scrollback keeps the timeline. Anywhere
 * else (a pipe, a CI log, TERM=dumb) only the event lines are written:
 * carriage returns would garble a log. Ctrl-C stops following, not the run. */

#define EXIT_INTERRUPTED 130   /* 128 + SIGINT, as shells report it */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	interrupted = 1;
}

typedef struct watch {
	bool tty, json;
	int width;
	int64_t base_ms;      /* T+0: when the run was created */
	json_t *run;          /* newest snapshot (a reference of ours) */
	char line[512];       /* the status line now on screen */
	bool shown;
	rg_out_note_fn note;  /* a line under each event, or NULL */
	void *note_ctx;
} watch;

static void watch_clear(watch *w)
{
	if (w->shown)
		fputs("\r\033[K", stdout);
	w->shown = false;
}

static void watch_draw(watch *w)
{
	char line[sizeof w->line];
	if (!w->tty || w->json || !w->run)
		return;
	rg_out_status_line(line, sizeof line, w->run, rg_now_ms());
	if (w->width > 1 && strlen(line) >= (size_t)w->width)
		line[w->width - 1] = '\0';   /* a wrapped line cannot be redrawn in place */
	if (w->shown && !strcmp(line, w->line))
		return;
	printf("\r\033[K%s", line);
	fflush(stdout);
	memcpy(w->line, line, sizeof line);
	w->shown = true;
}

static int watch_event(void *ctx, const json_t *event)
{
	watch *w = ctx;
	char line[1400];
	if (w->json)
		return 0;
	if (w->base_ms < 0)
		w->base_ms = rg_out_ms(event, "at");
	rg_out_event_line(line, sizeof line, event, w->base_ms);
	watch_clear(w);
	puts(line);
	if (w->note) {
		char note[512] = "", clean[512];
		w->note(w->note_ctx, event, note, sizeof note);
		rg_out_clean(clean, sizeof clean, note);
		if (clean[0])
			puts(clean);
	}
	watch_draw(w);
	fflush(stdout);
	return 0;
}

static int watch_run(void *ctx, json_t *run)
{
	watch *w = ctx;
	json_decref(w->run);
	w->run = json_incref(run);
	if (w->base_ms < 0)
		w->base_ms = rg_out_ms(run, "created");
	watch_draw(w);
	return 0;
}

static int watch_tick(void *ctx)
{
	watch *w = ctx;
	if (interrupted)
		return 1;
	watch_draw(w);
	return 0;
}

static void watch_setup(watch *w, const json_t *run, bool json)
{
	const char *term = getenv("TERM");
	struct winsize ws;
	memset(w, 0, sizeof *w);
	w->json = json;
	w->tty = isatty(STDOUT_FILENO) && !(term && !strcmp(term, "dumb"));
	bool sized = w->tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col;
	w->width = sized ? ws.ws_col : 80;
	w->base_ms = rg_out_ms(run, "created");
}

static int watch_outcome(const json_t *final, bool json)
{
	char line[1400], warning[600];
	const char *state = rg_out_str(final, "state");
	long long id = (long long)rg_out_int(final, "id", 0);
	if (!rg_client_state_terminal(state)) {
		fprintf(stderr, "stopped following run %lld; it goes on "
				"(see 'rollguard show %lld')\n", id, id);
		return EXIT_INTERRUPTED;
	}
	if (json) {
		if (rg_out_json(final))
			return RG_EXIT_RUN_FAILED;
	} else {
		rg_out_run_result(line, sizeof line, final);
		puts(line);
		rg_out_clean(warning, sizeof warning, rg_out_str(final, "warning"));
		if (warning[0])
			fprintf(stderr, "warning: %s\n", warning);
	}
	return !strcmp(state, "succeeded") ? RG_EXIT_OK : RG_EXIT_RUN_FAILED;
}

int rg_out_follow(rg_client *c, const json_t *run, bool json)
{
	return rg_out_follow_noted(c, run, json, NULL, NULL);
}

int rg_out_follow_noted(rg_client *c, const json_t *run, bool json, rg_out_note_fn note,
			void *note_ctx)
{
	static const rg_follow_ops ops = { watch_event, watch_run, watch_tick };
	struct sigaction sa, old;
	watch w;
	rg_error e;
	json_t *final = NULL;
	int64_t id = rg_out_int(run, "id", 0);
	watch_setup(&w, run, json);
	w.note = note;
	w.note_ctx = note_ctx;
	rg_error_clear(&e);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sa.sa_flags = (int)SA_RESETHAND;   /* a second Ctrl-C ends rollguard at once */
	interrupted = 0;
	sigaction(SIGINT, &sa, &old);
	rg_err rc = rg_client_follow(c, id, &ops, &w, &final, &e);
	sigaction(SIGINT, &old, NULL);
	watch_clear(&w);
	fflush(stdout);
	json_decref(w.run);
	int code = rc ? rg_out_error(&e) : watch_outcome(final ? final : run, json);
	json_decref(final);
	return code;
}

/* output.h — how the CLI shows things to people: tables, timelines, times,
 * the live view of a run, and errors. Everything the server sent passes
 * through rg_out_clean before reaching a terminal (no escape sequences). */
#ifndef RG_CMD_OUTPUT_H
#define RG_CMD_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cmd/client.h"
#include "util/err.h"

/* ---- reading the API's JSON -------------------------------------------- */

/* The string at key, or NULL (missing, null or not a string). */
const char *rg_out_str(const json_t *obj, const char *key);
/* The string at key, or dflt when missing or empty. */
const char *rg_out_str_or(const json_t *obj, const char *key, const char *dflt);
int64_t rg_out_int(const json_t *obj, const char *key, int64_t dflt);
/* A time field in ms: "<name>_ms" if present and positive, else the ISO
 * string "<name>"; -1 when neither gives a time. */
int64_t rg_out_ms(const json_t *obj, const char *name);

/* ---- formatting (pure) --------------------------------------------------- */

/* Copies src replacing control characters with '?'; NULL gives "". */
void rg_out_clean(char *dst, size_t size, const char *src);
/* 1234 → "T+1.234s"; -50 → "T-0.050s". */
void rg_out_offset(char *buf, size_t size, int64_t ms);
/* Elapsed time on a live line: 12000 → "00:12", 3723000 → "1:02:03". */
void rg_out_clock(char *buf, size_t size, int64_t ms);
/* A duration in a table: "850ms" "12.3s" "4m05s" "1h02m"; "-" when < 0. */
void rg_out_duration(char *buf, size_t size, int64_t ms);
/* Local time "2026-11-23 09:15:14"; "-" when ms < 0. */
void rg_out_time(char *buf, size_t size, int64_t ms);
/* "T+1.532s  step_failed  smoke: check health: HTTP 503" (offset from base). */
void rg_out_event_line(char *buf, size_t size, const json_t *event, int64_t base_ms);
/* "[step 3/5] app  running  00:12"; "[rollback 1/2] …" in the reverse phase;
 * "awaiting_approval  00:40" when no step is current. */
void rg_out_status_line(char *buf, size_t size, const json_t *run, int64_t now_ms);
/* "run 12 rolled_back: smoke failed (…)" from the run's state, error, reason. */
void rg_out_run_result(char *buf, size_t size, const json_t *run);
/* A status's "traffic" ({"router","canary_weight","stable":{"version"},
 * "canary":{"version"}|null}) as "v1.2.0 10% · v1.1.0 90% (proxy)", canary
 * first; "v1.1.0 100% (proxy)" without a canary; "nothing routed yet
 * (proxy)" without either. "" when traffic is not an object. */
void rg_out_traffic_line(char *buf, size_t size, const json_t *traffic);
/* A run's "approval" (engine rg_gate_json) as lines on out: the gate, what
 * is still needed and when the timeout or the wait ends, then one line per
 * person who approved or rejected. Nothing for null. */
void rg_out_approval(FILE *out, const char *indent, const json_t *approval);
/* Optimal-string-alignment distance (a swap of two letters counts 1). */
size_t rg_out_edit_distance(const char *a, const char *b);

/* ---- tables ---------------------------------------------------------------- */

/* Columns padded to their widest cell, two spaces apart, no trailing
 * spaces; widths count UTF-8 characters, not bytes. */
typedef struct rg_out_table {
	size_t ncols;
	const char *const *headers;   /* borrowed */
	char **cells;                 /* owned, row-major */
	size_t nrows, cap;            /* cap: cells allocated */
} rg_out_table;

void rg_out_table_init(rg_out_table *t, size_t ncols, const char *const *headers);
/* Copies ncols cells (NULL shows "-"), cleaned of control characters. */
rg_err rg_out_table_add(rg_out_table *t, const char *const *cells, rg_error *err);
void rg_out_table_print(const rg_out_table *t, FILE *out);
void rg_out_table_release(rg_out_table *t);
/* Adds item's row to t (rg_out_table_add). */
typedef rg_err (*rg_out_row_fn)(rg_out_table *t, const json_t *item, rg_error *err);
/* A list the API sent as a table on stdout, one row per item, or the line
 * empty when there is none. Returns an exit code. */
int rg_out_list_table(const json_t *list, const char *empty, const char *const *headers,
		      size_t ncols, rg_out_row_fn row);

/* ---- printing ---------------------------------------------------------------- */

/* "error: …" on stderr (and the hint when no server answered); returns the
 * exit code of e->code. */
int rg_out_error(const rg_error *e);
/* Pretty-printed JSON and a newline on stdout; returns an exit code. */
int rg_out_json(const json_t *j);
/* Follows the run (a JSON object with at least "id") until it ends: a live
 * line on a terminal, one line per event otherwise, nothing with json. Then
 * the outcome line (with json: the final run). Returns 0 only when the run
 * succeeded, 1 when it ended otherwise, 130 when interrupted (the run goes
 * on), or the exit code of a failure to follow. */
int rg_out_follow(rg_client *c, const json_t *run, bool json);
/* Asked after each event line is printed (not with json): a line to show
 * under it in note (cleaned before printing), or note left "". */
typedef void (*rg_out_note_fn)(void *ctx, const json_t *event, char *note, size_t size);
/* rg_out_follow with a note under event lines (status --watch: the traffic
 * split as it moves). */
int rg_out_follow_noted(rg_client *c, const json_t *run, bool json, rg_out_note_fn note,
			void *ctx);

#endif

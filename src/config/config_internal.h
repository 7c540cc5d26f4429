/* config_internal.h — what the files of src/config/ share: the problem list,
 * the loader state and the typed readers every section uses.
 * Never include it outside src/config/: config.h is the module's interface. */
#ifndef RG_CONFIG_INTERNAL_H
#define RG_CONFIG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>

#include "config/config.h"
#include "config/yaml_tree.h"

#define RG_MS_SECOND 1000LL
#define RG_MS_MINUTE (60 * RG_MS_SECOND)

/* ---- problems (diag.c) */

rg_err rg_diag_add(rg_diags *d, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
rg_err rg_diag_vadd(rg_diags *d, int line, int col, const char *fmt, va_list ap);
/* Orders d->items[from…] by position, keeping the order of equal positions. */
void rg_diags_sort(rg_diags *d, size_t from);
/* The candidate of the NULL-terminated list closest to word (case-insensitive
 * edit distance ≤ 2, ≤ 1 for short words), or NULL; never a guess for words
 * under three characters. */
const char *rg_suggest(const char *word, const char *const *candidates);
/* "a, b or c" into buf. */
void rg_join_or(char *buf, size_t size, const char *const *words);

/* ---- the loader (fields.c) */

typedef struct rg_loader {
	rg_config *cfg;
	rg_diags *diags;
	bool oom;            /* an allocation failed: the result is unusable */
	bool has_prometheus; /* metrics.prometheus is written, valid or not */
} rg_loader;

void rg_problem(rg_loader *l, const rg_ynode *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
char *rg_ld_strdup(rg_loader *l, const char *s);
void *rg_ld_calloc(rg_loader *l, size_t n, size_t size);

/* Reports, at n, "expected a mapping for 'what' (got …)" unless n has type. */
bool rg_ld_expect(rg_loader *l, const rg_ynode *n, rg_ytype type, const char *what);
/* Reports non-scalar, duplicate and (when valid is not NULL) unknown keys of
 * map, with a did-you-mean taken from valid. where: "in step", … */
void rg_ld_check_keys(rg_loader *l, const rg_ynode *map, const char *where,
		      const char *const *valid);
/* The first key node / value node named key in map, or NULL. */
const rg_ynode *rg_ld_key(const rg_ynode *map, const char *key);
const rg_ynode *rg_ld_value(const rg_ynode *map, const char *key);
/* Reports "missing required key 'key' where" at map when it is absent. */
bool rg_ld_require(rg_loader *l, const rg_ynode *map, const char *key, const char *where);

/* Typed readers of map[key]. When key is absent *out keeps its default and
 * they return true; a bad value is reported at the value and gives false. */
/* "'text'" for a scalar, else "a mapping" …: what a message says it got. */
const char *rg_ld_got(const rg_ynode *n, char *buf, size_t size);
bool rg_ld_text(rg_loader *l, const rg_ynode *v, const char *key, const char **text);
bool rg_ld_string(rg_loader *l, const rg_ynode *map, const char *key, char **out);
bool rg_ld_duration(rg_loader *l, const rg_ynode *map, const char *key, int64_t *out);
bool rg_ld_positive_duration(rg_loader *l, const rg_ynode *map, const char *key,
			     int64_t *out);
bool rg_ld_int(rg_loader *l, const rg_ynode *map, const char *key, int min, int max,
	       int *out);
bool rg_ld_bool(rg_loader *l, const rg_ynode *map, const char *key, bool *out);
/* One of the NULL-terminated names; *out is its index. A bad value is
 * "invalid <noun> 'x'", the noun being key unless given. */
bool rg_ld_choice(rg_loader *l, const rg_ynode *map, const char *key,
		  const char *const *names, int *out);
bool rg_ld_choice_of(rg_loader *l, const rg_ynode *map, const char *key, const char *noun,
		     const char *const *names, int *out);
bool rg_ld_severity(rg_loader *l, const rg_ynode *map, const char *key, rg_severity *out);
/* A sequence of non-empty strings; *n is the sequence's length and a bad
 * item is reported and left NULL, so out[i] stays the i-th item. */
bool rg_ld_strings(rg_loader *l, const rg_ynode *map, const char *key, char ***out,
		   size_t *n);
bool rg_ld_url(rg_loader *l, const rg_ynode *map, const char *key, char **out);
bool rg_ld_listen(rg_loader *l, const rg_ynode *map, const char *key, char **out);

extern const char *const rg_severity_names[];

/* What rg_name_valid and rg_ident_valid accept, in words for messages. */
#define RG_NAME_RULE "letters, digits, '.', '_', '+' and '-', starting with a letter or digit, at most 64"
#define RG_IDENT_RULE "letters, digits, '_', '.' and '-', starting with a letter or '_', at most 64"

/* Which one of the NULL-terminated keys map has: its index, -1 for none (not
 * reported), -2 after reporting "<what> has both 'a' and 'b' (use one)" at
 * the one written later. */
int rg_ld_which(rg_loader *l, const rg_ynode *map, const char *const *keys, const char *what);

/* Reports "<problem> 'name' (did you mean 'x'?)", or lists what is defined. */
void rg_ld_undefined(rg_loader *l, const rg_ynode *at, const char *problem, const char *name,
		     const char *const *defined);

/* dir/rel, or rel when it is absolute; malloc'd, NULL when out of memory
 * (config.c). */
char *rg_join_path(const char *dir, const char *rel);

/* ---- sections */

void rg_ld_config(rg_loader *l, const rg_ynode *root);                /* sections.c */
void rg_ld_server(rg_loader *l, const rg_ynode *root);                /* server.c */
void rg_server_cfg_release(rg_config *cfg);                           /* server.c */
void rg_ld_checks(rg_loader *l, const rg_ynode *map);                 /* checks.c */
void rg_ld_pipeline(rg_loader *l, const rg_ynode *seq, bool rollback,
		    rg_step **out, size_t *n);                        /* steps.c */
void rg_ld_traffic(rg_loader *l, const rg_ynode *v, const rg_step *pipeline,
		   size_t n_before, rg_traffic *t);                   /* traffic.c */
void rg_ld_triggers(rg_loader *l, const rg_ynode *seq);               /* triggers.c */
void rg_ld_flags(rg_loader *l, const rg_ynode *map);                  /* flags.c */
void rg_flags_cfg_release(rg_config *cfg);                            /* flags.c */
/* min_requests, max_key ("max_pause", "max_monitor"), on_insufficient_data
 * of map, for a wait of base_ms (evidence.c). */
void rg_ld_evidence(rg_loader *l, const rg_ynode *map, const char *max_key, const char *base_key,
		    int64_t base_ms, rg_evidence *out);
void rg_ld_alerts(rg_loader *l, const rg_ynode *v);                   /* alerts.c */
/* An environment's `approvals:`, and `actions:` (approvals.c). */
void rg_ld_approvals(rg_loader *l, const rg_ynode *v, rg_env *e);
void rg_ld_actions(rg_loader *l, const rg_ynode *root);
void rg_ld_incident(rg_loader *l, const rg_ynode *root);              /* incident.c */
void rg_incident_cfg_release(rg_config *cfg);
void rg_gate_release(rg_gate *g);
void rg_alerts_cfg_release(rg_alerts_cfg *a);                         /* alerts.c */
/* [A-Z_][A-Z0-9_]*; a secret file others can read is reported at at;
 * a secret from the variable env, else the first line of file, into out
 * (alerts.c, used by notify.c too). */
bool rg_env_name_ok(const char *s);
void rg_check_secret_file(rg_loader *l, const rg_ynode *at, const char *path);
rg_err rg_config_secret_read(const char *env, const char *file, char *out, size_t size,
			     size_t *len, rg_error *err);
void rg_ld_notify(rg_loader *l, const rg_ynode *v);                   /* notify.c */
void rg_notify_cfg_release(rg_config *cfg);                           /* notify.c */
/* An environment's `proxy:` and `router:` (router.c); both set e->router. */
void rg_ld_proxy(rg_loader *l, const rg_ynode *v, rg_env *e);
void rg_ld_router(rg_loader *l, const rg_ynode *v, rg_env *e);

/* Names a user must pick from, for messages: "… (did you mean 'x'?)" or
 * "… (use a, b or c)" — whichever helps. */
void rg_hint(char *buf, size_t size, const char *word, const char *const *candidates);

#endif

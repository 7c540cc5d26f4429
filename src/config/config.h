/* config.h — rollguard.yaml as typed structs.
 * The loader is strict: unknown keys, wrong types and dangling references are
 * errors with FILE:LINE:COL, and a config with any error is never used.
 * Everything hangs off rg_config, which owns all strings and arrays; free it
 * with rg_config_release(). */
#ifndef RG_CONFIG_H
#define RG_CONFIG_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include "util/cidr.h"

#include "util/err.h"

typedef enum { RG_SEV_P0 = 0, RG_SEV_P1, RG_SEV_P2, RG_SEV_P3, RG_SEV_COUNT } rg_severity;

typedef enum {
	RG_ACTION_ROLLBACK = 0,
	RG_ACTION_ROLLBACK_AFTER_APPROVAL,
	RG_ACTION_NOTIFY
} rg_action;

typedef enum { RG_ON_FAILURE_ROLLBACK = 0, RG_ON_FAILURE_HALT } rg_on_failure;

typedef struct rg_kv {
	char *key;
	char *value;
} rg_kv;

typedef enum { RG_CHECK_HTTP = 0, RG_CHECK_COMMAND } rg_check_kind;

typedef struct rg_check {
	char *name;
	rg_check_kind kind;
	char *url;            /* http: the URL to GET */
	int expect_status;    /* http: default 200 */
	char *contains;       /* http: optional substring the body must contain */
	char *run;            /* command: shell command, exit 0 = healthy */
	int64_t timeout_ms;   /* default 10s */
	int line, col;        /* where it was defined */
} rg_check;

typedef enum { RG_STEP_EXEC = 0, RG_STEP_CHECKS, RG_STEP_TRAFFIC } rg_step_kind;

/* Evidence before promotion: with `analysis:` triggers and the built-in
 * proxy, a traffic share's pause (or the monitor window) ends only once the
 * release under watch has served min_requests in it, or the sequential test
 * has passed; it extends up to max_wait_ms and then does on_insufficient. */
typedef enum rg_insufficient {
	RG_INSUFFICIENT_HOLD = 0,   /* wait for a person (the default) */
	RG_INSUFFICIENT_ROLLBACK,
	RG_INSUFFICIENT_PROMOTE     /* go on without the evidence, said on purpose */
} rg_insufficient;

typedef struct rg_evidence {
	int min_requests;           /* default 100 */
	int64_t max_wait_ms;        /* default 4x the pause or window; >= it */
	rg_insufficient on_insufficient;
} rg_evidence;

const char *rg_insufficient_name(rg_insufficient i);   /* "hold" … */

typedef struct rg_traffic {
	char *backend;        /* "STEP.KEY": the step output naming the backend(s) */
	int *steps;           /* canary percentages, each 1..100, increasing */
	size_t n_steps;
	int64_t pause_ms;     /* pause between steps; default 0 */
	int64_t drain_ms;     /* how long the old release stays registered */
	char *retire;         /* optional command run for the old release after drain */
	rg_evidence evidence; /* min_requests, max_pause, on_insufficient_data */
} rg_traffic;

/* `backup: { run, restore, keep, verify }` — a step whose command writes
 * the artifacts of a backup into $ROLLGUARD_BACKUP_DIR (engine/backup.c). */
typedef struct rg_backup_cfg {
	char *restore;        /* puts a backup back, given its $ROLLGUARD_BACKUP_DIR */
	char *verify;         /* optional: checks a backup, exit 0 = usable */
	int keep;             /* newest backups kept per environment; default 10 */
} rg_backup_cfg;

/* `migrate: { up, down, current, reversible }` — a schema migration. Its
 * `up` is the step's command; the schema version it leaves is what the
 * command writes as `schema=` to $ROLLGUARD_OUTPUT, else the first word of
 * what `current` prints after `up` (the step's run runs both). A rollback
 * to a release of another schema runs `down` (with $ROLLGUARD_TARGET_SCHEMA)
 * when reversible, else restores the pre-deploy backup (engine/planner.c). */
typedef struct rg_migrate_cfg {
	char *up;             /* as written */
	char *down;           /* required when reversible */
	char *current;        /* optional: prints the schema version */
	bool reversible;      /* default true */
} rg_migrate_cfg;

typedef struct rg_step {
	char *name;           /* unique within its pipeline */
	rg_step_kind kind;
	char *run;            /* exec: command (a backup step's `backup.run`) */
	char *undo;           /* exec: optional undo command */
	rg_backup_cfg *backup; /* owned; non-NULL for a backup step (an exec step) */
	rg_migrate_cfg *migrate; /* owned; non-NULL for a migrate step (an exec step) */
	char **checks;        /* checks: names of entries in rg_config.checks */
	size_t n_checks;
	rg_traffic traffic;   /* traffic: canary shift */
	int64_t timeout_ms;   /* default 10m */
	int64_t kill_grace_ms; /* SIGTERM → SIGKILL of its commands; 0 = the environment's */
	int retries;          /* extra attempts after a failure; default 0 */
	int64_t retry_backoff_ms; /* first backoff, doubled each retry; default 1s */
	rg_severity severity; /* default P1 */
	rg_on_failure on_failure; /* default rollback */
	bool rerun;           /* may run again after a crash; default true */
	char **environments;  /* `environments: [..]`: run only there; none = all */
	size_t n_environments;
	int line, col;
} rg_step;

/* An approval gate: who must say yes, and how many of them, before
 * something happens (engine/gates.c). `from` lists role names or token
 * names; none means the gate's default. */
typedef struct rg_gate {
	bool enabled;         /* written in the file (deploy, rollback), or always (actions) */
	int required;         /* approvals needed, each from another person; default 1 */
	char **from;          /* role or token names; default approver (actions: approver, deployer) */
	size_t n_from;
	int64_t wait_ms;      /* after the last approval, before anything starts; default 0 */
	int64_t timeout_ms;   /* no decision within it: a deploy or rollback gate aborts the
	                         run; a trigger's gate rolls back */
	int line, col;
} rg_gate;

/* Which router an environment's traffic steps drive. */
typedef enum {
	RG_ROUTER_NONE = 0,
	RG_ROUTER_PROXY,    /* proxy: {listen} — the built-in proxy */
	RG_ROUTER_HAPROXY,  /* router: {haproxy: {socket, backend, stable, canary}} */
	RG_ROUTER_COMMAND   /* router: {command: CMD} */
} rg_router_kind;

typedef struct rg_env {
	char *name;
	int64_t timeout_ms;               /* whole deploy run; default 30m */
	int64_t kill_grace_ms;            /* SIGTERM → SIGKILL of step commands; default 10s */
	int64_t monitor_ms;               /* default 0 */
	int64_t post_rollback_monitor_ms; /* default 0 */
	bool production;                  /* asks people to confirm more (a typed name before
					   * a rollback on the dashboard); default: named prod
					   * or production */
	rg_evidence monitor_evidence;     /* min_requests, max_monitor, on_insufficient_data */
	rg_kv *vars;                      /* exported to every command */
	size_t n_vars;
	/* proxy: the built-in proxy (dataplane.h); NULL listen = none */
	char *proxy_listen;               /* optional "host:port" */
	int proxy_threads;                /* 0 = one per core */
	int64_t proxy_connect_timeout_ms;  /* 0 = the proxy default (2s) */
	int64_t proxy_response_timeout_ms; /* response head; 0 = default (30s) */
	int64_t proxy_idle_timeout_ms;     /* keep-alive; 0 = default (60s) */
	char *proxy_sticky_header;         /* sticky: {header: NAME}; NULL = cookie */
	char *proxy_sticky_cookie;         /* sticky: {cookie: NAME}; NULL = rg_release */
	bool proxy_least_conn;             /* balance: least-connections (default round-robin) */
	/* the front door (docs/proxy.md, "Limits"); 0 = the default */
	int proxy_max_connections;         /* 0 = derived from RLIMIT_NOFILE */
	int proxy_max_per_client;          /* connections per client address; 0 = 256 */
	int64_t proxy_header_timeout_ms;   /* first byte → whole request head; 0 = 10s */
	int64_t proxy_body_timeout_ms;     /* whole request body; 0 = 60s */
	int proxy_max_requests;            /* per client connection; 0 = 1000 */
	char *proxy_force_header;          /* force_header.name; NULL = no side is ever forced */
	rg_cidr *proxy_force_from;         /* force_header.from: who may force */
	size_t proxy_n_force_from;
	rg_cidr *proxy_trusted;            /* trusted_proxies: whose X-Forwarded-For is kept */
	size_t proxy_n_trusted;
	bool proxy_https;                  /* scheme: https → X-Forwarded-Proto: https */
	int64_t proxy_drain_ms;            /* tunnels of a release no longer routed; 0 = 10s */
	/* router: an external router instead of the built-in proxy */
	rg_router_kind router;
	char *haproxy_socket;              /* "/path/to/socket" or "127.0.0.1:9999" */
	char *haproxy_backend;             /* backend name in haproxy.cfg */
	char *haproxy_stable;              /* server of that backend for the stable release */
	char *haproxy_canary;              /* server for the canary */
	char *router_command;              /* command router */
	int64_t router_timeout_ms;         /* command or runtime-API call; default 30s */
	/* approvals: {deploy, rollback}: a deploy waits for gate_deploy before
	 * its first step, a manual rollback for gate_rollback (an automatic
	 * rollback never waits for this gate). Defaults: timeout 48h / 1h. */
	rg_gate gate_deploy, gate_rollback;
	/* config_files: kept with each release, put back by a rollback
	 * (engine/configsnap.c); relative to the config's directory. */
	char **config_files;
	size_t n_config_files;
	char **secret_keys;                /* keys whose values `config diff` masks too */
	size_t n_secret_keys;
	int line, col;
} rg_env;

typedef enum {
	RG_TRIGGER_CHECK = 0,  /* check + every + failures */
	RG_TRIGGER_METRIC,     /* metric: error_rate | latency_p50/p95/p99 | request_rate */
	RG_TRIGGER_QUERY,      /* query: PromQL */
	RG_TRIGGER_COMMAND,    /* command printing one number */
	RG_TRIGGER_ANALYSIS    /* analysis: sequential */
} rg_trigger_kind;

typedef struct rg_trigger {
	char *name;
	rg_trigger_kind kind;
	char *check;          /* check trigger: name of a check */
	int failures;         /* consecutive failures that fire; default 3 */
	int64_t every_ms;     /* evaluation interval; default 10s */
	char *metric;
	char *query;
	char *command;
	bool has_above, has_below;
	double above, below;  /* percentages are stored as fractions (1% = 0.01),
	                         durations as milliseconds */
	int64_t for_ms;       /* condition must hold this long; default 0 */
	bool fire_on_no_data; /* on_no_data: fire (default ignore) */
	double alpha, beta;   /* analysis; default 0.05 each */
	int64_t latency_bound_ms;
	double min_effect;    /* analysis: event-rate ratio to detect (sprt.h R); default 2 */
	bool promote_on_pass; /* analysis: a pass ends the traffic pause early */
	int64_t window_ms;    /* metric (built-in proxy): sliding window; default 60s, at most 60s */
	rg_severity severity; /* default P1 */
	char *disable_flag;   /* a flag of `flags:`: firing turns it off in the run's
	                         environment instead of the severity's action; NULL = none */
	int line, col;
} rg_trigger;

/* `flags:` — feature flags served to applications over OFREP (flags/flags.h).
 * A flag's values are kept as JSON text of one type: the value when off
 * (`default`) and the value when on (`value`; true for a boolean flag). */
typedef enum { RG_FLAG_BOOL = 0, RG_FLAG_STRING, RG_FLAG_NUMBER } rg_flag_type;

/* How a flag stands in one environment, as written (a stored override from
 * `rollguard flag set` or a trigger replaces enabled and rollout). */
typedef struct rg_flag_env {
	char *env;            /* an environment of `environments:` */
	bool enabled;         /* default true */
	int rollout;          /* percent of targeting keys that get the value, 0..100; default 100 */
	char **targets;       /* targeting keys that always get the value while enabled */
	size_t n_targets;
	int line, col;
} rg_flag_env;

typedef struct rg_flag {
	char *name;           /* rg_name_valid */
	rg_flag_type type;
	char *off_json;       /* `default`, as JSON text: "false", "\"classic\"", "3" */
	char *on_json;        /* `value`, as JSON text */
	char *description;    /* optional */
	rg_flag_env *envs;    /* environments not listed serve the default (reason DEFAULT) */
	size_t n_envs;
	int line, col;
} rg_flag;

/* `alerts:` — firing alerts posted to POST /api/v1/alerts (Alertmanager's
 * webhook payload or rollguard's small form) fire a trigger of the
 * environment's active run. The shared secret that signs requests is never
 * in the file: it is read from serve's environment or from a file. */
typedef struct rg_alerts_cfg {
	bool enabled;           /* the section is present */
	char *secret_env;       /* name of an environment variable holding the secret */
	char *secret_file;      /* or a file whose first line is the secret (absolute) */
	char *service_label;    /* label naming the service; default "service" */
	char *env_label;        /* label naming the environment; default "env" */
	char *severity_label;   /* label giving the severity; default "severity" */
	rg_kv *severities;      /* label value → "P0".."P3" (e.g. critical → P0) */
	size_t n_severities;
	rg_severity default_severity; /* when the label is absent or unmapped; default P1 */
} rg_alerts_cfg;

/* `notify:` — where messages go (notify/notify.h). A channel's secret
 * values (a Slack URL, a routing key, an HMAC secret, an SMTP password)
 * are never in the file: the file names the variable or file holding
 * them, and rg_notify_secrets_load reads them when serve starts. */
typedef enum {
	RG_CHANNEL_SLACK = 0,
	RG_CHANNEL_PAGERDUTY,
	RG_CHANNEL_EMAIL,
	RG_CHANNEL_WEBHOOK,
	RG_CHANNEL_COMMAND,
	RG_CHANNEL_KIND_COUNT
} rg_channel_kind;

const char *rg_channel_kind_name(rg_channel_kind k);   /* "slack", … */

/* Where one secret value comes from: an environment variable or a file
 * (first line), with the position that named it (for lint). */
typedef struct rg_secret_ref {
	char *env;            /* variable name, or NULL */
	char *file;           /* absolute path, or NULL */
	char *value;          /* owned, wiped on release; NULL until loaded */
	int line, col;
} rg_secret_ref;

typedef struct rg_channel {
	char *name;
	rg_channel_kind kind;
	char *url;            /* pagerduty (default Events API v2), webhook inline url;
	                         slack and webhook url_env/url_file: in url_ref */
	bool url_is_secret;   /* webhook `secret: true`: the inline url is masked too */
	rg_secret_ref url_ref;    /* slack, webhook: url_env | url_file */
	rg_secret_ref key;        /* pagerduty routing key, webhook HMAC secret */
	rg_secret_ref username;   /* email username_env */
	rg_secret_ref password;   /* email password_env */
	char *smtp;           /* email: smtp://host:port */
	char *from;
	char **to;            /* email recipients */
	size_t n_to;
	char *run;            /* command channel */
	int64_t timeout_ms;   /* one delivery attempt; default 10s */
	int line, col;
} rg_channel;

typedef struct rg_notify_route {
	char **events;
	size_t n_events;
	char **envs;          /* NULL: every environment */
	size_t n_envs;
	char **to;            /* channel names */
	size_t n_to;
	int line, col;
} rg_notify_route;

/* The event names a route may list (NULL-terminated). */
extern const char *const rg_notify_event_names[];
/* One level of `escalation:` — notified `after` the incident started to
 * climb (time from the start of the climb, not from the level before). */
typedef struct rg_escalation_level {
	int level;            /* 1, 2, 3, … in order */
	char **to;            /* channel names of notify.channels; n_to 0: the routes decide */
	size_t n_to;
	int64_t after_ms;
} rg_escalation_level;

/* `escalation:` and `incident:` (config/incident.c). */
typedef struct rg_incident_cfg {
	rg_escalation_level *levels;   /* default: 1 at 0s, 2 at 15m, 3 at 20m, each to the routes */
	size_t n_levels;
	/* incident.escalate: severities ("P1") or kinds ("rollback_failed") that
	 * climb; default rollback_failed, restored_unhealthy, restore_held,
	 * loop_guard */
	char **escalate;
	size_t n_escalate;
	char **checklist;              /* incident.checklist; default the runbooks' post-rollback list */
	size_t n_checklist;
} rg_incident_cfg;

/* server.retention: how long finished runs and step logs are kept. 0 in
 * runs_ms / step_logs_ms = kept for ever (the default); keep_last newest
 * runs of each environment are never pruned. */
typedef struct rg_retention_cfg {
	int64_t runs_ms;
	int64_t step_logs_ms;
	int keep_last;
} rg_retention_cfg;

typedef struct rg_config {
	char *path;           /* as given */
	char *dir;            /* directory of the file: cwd of every command */
	char *service;
	char *listen;         /* server.listen, default "127.0.0.1:7070" */
	char *state_dir;      /* server.state, absolute (resolved against dir) */
	char *backups_dir;    /* server.backups, absolute; default STATE/backups */
	char *tls_cert;       /* server.tls.cert, absolute; NULL = plain HTTP */
	char *tls_key;        /* server.tls.key, absolute; set with tls_cert */
	bool allow_plain_http; /* server.allow_plain_http: a non-loopback listen without TLS */
	char **secret_env;    /* server.secret_env: variables withheld from commands */
	size_t n_secret_env;
	rg_env *envs;
	size_t n_envs;
	rg_step *deploy;
	size_t n_deploy;
	rg_step *rollback;    /* optional rollback pipeline (exec steps only) */
	size_t n_rollback;
	rg_check *checks;
	size_t n_checks;
	rg_trigger *triggers;
	size_t n_triggers;
	char *prometheus;     /* metrics.prometheus */
	rg_action actions[RG_SEV_COUNT]; /* default P0,P1 rollback; P2 after approval; P3 notify */
	int64_t approval_timeout_ms; /* actions.approval_timeout: how long a run waits in
	                                awaiting_approval before rolling back; default 1h */
	/* The authority matrix: who approves a rollback-after-approval of each
	 * severity (`P1: {action, from, required, timeout}`); timeout defaults
	 * to approval_timeout. P0 never waits for anyone. */
	rg_gate action_gates[RG_SEV_COUNT];
	rg_gate hold_gate;    /* on_insufficient_data: hold (required 1, approval_timeout) */
	/* The rollback-loop guard: after max_auto_rollbacks automatic rollbacks
	 * in an environment within loop_window, a fired trigger holds instead
	 * (actions.max_auto_rollbacks, default 3; actions.loop_window, 1h). */
	int max_auto_rollbacks;
	int64_t loop_window_ms;
	rg_incident_cfg incident;
	rg_gate restore_gate; /* a restore's gate when the env has no approvals.rollback
	                         (required 1 from approver, admin; approval_timeout) */
	rg_alerts_cfg alerts;
	rg_flag *flags;
	size_t n_flags;
	rg_channel *channels; /* notify.channels */
	size_t n_channels;
	rg_notify_route *notify_routes; /* notify.routes */
	size_t n_notify_routes;
	char *public_url;     /* server.public_url: the base of run links in messages; NULL = none */
	rg_retention_cfg retention; /* server.retention */
} rg_config;

/* One problem found while loading: printed as "FILE:LINE:COL: message". */
typedef struct rg_diag {
	int line, col;
	char message[256];
} rg_diag;

typedef struct rg_diags {
	rg_diag *items;       /* owned */
	size_t n, cap;
} rg_diags;

/* Parse and validate path into cfg. Returns RG_OK, or RG_EINVAL with every
 * problem in diags (cfg is then released and zeroed). diags may be NULL. */
rg_err rg_config_load(const char *path, rg_config *cfg, rg_diags *diags, rg_error *err);
void rg_config_release(rg_config *cfg);
void rg_diags_release(rg_diags *d);
/* Prints every problem as "FILE:LINE:COL: message", one a line. */
void rg_diags_print(FILE *to, const char *path, const rg_diags *d);

/* Lookups; NULL when absent. Pointers are owned by cfg. */
const rg_env *rg_config_env(const rg_config *cfg, const char *name);
const rg_check *rg_config_check(const rg_config *cfg, const char *name);
const rg_step *rg_config_step(const rg_config *cfg, const char *name);
const rg_flag *rg_config_flag(const rg_config *cfg, const char *name);
/* The flag's settings for env as written; NULL when env is not listed. */
const rg_flag_env *rg_flag_env_of(const rg_flag *f, const char *env);

const char *rg_severity_name(rg_severity s);   /* "P0" … */

/* The gate a run names (rg_run.gate: "deploy", "rollback", "P1".."P3",
 * "hold", "restore": approvals.rollback, else restore_gate) in env; NULL for none or a gate the environment does not have. */
const rg_gate *rg_config_gate(const rg_config *cfg, const char *env, const char *gate);
/* deploy and rollback gates come before a run starts; the others hold a
 * run under way. */
bool rg_gate_before_start(const char *gate);
/* "approver, lead" — the gate's `from`; out is always terminated. */
void rg_gate_from_text(const rg_gate *g, char *out, size_t size);
/* "2 approvals from approver". */
void rg_gate_describe(const rg_gate *g, char *out, size_t size);

/* Whether the variable name (len bytes, not NUL-terminated) of serve's
 * environment holds a secret rollguard knows of: one of server.secret_env,
 * alerts.secret_env, or a notification channel's *_env. Commands never get such a variable. */
bool rg_config_secret_var(const rg_config *cfg, const char *name, size_t len);
/* 127.0.0.0/8, localhost or [::1], with a port. */
bool rg_listen_is_loopback(const char *listen);
const char *rg_action_name(rg_action a);       /* "rollback", … */

/* The shared secret of `alerts:`, read when serve starts: the value of
 * secret_env, or the first line of secret_file (its line end stripped),
 * into out as a NUL-terminated string of at most size - 1 bytes (*len).
 * RG_ENOTFOUND for an unset variable or a missing file, RG_EINVAL for an
 * empty secret, RG_ETOOLARGE when it does not fit, RG_EIO when the file
 * cannot be read. Messages name the variable or the file, never the secret;
 * on failure out holds nothing of it. */
#define RG_ALERTS_SECRET_MAX 1024
rg_err rg_alerts_secret_load(const rg_alerts_cfg *a, char *out, size_t size, size_t *len,
			     rg_error *err);

/* The channel named so; NULL when absent. */
const rg_channel *rg_config_channel(const rg_config *cfg, const char *name);
/* Reads every channel's secret value (url_env/url_file, routing_key_*,
 * secret_env/secret_file, username_env, password_env) into its
 * rg_secret_ref.value. Each one missing (an unset or empty variable, a
 * file that cannot be read) is a problem in diags at the key that names
 * it, never with the value; RG_EINVAL when there was any. lint and serve
 * call it; other commands never need the values. */
rg_err rg_notify_secrets_load(rg_config *cfg, rg_diags *diags, rg_error *err);

/* The commented starter file `rollguard init` writes; lints clean. */
extern const char rg_config_starter[];

#endif

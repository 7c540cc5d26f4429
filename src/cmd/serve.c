/* serve.c — `rollguard serve`: the controller. Loads the config, opens the
 * store, attaches to the data-plane process (`rollguard proxy`, started if
 * none runs: link.h), starts the routers, the engine and the API on one
 * libuv loop, re-applies the stored routes, resumes every unfinished run.
 * On SIGTERM/SIGINT it stops cleanly with the proxy, leaving runs to be
 * resumed by the next start; on SIGUSR2 it stops alone, and the proxy goes
 * on serving the last routing tables (a controller upgrade or restart). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "api/server.h"
#include "auth/tokens.h"
#include "cmd/cmd.h"
#include "cmd/state.h"
#include "config/config.h"
#include "dataplane/dataplane.h"
#include "dataplane/link.h"
#include "engine/engine.h"
#include "engine/figures.h"
#include "engine/retention.h"
#include "incident/incident.h"
#include "notify/notify.h"
#include "routers/routers.h"
#include "store/store.h"
#include "util/log.h"
#include "util/nofile.h"
#include "util/secrets.h"
#include "util/torture.h"

typedef struct server {
	uv_loop_t loop;
	uv_signal_t sigterm, sigint, sigusr2;
	rg_config cfg;
	const char *config_path;
	const char *log_format;
	rg_store *store;
	rg_engine *engine;
	rg_dataplane *dp;        /* the built-in proxies: the link's, or local when none */
	rg_link *link;           /* to the proxy process; NULL without proxies */
	rg_routers *routers;     /* what traffic steps drive */
	rg_api *api;
	rg_notifier *notifier;   /* notify/notify.h: the outbox's sender */
	rg_incidents *incidents; /* incidents and their escalation ladder */
	rg_retention *retention; /* server.retention's pruner; NULL when it keeps all */
	rg_figures *figures;     /* samples of each canary's figures for the charts */
	rg_token_key token_key;  /* checks API tokens; wiped at exit */
	rg_secrets *secrets;     /* masked in everything the store keeps */
	bool stopping;
	bool leave_proxy;        /* SIGUSR2: the proxy goes on serving */
	bool started;
} server;

static void on_engine_stopped(void *ctx)
{
	server *s = ctx;
	/* after the engine: its last changes may still enqueue */
	rg_notifier_close(s->notifier);
	s->notifier = NULL;
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	uv_close((uv_handle_t *)&s->sigint, NULL);
	uv_close((uv_handle_t *)&s->sigusr2, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
	server *s = h->data;
	if (s->stopping)
		return;
	s->stopping = true;
	s->leave_proxy = signum == SIGUSR2;
	rg_torture_arm(false);
	rg_info("received %s: stopping%s; unfinished runs resume on the next start",
		signum == SIGTERM ? "SIGTERM" : signum == SIGINT ? "SIGINT" : "SIGUSR2",
		s->leave_proxy ? " (the proxy goes on serving)" : "");
	rg_api_stop(s->api);
	s->api = NULL;
	rg_incidents_stop(s->incidents);
	rg_retention_stop(s->retention);
	s->retention = NULL;
	rg_figures_stop(s->figures);   /* its last batch, while the store is open */
	s->figures = NULL;
	rg_engine_shutdown(s->engine, on_engine_stopped, s);
}

/* The token key, and on a state directory without tokens the first admin
 * token: written to a file only its owner can read, whose path (never the
 * token) is logged. The CLI finds it there through the config. */
static rg_err open_tokens(server *s, rg_error *err)
{
	char path[4096];
	bool made = false;
	rg_err rc = rg_token_key_open(s->cfg.state_dir, &s->token_key, err);
	if (!rc)
		rc = rg_token_first_admin(s->store, &s->token_key, s->cfg.state_dir, path,
					  sizeof path, &made, err);
	if (!rc && made)
		rg_info("tokens: made the first admin token; it is in %s (mode 0600). Make "
			"tokens for people with 'rollguard token create'", path);
	return rc;
}

/* A secret too short to mask is said so (by its variable's name only): its
 * value may then show in logs and events. */
static rg_err add_secret(server *s, const char *what, const char *value, size_t len,
			 rg_error *err)
{
	bool added = false;
	rg_err rc = rg_secrets_add(s->secrets, value, len, &added, err);
	if (!rc && !added && len < RG_SECRET_MIN_LEN)
		rg_warn("%s holds fewer than %d characters: its value is not masked in logs and "
			"events", what, RG_SECRET_MIN_LEN);
	return rc;
}

/* The values the store masks (rg_store_set_secrets): those of
 * server.secret_env's variables, the alerts secret and the first admin
 * token (a step that read the state directory must not put it in a log). */
static rg_err collect_secrets(server *s, rg_error *err)
{
	char what[160], alerts[RG_ALERTS_SECRET_MAX];
	size_t len = 0;
	rg_error ignored;
	rg_err rc = rg_secrets_new(&s->secrets, err);
	for (size_t i = 0; !rc && i < s->cfg.n_secret_env; i++) {
		const char *v = getenv(s->cfg.secret_env[i]);
		snprintf(what, sizeof what, "secret_env variable '%s'", s->cfg.secret_env[i]);
		if (v && *v)
			rc = add_secret(s, what, v, strlen(v), err);
	}
	/* the API reads it again and says what is wrong with it, if anything */
	if (!rc && s->cfg.alerts.enabled &&
	    rg_alerts_secret_load(&s->cfg.alerts, alerts, sizeof alerts, &len, &ignored) == RG_OK) {
		rc = add_secret(s, "the alerts secret", alerts, len, err);
		explicit_bzero(alerts, sizeof alerts);
	}
	for (size_t i = 0; !rc && i < s->cfg.n_channels; i++) {
		const rg_channel *c = &s->cfg.channels[i];
		const rg_secret_ref *refs[] = { &c->url_ref, &c->key, &c->username, &c->password };
		snprintf(what, sizeof what, "a secret of channel '%s'", c->name);
		for (size_t j = 0; !rc && j < sizeof refs / sizeof *refs; j++)
			if (refs[j]->value)
				rc = add_secret(s, what, refs[j]->value, strlen(refs[j]->value), err);
		if (!rc && c->url && c->url_is_secret)
			rc = add_secret(s, what, c->url, strlen(c->url), err);
	}
	char path[4096], token[RG_TOKEN_TEXT_MAX];
	snprintf(path, sizeof path, "%s/" RG_ADMIN_TOKEN_FILE, s->cfg.state_dir);
	if (!rc && rg_token_read_file(path, token, sizeof token, &ignored) == RG_OK) {
		rc = add_secret(s, "the admin token", token, strlen(token), err);
		explicit_bzero(token, sizeof token);
	}
	if (!rc) {
		rg_store_set_secrets(s->store, s->secrets);
		rg_log_set_secrets(s->secrets);
	}
	return rc;
}

/* Each channel's secret value, read once; what is missing is said as
 * lint says it, and serve does not start without it. */
static rg_err load_channel_secrets(server *s, rg_error *err)
{
	rg_diags d = { 0 };
	rg_err rc = rg_notify_secrets_load(&s->cfg, &d, err);
	if (rc && d.n)
		rg_diags_print(stderr, s->config_path, &d);
	rg_diags_release(&d);
	return rc;
}

static rg_err start(server *s, rg_error *err)
{
	rg_err rc = load_channel_secrets(s, err);
	if (!rc)
		rc = rg_cmd_open_store(&s->cfg, &s->store, err);
	if (!rc)
		rc = open_tokens(s, err);
	if (!rc)
		rc = collect_secrets(s, err);
	bool proxied = false;
	for (size_t i = 0; i < s->cfg.n_envs; i++)
		proxied |= s->cfg.envs[i].proxy_listen != NULL;
	if (!rc && proxied)
		rc = rg_link_start(&s->loop, &s->cfg, s->config_path, s->log_format, &s->link, &s->dp,
				   err);
	else if (!rc)
		rc = rg_dataplane_start(&s->cfg, &s->dp, err);
	if (!rc)
		rc = rg_routers_new(&s->loop, &s->cfg, s->dp, &s->routers, err);
	if (!rc)
		rc = rg_engine_new(&s->loop, &s->cfg, s->store, s->routers, s->dp, &s->engine, err);
	if (!rc)
		rc = rg_notifier_new(&s->loop, &s->cfg, s->store, &s->notifier, err);
	if (!rc)
		rc = rg_notify_watch(s->notifier, s->engine, err);
	if (!rc)
		rc = rg_incidents_new(&s->loop, &s->cfg, s->store, s->engine, s->notifier,
				      &s->incidents, err);
	if (!rc)
		rc = rg_api_start(&s->loop, s->cfg.listen, &s->cfg, s->engine, s->store, s->dp,
				  &s->token_key, &s->api, err);
	if (!rc)
		rc = rg_retention_start(&s->loop, &s->cfg.retention, s->store, rg_api_runs_pruned,
					 s->api, &s->retention, err);
	if (!rc)
		rc = rg_figures_start(&s->loop, s->engine, s->store, s->dp, &s->figures, err);
	if (rc)
		return rc;
	rg_api_set_incidents(s->api, s->incidents);
	uv_signal_init(&s->loop, &s->sigterm);
	uv_signal_init(&s->loop, &s->sigint);
	uv_signal_init(&s->loop, &s->sigusr2);
	s->sigterm.data = s->sigint.data = s->sigusr2.data = s;
	uv_signal_start(&s->sigterm, on_signal, SIGTERM);
	uv_signal_start(&s->sigint, on_signal, SIGINT);
	uv_signal_start(&s->sigusr2, on_signal, SIGUSR2);
	rg_info("rollguard serving '%s' on %s://%s (state in %s)", s->cfg.service,
		s->cfg.tls_cert ? "https" : "http", s->cfg.listen, s->cfg.state_dir);
	return rg_engine_resume_all(s->engine, err);
}

static void cleanup(server *s)
{
	if (s->api)
		rg_api_stop(s->api);
	rg_incidents_stop(s->incidents);
	rg_retention_stop(s->retention);
	s->retention = NULL;
	rg_figures_stop(s->figures);
	s->figures = NULL;
	if (s->engine && !s->stopping)
		rg_engine_shutdown(s->engine, NULL, NULL);
	if (s->routers)
		rg_routers_free(s->routers);
	uv_run(&s->loop, UV_RUN_DEFAULT);
	if (s->engine)
		rg_engine_free(s->engine);
	rg_incidents_free(s->incidents);   /* after the engine: its hook pointed here */
	if (s->notifier) {   /* serve could not start: no engine is left to enqueue */
		rg_notifier_close(s->notifier);
		uv_run(&s->loop, UV_RUN_DEFAULT);
	}
	if (s->link) {
		/* a serve that could not start leaves a proxy it found serving */
		bool stop = s->started ? !s->leave_proxy : rg_link_started_proxy(s->link);
		rg_link_stop(s->link, stop); /* frees s->dp */
		uv_run(&s->loop, UV_RUN_DEFAULT);
	} else {
		rg_dataplane_stop(s->dp);
	}
	rg_store_free(s->store);
	rg_token_key_wipe(&s->token_key);
	rg_log_set_secrets(NULL);
	rg_secrets_free(s->secrets);
	if (uv_loop_close(&s->loop) != 0)
		rg_warn("event loop closed with handles still open");
	rg_config_release(&s->cfg);
}

/* The one value check the parser cannot make: which log formats exist. */
static bool log_format_set(const char *format)
{
	if (!format)
		return true;
	if (strcmp(format, "json") && strcmp(format, "text")) {
		fprintf(stderr, "error: invalid --log-format '%s' (expected text or json)\n", format);
		rg_help_usage("serve", stderr);
		return false;
	}
	rg_log_set_json(strcmp(format, "json") == 0);
	return true;
}

int cmd_serve(int argc, char **argv)
{
	rg_cli_args a;
	int code;
	if (!rg_cli_args_get("serve", argc, argv, &a, &code))
		return code;
	if (!log_format_set(a.log_format))
		return RG_EXIT_USAGE;
	const char *path = rg_cli_config_path(&a);
	server s;
	memset(&s, 0, sizeof s);
	if (rg_cmd_load_config(path, &s.cfg))
		return RG_EXIT_USAGE;
	s.config_path = path;
	s.log_format = a.log_format;
	signal(SIGPIPE, SIG_IGN);
	rg_nofile_raise(); /* step pipes, the store, checks: never the first to run out */
	uv_loop_init(&s.loop);
	rg_error err = { 0 };
	if (start(&s, &err)) {
		rg_error_log("cannot start: %s", err.message);
		s.stopping = false;
		cleanup(&s);
		return RG_EXIT_RUN_FAILED;
	}
	s.started = true;
	rg_torture_arm(true);   /* the test build's allocation torture counts from here */
	uv_run(&s.loop, UV_RUN_DEFAULT);
	cleanup(&s);
	rg_info("stopped");
	return 0;
}

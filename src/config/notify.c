/* notify.c — the `notify:` section: channels (slack, pagerduty, email,
 * webhook, run) and the routes that send events to them; and reading the
 * channels' secret values when lint or serve asks.
 * A secret never appears in the file or in a message: only the name of the
 * variable or file that holds it does. */
#include "config/config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/names.h"

#define PAGERDUTY_URL "https://events.pagerduty.com/v2/enqueue"
#define CHANNEL_TIMEOUT_MS (10 * RG_MS_SECOND)
#define SECRET_MAX 4096

const char *const rg_notify_event_names[] = {
	"deploy_started",    "deploy_succeeded",   "run_failed",
	"rollback_started",  "rollback_succeeded", "rollback_failed",
	"approval_requested", "incident_opened",   "incident_escalated",
	"incident_acknowledged", "incident_resolved", NULL
};

static const char *const kind_names[] = { "slack", "pagerduty", "email", "webhook", "run", NULL };
static const char *const notify_keys[] = { "channels", "routes", NULL };
static const char *const channel_keys[] = { "slack", "pagerduty", "email", "webhook", "run",
					    "timeout", NULL };
static const char *const slack_keys[] = { "url_env", "url_file", NULL };
static const char *const pagerduty_keys[] = { "routing_key_env", "routing_key_file", "url", NULL };
static const char *const email_keys[] = { "smtp", "from", "to", "username_env", "password_env",
					  NULL };
static const char *const webhook_keys[] = { "url", "url_env", "url_file", "secret_env",
					    "secret_file", "secret", NULL };
static const char *const route_keys[] = { "events", "envs", "to", NULL };

const char *rg_channel_kind_name(rg_channel_kind k)
{
	return k < RG_CHANNEL_KIND_COUNT ? kind_names[k] : "unknown";
}

const rg_channel *rg_config_channel(const rg_config *cfg, const char *name)
{
	for (size_t i = 0; name && i < cfg->n_channels; i++)
		if (!strcmp(cfg->channels[i].name, name))
			return &cfg->channels[i];
	return NULL;
}

/* env_key names a variable, file_key a file (relative to the config); the
 * one written is kept in ref with its position. required: one of them must be. */
static void load_ref(rg_loader *l, const rg_ynode *m, const char *env_key, const char *file_key,
		     const char *what, bool required, rg_secret_ref *ref)
{
	const char *const keys[] = { env_key, file_key, NULL };
	int which = rg_ld_which(l, m, file_key ? keys : (const char *const[]){ env_key, NULL }, what);
	if (which == -1 && required) {
		rg_problem(l, m, "%s needs '%s'%s%s%s", what, env_key, file_key ? " or '" : "",
			   file_key ? file_key : "", file_key ? "'" : "");
		return;
	}
	if (which < 0)
		return;
	const char *key = keys[which];
	const rg_ynode *v = rg_ld_value(m, key);
	ref->line = v->line;
	ref->col = v->col;
	if (which == 0) {
		if (rg_ld_string(l, m, key, &ref->env) && ref->env && !rg_env_name_ok(ref->env))
			rg_problem(l, v, "invalid environment variable name '%s' for '%s' "
				   "(use [A-Z_][A-Z0-9_]*)", ref->env, key);
		return;
	}
	char *file = NULL;
	if (rg_ld_string(l, m, key, &file) && file) {
		if (!(ref->file = rg_join_path(l->cfg->dir, file)))
			l->oom = true;
		else
			rg_check_secret_file(l, v, ref->file);
	}
	free(file);
}

static void load_slack(rg_loader *l, const rg_ynode *m, rg_channel *c)
{
	rg_ld_check_keys(l, m, "in slack", slack_keys);
	load_ref(l, m, "url_env", "url_file", "slack", true, &c->url_ref);
}

static void load_pagerduty(rg_loader *l, const rg_ynode *m, rg_channel *c)
{
	rg_ld_check_keys(l, m, "in pagerduty", pagerduty_keys);
	load_ref(l, m, "routing_key_env", "routing_key_file", "pagerduty", true, &c->key);
	if (!(c->url = rg_ld_strdup(l, PAGERDUTY_URL)))
		return;
	rg_ld_url(l, m, "url", &c->url);
}

static bool smtp_ok(const char *s)
{
	return (!strncmp(s, "smtp://", 7) && s[7] && s[7] != '/') ||
	       (!strncmp(s, "smtps://", 8) && s[8] && s[8] != '/');
}

/* Header injection: an address is one line without angle-bracket games. */
static bool address_ok(const char *s)
{
	const char *at = strchr(s, '@');
	return at && at != s && at[1] && !strpbrk(s, " \t\r\n<>,;\"");
}

static void load_email(rg_loader *l, const rg_ynode *m, rg_channel *c)
{
	rg_ld_check_keys(l, m, "in email", email_keys);
	if (rg_ld_require(l, m, "smtp", "in email") && rg_ld_string(l, m, "smtp", &c->smtp) &&
	    c->smtp && (!smtp_ok(c->smtp) || strpbrk(c->smtp, " \t\r\n")))
		rg_problem(l, rg_ld_value(m, "smtp"), "invalid smtp '%s' (use smtp://host:port)",
			   c->smtp);
	if (rg_ld_require(l, m, "from", "in email") && rg_ld_string(l, m, "from", &c->from) &&
	    c->from && !address_ok(c->from))
		rg_problem(l, rg_ld_value(m, "from"), "invalid e-mail address '%s' for 'from'",
			   c->from);
	if (rg_ld_require(l, m, "to", "in email") &&
	    rg_ld_strings(l, m, "to", &c->to, &c->n_to))
		for (size_t i = 0; i < c->n_to; i++)
			if (c->to[i] && !address_ok(c->to[i]))
				rg_problem(l, rg_ld_value(m, "to")->kids[i],
					   "invalid e-mail address '%s' in 'to'", c->to[i]);
	load_ref(l, m, "username_env", NULL, "email", false, &c->username);
	load_ref(l, m, "password_env", NULL, "email", false, &c->password);
}

static void load_webhook(rg_loader *l, const rg_ynode *m, rg_channel *c)
{
	rg_ld_check_keys(l, m, "in webhook", webhook_keys);
	int which = rg_ld_which(l, m, (const char *const[]){ "url", "url_env", "url_file", NULL },
				"webhook");
	if (which == -1)
		rg_problem(l, m, "webhook needs 'url', 'url_env' or 'url_file'");
	else if (which == 0)
		rg_ld_url(l, m, "url", &c->url);
	else if (which > 0)
		load_ref(l, m, "url_env", "url_file", "webhook", true, &c->url_ref);
	load_ref(l, m, "secret_env", "secret_file", "webhook", true, &c->key);
	rg_ld_bool(l, m, "secret", &c->url_is_secret);
}

static void load_channel(rg_loader *l, const rg_ynode *k, const rg_ynode *v, rg_channel *c)
{
	c->line = k->line;
	c->col = k->col;
	c->timeout_ms = CHANNEL_TIMEOUT_MS;
	if (!(c->name = rg_ld_strdup(l, k->text)))
		return;
	if (!rg_name_valid(c->name))
		rg_problem(l, k, "invalid channel name '%s' (use %s)", c->name, RG_NAME_RULE);
	if (!rg_ld_expect(l, v, RG_YMAP, "channel"))
		return;
	rg_ld_check_keys(l, v, "in channel", channel_keys);
	rg_ld_positive_duration(l, v, "timeout", &c->timeout_ms);
	int which = rg_ld_which(l, v, kind_names, "channel");
	if (which == -1) {
		rg_problem(l, k, "channel '%s' needs one of slack, pagerduty, email, webhook or run",
			   c->name);
		return;
	}
	if (which < 0)
		return;
	c->kind = (rg_channel_kind)which;
	const rg_ynode *m = rg_ld_value(v, kind_names[which]);
	if (c->kind == RG_CHANNEL_COMMAND) {
		if (rg_ld_string(l, v, "run", &c->run) && c->run && !*c->run)
			rg_problem(l, m, "'run' must not be empty");
		return;
	}
	if (!rg_ld_expect(l, m, RG_YMAP, kind_names[which]))
		return;
	switch (c->kind) {
	case RG_CHANNEL_SLACK: load_slack(l, m, c); break;
	case RG_CHANNEL_PAGERDUTY: load_pagerduty(l, m, c); break;
	case RG_CHANNEL_EMAIL: load_email(l, m, c); break;
	case RG_CHANNEL_WEBHOOK: load_webhook(l, m, c); break;
	case RG_CHANNEL_COMMAND:
	case RG_CHANNEL_KIND_COUNT: break;
	}
}

static void load_channels(rg_loader *l, const rg_ynode *m)
{
	rg_config *cfg = l->cfg;
	if (!rg_ld_expect(l, m, RG_YMAP, "channels"))
		return;
	rg_ld_check_keys(l, m, "in channels", NULL);
	if (!(cfg->channels = rg_ld_calloc(l, m->n / 2 + 1, sizeof *cfg->channels)))
		return;
	for (size_t i = 0; i < m->n; i += 2) {
		const rg_ynode *k = m->kids[i];
		if (k->type != RG_YSCALAR || rg_ynode_is_null(k) || rg_ld_key(m, k->text) != k)
			continue;
		load_channel(l, k, m->kids[i + 1], &cfg->channels[cfg->n_channels++]);
	}
}

static const char *const *channel_names(rg_loader *l)
{
	rg_config *cfg = l->cfg;
	const char **names = rg_ld_calloc(l, cfg->n_channels + 1, sizeof *names);
	for (size_t i = 0; names && i < cfg->n_channels; i++)
		names[i] = cfg->channels[i].name;
	return names;
}

static void check_route(rg_loader *l, const rg_ynode *m, rg_notify_route *r)
{
	const rg_ynode *ev = rg_ld_value(m, "events"), *envs = rg_ld_value(m, "envs"),
		       *to = rg_ld_value(m, "to");
	for (size_t i = 0; i < r->n_events; i++)
		if (r->events[i]) {
			bool known = false;
			for (size_t j = 0; rg_notify_event_names[j]; j++)
				known |= !strcmp(rg_notify_event_names[j], r->events[i]);
			if (!known)
				rg_ld_undefined(l, ev->kids[i], "unknown event", r->events[i],
						rg_notify_event_names);
		}
	for (size_t i = 0; i < r->n_envs; i++)
		if (r->envs[i] && !rg_config_env(l->cfg, r->envs[i])) {
			const char **names = rg_ld_calloc(l, l->cfg->n_envs + 1, sizeof *names);
			for (size_t j = 0; names && j < l->cfg->n_envs; j++)
				names[j] = l->cfg->envs[j].name;
			rg_ld_undefined(l, envs->kids[i], "unknown environment", r->envs[i], names);
			free(names);
		}
	for (size_t i = 0; i < r->n_to; i++)
		if (r->to[i] && !rg_config_channel(l->cfg, r->to[i])) {
			const char *const *names = channel_names(l);
			rg_ld_undefined(l, to->kids[i], "unknown channel", r->to[i], names);
			free((void *)names);
		}
}

static void load_routes(rg_loader *l, const rg_ynode *seq)
{
	rg_config *cfg = l->cfg;
	if (!rg_ld_expect(l, seq, RG_YSEQ, "routes"))
		return;
	if (!(cfg->notify_routes = rg_ld_calloc(l, seq->n + 1, sizeof *cfg->notify_routes)))
		return;
	for (size_t i = 0; i < seq->n; i++) {
		const rg_ynode *m = seq->kids[i];
		rg_notify_route *r = &cfg->notify_routes[cfg->n_notify_routes++];
		r->line = m->line;
		r->col = m->col;
		if (!rg_ld_expect(l, m, RG_YMAP, "route"))
			continue;
		rg_ld_check_keys(l, m, "in route", route_keys);
		if (rg_ld_require(l, m, "events", "in route"))
			rg_ld_strings(l, m, "events", &r->events, &r->n_events);
		rg_ld_strings(l, m, "envs", &r->envs, &r->n_envs);
		if (rg_ld_require(l, m, "to", "in route"))
			rg_ld_strings(l, m, "to", &r->to, &r->n_to);
		check_route(l, m, r);
	}
}

void rg_ld_notify(rg_loader *l, const rg_ynode *v)
{
	if (!rg_ld_expect(l, v, RG_YMAP, "notify"))
		return;
	rg_ld_check_keys(l, v, "in notify", notify_keys);
	if (rg_ld_value(v, "channels"))
		load_channels(l, rg_ld_value(v, "channels"));
	if (rg_ld_value(v, "routes"))
		load_routes(l, rg_ld_value(v, "routes"));
}

/* ---- release ---------------------------------------------------------------- */

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; list && i < n; i++)
		free(list[i]);
	free(list);
}

static void ref_release(rg_secret_ref *r)
{
	free(r->env);
	free(r->file);
	if (r->value) {
		explicit_bzero(r->value, strlen(r->value));
		free(r->value);
	}
	memset(r, 0, sizeof *r);
}

void rg_notify_cfg_release(rg_config *cfg)
{
	for (size_t i = 0; cfg->channels && i < cfg->n_channels; i++) {
		rg_channel *c = &cfg->channels[i];
		free(c->name);
		free(c->url);
		ref_release(&c->url_ref);
		ref_release(&c->key);
		ref_release(&c->username);
		ref_release(&c->password);
		free(c->smtp);
		free(c->from);
		free_list(c->to, c->n_to);
		free(c->run);
	}
	free(cfg->channels);
	for (size_t i = 0; cfg->notify_routes && i < cfg->n_notify_routes; i++) {
		rg_notify_route *r = &cfg->notify_routes[i];
		free_list(r->events, r->n_events);
		free_list(r->envs, r->n_envs);
		free_list(r->to, r->n_to);
	}
	free(cfg->notify_routes);
	cfg->channels = NULL;
	cfg->notify_routes = NULL;
	cfg->n_channels = cfg->n_notify_routes = 0;
}

/* ---- the secret values, when serve starts (and for lint) ------------------------ */

static rg_err ref_load(rg_secret_ref *r, const rg_channel *c, rg_diags *d, bool *bad,
		       rg_error *err)
{
	if (!r->env && !r->file)
		return RG_OK;
	char buf[SECRET_MAX];
	size_t len = 0;
	rg_error why = { 0 };
	if (rg_config_secret_read(r->env, r->file, buf, sizeof buf, &len, &why)) {
		*bad = true;
		explicit_bzero(buf, sizeof buf);
		return d ? rg_diag_add(d, r->line, r->col, "channel '%s': %s", c->name, why.message)
			 : RG_OK;
	}
	if (!r->value && !(r->value = strdup(buf))) {
		explicit_bzero(buf, sizeof buf);
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory for a channel secret");
	}
	explicit_bzero(buf, sizeof buf);
	return RG_OK;
}

rg_err rg_notify_secrets_load(rg_config *cfg, rg_diags *diags, rg_error *err)
{
	bool bad = false;
	rg_err rc = RG_OK;
	for (size_t i = 0; !rc && i < cfg->n_channels; i++) {
		rg_channel *c = &cfg->channels[i];
		rg_secret_ref *refs[] = { &c->url_ref, &c->key, &c->username, &c->password };
		for (size_t j = 0; !rc && j < sizeof refs / sizeof *refs; j++)
			rc = ref_load(refs[j], c, diags, &bad, err);
	}
	if (!rc && bad)
		return rg_fail(err, RG_EINVAL, "notify", "a notification channel's secret is missing");
	return rc;
}

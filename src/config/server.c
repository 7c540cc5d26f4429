/* server.c — the `server:` section: where the API listens (and whether in
 * clear), its TLS certificate, where state lives, and which variables of
 * serve's environment are secrets.
 * It must never let the API leave the host in plain HTTP by accident: a
 * listen address that is not loopback needs `tls:` or an explicit
 * `allow_plain_http: true`. */
#include "config/config_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/hostport.h"
#include "util/names.h"

static const char *const server_keys[] = { "listen", "state", "tls", "allow_plain_http",
					   "secret_env", "backups", "public_url", "retention",
					   NULL };
static const char *const tls_keys[] = { "cert", "key", NULL };
static const char *const retention_keys[] = { "runs", "step_logs", "keep_last", NULL };

/* 127.0.0.0/8, localhost and [::1]: the addresses nobody off this host can
 * reach. */
bool rg_listen_is_loopback(const char *listen)
{
	rg_sockaddr sa;
	return !rg_hostport_check(listen, RG_HOSTPORT_LISTEN_ANY_PORT, &sa) &&
	       rg_sockaddr_is_loopback((const struct sockaddr *)&sa.ss);
}

/* The file is read when serve starts; lint and serve say at once when it
 * cannot be, naming the file (resolved next to the config). */
static void load_tls_file(rg_loader *l, const rg_ynode *tls, const char *key, const char *what,
			  char **out)
{
	char *file = NULL;
	if (!rg_ld_require(l, tls, key, "in tls") || !rg_ld_string(l, tls, key, &file) || !file)
		return;
	if (!(*out = rg_join_path(l->cfg->dir, file))) {
		l->oom = true;
		free(file);
		return;
	}
	free(file);
	int fd = open(*out, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		rg_problem(l, rg_ld_value(tls, key), "cannot read TLS %s '%s': %s", what, *out,
			   strerror(errno));
	else
		close(fd);
}

static void load_tls(rg_loader *l, const rg_ynode *server)
{
	const rg_ynode *v = rg_ld_value(server, "tls");
	if (!v || !rg_ld_expect(l, v, RG_YMAP, "tls"))
		return;
	rg_ld_check_keys(l, v, "in tls", tls_keys);
	load_tls_file(l, v, "cert", "certificate", &l->cfg->tls_cert);
	load_tls_file(l, v, "key", "key", &l->cfg->tls_key);
}

static void load_secret_env(rg_loader *l, const rg_ynode *server)
{
	rg_config *cfg = l->cfg;
	const rg_ynode *v = rg_ld_value(server, "secret_env");
	if (!v)
		return;
	/* A bad item is reported and left NULL; the others are still checked. */
	rg_ld_strings(l, server, "secret_env", &cfg->secret_env, &cfg->n_secret_env);
	for (size_t i = 0; i < cfg->n_secret_env; i++)
		if (cfg->secret_env[i] && !rg_var_name_valid(cfg->secret_env[i]))
			rg_problem(l, v->kids[i],
				   "invalid environment variable name '%s' in secret_env "
				   "(use [A-Za-z_][A-Za-z0-9_]*)", cfg->secret_env[i]);
}

/* Tokens and deploy requests cross the network in clear on a plain HTTP
 * port that others can reach; that must be written on purpose. */
static void check_exposure(rg_loader *l, const rg_ynode *server)
{
	const rg_ynode *at = rg_ld_value(server, "listen");
	rg_config *cfg = l->cfg;
	if (!at || !cfg->listen || rg_listen_is_loopback(cfg->listen) ||
	    rg_ld_key(server, "tls") || cfg->allow_plain_http)
		return;
	rg_problem(l, at,
		   "listen address '%s' is not loopback, and without TLS tokens and requests "
		   "would cross the network in clear (add server.tls: {cert, key}, or "
		   "server.allow_plain_http: true to accept that)", cfg->listen);
}

/* All optional: what is absent is kept for ever, as without the section. */
static void load_retention(rg_loader *l, const rg_ynode *server)
{
	const rg_ynode *v = rg_ld_value(server, "retention");
	if (!v || !rg_ld_expect(l, v, RG_YMAP, "retention"))
		return;
	rg_ld_check_keys(l, v, "in retention", retention_keys);
	rg_retention_cfg *r = &l->cfg->retention;
	if (rg_ld_value(v, "runs"))
		rg_ld_positive_duration(l, v, "runs", &r->runs_ms);
	if (rg_ld_value(v, "step_logs"))
		rg_ld_positive_duration(l, v, "step_logs", &r->step_logs_ms);
	rg_ld_int(l, v, "keep_last", 0, 1000000, &r->keep_last);
}

void rg_ld_server(rg_loader *l, const rg_ynode *root)
{
	const rg_ynode *v = rg_ld_value(root, "server");
	if (!v || !rg_ld_expect(l, v, RG_YMAP, "server"))
		return;
	rg_ld_check_keys(l, v, "in server", server_keys);
	bool listen_ok = rg_ld_listen(l, v, "listen", &l->cfg->listen);
	rg_ld_string(l, v, "state", &l->cfg->state_dir);
	rg_ld_string(l, v, "backups", &l->cfg->backups_dir);
	rg_ld_bool(l, v, "allow_plain_http", &l->cfg->allow_plain_http);
	rg_ld_url(l, v, "public_url", &l->cfg->public_url);
	load_tls(l, v);
	load_secret_env(l, v);
	load_retention(l, v);
	if (listen_ok)
		check_exposure(l, v);
}

void rg_server_cfg_release(rg_config *cfg)
{
	free(cfg->public_url);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	for (size_t i = 0; cfg->secret_env && i < cfg->n_secret_env; i++)
		free(cfg->secret_env[i]);
	free(cfg->secret_env);
	cfg->tls_cert = cfg->tls_key = NULL;
	cfg->secret_env = NULL;
	cfg->n_secret_env = 0;
}

bool rg_config_secret_var(const rg_config *cfg, const char *name, size_t len)
{
	for (size_t i = 0; i < cfg->n_secret_env; i++)
		if (cfg->secret_env[i] && strlen(cfg->secret_env[i]) == len &&
		    !memcmp(cfg->secret_env[i], name, len))
			return true;
	for (size_t i = 0; i < cfg->n_channels; i++) {
		const rg_channel *c = &cfg->channels[i];
		const char *vars[] = { c->url_ref.env, c->key.env, c->username.env, c->password.env };
		for (size_t j = 0; j < sizeof vars / sizeof *vars; j++)
			if (vars[j] && strlen(vars[j]) == len && !memcmp(vars[j], name, len))
				return true;
	}
	const char *alerts = cfg->alerts.secret_env;
	return alerts && strlen(alerts) == len && !memcmp(alerts, name, len);
}

/* router.c — what an environment's traffic steps drive: `proxy:` (the
 * built-in proxy) or `router:` (HAProxy's runtime API, or a user command).
 * Every value here ends up in a runtime-API command line or a header name,
 * so each is held to a narrow pattern: nothing may smuggle a ';' or a space
 * into HAProxy's command line. */
#include "config/config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "util/hostport.h"

static const char *const proxy_keys[] = { "listen",           "threads",      "connect_timeout",
					  "response_timeout", "idle_timeout", "sticky",
					  "balance",          "max_connections",
					  "max_connections_per_client",
					  "header_timeout",   "body_timeout", "max_requests",
					  "force_header",     "trusted_proxies", "scheme",
					  "drain",            NULL };
static const char *const force_keys[] = { "name", "from", NULL };
static const char *const scheme_names[] = { "http", "https", NULL };
static const char *const sticky_keys[] = { "cookie", "header", NULL };
static const char *const balance_names[] = { "round-robin", "least-connections", NULL };
static const char *const router_keys[] = { "haproxy", "command", "timeout", NULL };
static const char *const router_kinds[] = { "haproxy", "command", NULL };
static const char *const haproxy_keys[] = { "socket", "backend", "stable", "canary", NULL };

#define TOKEN_MAX 64
#define TOKEN_RULE "letters, digits and !#$%&'*+-.^_`|~, at most 64"
#define HAPROXY_NAME_RULE "letters, digits, '.', '_' and '-', at most 64"

/* RFC 7230 tchar: what a header field name or a cookie name may hold. */
static bool token_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > TOKEN_MAX)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && !strchr("!#$%&'*+-.^_`|~", c))
			return false;
	}
	return true;
}

/* Backend and server names of haproxy.cfg, as they are written into the
 * runtime API's command line. */
static bool haproxy_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && c != '.' && c != '_' && c != '-')
			return false;
	}
	return true;
}

static void load_sticky(rg_loader *l, const rg_ynode *v, rg_env *e)
{
	if (!rg_ld_expect(l, v, RG_YMAP, "sticky"))
		return;
	rg_ld_check_keys(l, v, "in sticky", sticky_keys);
	int which = rg_ld_which(l, v, sticky_keys, "sticky");
	if (which == -1)
		rg_problem(l, v, "sticky needs 'cookie' or 'header' (a name)");
	if (which < 0)
		return;
	const char *key = sticky_keys[which];
	char **out = which == 0 ? &e->proxy_sticky_cookie : &e->proxy_sticky_header;
	if (!rg_ld_string(l, v, key, out) || !*out)
		return;
	if (!token_valid(*out)) {
		rg_problem(l, rg_ld_value(v, key), "invalid %s name '%s' (use %s)", key, *out,
			   TOKEN_RULE);
		free(*out);
		*out = NULL;
	}
}

/* A timeout whose absence means "the proxy's default" (0): when written,
 * it must be longer than 0. */
static void optional_timeout(rg_loader *l, const rg_ynode *v, const char *key, int64_t *out)
{
	if (rg_ld_value(v, key))
		rg_ld_positive_duration(l, v, key, out);
}

/* A list of A.B.C.D/N or IPv6/N ranges at key; each bad one is named where
 * it is. */
static void load_cidrs(rg_loader *l, const rg_ynode *map, const char *key, rg_cidr **out,
		       size_t *n)
{
	const rg_ynode *v = rg_ld_value(map, key);
	if (!v || !rg_ld_expect(l, v, RG_YSEQ, key))
		return;
	if (v->n == 0) {
		rg_problem(l, v, "'%s' must not be empty", key);
		return;
	}
	if (!(*out = rg_ld_calloc(l, v->n, sizeof **out)))
		return;
	for (size_t i = 0; i < v->n; i++) {
		const char *t = NULL;
		if (!rg_ld_text(l, v->kids[i], key, &t))
			continue;
		if (!rg_cidr_parse(t, &(*out)[*n]))
			rg_problem(l, v->kids[i], "invalid address range '%s' in %s (use A.B.C.D/N "
				   "or IPv6/N such as fd00::/8 with no host bits set, or one "
				   "address)", t, key);
		else
			(*n)++;
	}
}

/* force_header: {name, from}: who may aim requests at a side, and with
 * which header. Without it no request is ever forced. */
static void load_force(rg_loader *l, const rg_ynode *v, rg_env *e)
{
	if (!rg_ld_expect(l, v, RG_YMAP, "force_header"))
		return;
	rg_ld_check_keys(l, v, "in force_header", force_keys);
	if (!rg_ld_require(l, v, "name", "in force_header") ||
	    !rg_ld_require(l, v, "from", "in force_header"))
		return;
	load_cidrs(l, v, "from", &e->proxy_force_from, &e->proxy_n_force_from);
	if (!rg_ld_string(l, v, "name", &e->proxy_force_header) || !e->proxy_force_header)
		return;
	if (!token_valid(e->proxy_force_header)) {
		rg_problem(l, rg_ld_value(v, "name"), "invalid header name '%s' (use %s)",
			   e->proxy_force_header, TOKEN_RULE);
		free(e->proxy_force_header);
		e->proxy_force_header = NULL;
	}
}

/* The front door's bounds (docs/proxy.md, "Limits"). */
static void load_limits(rg_loader *l, const rg_ynode *v, rg_env *e)
{
	rg_ld_int(l, v, "max_connections", 1, 10000000, &e->proxy_max_connections);
	rg_ld_int(l, v, "max_connections_per_client", 1, 10000000, &e->proxy_max_per_client);
	rg_ld_int(l, v, "max_requests", 1, 100000000, &e->proxy_max_requests);
	optional_timeout(l, v, "header_timeout", &e->proxy_header_timeout_ms);
	optional_timeout(l, v, "body_timeout", &e->proxy_body_timeout_ms);
	if (rg_ld_value(v, "force_header"))
		load_force(l, rg_ld_value(v, "force_header"), e);
	load_cidrs(l, v, "trusted_proxies", &e->proxy_trusted, &e->proxy_n_trusted);
	int scheme = 0;
	if (rg_ld_choice(l, v, "scheme", scheme_names, &scheme))
		e->proxy_https = scheme == 1;
}

void rg_ld_proxy(rg_loader *l, const rg_ynode *v, rg_env *e)
{
	if (!rg_ld_expect(l, v, RG_YMAP, "proxy"))
		return;
	rg_ld_check_keys(l, v, "in proxy", proxy_keys);
	if (rg_ld_require(l, v, "listen", "in proxy"))
		rg_ld_listen(l, v, "listen", &e->proxy_listen);
	if (e->proxy_listen)
		e->router = RG_ROUTER_PROXY;
	rg_ld_int(l, v, "threads", 0, 1024, &e->proxy_threads);
	optional_timeout(l, v, "connect_timeout", &e->proxy_connect_timeout_ms);
	optional_timeout(l, v, "response_timeout", &e->proxy_response_timeout_ms);
	optional_timeout(l, v, "idle_timeout", &e->proxy_idle_timeout_ms);
	optional_timeout(l, v, "drain", &e->proxy_drain_ms);
	if (rg_ld_value(v, "sticky"))
		load_sticky(l, rg_ld_value(v, "sticky"), e);
	int balance = 0;
	if (rg_ld_choice(l, v, "balance", balance_names, &balance))
		e->proxy_least_conn = balance == 1;
	load_limits(l, v, e);
}

/* The stats socket: a unix socket path (relative paths are relative to
 * the config file, like commands) or HOST:PORT (util/hostport.h).
 * Something with a ':' and no '/' must be the latter; "./x:y" names a file
 * with a colon. */
static void load_socket(rg_loader *l, const rg_ynode *h, rg_env *e)
{
	char *sock = NULL;
	if (!rg_ld_string(l, h, "socket", &sock) || !sock)
		return;
	const rg_ynode *at = rg_ld_value(h, "socket");
	if (!strchr(sock, '/') && strchr(sock, ':')) {
		rg_sockaddr sa;
		if (!rg_hostport_check(sock, RG_HOSTPORT_CONNECT, &sa)) {
			e->haproxy_socket = sock;
			return;
		}
		rg_problem(l, at,
			   "invalid haproxy socket '%s' (use a unix socket path, or HOST:PORT such as "
			   "127.0.0.1:9999 or [::1]:9999)", sock);
		free(sock);
		return;
	}
	char *path = rg_join_path(l->cfg->dir ? l->cfg->dir : ".", sock);
	free(sock);
	if (!path) {
		l->oom = true;
		return;
	}
	struct sockaddr_un un;
	if (strlen(path) >= sizeof un.sun_path) {
		rg_problem(l, at, "haproxy socket path '%s' is too long (at most %zu bytes)", path,
			   sizeof un.sun_path - 1);
		free(path);
		return;
	}
	e->haproxy_socket = path;
}

static void load_haproxy_name(rg_loader *l, const rg_ynode *h, const char *key, char **out)
{
	if (!rg_ld_require(l, h, key, "in haproxy") || !rg_ld_string(l, h, key, out) || !*out)
		return;
	if (haproxy_name_valid(*out))
		return;
	rg_problem(l, rg_ld_value(h, key), "invalid haproxy %s name '%s' (use %s)",
		   strcmp(key, "backend") ? "server" : "backend", *out, HAPROXY_NAME_RULE);
	free(*out);
	*out = NULL;
}

static void load_haproxy(rg_loader *l, const rg_ynode *h, rg_env *e)
{
	if (!rg_ld_expect(l, h, RG_YMAP, "haproxy"))
		return;
	rg_ld_check_keys(l, h, "in haproxy", haproxy_keys);
	if (rg_ld_require(l, h, "socket", "in haproxy"))
		load_socket(l, h, e);
	load_haproxy_name(l, h, "backend", &e->haproxy_backend);
	load_haproxy_name(l, h, "stable", &e->haproxy_stable);
	load_haproxy_name(l, h, "canary", &e->haproxy_canary);
	if (e->haproxy_stable && e->haproxy_canary && !strcmp(e->haproxy_stable, e->haproxy_canary))
		rg_problem(l, rg_ld_value(h, "canary"),
			   "haproxy servers 'stable' and 'canary' must differ (both are '%s')",
			   e->haproxy_canary);
}

void rg_ld_router(rg_loader *l, const rg_ynode *v, rg_env *e)
{
	if (!rg_ld_expect(l, v, RG_YMAP, "router"))
		return;
	rg_ld_check_keys(l, v, "in router", router_keys);
	rg_ld_positive_duration(l, v, "timeout", &e->router_timeout_ms);
	int kind = rg_ld_which(l, v, router_kinds, "router");
	if (kind == -1)
		rg_problem(l, v, "router needs 'haproxy' or 'command'");
	if (kind < 0)
		return;
	if (kind == 0) {
		e->router = RG_ROUTER_HAPROXY;
		load_haproxy(l, rg_ld_value(v, "haproxy"), e);
	} else {
		e->router = RG_ROUTER_COMMAND;
		rg_ld_string(l, v, "command", &e->router_command);
	}
}

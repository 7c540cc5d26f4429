/* routeplan.c — route states for traffic steps and rollbacks (routeplan.h). */
#include "engine/routeplan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hostport.h"

#define MAX_BACKENDS 64

static bool is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t';
}

/* One backend (util/hostport.h) written as the proxy names it: "[::1]:80"
 * for "[0::1]:80", "127.0.0.1:80" for "localhost:80", so one backend has one
 * name in route states, reports and marks. False if it is not HOST:PORT. */
static bool backend_canonical(const char *s, size_t len, char out[RG_HOSTPORT_LEN])
{
	char buf[RG_HOSTPORT_LEN];
	rg_sockaddr sa;
	if (len == 0 || len >= sizeof buf)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (rg_hostport_check(buf, RG_HOSTPORT_CONNECT, &sa))
		return false;
	rg_sockaddr_format((const struct sockaddr *)&sa.ss, out, RG_HOSTPORT_LEN);
	return true;
}

rg_err rg_backends_normalize(const char *value, char *out, size_t size, rg_error *err)
{
	size_t used = 0, count = 0;
	const char *p = value ? value : "";
	out[0] = '\0';
	while (*p) {
		while (*p && is_sep(*p))
			p++;
		const char *start = p;
		while (*p && !is_sep(*p))
			p++;
		size_t len = (size_t)(p - start);
		if (len == 0)
			continue;
		char one[RG_HOSTPORT_LEN];
		if (!backend_canonical(start, len, one))
			return rg_fail(err, RG_EINVAL, "backend", "invalid backend '%.*s' (%s)",
				       (int)(len > 64 ? 64 : len), start, RG_HOSTPORT_EXPECTED);
		len = strlen(one);
		if (++count > MAX_BACKENDS || used + len + 2 > size)
			return rg_fail(err, RG_EINVAL, "backend", "too many backends (at most %d)", MAX_BACKENDS);
		used += (size_t)snprintf(out + used, size - used, "%s%s", used ? "," : "", one);
	}
	if (count == 0)
		return rg_fail(err, RG_EINVAL, "backend", "no backend named in '%.64s'", value ? value : "");
	return RG_OK;
}

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static void clear_canary(rg_route_state *s)
{
	s->canary_version[0] = s->canary[0] = '\0';
	s->canary_weight = 0;
}

static void clear_standby(rg_route_state *s)
{
	s->standby_version[0] = s->standby[0] = '\0';
}

void rg_routeplan_share(const rg_route_state *cur, const char *version, const char *backends,
			int weight, int64_t seed, int64_t run_id, rg_route_state *out)
{
	*out = *cur;
	copy(out->canary_version, sizeof out->canary_version, version);
	copy(out->canary, sizeof out->canary, backends);
	out->canary_weight = weight < 0 ? 0 : weight > 100 ? 100 : weight;
	out->seed = seed;
	out->run_id = run_id;
}

void rg_routeplan_promote(const rg_route_state *cur, const char *version, const char *backends,
			  int64_t run_id, rg_route_state *out)
{
	*out = *cur;
	clear_canary(out);
	clear_standby(out);
	if (cur->stable[0] && strcmp(cur->stable_version, version) != 0) {
		copy(out->standby_version, sizeof out->standby_version, cur->stable_version);
		copy(out->standby, sizeof out->standby, cur->stable);
	}
	copy(out->stable_version, sizeof out->stable_version, version);
	copy(out->stable, sizeof out->stable, backends);
	out->run_id = run_id;
}

bool rg_routeplan_without(const rg_route_state *cur, const char *version, int64_t run_id,
			  rg_route_state *out)
{
	*out = *cur;
	out->run_id = run_id;
	if (cur->canary[0] && strcmp(cur->canary_version, version) == 0) {
		clear_canary(out);
		return true;
	}
	if (!cur->stable[0] || strcmp(cur->stable_version, version) != 0) {
		*out = *cur;
		return false;
	}
	clear_canary(out);
	if (cur->standby[0]) {
		copy(out->stable_version, sizeof out->stable_version, cur->standby_version);
		copy(out->stable, sizeof out->stable, cur->standby);
		clear_standby(out);
		return true;
	}
	*out = *cur;
	return false;
}

void rg_routeplan_only(const char *env, const char *version, const char *backends,
		       int64_t run_id, rg_route_state *out)
{
	memset(out, 0, sizeof *out);
	copy(out->env, sizeof out->env, env);
	copy(out->stable_version, sizeof out->stable_version, version);
	copy(out->stable, sizeof out->stable, backends);
	out->run_id = run_id;
}

void rg_routeplan_retired(const rg_route_state *cur, int64_t run_id, rg_route_state *out)
{
	*out = *cur;
	clear_standby(out);
	out->run_id = run_id;
}

void rg_routeplan_describe(const rg_route_state *st, char *out, size_t size)
{
	bool canary = st->canary[0] != '\0';
	bool stable = st->stable[0] != '\0';
	int w = canary ? (stable ? st->canary_weight : 100) : 0;
	if (canary && stable)
		snprintf(out, size, "%s %d%% · %s %d%%", st->canary_version, w, st->stable_version, 100 - w);
	else if (canary)
		snprintf(out, size, "%s 100%%", st->canary_version);
	else if (stable)
		snprintf(out, size, "%s 100%%", st->stable_version);
	else
		snprintf(out, size, "no release");
}

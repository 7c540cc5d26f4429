/* fields.c — typed readers for the values of rollguard.yaml.
 * YAML gives text; these decide what it means and say precisely what is
 * wrong. A reader never guesses: "yes" is not a boolean, "30" not a duration. */
#include "config/config_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/duration.h"
#include "util/hostport.h"

const char *const rg_severity_names[] = { "P0", "P1", "P2", "P3", NULL };

void rg_problem(rg_loader *l, const rg_ynode *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (rg_diag_vadd(l->diags, at ? at->line : 1, at ? at->col : 1, fmt, ap) != RG_OK)
		l->oom = true;
	va_end(ap);
}

char *rg_ld_strdup(rg_loader *l, const char *s)
{
	char *d = strdup(s);
	if (!d)
		l->oom = true;
	return d;
}

void *rg_ld_calloc(rg_loader *l, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		l->oom = true;
	return p;
}

bool rg_ld_expect(rg_loader *l, const rg_ynode *n, rg_ytype type, const char *what)
{
	if (n && n->type == type && !rg_ynode_is_null(n))
		return true;
	const char *want = type == RG_YMAP ? "a mapping" : type == RG_YSEQ ? "a sequence" : "a string";
	rg_problem(l, n, "expected %s for '%s' (got %s)", want, what, rg_ynode_kind(n));
	return false;
}

/* "a, b, c" into buf, cut short when it does not fit. */
static void join_list(char *buf, size_t size, const char *const *words)
{
	size_t pos = 0;
	buf[0] = '\0';
	for (size_t i = 0; words[i] && pos < size; i++)
		pos += (size_t)snprintf(buf + pos, size - pos, "%s%s", i ? ", " : "", words[i]);
}

static void unknown_key(rg_loader *l, const rg_ynode *k, const char *where,
			const char *const *valid)
{
	const char *s = rg_suggest(k->text, valid);
	if (s) {
		rg_problem(l, k, "unknown key '%s' %s (did you mean '%s'?)", k->text, where, s);
		return;
	}
	char list[200];
	join_list(list, sizeof list, valid);
	rg_problem(l, k, "unknown key '%s' %s (valid keys: %s)", k->text, where, list);
}

void rg_ld_check_keys(rg_loader *l, const rg_ynode *map, const char *where,
		      const char *const *valid)
{
	for (size_t i = 0; i < map->n; i += 2) {
		const rg_ynode *k = map->kids[i];
		if (k->type != RG_YSCALAR || rg_ynode_is_null(k)) {
			rg_problem(l, k, "expected a string as key %s (got %s)", where, rg_ynode_kind(k));
			continue;
		}
		const rg_ynode *first = rg_ld_key(map, k->text);
		if (first != k) {
			rg_problem(l, k, "duplicate key '%s' (first at %d:%d)", k->text, first->line,
				   first->col);
			continue;
		}
		bool known = !valid;
		for (size_t j = 0; valid && valid[j] && !known; j++)
			known = strcmp(valid[j], k->text) == 0;
		if (!known)
			unknown_key(l, k, where, valid);
	}
}

const rg_ynode *rg_ld_key(const rg_ynode *map, const char *key)
{
	if (!map || map->type != RG_YMAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (map->kids[i]->type == RG_YSCALAR && strcmp(map->kids[i]->text, key) == 0)
			return map->kids[i];
	return NULL;
}

const rg_ynode *rg_ld_value(const rg_ynode *map, const char *key)
{
	if (!map || map->type != RG_YMAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (map->kids[i]->type == RG_YSCALAR && strcmp(map->kids[i]->text, key) == 0)
			return map->kids[i + 1];
	return NULL;
}

bool rg_ld_require(rg_loader *l, const rg_ynode *map, const char *key, const char *where)
{
	if (rg_ld_key(map, key))
		return true;
	rg_problem(l, map, "missing required key '%s' %s", key, where);
	return false;
}

const char *rg_ld_got(const rg_ynode *n, char *buf, size_t size)
{
	if (n && n->type == RG_YSCALAR && !rg_ynode_is_null(n))
		snprintf(buf, size, "'%s'", n->text);
	else
		snprintf(buf, size, "%s", rg_ynode_kind(n));
	return buf;
}

bool rg_ld_text(rg_loader *l, const rg_ynode *v, const char *key, const char **text)
{
	if (!v || v->type != RG_YSCALAR || rg_ynode_is_null(v)) {
		rg_problem(l, v, "expected a string for '%s' (got %s)", key, rg_ynode_kind(v));
		return false;
	}
	*text = v->text;
	return true;
}

/* The text at key into *t, its node into *v. False when key is absent (*v
 * NULL: nothing to complain about) or not a string (reported). */
static bool key_text(rg_loader *l, const rg_ynode *map, const char *key, const rg_ynode **v,
		     const char **t)
{
	*v = rg_ld_value(map, key);
	return *v && rg_ld_text(l, *v, key, t);
}

bool rg_ld_string(rg_loader *l, const rg_ynode *map, const char *key, char **out)
{
	const rg_ynode *v;
	const char *t;
	if (!key_text(l, map, key, &v, &t))
		return !v;
	if (!*t) {
		rg_problem(l, v, "'%s' must not be empty", key);
		return false;
	}
	free(*out);
	return (*out = rg_ld_strdup(l, t)) != NULL;
}

bool rg_ld_duration(rg_loader *l, const rg_ynode *map, const char *key, int64_t *out)
{
	const rg_ynode *v = rg_ld_value(map, key);
	if (!v)
		return true;
	if (v->type != RG_YSCALAR || rg_ynode_is_null(v)) {
		rg_problem(l, v, "expected a duration like '10s' for '%s' (got %s)", key,
			   rg_ynode_kind(v));
		return false;
	}
	if (rg_duration_parse(v->text, out) != 0) {
		rg_problem(l, v, "invalid duration '%s' (use 500ms, 10s, 5m, 2h or 1d)", v->text);
		return false;
	}
	return true;
}

bool rg_ld_positive_duration(rg_loader *l, const rg_ynode *map, const char *key,
			     int64_t *out)
{
	if (!rg_ld_duration(l, map, key, out))
		return false;
	if (*out > 0)
		return true;
	rg_problem(l, rg_ld_value(map, key), "'%s' must be longer than 0", key);
	return false;
}

static bool parse_int(const char *s, long long *out)
{
	const char *digits = s + (*s == '-');
	if (*digits < '0' || *digits > '9' || strlen(digits) > 12)
		return false;
	char *end;
	*out = strtoll(s, &end, 10);
	return *end == '\0';
}

bool rg_ld_int(rg_loader *l, const rg_ynode *map, const char *key, int min, int max,
	       int *out)
{
	const rg_ynode *v = rg_ld_value(map, key);
	long long n;
	if (!v)
		return true;
	if (v->type != RG_YSCALAR || !parse_int(v->text, &n)) {
		char got[128];
		rg_problem(l, v, "expected an integer for '%s' (got %s)", key,
			   rg_ld_got(v, got, sizeof got));
		return false;
	}
	if (n < min || n > max) {
		if (max == INT_MAX)
			rg_problem(l, v, "'%s' must be at least %d (got %s)", key, min, v->text);
		else
			rg_problem(l, v, "'%s' must be between %d and %d (got %s)", key, min, max,
				   v->text);
		return false;
	}
	*out = (int)n;
	return true;
}

bool rg_ld_bool(rg_loader *l, const rg_ynode *map, const char *key, bool *out)
{
	const rg_ynode *v = rg_ld_value(map, key);
	if (!v)
		return true;
	bool t = v->type == RG_YSCALAR && v->plain && !strcmp(v->text, "true");
	bool f = v->type == RG_YSCALAR && v->plain && !strcmp(v->text, "false");
	if (t || f) {
		*out = t;
		return true;
	}
	char got[128];
	rg_problem(l, v, "expected true or false for '%s' (got %s)", key,
		   rg_ld_got(v, got, sizeof got));
	return false;
}

bool rg_ld_choice(rg_loader *l, const rg_ynode *map, const char *key,
		  const char *const *names, int *out)
{
	return rg_ld_choice_of(l, map, key, key, names, out);
}

bool rg_ld_choice_of(rg_loader *l, const rg_ynode *map, const char *key, const char *noun,
		     const char *const *names, int *out)
{
	const rg_ynode *v;
	const char *t;
	if (!key_text(l, map, key, &v, &t))
		return !v;
	for (int i = 0; names[i]; i++) {
		if (strcmp(names[i], t) == 0) {
			*out = i;
			return true;
		}
	}
	char hint[256];
	rg_hint(hint, sizeof hint, t, names);
	rg_problem(l, v, "invalid %s '%s'%s", noun, t, hint);
	return false;
}

bool rg_ld_severity(rg_loader *l, const rg_ynode *map, const char *key, rg_severity *out)
{
	int i = (int)*out;
	if (!rg_ld_choice(l, map, key, rg_severity_names, &i))
		return false;
	*out = (rg_severity)i;
	return true;
}

bool rg_ld_strings(rg_loader *l, const rg_ynode *map, const char *key, char ***out,
		   size_t *n)
{
	const rg_ynode *v = rg_ld_value(map, key);
	if (!v)
		return true;
	if (!rg_ld_expect(l, v, RG_YSEQ, key))
		return false;
	if (v->n == 0) {
		rg_problem(l, v, "'%s' must not be empty", key);
		return false;
	}
	if (!(*out = rg_ld_calloc(l, v->n, sizeof **out)))
		return false;
	bool ok = true;
	*n = v->n;
	for (size_t i = 0; i < v->n; i++) {
		const char *t = NULL;
		if (!rg_ld_text(l, v->kids[i], key, &t) || !*t) {
			if (t)
				rg_problem(l, v->kids[i], "'%s' must not contain empty strings", key);
			ok = false;
			continue;
		}
		(*out)[i] = rg_ld_strdup(l, t);
	}
	return ok;
}

/* Says whether s, the value v of key, is acceptable, reporting why not. */
typedef bool (*string_check)(rg_loader *l, const rg_ynode *v, const char *key, const char *s);

/* The string at key replaces *out when check accepts it; an absent key is
 * fine and leaves *out alone. */
static bool ld_checked_string(rg_loader *l, const rg_ynode *map, const char *key,
			      string_check check, char **out)
{
	const rg_ynode *v = rg_ld_value(map, key);
	char *s = NULL;
	if (!v)
		return true;
	if (!rg_ld_string(l, map, key, &s))
		return false;
	if (!check(l, v, key, s)) {
		free(s);
		return false;
	}
	free(*out);
	*out = s;
	return true;
}

static bool url_ok(rg_loader *l, const rg_ynode *v, const char *key, const char *url)
{
	const char *rest = NULL;
	if (!strncmp(url, "http://", 7))
		rest = url + 7;
	else if (!strncmp(url, "https://", 8))
		rest = url + 8;
	if (rest && *rest && *rest != '/' && !strpbrk(url, " \t\r\n"))
		return true;
	rg_problem(l, v, "invalid URL '%s' for '%s' (use http://host[:port]/path or https://…)",
		   url, key);
	return false;
}

bool rg_ld_url(rg_loader *l, const rg_ynode *map, const char *key, char **out)
{
	return ld_checked_string(l, map, key, url_ok, out);
}

/* HOST:PORT as the listeners will read it (util/hostport.h): an IPv4
 * address, a bracketed IPv6 one, localhost or *; port 1..65535. */
static bool listen_ok(rg_loader *l, const rg_ynode *v, const char *key, const char *s)
{
	rg_sockaddr sa;
	const char *why = rg_hostport_check(s, RG_HOSTPORT_LISTEN, &sa);
	if (why)
		rg_problem(l, v, "invalid listen address '%s' (%s)", s, why);
	return !why;
}

bool rg_ld_listen(rg_loader *l, const rg_ynode *map, const char *key, char **out)
{
	return ld_checked_string(l, map, key, listen_ok, out);
}

void rg_ld_undefined(rg_loader *l, const rg_ynode *at, const char *problem, const char *name,
		     const char *const *defined)
{
	const char *s = rg_suggest(name, defined);
	if (s) {
		rg_problem(l, at, "%s '%s' (did you mean '%s'?)", problem, name, s);
	} else if (!defined || !defined[0]) {
		rg_problem(l, at, "%s '%s' (none are defined)", problem, name);
	} else {
		char list[200];
		join_list(list, sizeof list, defined);
		rg_problem(l, at, "%s '%s' (defined: %s)", problem, name, list);
	}
}

static bool after(const rg_ynode *a, const rg_ynode *b)
{
	return a->line > b->line || (a->line == b->line && a->col > b->col);
}

int rg_ld_which(rg_loader *l, const rg_ynode *map, const char *const *keys, const char *what)
{
	const rg_ynode *found = NULL;
	int index = -1;
	for (int i = 0; keys[i]; i++) {
		const rg_ynode *k = rg_ld_key(map, keys[i]);
		if (!k)
			continue;
		if (found) {
			const rg_ynode *first = after(k, found) ? found : k;
			const rg_ynode *second = first == k ? found : k;
			rg_problem(l, second, "%s has both '%s' and '%s' (use one)", what, first->text,
				   second->text);
			return -2;
		}
		found = k;
		index = i;
	}
	return index;
}

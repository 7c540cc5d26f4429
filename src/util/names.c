/* names.c — name validation and environment-variable naming. */
#include "util/names.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static bool tail_ok(const char *s, const char *extra)
{
	size_t n = 1; /* the first character, checked by the caller */
	for (; *s; s++) {
		if (++n > RG_NAME_MAX)
			return false;
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	}
	return true;
}

bool rg_name_valid(const char *s)
{
	if (!s || !isalnum((unsigned char)s[0]))
		return false;
	return tail_ok(s + 1, "._+-");
}

bool rg_ident_valid(const char *s)
{
	if (!s || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	return tail_ok(s + 1, "_.-");
}

static void append_upper(char *out, size_t *pos, size_t size, const char *s)
{
	for (; *s && *pos + 1 < size; s++)
		out[(*pos)++] = isalnum((unsigned char)*s) ? (char)toupper((unsigned char)*s) : '_';
	out[*pos] = '\0';
}

int rg_env_var_name(char *out, size_t size, const char *prefix, const char *step,
		    const char *key)
{
	int n = snprintf(out, size, "ROLLGUARD_%s_", prefix);
	if (n < 0 || (size_t)n + strlen(step) + strlen(key) + 2 > size)
		return -1;
	size_t pos = (size_t)n;
	append_upper(out, &pos, size, step);
	out[pos++] = '_';
	out[pos] = '\0';
	append_upper(out, &pos, size, key);
	return 0;
}

bool rg_var_name_valid(const char *s)
{
	if (!s || (!isalpha((unsigned char)*s) && *s != '_'))
		return false;
	for (s++; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

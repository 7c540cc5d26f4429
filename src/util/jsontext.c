/* jsontext.c — strings as JSON values (jsontext.h). */
#include "util/jsontext.h"

#include <stdlib.h>
#include <string.h>

json_t *rg_json_text(const char *s)
{
	if (!s)
		return json_null();
	json_t *v = json_string(s);
	if (v)
		return v;
	char *copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

json_t *rg_json_text_or_null(const char *s)
{
	return s && *s ? rg_json_text(s) : json_null();
}

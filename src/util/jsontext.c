/* jsontext.c — strings as JSON values, and JSON as framed text (jsontext.h). */
#include "util/jsontext.h"

#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"
#include "util/timeutil.h"

static int dump_to(const char *buf, size_t size, void *data)
{
	return rg_strbuf_add(data, buf, size) ? -1 : 0;
}

char *rg_json_frame(const json_t *v, const char *before, const char *after, size_t *len)
{
	rg_strbuf sb = RG_STRBUF_INIT;
	if (!v || rg_strbuf_addstr(&sb, before) ||
	    json_dump_callback(v, dump_to, &sb, JSON_COMPACT) != 0 ||
	    rg_strbuf_addstr(&sb, after)) {
		rg_strbuf_release(&sb);
		return NULL;
	}
	return rg_strbuf_detach(&sb, len);
}

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

json_t *rg_json_time_or_null(int64_t ms)
{
	char iso[40];
	if (!ms)
		return json_null();
	rg_time_format_iso(ms, iso, sizeof iso);
	return json_string(iso);
}

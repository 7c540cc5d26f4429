/* err.c — the table from error code to name, HTTP status and exit code. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int http;
	int exit;
} err_table[RG_ERR_COUNT] = {
	[RG_OK]           = { "ok",            200, RG_EXIT_OK },
	[RG_EINVAL]       = { "invalid_input", 400, RG_EXIT_USAGE },
	[RG_ETOOLARGE]    = { "too_large",     413, RG_EXIT_USAGE },
	[RG_ENOTFOUND]    = { "not_found",     404, RG_EXIT_REFUSED },
	[RG_ECONFLICT]    = { "conflict",      409, RG_EXIT_REFUSED },
	[RG_EFORBIDDEN]   = { "forbidden",     403, RG_EXIT_REFUSED },
	[RG_EUNAVAILABLE] = { "unavailable",   503, RG_EXIT_NO_SERVER },
	[RG_EIO]          = { "io_error",      500, RG_EXIT_RUN_FAILED },
	[RG_ESTORE]       = { "store_error",   500, RG_EXIT_RUN_FAILED },
	[RG_ENOMEM]       = { "out_of_memory", 500, RG_EXIT_RUN_FAILED },
	[RG_EINTERNAL]    = { "internal",      500, RG_EXIT_RUN_FAILED },
	[RG_EUNAUTH]      = { "unauthorized",  401, RG_EXIT_REFUSED },
	[RG_EMEDIA]       = { "unsupported_media_type", 415, RG_EXIT_USAGE },
};

static int valid(rg_err code)
{
	return (int)code >= 0 && code < RG_ERR_COUNT;
}

rg_err rg_fail(rg_error *e, rg_err code, const char *field, const char *fmt, ...)
{
	if (!e)
		return code;
	e->code = code;
	snprintf(e->field, sizeof e->field, "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	return code;
}

void rg_error_clear(rg_error *e)
{
	if (e)
		memset(e, 0, sizeof *e);
}

const char *rg_err_name(rg_err code)
{
	return valid(code) ? err_table[code].name : "internal";
}

int rg_err_http_status(rg_err code)
{
	return valid(code) ? err_table[code].http : 500;
}

int rg_err_exit_code(rg_err code)
{
	return valid(code) ? err_table[code].exit : RG_EXIT_RUN_FAILED;
}

rg_err rg_err_from_http_status(int status)
{
	switch (status) {
	case 400: case 422: return RG_EINVAL;
	case 413: return RG_ETOOLARGE;
	case 404: return RG_ENOTFOUND;
	case 409: return RG_ECONFLICT;
	case 401: return RG_EUNAUTH;
	case 403: return RG_EFORBIDDEN;
	case 415: return RG_EMEDIA;
	case 503: return RG_EUNAVAILABLE;
	default: return status >= 200 && status < 300 ? RG_OK : RG_EINTERNAL;
	}
}

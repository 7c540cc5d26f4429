/* err.h — the one error type of rollguard.
 * Every fallible function returns an rg_err (0 is success) and fills an
 * rg_error the caller owns; the API status, the CLI exit code and the log
 * line all come from the same table, so they always agree. */
#ifndef RG_ERR_H
#define RG_ERR_H

#include <stddef.h>

typedef enum rg_err {
	RG_OK = 0,
	RG_EINVAL,       /* bad input: HTTP 400, exit 2 */
	RG_ETOOLARGE,    /* body or value too large: HTTP 413, exit 2 */
	RG_ENOTFOUND,    /* unknown run, release, env: HTTP 404, exit 4 */
	RG_ECONFLICT,    /* another run in the way, stale state: HTTP 409, exit 4 */
	RG_EFORBIDDEN,   /* refused by policy (never known good…): HTTP 403, exit 4 */
	RG_EUNAVAILABLE, /* no server reachable: HTTP 503, exit 3 */
	RG_EIO,          /* file, pipe, socket or child failure: HTTP 500, exit 1 */
	RG_ESTORE,       /* the state store failed: HTTP 500, exit 1 */
	RG_ENOMEM,       /* allocation failed: HTTP 500, exit 1 */
	RG_EINTERNAL,    /* a bug: HTTP 500, exit 1 */
	RG_EUNAUTH,      /* no valid token: HTTP 401, exit 4 */
	RG_EMEDIA,       /* a write whose body is not JSON: HTTP 415, exit 2 */
	RG_ERR_COUNT
} rg_err;

/* CLI exit codes of DESIGN §7. */
enum {
	RG_EXIT_OK = 0,         /* done: release live and verified */
	RG_EXIT_RUN_FAILED = 1, /* the run ended otherwise */
	RG_EXIT_USAGE = 2,      /* usage or invalid input */
	RG_EXIT_NO_SERVER = 3,  /* no server reachable */
	RG_EXIT_REFUSED = 4     /* refused by the server */
};

/* Caller-owned; field names the JSON field or config key at fault, if any. */
typedef struct rg_error {
	rg_err code;
	char field[64];
	char message[512];
} rg_error;

/* Fill e (which may be NULL) and return code, so callers write
 * `return rg_fail(e, RG_EINVAL, "version", "bad version '%s'", v);`. */
rg_err rg_fail(rg_error *e, rg_err code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void rg_error_clear(rg_error *e);

const char *rg_err_name(rg_err code);   /* "invalid_input", "not_found", … */
int rg_err_http_status(rg_err code);
int rg_err_exit_code(rg_err code);
/* Maps an HTTP status back to an rg_err (for the CLI reading API errors). */
rg_err rg_err_from_http_status(int status);

#endif

/* audit.h — the tamper-evident record of every write asked of rollguard.
 * Each entry is chained to the one before: its hash is BLAKE2b-256 over
 * the previous entry's hash and the entry's canonical JSON (sorted keys,
 * compact), so changing, removing or reordering an entry breaks the chain
 * from there on, and `rollguard audit verify` names where. Secrets never
 * enter an entry: callers pass names and outcomes, not tokens or bodies. */
#ifndef RG_AUTH_AUDIT_H
#define RG_AUTH_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

/* Borrowed strings; NULL is "". */
typedef struct rg_audit_entry {
	const char *actor;      /* a token's name; "-" when none was valid */
	const char *address;    /* the client's address; "local" for the CLI */
	const char *action;     /* "deploy", "approve", "token_create", … */
	const char *env;
	const char *target;     /* "run 12", a version, a token's name */
	const char *result;     /* "accepted" | "refused" | "failed" */
	int status;             /* HTTP status; 0 for local actions */
	const char *detail;     /* the reason or the error's message */
} rg_audit_entry;

/* Appends e in a transaction of its own (the caller must not hold one). */
rg_err rg_audit_append(rg_store *s, const rg_audit_entry *e, rg_error *err);

typedef struct rg_audit_report {
	int64_t entries;        /* entries read */
	bool intact;
	int64_t bad_seq;        /* !intact: the first entry that does not fit */
	char why[256];          /* !intact: "entry 7 was changed", … */
} rg_audit_report;

/* Walks the whole log checking the chain; RG_OK with report filled either
 * way, an error only when the store cannot be read. */
rg_err rg_audit_verify(rg_store *s, rg_audit_report *report, rg_error *err);

/* The newest limit entries of env (NULL: every env), newest first:
 * [{"seq","at","actor","address","action","env","target","result",
 * "status","detail","hash"}]. Caller owns *out. */
rg_err rg_audit_json(rg_store *s, const char *env, int limit, json_t **out, rg_error *err);

#endif

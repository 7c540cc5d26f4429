/* names.h — the strict patterns every user-supplied name must match.
 * Version, environment and flag names: ^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$.
 * Nothing that fails these checks may reach a store, a log or a command. */
#ifndef RG_NAMES_H
#define RG_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define RG_NAME_MAX 64

bool rg_name_valid(const char *s);
/* Step names and output keys: ^[A-Za-z_][A-Za-z0-9_.-]{0,63}$. */
bool rg_ident_valid(const char *s);
/* Shell variable names and Prometheus label names: ^[A-Za-z_][A-Za-z0-9_]*$. */
bool rg_var_name_valid(const char *s);
/* ROLLGUARD_<PREFIX>_<STEP>_<KEY>: upper-cased, non-alphanumerics → '_'.
 * Returns -1 if it does not fit in size. */
int rg_env_var_name(char *out, size_t size, const char *prefix, const char *step,
		    const char *key);

#endif

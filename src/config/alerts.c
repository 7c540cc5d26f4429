/* alerts.c — the `alerts:` section (who may post alerts, and how their
 * labels map onto this file's service, environments and severities), and
 * reading the shared secret when serve starts.
 * The secret never appears in the file, in a message or in a log: only the
 * name of the variable or file that holds it does. */
#include "config/config_internal.h"
#include "util/fileio.h"
#include "util/names.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const alerts_keys[] = { "secret_env",     "secret_file",      "service_label",
					   "env_label",      "severity_label",   "severities",
					   "default_severity", NULL };
static const char *const secret_keys[] = { "secret_env", "secret_file", NULL };

/* Alertmanager's usual severities; used when `severities:` is absent. */
static const rg_kv default_severities[] = {
	{ "critical", "P0" }, { "error", "P1" }, { "warning", "P2" }, { "info", "P3" },
};
#define N_DEFAULT_SEVERITIES (sizeof default_severities / sizeof default_severities[0])

/* [A-Z_][A-Z0-9_]*: what a shell exports without quoting games. */
bool rg_env_name_ok(const char *s)
{
	if (!(isupper((unsigned char)*s) || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!isupper((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* A secret everyone on the host can read is no secret: refused, by lint
 * when the file is already there and again when serve reads it. */
static bool readable_by_all(mode_t mode)
{
	return S_ISREG(mode) && (mode & (S_IROTH | S_IWOTH));
}

#define EXPOSED_FMT "secret file '%s' is readable by everyone (mode %04o); make it private " \
		    "(chmod 600 '%s')"

void rg_check_secret_file(rg_loader *l, const rg_ynode *at, const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0 && readable_by_all(st.st_mode))
		rg_problem(l, at, EXPOSED_FMT, path, (unsigned)(st.st_mode & 07777), path);
}

static void load_secret(rg_loader *l, const rg_ynode *v, rg_alerts_cfg *a)
{
	/* With neither, only posts carrying a token with the alerts role are
	 * accepted (Alertmanager's bearer credentials); a secret adds signed
	 * posts for clients that sign. */
	int which = rg_ld_which(l, v, secret_keys, "alerts");
	if (which == 0 && rg_ld_string(l, v, "secret_env", &a->secret_env) && a->secret_env &&
	    !rg_env_name_ok(a->secret_env))
		rg_problem(l, rg_ld_value(v, "secret_env"),
			   "invalid environment variable name '%s' (use [A-Z_][A-Z0-9_]*)",
			   a->secret_env);
	char *file = NULL;
	if (which == 1 && rg_ld_string(l, v, "secret_file", &file) && file) {
		/* Relative to the config file, like every other path in it. */
		if (!(a->secret_file = rg_join_path(l->cfg->dir, file)))
			l->oom = true;
		else
			rg_check_secret_file(l, rg_ld_value(v, "secret_file"), a->secret_file);
	}
	free(file);
}

static void load_label(rg_loader *l, const rg_ynode *v, const char *key, const char *dflt,
		       char **out)
{
	if (!(*out = rg_ld_strdup(l, dflt)))
		return;
	if (rg_ld_string(l, v, key, out) && rg_ld_value(v, key) && !rg_var_name_valid(*out))
		rg_problem(l, rg_ld_value(v, key), "invalid label name '%s' for '%s' "
			   "(use [a-zA-Z_][a-zA-Z0-9_]*)", *out, key);
}

static void default_map(rg_loader *l, rg_alerts_cfg *a)
{
	if (!(a->severities = rg_ld_calloc(l, N_DEFAULT_SEVERITIES, sizeof *a->severities)))
		return;
	for (size_t i = 0; i < N_DEFAULT_SEVERITIES; i++) {
		rg_kv *kv = &a->severities[a->n_severities++];
		kv->key = rg_ld_strdup(l, default_severities[i].key);
		kv->value = rg_ld_strdup(l, default_severities[i].value);
	}
}

/* severities: {label value: P0..P3}. Written, it replaces the default map
 * whole: a team that lists its own values means exactly those. */
static void load_severities(rg_loader *l, const rg_ynode *v, rg_alerts_cfg *a)
{
	const rg_ynode *m = rg_ld_value(v, "severities");
	if (!m) {
		default_map(l, a);
		return;
	}
	if (!rg_ld_expect(l, m, RG_YMAP, "severities"))
		return;
	rg_ld_check_keys(l, m, "in severities", NULL);
	if (!(a->severities = rg_ld_calloc(l, m->n / 2, sizeof *a->severities)))
		return;
	for (size_t i = 0; i < m->n; i += 2) {
		const rg_ynode *k = m->kids[i];
		if (k->type != RG_YSCALAR || rg_ynode_is_null(k) || rg_ld_key(m, k->text) != k)
			continue;
		int s = 0;
		if (!rg_ld_choice_of(l, m, k->text, "severity", rg_severity_names, &s))
			continue;
		rg_kv *kv = &a->severities[a->n_severities++];
		kv->key = rg_ld_strdup(l, k->text);
		kv->value = rg_ld_strdup(l, rg_severity_names[s]);
	}
}

void rg_ld_alerts(rg_loader *l, const rg_ynode *v)
{
	rg_alerts_cfg *a = &l->cfg->alerts;
	if (!rg_ld_expect(l, v, RG_YMAP, "alerts"))
		return;
	a->enabled = true;
	a->default_severity = RG_SEV_P1;
	rg_ld_check_keys(l, v, "in alerts", alerts_keys);
	load_secret(l, v, a);
	load_label(l, v, "service_label", "service", &a->service_label);
	load_label(l, v, "env_label", "env", &a->env_label);
	load_label(l, v, "severity_label", "severity", &a->severity_label);
	load_severities(l, v, a);
	rg_ld_severity(l, v, "default_severity", &a->default_severity);
}

void rg_alerts_cfg_release(rg_alerts_cfg *a)
{
	free(a->secret_env);
	free(a->secret_file);
	free(a->service_label);
	free(a->env_label);
	free(a->severity_label);
	for (size_t i = 0; a->severities && i < a->n_severities; i++) {
		free(a->severities[i].key);
		free(a->severities[i].value);
	}
	free(a->severities);
	memset(a, 0, sizeof *a);
}

/* ---- the secret at serve start ------------------------------------------------ */

static rg_err secret_from_env(const char *name, char *out, size_t size, size_t *len,
			      rg_error *err)
{
	const char *v = getenv(name);
	if (!v)
		return rg_fail(err, RG_ENOTFOUND, "secret_env",
			       "environment variable '%s' is not set", name);
	size_t n = strlen(v);
	if (n == 0)
		return rg_fail(err, RG_EINVAL, "secret_env", "environment variable '%s' is empty",
			       name);
	if (n >= size)
		return rg_fail(err, RG_ETOOLARGE, "secret_env",
			       "environment variable '%s' holds more than %zu bytes", name, size - 1);
	memcpy(out, v, n + 1);
	*len = n;
	return RG_OK;
}

/* The first line of the file is the secret: `echo s3cret > file` leaves a
 * newline behind (and an editor may leave "\r\n"), which is not part of it. */
static rg_err secret_from_file(const char *path, char *out, size_t size, size_t *len,
			       rg_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return rg_fail(err, errno == ENOENT ? RG_ENOTFOUND : RG_EIO, "secret_file",
			       "cannot read secret file '%s': %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) == 0 && readable_by_all(st.st_mode)) {
		close(fd);
		return rg_fail(err, RG_EINVAL, "secret_file", EXPOSED_FMT, path,
			       (unsigned)(st.st_mode & 07777), path);
	}
	size_t n = 0;
	int rc = rg_read_full(fd, out, size, &n);
	int e = errno;
	close(fd);
	if (rc) {
		explicit_bzero(out, size);
		return rg_fail(err, RG_EIO, "secret_file", "cannot read secret file '%s': %s", path,
			       strerror(e));
	}
	size_t line = 0;
	while (line < n && out[line] != '\n')
		line++;
	if (line == n && n == size) {
		explicit_bzero(out, size);
		return rg_fail(err, RG_ETOOLARGE, "secret_file",
			       "the secret in '%s' is longer than %zu bytes", path, size - 1);
	}
	if (line > 0 && out[line - 1] == '\r')
		line--;
	explicit_bzero(out + line, n - line);
	if (line == 0)
		return rg_fail(err, RG_EINVAL, "secret_file", "secret file '%s' is empty", path);
	out[line] = '\0';   /* line < size: a newline or the end came before size bytes */
	*len = line;
	return RG_OK;
}

rg_err rg_alerts_secret_load(const rg_alerts_cfg *a, char *out, size_t size, size_t *len,
			     rg_error *err)
{
	*len = 0;
	if (size < 2)
		return rg_fail(err, RG_EINTERNAL, NULL, "no room for the alerts secret");
	out[0] = '\0';
	if (!a->enabled)
		return rg_fail(err, RG_ENOTFOUND, NULL, "alerts are not configured");
	if (!a->secret_env && !a->secret_file)
		return rg_fail(err, RG_EINVAL, NULL, "alerts has neither secret_env nor secret_file");
	return rg_config_secret_read(a->secret_env, a->secret_file, out, size, len, err);
}

rg_err rg_config_secret_read(const char *env, const char *file, char *out, size_t size,
			     size_t *len, rg_error *err)
{
	*len = 0;
	out[0] = '\0';
	if (env)
		return secret_from_env(env, out, size, len, err);
	return secret_from_file(file, out, size, len, err);
}

/* config_load.c — the config tests' temp dir, load and diag assertions (see
 * config_load.h). Everything it writes stays under cfg_dir. */
#include "config_load.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char cfg_dir[64];

void cfg_dir_make(void)
{
	strcpy(cfg_dir, "/tmp/rg-config-test-XXXXXX");
	cr_assert_not_null(mkdtemp(cfg_dir));
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void cfg_dir_remove(void)
{
	nftw(cfg_dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

void cfg_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s", path);
	cr_assert_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	cr_assert_eq(fclose(f), 0);
}

void cfg_load(cfg_loaded *L, const char *yaml)
{
	memset(L, 0, sizeof *L);
	snprintf(L->path, sizeof L->path, "%s/rollguard.yaml", cfg_dir);
	cfg_write(L->path, yaml);
	L->rc = rg_config_load(L->path, &L->cfg, &L->diags, &L->err);
	size_t pos = 0;
	for (size_t i = 0; i < L->diags.n && pos < sizeof L->all; i++)
		pos += (size_t)snprintf(L->all + pos, sizeof L->all - pos, "\n  %d:%d: %s",
					L->diags.items[i].line, L->diags.items[i].col,
					L->diags.items[i].message);
}

void cfg_load_ok(cfg_loaded *L, const char *yaml)
{
	cfg_load(L, yaml);
	cr_assert_eq(L->rc, RG_OK, "expected a clean load, got %s:%s", L->err.message, L->all);
	cr_assert_eq(L->diags.n, 0);
}

void cfg_expect(const cfg_loaded *L, int line, int col, const char *message)
{
	cr_assert_eq(L->rc, RG_EINVAL, "load should fail");
	for (size_t i = 0; i < L->diags.n; i++) {
		const rg_diag *d = &L->diags.items[i];
		if (d->line == line && d->col == col && strcmp(d->message, message) == 0)
			return;
	}
	cr_assert_fail("no diag %d:%d: %s; got:%s", line, col, message, L->all);
}

void cfg_expect_only(const cfg_loaded *L, int line, int col, const char *message)
{
	cfg_expect(L, line, col, message);
	cr_assert_eq(L->diags.n, 1, "expected one problem, got:%s", L->all);
}

void cfg_expect_has(const cfg_loaded *L, const char *text)
{
	cr_assert_eq(L->rc, RG_EINVAL, "load should fail");
	for (size_t i = 0; i < L->diags.n; i++)
		if (strstr(L->diags.items[i].message, text))
			return;
	cr_assert_fail("no diag containing \"%s\"; got:%s", text, L->all);
}

void cfg_release(cfg_loaded *L)
{
	rg_config_release(&L->cfg);
	rg_diags_release(&L->diags);
}

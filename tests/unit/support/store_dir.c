/* store_dir.c — a store's temp dir, made and removed (see store_dir.h). It
 * removes only the files SQLite makes, then the dir if that left it empty. */
#include "store_dir.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void store_dir_make(store_dir *d)
{
	snprintf(d->dir, sizeof d->dir, "/tmp/rg-store-XXXXXX");
	cr_assert_not_null(mkdtemp(d->dir));
	snprintf(d->path, sizeof d->path, "%s/state.db", d->dir);
}

void store_dir_remove(const store_dir *d)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char p[160];
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		snprintf(p, sizeof p, "%s%s", d->path, suffixes[i]);
		unlink(p);
	}
	rmdir(d->dir);
}

/* store_dir.h — where a test's SQLite store lives: a fresh temp dir and the
 * database path in it, and their removal with SQLite's side files. It opens
 * nothing: the test opens and frees its store. Test support only. */
#ifndef RG_TEST_SUPPORT_STORE_DIR_H
#define RG_TEST_SUPPORT_STORE_DIR_H

/* The caller's (usually a static of the test file). */
typedef struct store_dir {
	char dir[64];     /* "/tmp/rg-store-XXXXXX", made real */
	char path[128];   /* dir/state.db; rg_store_open creates it */
} store_dir;

/* Makes a fresh dir and sets path; any failure fails the test. */
void store_dir_make(store_dir *d);

/* Removes the database, its -wal, -shm and -journal files, and the dir. The
 * store must be freed first. */
void store_dir_remove(const store_dir *d);

#endif

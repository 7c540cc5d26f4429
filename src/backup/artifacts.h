/* artifacts.h — the files of a backup: listed with their sizes and SHA-256
 * (libsodium), and checked against that list before anything is restored
 * from them. Plain file I/O, no loop: the engine calls it on libuv's thread
 * pool (engine/backup.c), the CLI directly (`backup verify`). */
#ifndef RG_BACKUP_ARTIFACTS_H
#define RG_BACKUP_ARTIFACTS_H

#include <stdint.h>

#include "util/err.h"

/* Every regular file under dir (recursively, names relative to dir, in
 * name order) as JSON text [{"name","size","sha256"}] into *files (caller
 * frees) and their total size. RG_EINVAL for an empty backup or a symlink
 * (a backup must be what it says it is), RG_EIO for what cannot be read. */
rg_err rg_artifacts_scan(const char *dir, char **files, int64_t *bytes, rg_error *err);

/* Whether dir still holds exactly files (JSON text from rg_artifacts_scan):
 * RG_OK, or RG_EINVAL naming the first file missing, changed in size or
 * checksum, or added. */
rg_err rg_artifacts_check(const char *dir, const char *files, rg_error *err);

/* Removes dir and everything under it; RG_EIO naming what could not go. */
rg_err rg_artifacts_remove(const char *dir, rg_error *err);

#endif

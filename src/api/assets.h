/* assets.h — the dashboard's files (web/), embedded into the binary at
 * build by scripts/embed-assets.sh (build/gen/assets.c). Static data: no
 * owner, nothing to free. */
#ifndef RG_API_ASSETS_H
#define RG_API_ASSETS_H

#include <stddef.h>

typedef struct rg_asset {
	const char *path;             /* under web/: "index.html", "pages/run.js" */
	const unsigned char *data;    /* len bytes, then a NUL */
	size_t len;
} rg_asset;

/* rg_assets_count entries sorted by path, then one all zero. */
extern const rg_asset rg_assets[];
extern const size_t rg_assets_count;

#endif

/* config_load.h — what the config tests share: a fresh temp dir per test, a
 * YAML string loaded through rg_config_load, and assertions on the problems
 * it reports at their line and column. Test support only; never linked into
 * rollguard itself. */
#ifndef RG_TEST_SUPPORT_CONFIG_LOAD_H
#define RG_TEST_SUPPORT_CONFIG_LOAD_H

#include <stddef.h>

#include "config/config.h"

/* The test's temp dir, "/tmp/rg-config-test-XXXXXX" made real. Criterion
 * runs each test in its own process, so one global serves every suite. */
extern char cfg_dir[64];

/* cfg_dir_make is a suite's .init: it makes cfg_dir. cfg_dir_remove is its
 * .fini: it removes cfg_dir and everything the test wrote under it. */
void cfg_dir_make(void);
void cfg_dir_remove(void);

/* Writes text to path (created or truncated); any failure fails the test. */
void cfg_write(const char *path, const char *text);

/* One load. cfg, diags and err are what rg_config_load gave; all lists
 * every diag as "\n  line:col: message", for failure messages. The struct
 * is the caller's (on its stack); cfg_release frees what the load
 * allocated in it. */
typedef struct cfg_loaded {
	rg_config cfg;
	rg_diags diags;
	rg_error err;
	rg_err rc;
	char path[256];   /* cfg_dir/rollguard.yaml */
	char all[4096];
} cfg_loaded;

/* Writes yaml to cfg_dir/rollguard.yaml and loads it into L. */
void cfg_load(cfg_loaded *L, const char *yaml);

/* cfg_load, and the load must be clean: RG_OK and no diag. */
void cfg_load_ok(cfg_loaded *L, const char *yaml);

/* The load failed (RG_EINVAL) with a diag at line:col with exactly this
 * message; _only: and no other diag; _has: some diag contains text. */
void cfg_expect(const cfg_loaded *L, int line, int col, const char *message);
void cfg_expect_only(const cfg_loaded *L, int line, int col, const char *message);
void cfg_expect_has(const cfg_loaded *L, const char *text);

/* Frees L's config and diags (not L). */
void cfg_release(cfg_loaded *L);

/* Lines 1–7 of a valid config; whatever a test appends starts on line 8. */
#define CFG_BASE                                                                               \
	"service: shop\n"                                                                      \
	"environments:\n"                                                                      \
	"  staging: {}\n"                                                                      \
	"  production: {}\n"                                                                   \
	"deploy:\n"                                                                            \
	"  - name: app\n"                                                                      \
	"    run: ./app\n"

#endif

/* yaml_tree.h — a YAML file as a tree of nodes that remember where they are.
 * Internal to src/config/. It only knows YAML structure: scalars stay text,
 * typing them is the validator's job. */
#ifndef RG_CONFIG_YAML_TREE_H
#define RG_CONFIG_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

/* The biggest file and the deepest nesting we read; a config is far smaller,
 * and the limits keep a hostile file from exhausting memory or the stack. */
#define RG_YAML_MAX_BYTES (1024 * 1024)
#define RG_YAML_MAX_DEPTH 32

typedef enum { RG_YSCALAR = 0, RG_YSEQ, RG_YMAP } rg_ytype;

typedef struct rg_ynode {
	rg_ytype type;
	int line, col;          /* 1-based, where the node starts */
	char *text;             /* scalar: the text ("" for an empty value) */
	bool plain;             /* scalar: written without quotes or block style */
	struct rg_ynode **kids; /* seq: items; map: key, value, key, value, … */
	size_t n;               /* number of kids (twice the pairs of a map) */
	size_t cap;             /* kids allocated */
} rg_ynode;

/* Reads path into *root (NULL for an empty document). A YAML syntax error is
 * one diag and RG_EINVAL; a file that cannot be read is RG_ENOTFOUND or
 * RG_EIO with err filled. */
rg_err rg_yaml_read(const char *path, rg_ynode **root, rg_diags *d, rg_error *err);
void rg_ynode_free(rg_ynode *n);

/* A plain "", "~" or "null": YAML's way of writing nothing. */
bool rg_ynode_is_null(const rg_ynode *n);
/* "a mapping", "a sequence", "an empty value" or "a string" — for messages. */
const char *rg_ynode_kind(const rg_ynode *n);

#endif

/* yaml_tree.c — libyaml's event stream turned into a tree with 1-based marks.
 * It must never interpret a scalar (that is the validator's job) and never
 * expand aliases: a config has no use for them, and expanding them is how
 * a small hostile file becomes a huge one. */
#include "config/yaml_tree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "config/config_internal.h"
#include "util/alloc.h"

typedef struct reader {
	yaml_parser_t parser;
	rg_diags *diags;
	rg_ynode *root;
	rg_ynode *stack[RG_YAML_MAX_DEPTH];
	size_t depth;
	int documents;
} reader;

void rg_ynode_free(rg_ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		rg_ynode_free(n->kids[i]);
	free(n->kids);
	free(n->text);
	free(n);
}

bool rg_ynode_is_null(const rg_ynode *n)
{
	if (!n || n->type != RG_YSCALAR || !n->plain)
		return false;
	const char *t = n->text;
	return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") ||
	       !strcmp(t, "NULL");
}

const char *rg_ynode_kind(const rg_ynode *n)
{
	if (!n || rg_ynode_is_null(n))
		return "an empty value";
	return n->type == RG_YMAP ? "a mapping" : n->type == RG_YSEQ ? "a sequence" : "a string";
}

/* Returns RG_EINVAL after recording one problem: the parse stops there. */
static rg_err fail_at(reader *r, yaml_mark_t m, const char *fmt, const char *arg)
{
	if (rg_diag_add(r->diags, (int)m.line + 1, (int)m.column + 1, fmt, arg) != RG_OK)
		return RG_ENOMEM;
	return RG_EINVAL;
}

static rg_err syntax_error(reader *r)
{
	yaml_parser_t *p = &r->parser;
	if (p->error == YAML_MEMORY_ERROR)
		return RG_ENOMEM;
	const char *problem = p->problem ? p->problem : "cannot parse the file";
	rg_err rc;
	if (p->context)
		rc = rg_diag_add(r->diags, (int)p->problem_mark.line + 1,
				 (int)p->problem_mark.column + 1, "yaml syntax error: %s (%s at %d:%d)",
				 problem, p->context, (int)p->context_mark.line + 1,
				 (int)p->context_mark.column + 1);
	else
		rc = rg_diag_add(r->diags, (int)p->problem_mark.line + 1,
				 (int)p->problem_mark.column + 1, "yaml syntax error: %s", problem);
	return rc ? rc : RG_EINVAL;
}

static rg_err attach(reader *r, rg_ynode *n)
{
	if (r->depth == 0) {
		r->root = n;
		return RG_OK;
	}
	rg_ynode *parent = r->stack[r->depth - 1];
	rg_err rc = RG_ALLOC_GROW(parent->kids, parent->n + 1, parent->cap);
	if (rc)
		return rc;
	parent->kids[parent->n++] = n;
	return RG_OK;
}

static rg_err add_node(reader *r, const yaml_event_t *ev, rg_ytype type)
{
	rg_ynode *n = calloc(1, sizeof *n);
	if (!n)
		return RG_ENOMEM;
	n->type = type;
	n->line = (int)ev->start_mark.line + 1;
	n->col = (int)ev->start_mark.column + 1;
	if (type == RG_YSCALAR) {
		size_t len = ev->data.scalar.length;
		if (memchr(ev->data.scalar.value, '\0', len)) {
			free(n);
			return fail_at(r, ev->start_mark, "%s", "strings must not contain NUL bytes");
		}
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		if (!(n->text = strndup((const char *)ev->data.scalar.value, len))) {
			free(n);
			return RG_ENOMEM;
		}
	}
	if (attach(r, n) != RG_OK) {
		rg_ynode_free(n);
		return RG_ENOMEM;
	}
	if (type == RG_YSCALAR)
		return RG_OK;
	if (r->depth == RG_YAML_MAX_DEPTH)
		return fail_at(r, ev->start_mark, "%s", "nesting is too deep");
	r->stack[r->depth++] = n;
	return RG_OK;
}

static rg_err on_event(reader *r, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++r->documents > 1)
			return fail_at(r, ev->start_mark, "%s",
				       "a config is one YAML document; found a second one");
		return RG_OK;
	case YAML_ALIAS_EVENT:
		return fail_at(r, ev->start_mark,
			       "aliases are not supported ('*%s'); write the value out",
			       (const char *)ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		return add_node(r, ev, RG_YSCALAR);
	case YAML_SEQUENCE_START_EVENT:
		return add_node(r, ev, RG_YSEQ);
	case YAML_MAPPING_START_EVENT:
		return add_node(r, ev, RG_YMAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		r->depth--;
		return RG_OK;
	default:
		return RG_OK;
	}
}

static rg_err parse_stream(reader *r)
{
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&r->parser, &ev))
			return syntax_error(r);
		rg_err rc = on_event(r, &ev);
		bool done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		if (rc || done)
			return rc;
	}
}

static rg_err open_config(const char *path, FILE **out, rg_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return rg_fail(err, errno == ENOENT ? RG_ENOTFOUND : RG_EIO, "config",
			       "cannot open '%s': %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return rg_fail(err, RG_EIO, "config", "'%s' is not a regular file", path);
	}
	if (st.st_size > RG_YAML_MAX_BYTES) {
		fclose(f);
		return rg_fail(err, RG_ETOOLARGE, "config", "'%s' is larger than %d bytes", path,
			       RG_YAML_MAX_BYTES);
	}
	*out = f;
	return RG_OK;
}

rg_err rg_yaml_read(const char *path, rg_ynode **root, rg_diags *d, rg_error *err)
{
	*root = NULL;
	FILE *f = NULL;
	rg_err rc = open_config(path, &f, err);
	if (rc)
		return rc;
	reader *r = calloc(1, sizeof *r);
	if (!r || !yaml_parser_initialize(&r->parser)) {
		free(r);
		fclose(f);
		return rg_fail(err, RG_ENOMEM, "config", "out of memory reading '%s'", path);
	}
	r->diags = d;
	yaml_parser_set_input_file(&r->parser, f);
	rc = parse_stream(r);
	if (rc == RG_OK && ferror(f))
		rc = rg_fail(err, RG_EIO, "config", "cannot read '%s'", path);
	yaml_parser_delete(&r->parser);
	fclose(f);
	if (rc == RG_OK)
		*root = r->root;
	else
		rg_ynode_free(r->root);
	if (rc == RG_ENOMEM)
		rg_fail(err, RG_ENOMEM, "config", "out of memory reading '%s'", path);
	if (rc == RG_EINVAL)
		rg_fail(err, RG_EINVAL, "config", "'%s' has 1 problem", path);
	free(r);
	return rc;
}

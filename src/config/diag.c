/* diag.c — the list of problems a config has, and the did-you-mean hints.
 * A problem is only ever added, never dropped silently: when memory runs out
 * the caller hears RG_ENOMEM, so a broken config cannot pass as clean. */
#include "config/config_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

rg_err rg_diag_vadd(rg_diags *d, int line, int col, const char *fmt, va_list ap)
{
	rg_err rc = RG_ALLOC_GROW(d->items, d->n + 1, d->cap);
	if (rc)
		return rc;
	rg_diag *g = &d->items[d->n++];
	g->line = line;
	g->col = col;
	vsnprintf(g->message, sizeof g->message, fmt, ap);
	/* Messages quote the user's text; a newline or an escape sequence in it
	 * must not break the one-line FILE:LINE:COL form or the terminal. */
	for (char *c = g->message; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return RG_OK;
}

rg_err rg_diag_add(rg_diags *d, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rg_err rc = rg_diag_vadd(d, line, col, fmt, ap);
	va_end(ap);
	return rc;
}

void rg_diags_release(rg_diags *d)
{
	if (!d)
		return;
	free(d->items);
	memset(d, 0, sizeof *d);
}

void rg_diags_print(FILE *to, const char *path, const rg_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(to, "%s:%d:%d: %s\n", path, d->items[i].line, d->items[i].col,
			d->items[i].message);
}

static bool after(const rg_diag *a, const rg_diag *b)
{
	return a->line > b->line || (a->line == b->line && a->col > b->col);
}

/* Insertion sort: stable, and a config has a handful of problems. */
void rg_diags_sort(rg_diags *d, size_t from)
{
	for (size_t i = from + 1; i < d->n; i++) {
		rg_diag cur = d->items[i];
		size_t j = i;
		while (j > from && after(&d->items[j - 1], &cur)) {
			d->items[j] = d->items[j - 1];
			j--;
		}
		d->items[j] = cur;
	}
}

/* Levenshtein distance ignoring case, giving up (returning limit + 1) for
 * words too long to be a typo of each other. */
static size_t distance(const char *a, const char *b, size_t limit)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64 || (la > lb ? la - lb : lb - la) > limit)
		return limit + 1;
	size_t row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			unsigned char ca = (unsigned char)tolower((unsigned char)a[i - 1]);
			unsigned char cb = (unsigned char)tolower((unsigned char)b[j - 1]);
			size_t cost = ca != cb;
			size_t best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *rg_suggest(const char *word, const char *const *candidates)
{
	/* "P5" is one edit from "P0": for words this short a guess misleads. */
	if (!word || !candidates || strlen(word) < 3)
		return NULL;
	size_t limit = strlen(word) <= 3 ? 1 : 2;
	const char *best = NULL;
	size_t best_d = limit + 1;
	for (size_t i = 0; candidates[i]; i++) {
		size_t d = distance(word, candidates[i], limit);
		if (d < best_d) {
			best = candidates[i];
			best_d = d;
		}
	}
	return best;
}

void rg_join_or(char *buf, size_t size, const char *const *words)
{
	size_t n = 0, pos = 0;
	while (words[n])
		n++;
	buf[0] = '\0';
	for (size_t i = 0; i < n && pos < size; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
		int w = snprintf(buf + pos, size - pos, "%s%s", sep, words[i]);
		if (w < 0)
			return;
		pos += (size_t)w;
	}
}

void rg_hint(char *buf, size_t size, const char *word, const char *const *candidates)
{
	const char *s = rg_suggest(word, candidates);
	if (s) {
		snprintf(buf, size, " (did you mean '%s'?)", s);
		return;
	}
	char list[200];
	rg_join_or(list, sizeof list, candidates);
	snprintf(buf, size, " (use %s)", list);
}

/* ui.c — the dashboard's embedded files (see ui.h). */
#include "api/ui.h"

#include <stdlib.h>
#include <string.h>

#include "api/assets.h"

#define UI_PREFIX "/ui/"

bool rg_ui_path(const char *path)
{
	return strcmp(path, "/") == 0 || strncmp(path, UI_PREFIX, strlen(UI_PREFIX)) == 0;
}

const char *rg_ui_content_type(const char *path)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".json", "application/json" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < sizeof types / sizeof *types; i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

static const rg_asset *asset_find(const char *name)
{
	for (size_t i = 0; i < rg_assets_count; i++)
		if (strcmp(rg_assets[i].path, name) == 0)
			return &rg_assets[i];
	return NULL;
}

rg_err rg_ui_answer(const rg_request *req, rg_reply *reply, rg_error *err)
{
	const char *name = strcmp(req->path, "/") == 0 ? "index.html"
							: req->path + strlen(UI_PREFIX);
	const rg_asset *a = asset_find(name);
	if (!a)
		return rg_fail(err, RG_ENOTFOUND, NULL, "no such file '%.128s'", req->path);
	reply->body = malloc(a->len ? a->len : 1);
	if (!reply->body)
		return rg_fail(err, RG_ENOMEM, NULL, "out of memory for the response");
	memcpy(reply->body, a->data, a->len);
	reply->body_len = a->len;
	reply->status = 200;
	reply->content_type = rg_ui_content_type(name);
	return RG_OK;
}

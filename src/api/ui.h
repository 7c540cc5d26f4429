/* ui.h — the dashboard's files, answered from the binary (api/assets.h):
 * GET / is web/index.html, GET /ui/PATH is web/PATH. They hold no data and
 * need no session: what the page shows comes from the API, which asks for
 * one. The headers every answer carries (server.c) keep the page from being
 * framed or running script it did not load from here. */
#ifndef RG_API_UI_H
#define RG_API_UI_H

#include <stdbool.h>

#include "api/routes.h"
#include "util/err.h"

/* Whether path is the dashboard's ("/" or under "/ui/"). */
bool rg_ui_path(const char *path);
/* Answers a GET of a dashboard path: 200 with the file, RG_ENOTFOUND for
 * one that is not embedded. */
rg_err rg_ui_answer(const rg_request *req, rg_reply *reply, rg_error *err);
/* The Content-Type a file name's extension calls for. */
const char *rg_ui_content_type(const char *path);

#endif

/* The dashboard's embedded files: found by path, typed by extension. */
#include <criterion/criterion.h>
#include <string.h>

#include "api/assets.h"
#include "api/ui.h"

Test(ui, paths_of_the_dashboard)
{
	cr_assert(rg_ui_path("/"));
	cr_assert(rg_ui_path("/ui/app.js"));
	cr_assert_not(rg_ui_path("/api/v1/status"));
	cr_assert_not(rg_ui_path("/uix"));
	cr_assert_not(rg_ui_path("/health"));
}

Test(ui, content_types)
{
	cr_assert_str_eq(rg_ui_content_type("index.html"), "text/html; charset=utf-8");
	cr_assert_str_eq(rg_ui_content_type("pages/run.js"), "text/javascript; charset=utf-8");
	cr_assert_str_eq(rg_ui_content_type("app.css"), "text/css; charset=utf-8");
	cr_assert_str_eq(rg_ui_content_type("x.svg"), "image/svg+xml");
	cr_assert_str_eq(rg_ui_content_type("Makefile"), "application/octet-stream");
}

Test(ui, index_is_embedded_whole)
{
	const rg_asset *index = NULL;
	for (size_t i = 0; i < rg_assets_count; i++)
		if (!strcmp(rg_assets[i].path, "index.html"))
			index = &rg_assets[i];
	cr_assert_not_null(index);
	cr_assert_gt(index->len, 0);
	cr_assert_eq(index->data[index->len], '\0');
	cr_assert_not_null(strstr((const char *)index->data, "<html"));
	cr_assert_null(rg_assets[rg_assets_count].path);
}

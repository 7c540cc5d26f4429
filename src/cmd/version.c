/* version.c — `rollguard version`: this binary's version and the library
 * versions it runs with (what a bug report needs). It must never contact a
 * server. */
#include "cmd/cmd.h"

#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>

/* The release is set by the build (-DRG_VERSION=\"1.2.3\") when it knows it. */
#ifndef RG_VERSION
#define RG_VERSION "0.1.0-dev"
#endif

int cmd_version(int argc, char **argv)
{
	rg_cli_args a;
	int code;
	if (!rg_cli_args_get("version", argc, argv, &a, &code))
		return code;
	printf("rollguard %s\n", RG_VERSION);
	printf("libcurl %s, sqlite %s, jansson %s\n", curl_version_info(CURLVERSION_NOW)->version,
	       sqlite3_libversion(), jansson_version_str());
	return RG_EXIT_OK;
}

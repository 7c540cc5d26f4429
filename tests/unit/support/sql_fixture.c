/* sql_fixture.c — see sql_fixture.h. */
#include "sql_fixture.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>

void sql_fixture(sqlite3 *db, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	char *msg = NULL;
	cr_assert_eq(sqlite3_exec(db, buf, NULL, NULL, &msg), SQLITE_OK, "%s: %s", buf, msg);
}

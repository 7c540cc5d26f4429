/* sql_fixture.h — rows put straight into a test's store with a second
 * SQLite connection, as the engine would have left them. Test support
 * only; any failure fails the test. */
#ifndef RG_TEST_SUPPORT_SQL_FIXTURE_H
#define RG_TEST_SUPPORT_SQL_FIXTURE_H

#include <sqlite3.h>

/* Runs the printf-formatted SQL (at most 1023 bytes) on db. */
void sql_fixture(sqlite3 *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

/*
 * sqlite_query.c - bench_compare's filtered query on SQLite as a process
 * of its own, like a CLI call: `bench_sqlite_query DB MUNICIPALITY ROLE`
 * prints those contacts by name.  It links only libsqlite3, so its start
 * costs what a small SQLite tool's would.
 */
#include <sqlite3.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_sqlite_query DB MUNICIPALITY "
		    "ROLE\n");
		return 2;
	}
	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK || sqlite3_prepare_v2(db, "SELECT id, name, role, "
	    "municipality FROM contacts WHERE municipality = ? AND role = ? "
	    "ORDER BY name", -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench_sqlite_query: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	sqlite3_bind_text(st, 1, argv[2], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, argv[3], -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		printf("%s  %s  %s  %s\n", sqlite3_column_text(st, 0),
		    sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
		    sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc == SQLITE_DONE ? 0 : 1;
}

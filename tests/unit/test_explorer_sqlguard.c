/* The SELECT box's statement guard. */
#include <string.h>

#include "explorer/sqlguard.h"
#include "unit.h"

static int ok(const char *sql)
{
	size_t len;
	char why[200];
	int rc = iw_sqlguard_check(sql, &len, why, sizeof why);
	if (rc != 0)
		fprintf(stderr, "  refused %s: %s\n", sql, why);
	return rc == 0;
}

static int refused(const char *sql)
{
	size_t len;
	char why[200];
	int rc = iw_sqlguard_check(sql, &len, why, sizeof why);
	if (rc == 0)
		fprintf(stderr, "  accepted %s\n", sql);
	return rc != 0 && why[0];
}

static size_t stmt_len(const char *sql)
{
	size_t len = 0;
	char why[200];
	return iw_sqlguard_check(sql, &len, why, sizeof why) == 0 ? len : (size_t)-1;
}

int main(void)
{
	CHECK(ok("SELECT 1"));
	CHECK(ok("select * from \"ErcotIngest\" where note ilike '%x%' order by \"createdAt\" desc"));
	CHECK(ok("WITH x AS (SELECT 1 AS a) SELECT a FROM x"));
	CHECK(ok("VALUES (1), (2)"));
	CHECK(ok("TABLE \"ErcotIngest\""));
	CHECK(ok("(SELECT 1) UNION (SELECT 2)"));
	CHECK(ok("SELECT ';' AS semi, $$;$$, $tag$ ; DROP $$ $tag$, E'\\';', 'it''s;'"));
	CHECK(ok("SELECT 1 -- a comment; DROP TABLE x\n"));
	CHECK(ok("SELECT 1 /* a ; /* nested ; */ comment */"));
	CHECK(ok("SELECT \"a;b\" FROM t"));
	CHECK(ok("SELECT 1;"));
	CHECK(ok("SELECT 1 ; -- done"));
	CHECK(ok("SELECT substring('abc' FROM 1 FOR 2)"));
	CHECK(ok("SELECT count(*) FROM \"SmtInterval\" WHERE esiid = '1044'"));
	CHECK(ok("SELECT 'pg_sleep(10)', 'insert', \"updated\" FROM t"));
	CHECK(ok("SELECT x$y FROM t")); /* $ inside an identifier is no dollar quote */
	CHECK(ok("SELECT pg_size_pretty(pg_database_size(current_database()))"));
	CHECK_INT(stmt_len("SELECT 1;"), 8);
	CHECK_INT(stmt_len("SELECT 1 -- c"), 8);
	CHECK_INT(stmt_len("  SELECT 'a' ; "), 12);

	/* More than one statement. */
	CHECK(refused("SELECT 1; drop table \"ErcotIngest\""));
	CHECK(refused("SELECT 1; SELECT 2"));
	CHECK(refused("SELECT 1;;"));
	CHECK(refused("SELECT ';'; DELETE FROM t"));
	CHECK(refused("SELECT $$ x $$; DELETE FROM t"));
	CHECK(refused("SELECT /* ; */ 1; VACUUM"));
	/* Not a query. */
	CHECK(refused(""));
	CHECK(refused("   -- only a comment"));
	CHECK(refused(";"));
	CHECK(refused("INSERT INTO t VALUES (1)"));
	CHECK(refused("UPDATE t SET a = 1"));
	CHECK(refused("DELETE FROM t"));
	CHECK(refused("COPY t TO '/tmp/x'"));
	CHECK(refused("SET TRANSACTION READ WRITE"));
	CHECK(refused("BEGIN"));
	CHECK(refused("EXPLAIN ANALYZE DELETE FROM t"));
	CHECK(refused("CALL p()"));
	CHECK(refused("DO $$ BEGIN END $$"));
	/* Writes hidden in a query. */
	CHECK(refused("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"));
	CHECK(refused("WITH d AS (insert into t values (1) returning *) SELECT 1"));
	CHECK(refused("SELECT * INTO new_table FROM t"));
	CHECK(refused("SELECT * FROM t FOR UPDATE"));
	CHECK(refused("SELECT * FROM t FOR NO KEY UPDATE"));
	CHECK(refused("SELECT * FROM t FOR SHARE"));
	CHECK(refused("SELECT * FROM t FOR KEY SHARE"));
	/* Functions with effects a rollback does not undo. */
	CHECK(refused("SELECT pg_terminate_backend(123)"));
	CHECK(refused("SELECT pg_catalog.pg_cancel_backend (123)"));
	CHECK(refused("SELECT \"pg_terminate_backend\"(1)"));
	CHECK(refused("SELECT PG_TERMINATE_BACKEND(1)"));
	CHECK(refused("SELECT set_config('statement_timeout', '0', false)"));
	CHECK(refused("SELECT nextval('s')"));
	CHECK(refused("SELECT setval('s', 1)"));
	CHECK(refused("SELECT pg_sleep(100)"));
	CHECK(refused("SELECT pg_sleep_for('1 hour')"));
	CHECK(refused("SELECT lo_import('/etc/passwd')"));
	CHECK(refused("SELECT lo_export(1, '/tmp/x')"));
	CHECK(refused("SELECT * FROM dblink('host=x', 'DELETE FROM t') AS r(a int)"));
	CHECK(refused("SELECT dblink_exec('DELETE FROM t')"));
	CHECK(refused("SELECT pg_advisory_lock(1)"));
	CHECK(refused("SELECT pg_try_advisory_lock(1)"));
	CHECK(refused("SELECT pg_read_file('/etc/passwd')"));
	CHECK(refused("SELECT * FROM pg_ls_dir('.')"));
	CHECK(refused("SELECT pg_reload_conf()"));
	CHECK(refused("SELECT query_to_xml('DELETE FROM t', true, true, '')"));
	CHECK(refused("SELECT * FROM ts_stat('select to_tsvector(pg_read_file(''/etc/passwd''))')"));
	CHECK(refused("SELECT ts_rewrite('a'::tsquery, 'select ''a''::tsquery, ''b''::tsquery')"));
	CHECK(refused("SELECT pg_stat_reset()"));
	CHECK(refused("SELECT U&\"pg\\0073leep\"(1)"));
	/* Escaping the wrapper or the lexer. */
	CHECK(refused("SELECT 1) AS q; DROP TABLE t; SELECT (1"));
	CHECK(refused("SELECT 1) x UNION (SELECT 2"));
	CHECK(refused("SELECT (1"));
	CHECK(refused("SELECT 'unterminated"));
	CHECK(refused("SELECT \"unterminated"));
	CHECK(refused("SELECT $$unterminated"));
	CHECK(refused("SELECT 1 /* unterminated"));
	CHECK(refused("SELECT E'\\''; DROP TABLE t; --'"));
	{
		static char big[IW_SQLGUARD_MAX + 16];
		memset(big, ' ', sizeof big - 1);
		memcpy(big, "SELECT 1", 8);
		CHECK(refused(big));
	}
	return unit_report("explorer_sqlguard");
}

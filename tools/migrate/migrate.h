/* iw-migrate: schema migrations kept in a Prisma-compatible `_prisma_migrations`
 * history table (SPEC §4), so a database Prisma managed can be adopted as is. */
#ifndef IW_MIGRATE_H
#define IW_MIGRATE_H

#include <stddef.h>
#include <libpq-fe.h>

#include "io/db.h"

#define MIG_NAME_MAX     255		/* migration_name VARCHAR(255) */
#define MIG_SQL_MAX      (64u << 20)	/* largest migration.sql read */
#define MIG_CHECKSUM_LEN 64		/* hex sha256; checksum VARCHAR(64) */
#define MIG_UUID_LEN     36		/* id VARCHAR(36) */
#define MIG_SQL_FILE     "migration.sql"
/* The key `prisma migrate` locks too, so iw-migrate and Prisma never race. */
#define MIG_LOCK_KEY     "72707369"
#define MIG_LOCK_WAIT_MS 10000
#define MIG_CONNECT_TIMEOUT "10"

enum mig_exit { MIG_OK = 0, MIG_FAIL = 1, MIG_REFUSED = 2 };

/* files.c: the migration directories on disk. */
struct mig_file {
	char	*name;		/* directory name = migration_name */
	char	*path;		/* DIR/NAME/migration.sql */
	char	*sql;		/* file bytes, NUL-terminated */
	size_t	 len;
	char	 checksum[MIG_CHECKSUM_LEN + 1];
};

struct mig_set {
	struct mig_file	*v;
	size_t		 n;
};

/* Reads every DIR/<name>/migration.sql, sorted by name. 0, or -1 with a
 * message printed. */
int	mig_files_load(const char *dir, struct mig_set *set);
void	mig_files_free(struct mig_set *set);
const struct mig_file *mig_files_find(const struct mig_set *set, const char *name);
/* Lowercase hex sha256 of BUF into OUT (MIG_CHECKSUM_LEN + 1 bytes). 0 or -1. */
int	mig_sha256_hex(const void *buf, size_t len, char *out);
/* 1 when CHECKSUM is the file's, also with its line endings as LF or CRLF
 * (git may have converted them since Prisma recorded the checksum). */
int	mig_checksum_matches(const struct mig_file *f, const char *checksum);

/* sqlscan.c: the tables a migration creates, drops or renames (schema public). */
enum mig_table_op { MIG_TABLE_CREATE, MIG_TABLE_DROP, MIG_TABLE_RENAME };
typedef int (*mig_table_cb)(enum mig_table_op op, const char *table,
			    const char *new_name, void *arg);
/* Calls CB for each CREATE TABLE / DROP TABLE / ALTER TABLE .. RENAME TO in
 * SQL, in order. Returns 0, -1 on allocation failure, or CB's non-zero. */
int	mig_scan_tables(const char *sql, size_t len, mig_table_cb cb, void *arg);

/* history.c: the `_prisma_migrations` table. */
enum mig_state {
	MIG_PENDING,		/* no row */
	MIG_APPLIED,		/* finished_at set, not rolled back */
	MIG_FAILED,		/* neither finished nor rolled back: blocks deploy */
	MIG_ROLLED_BACK,	/* only rolled-back rows: deploy applies it again */
	MIG_STATE__MAX
};

struct mig_history {
	PGresult	*res;	/* NULL when the table does not exist */
};

/* Column indexes of a history row in mig_history.res. */
enum mig_col { MIG_COL_ID, MIG_COL_NAME, MIG_COL_CHECKSUM, MIG_COL_FINISHED,
	MIG_COL_ROLLED_BACK, MIG_COL_LOGS, MIG_COL_STARTED, MIG_COL__MAX };

int	mig_history_ensure(PGconn *conn);
int	mig_history_load(PGconn *conn, struct mig_history *h);
void	mig_history_free(struct mig_history *h);
int	mig_history_rows(const struct mig_history *h);
const char *mig_history_get(const struct mig_history *h, int row, enum mig_col col);
enum mig_state mig_row_state(const struct mig_history *h, int row);
/* NAME's state; *ROW (may be NULL) = the row that decided it, or -1. */
enum mig_state mig_history_state(const struct mig_history *h, const char *name, int *row);
int	mig_lock(PGconn *conn);
void	mig_unlock(PGconn *conn);
/* A random RFC 4122 version-4 id into OUT (MIG_UUID_LEN + 1 bytes). 0 or -1. */
int	mig_uuid(char *out);
/* Postgres's error for RES as one readable text with the line of SQL (may be
 * NULL) it points at; malloc'd, or NULL. */
char	*mig_pg_error(PGconn *conn, const PGresult *res, const char *sql);
/* Runs SQL (parameters only); 0 or -1 with the error printed. */
int	mig_exec(PGconn *conn, const char *what, const char *sql, int nparams,
		 const char *const *params);

/* commands.c */
struct mig_ctx {
	PGconn		*conn;
	enum iw_db	 db;
	const char	*dir;		/* migrations directory */
	const char	*name;		/* NAME argument of resolve / apply */
	int		 force;
	int		 resolve_applied;	/* resolve --applied (else --rolled-back) */
	int		 months_ahead;	/* partitions --months N */
	const char	*before;	/* retention --before YYYY-MM */
	const char	*table;		/* retention --table NAME */
	int		 dry_run;	/* retention --dry-run */
};

/* Shared by the commands (commands.c). */
extern const char *const mig_state_label[MIG_STATE__MAX];
/* How to invoke this tool again for the same database, for printed hints. */
const char *mig_self(const struct mig_ctx *c);
/* The first line of S (NULL: "") and its length in *LEN. */
const char *mig_first_line(const char *s, int *len);
/* Deploys SET with the migration lock held: an enum mig_exit. */
int	mig_deploy_locked(struct mig_ctx *c, const struct mig_set *set);

int	mig_cmd_deploy(struct mig_ctx *c);
int	mig_cmd_status(struct mig_ctx *c);
int	mig_cmd_reset(struct mig_ctx *c);
int	mig_cmd_resolve(struct mig_ctx *c);
int	mig_cmd_apply(struct mig_ctx *c);

/* reset.c: the server's name for the connected database (malloc'd), or
 * NULL with the reason on stderr. */
char	*mig_server_dbname(PGconn *conn);

/* partitions.c */
#define MIG_MONTHS_AHEAD 3
/* Prints TABLE's months and its DEFAULT partition's rows: 0 empty (or not
 * partitioned yet), 1 rows there, -1 error. */
int	mig_partitions_report(PGconn *conn, const char *table);
int	mig_cmd_partitions(struct mig_ctx *c);
int	mig_cmd_retention(struct mig_ctx *c);

/* role.c */
int	mig_cmd_explorer_role(struct mig_ctx *c);
/* 1 when DBNAME may be wiped by reset: dev/test names, never defaultdb. */
int	mig_reset_allowed(const char *dbname);
#endif

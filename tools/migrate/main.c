/* iw-migrate [--db master|usage] [--dir DIR] COMMAND: applies the schema
 * migrations under sql/<db>/migrations (SPEC §4). Exit 0 ok, 1 failure or
 * pending, 2 usage error or refused. */
#include "migrate.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

#define ROOT_ENV "IW_MIGRATE_ROOT"	/* set by tools/iw-migrate */
#define CMD_NEEDS_NAME 0x1

enum cmd { CMD_DEPLOY, CMD_STATUS, CMD_RESET, CMD_RESOLVE, CMD_APPLY, CMD_EXPLORER_ROLE,
	CMD_PARTITIONS, CMD_RETENTION, CMD__MAX };

static const struct command {
	const char	*name;
	int		(*run)(struct mig_ctx *);
	unsigned	 flags;
} commands[CMD__MAX] = {
	[CMD_DEPLOY] = { "deploy", mig_cmd_deploy, 0 },
	[CMD_STATUS] = { "status", mig_cmd_status, 0 },
	[CMD_RESET] = { "reset", mig_cmd_reset, 0 },
	[CMD_RESOLVE] = { "resolve", mig_cmd_resolve, CMD_NEEDS_NAME },
	[CMD_APPLY] = { "apply", mig_cmd_apply, CMD_NEEDS_NAME },
	[CMD_EXPLORER_ROLE] = { "explorer-role", mig_cmd_explorer_role, 0 },
	[CMD_PARTITIONS] = { "partitions", mig_cmd_partitions, 0 },
	[CMD_RETENTION] = { "retention", mig_cmd_retention, 0 },
};

static const char *const db_names[IW_DB__MAX] = {
	[IW_DB_MASTER] = "master",
	[IW_DB_USAGE] = "usage",
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: iw-migrate [--db master|usage] [--dir DIR] COMMAND\n"
	    "\n"
	    "Applies sql/<db>/migrations/<YYYYMMDDHHMMSS>_<name>/migration.sql to the\n"
	    "database, keeping history in _prisma_migrations (Prisma-compatible).\n"
	    "\n"
	    "commands:\n"
	    "  deploy                     apply every pending migration, in name order\n"
	    "  status                     list applied/pending/failed migrations and drift;\n"
	    "                             exit 1 when anything is pending, failed or drifted\n"
	    "  reset --force              drop and recreate schema public, then deploy\n"
	    "                             (dev/test databases only; never defaultdb)\n"
	    "  resolve --rolled-back NAME mark failed migration NAME rolled back, so deploy\n"
	    "                             runs it again\n"
	    "  resolve --applied NAME     record NAME as applied without running it\n"
	    "  apply NAME                 run migration NAME again now (it must be\n"
	    "                             idempotent) and record it as applied\n"
	    "  explorer-role              create/update the DB explorer's read-only login role\n"
	    "                             (user and password of EXPLORER_DATABASE_URL, or\n"
	    "                             EXPLORER_USAGE_DATABASE_URL with --db usage; default\n"
	    "                             iw_explorer) and grant it SELECT on schema public;\n"
	    "                             needs CREATEROLE for the role itself\n"
	    "  partitions [--months N]    create the monthly partitions of the interval table\n"
	    "                             (SmtInterval; UsageIntervalModule with --db usage)\n"
	    "                             from last month to N months ahead (default 3), and\n"
	    "                             a month for the rows in the DEFAULT partition up to\n"
	    "                             then, moving them into it\n"
	    "  retention --before YYYY-MM [--table NAME] [--dry-run] [--force]\n"
	    "                             detach and drop the interval table's months before\n"
	    "                             YYYY-MM; never the current or previous month; only\n"
	    "                             dev/test database names unless --force\n"
	    "\n"
	    "options:\n"
	    "  --db master   DATABASE_URL, sql/master/migrations (default)\n"
	    "  --db usage    USAGE_DATABASE_URL, sql/usage/migrations\n"
	    "  --dir DIR     read migrations from DIR instead\n"
	    "\n"
	    "exit status: 0 ok, 1 failure or pending migrations, 2 usage error or refused\n");
}

static int
usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "iw-migrate: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	fprintf(stderr, "Run `iw-migrate --help` for usage.\n");
	return MIG_REFUSED;
}

/* The repository (or install) root: the wrapper says, else two levels
 * above this binary (build/bin/iw-migrate), else the current directory. */
static char *
default_root(void)
{
	const char *env = iw_env(ROOT_ENV);
	char exe[PATH_MAX];
	ssize_t n;

	if (env)
		return strdup(env);
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		return strdup(dirname(dirname(dirname(exe))));
	}
	return strdup(".");
}

/* Occurrences of SECRET (len > 0) in MSG become ***, in place. */
static void
mask(char *msg, const char *secret, size_t len)
{
	char *p;

	if (!len)
		return;
	while ((p = memmem(msg, strlen(msg), secret, len))) {
		size_t rest = strlen(p + len);
		memcpy(p, "***", 3);
		memmove(p + 3, p + len, rest + 1);
		if (len < 3)	/* never loop on a secret "***" contains */
			break;
	}
}

/* Libpq's messages about a malformed URL may quote parts of it: hide the
 * password, raw and percent-decoded. */
static void
scrub(char *msg, const char *url)
{
	const char *scheme = strstr(url, "://"), *at, *colon;
	char *decoded;
	size_t len, o = 0;

	if (!scheme) {	/* key=value form: password=... */
		const char *pw = strstr(url, "password=");
		if (pw) {
			pw += strlen("password=");
			mask(msg, pw, strcspn(pw, " "));
		}
		return;
	}
	scheme += 3;
	if (!(at = strrchr(scheme, '@')) || !(colon = memchr(scheme, ':', (size_t)(at - scheme))))
		return;
	len = (size_t)(at - colon - 1);
	if (len < 3 || !(decoded = malloc(len + 1))) {
		mask(msg, colon + 1, len);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		const char *s = colon + 1 + i;
		unsigned int byte;
		if (*s == '%' && i + 2 < len && sscanf(s + 1, "%2x", &byte) == 1) {
			decoded[o++] = (char)byte;
			i += 2;
		} else {
			decoded[o++] = *s;
		}
	}
	decoded[o] = '\0';
	mask(msg, colon + 1, len);
	mask(msg, decoded, o);
	free(decoded);
}

/* "iw-migrate: WHAT:" then libpq's ERR, scrubbed, one indented line per line,
 * and a hint for the operator when HINT is set. */
static void
print_libpq_error(const char *what, const char *url, const char *err, int hint)
{
	char *msg = strdup(err ? err : "");
	const char *line;

	fprintf(stderr, "iw-migrate: %s:\n", what);
	if (!msg)
		return;
	scrub(msg, url);
	for (char *save = NULL, *p = msg; (line = strtok_r(p, "\n", &save)); p = NULL) {
		line += strspn(line, " \t");
		if (*line)
			fprintf(stderr, "  %s\n", line);
	}
	if (hint)
		fprintf(stderr, "  hint: %s\n", iw_db_hint(err));
	free(msg);
}

/* Value of KEY in parsed conninfo OPTS, or NULL. */
static const char *
opt(const PQconninfoOption *opts, const char *key)
{
	for (; opts && opts->keyword; opts++)
		if (strcmp(opts->keyword, key) == 0)
			return opts->val && *opts->val ? opts->val : NULL;
	return NULL;
}

/* Hides notices of IF [NOT] EXISTS statements re-run ("..., skipping");
 * shows what a migration raises on purpose. */
static void
on_notice(void *arg, const PGresult *res)
{
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY);
	size_t n = msg ? strlen(msg) : 0;

	(void)arg;
	if (!msg || (n >= 10 && strcmp(msg + n - 10, ", skipping") == 0))
		return;
	fprintf(stderr, "  %s: %s\n", sev ? sev : "NOTICE", msg);
}

/* Connects to DB. NULL with the reason printed and *RC set. */
static PGconn *
connect_db(enum iw_db db, int *rc)
{
	const char *setting = iw_db_setting(db), *url = iw_env(setting);
	const char *kw[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *val[] = { MIG_CONNECT_TIMEOUT, "iw-migrate", NULL, NULL };
	PQconninfoOption *opts = NULL;
	char *conninfo = NULL, *err = NULL, *target = NULL;
	const char *host, *dbname;
	PGconn *conn = NULL;

	*rc = MIG_REFUSED;
	if (!url) {
		fprintf(stderr, "iw-migrate: %s is not set. Export it, e.g. %s="
		    "\"postgresql://USER:PASSWORD@HOST:PORT/DBNAME?sslmode=require\"\n",
		    setting, setting);
		return NULL;
	}
	if (!(conninfo = iw_db_conninfo(url)) || !(opts = PQconninfoParse(conninfo, &err))) {
		if (asprintf(&target, "%s is not a valid PostgreSQL URL (expected postgresql://"
		    "USER:PASSWORD@HOST:PORT/DBNAME)", setting) < 0)
			target = NULL;
		print_libpq_error(target ? target : setting, url, err, 0);
		goto out;
	}
	host = opt(opts, "host");
	if (!host)
		host = opt(opts, "hostaddr");
	dbname = opt(opts, "dbname");
	if (asprintf(&target, "cannot connect to database \"%s\" on %s%s%s (%s)",
	    dbname ? dbname : "(default)", host ? host : "localhost",
	    opt(opts, "port") ? ":" : "", opt(opts, "port") ? opt(opts, "port") : "",
	    setting) < 0) {
		target = NULL;
		fprintf(stderr, "iw-migrate: out of memory\n");
		goto out;
	}
	val[2] = conninfo;
	*rc = MIG_FAIL;
	conn = PQconnectdbParams(kw, val, 1);
	if (!conn || PQstatus(conn) != CONNECTION_OK) {
		print_libpq_error(target, url, conn ? PQerrorMessage(conn) : "out of memory", 1);
		PQfinish(conn);
		conn = NULL;
		goto out;
	}
	PQsetNoticeReceiver(conn, on_notice, NULL);
	printf("Database \"%s\" on %s:%s (%s, %s)\n", PQdb(conn), PQhost(conn), PQport(conn),
	    db_names[db], setting);
	*rc = MIG_OK;
out:
	free(target);
	PQconninfoFree(opts);
	PQfreemem(err);
	free(conninfo);
	return conn;
}

/* The NAME argument as a migration name: a path to its directory works too. */
static const char *
migration_name(char *arg)
{
	size_t n = strlen(arg);
	char *slash;

	while (n > 1 && arg[n - 1] == '/')
		arg[--n] = '\0';
	if ((slash = strrchr(arg, '/')))
		arg = slash + 1;
	return *arg && strlen(arg) <= MIG_NAME_MAX ? arg : NULL;
}

/* Value of option ARGV[*I] given as "--opt VALUE" or "--opt=VALUE". */
static const char *
opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t len = strlen(name);

	if (strncmp(argv[*i], name, len) == 0 && argv[*i][len] == '=')
		return argv[*i] + len + 1;
	if (*i + 1 < argc)
		return argv[++*i];
	return NULL;
}

int
main(int argc, char **argv)
{
	struct mig_ctx c = { .db = IW_DB_MASTER, .months_ahead = MIG_MONTHS_AHEAD };
	const struct command *cmd = NULL;
	const char *dir = NULL, *v;
	char *name_arg = NULL, *root = NULL, *defdir = NULL;
	int rolled_back = 0, applied = 0, months_given = 0, rc = MIG_REFUSED;

	if (iw_config_load() != 0) {
		fprintf(stderr, "iw-migrate: out of memory\n");
		return MIG_FAIL;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0) {
			usage(stdout);
			rc = MIG_OK;
			goto out;
		} else if (strncmp(a, "--db", 4) == 0 && (!a[4] || a[4] == '=')) {
			if (!(v = opt_value(argc, argv, &i, "--db")))
				goto missing;
			if (strcmp(v, "master") == 0)
				c.db = IW_DB_MASTER;
			else if (strcmp(v, "usage") == 0)
				c.db = IW_DB_USAGE;
			else {
				rc = usage_error("--db takes master or usage", v);
				goto out;
			}
		} else if (strncmp(a, "--dir", 5) == 0 && (!a[5] || a[5] == '=')) {
			if (!(dir = opt_value(argc, argv, &i, "--dir")) || !*dir)
				goto missing;
		} else if (strncmp(a, "--months", 8) == 0 && (!a[8] || a[8] == '=')) {
			char *end;
			long m;
			if (!(v = opt_value(argc, argv, &i, "--months")))
				goto missing;
			m = strtol(v, &end, 10);
			if (*end || end == v || m < 0 || m > 120) {
				rc = usage_error("--months takes 0..120", v);
				goto out;
			}
			c.months_ahead = (int)m;
			months_given = 1;
		} else if (strncmp(a, "--before", 8) == 0 && (!a[8] || a[8] == '=')) {
			if (!(c.before = opt_value(argc, argv, &i, "--before")))
				goto missing;
		} else if (strncmp(a, "--table", 7) == 0 && (!a[7] || a[7] == '=')) {
			if (!(c.table = opt_value(argc, argv, &i, "--table")))
				goto missing;
		} else if (strcmp(a, "--dry-run") == 0) {
			c.dry_run = 1;
		} else if (strcmp(a, "--force") == 0) {
			c.force = 1;
		} else if (strcmp(a, "--rolled-back") == 0 || strcmp(a, "--applied") == 0) {
			*(a[2] == 'r' ? &rolled_back : &applied) = 1;
			if (i + 1 < argc && argv[i + 1][0] != '-' && !name_arg)
				name_arg = argv[++i];
		} else if (a[0] == '-') {
			rc = usage_error("unknown option", a);
			goto out;
		} else if (!cmd) {
			for (int k = 0; k < CMD__MAX && !cmd; k++)
				if (strcmp(a, commands[k].name) == 0)
					cmd = &commands[k];
			if (!cmd) {
				rc = usage_error("unknown command", a);
				goto out;
			}
		} else if (!name_arg) {
			name_arg = argv[i];
		} else {
			rc = usage_error("unexpected argument", a);
			goto out;
		}
		continue;
missing:
		rc = usage_error("option needs a value", a);
		goto out;
	}
	if (!cmd) {
		usage(stderr);
		goto out;
	}
	if (c.force && cmd != &commands[CMD_RESET] && cmd != &commands[CMD_RETENTION]) {
		rc = usage_error("--force only goes with reset and retention", NULL);
		goto out;
	}
	if (months_given && cmd != &commands[CMD_PARTITIONS]) {
		rc = usage_error("--months only goes with partitions", NULL);
		goto out;
	}
	if ((c.before || c.table || c.dry_run) && cmd != &commands[CMD_RETENTION]) {
		rc = usage_error("--before, --table and --dry-run only go with retention", NULL);
		goto out;
	}
	if (cmd == &commands[CMD_RETENTION] && !c.before) {
		rc = usage_error("retention needs --before YYYY-MM", NULL);
		goto out;
	}
	if ((rolled_back || applied) && cmd != &commands[CMD_RESOLVE]) {
		rc = usage_error("--rolled-back and --applied only go with resolve", NULL);
		goto out;
	}
	if (cmd == &commands[CMD_RESOLVE] && rolled_back + applied != 1) {
		rc = usage_error("resolve takes either --rolled-back NAME or --applied NAME", NULL);
		goto out;
	}
	if (cmd->flags & CMD_NEEDS_NAME) {
		if (!name_arg || !(c.name = migration_name(name_arg))) {
			rc = usage_error("missing migration NAME for", cmd->name);
			goto out;
		}
	} else if (name_arg) {
		rc = usage_error("unexpected argument", name_arg);
		goto out;
	}
	if (cmd == &commands[CMD_RESET] && !c.force) {
		fprintf(stderr, "iw-migrate: reset drops every table in schema public and "
		    "re-applies all migrations.\nIt only runs on dev/test databases, and only "
		    "with --force: iw-migrate reset --force\n");
		goto out;
	}
	c.resolve_applied = applied;
	if (!dir) {
		if (!(root = default_root()) ||
		    asprintf(&defdir, "%s/sql/%s/migrations", root, db_names[c.db]) < 0) {
			defdir = NULL;
			fprintf(stderr, "iw-migrate: out of memory\n");
			rc = MIG_FAIL;
			goto out;
		}
		dir = defdir;
	}
	c.dir = dir;
	if (!(c.conn = connect_db(c.db, &rc)))
		goto out;
	fflush(stdout);
	rc = cmd->run(&c);
	PQfinish(c.conn);
out:
	fflush(stdout);
	free(root);
	free(defdir);
	iw_config_free();
	return rc;
}

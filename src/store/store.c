// SPDX-License-Identifier: Apache-2.0
/*
 * Opening the store: the checks on its file, the schema and its migrations, transactions.
 * rows.c reads and writes the findings table, outbox.c the deliveries, notes.c the sensor's.
 */
#include "store/store.h"
#include "store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "util/hostname.h"
#include "util/log.h"
#include "util/safe_path.h"

/* The sensor and the CLI share the file: wait this long for the other's lock. */
#define STORE_BUSY_TIMEOUT_MS 5000

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The schema, one migration per version: migrations[N - 1] takes a file from version N - 1 to
 * N, in one transaction that also sets PRAGMA user_version = N. Append, never edit: files in
 * the field were made by the entries already here.
 */
static const char *const migrations[] = {
	/* 1: the findings table */
	"CREATE TABLE findings ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  event_time_ns INTEGER NOT NULL,"
	"  create_time_ns INTEGER NOT NULL,"
	"  category TEXT NOT NULL DEFAULT '',"
	"  severity TEXT NOT NULL DEFAULT '',"
	"  state TEXT NOT NULL DEFAULT 'ACTIVE' CHECK (state IN ('ACTIVE', 'INACTIVE')),"
	"  mute TEXT NOT NULL DEFAULT 'UNDEFINED'"
	"    CHECK (mute IN ('UNDEFINED', 'MUTED', 'UNMUTED')),"
	"  container_id TEXT NOT NULL DEFAULT '',"
	"  container_name TEXT NOT NULL DEFAULT '',"
	"  image TEXT NOT NULL DEFAULT '',"
	"  pod TEXT NOT NULL DEFAULT '',"
	"  namespace TEXT NOT NULL DEFAULT '',"
	"  binary_path TEXT NOT NULL DEFAULT '',"
	"  module_path TEXT NOT NULL DEFAULT '',"
	"  module_sha256 TEXT NOT NULL DEFAULT '',"
	"  json TEXT NOT NULL" /* checked by the INSERT: a CHECK would need trusted_schema */
	") STRICT;"
	"CREATE INDEX findings_container_time ON findings (container_id, event_time_ns);"
	"CREATE INDEX findings_time ON findings (event_time_ns);",
	/*
	 * 2: when a finding reached the outputs (0: not yet), so that one stored but never
	 * written (a crash between the two, a full disk) is sent at the next start. Rows of
	 * version 1 were written when stored.
	 */
	"ALTER TABLE findings ADD COLUMN delivered_ns INTEGER NOT NULL DEFAULT 0;"
	"UPDATE findings SET delivered_ns = create_time_ns;"
	"CREATE INDEX findings_undelivered ON findings (event_time_ns) WHERE delivered_ns = 0;",
	/*
	 * 3: when the sensor was last known to be watching (one row, rewritten every few seconds
	 * and at a clean stop), and the times it was not: the next run tells how long it was
	 * blind, and a responder can see where the picture has a hole.
	 */
	"CREATE TABLE sensor_alive ("
	"  id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),"
	"  time_ns INTEGER NOT NULL,"
	"  stopped INTEGER NOT NULL CHECK (stopped IN (0, 1))"
	") STRICT;"
	"CREATE TABLE sensor_gaps ("
	"  from_ns INTEGER NOT NULL,"
	"  to_ns INTEGER NOT NULL,"
	"  cause TEXT NOT NULL CHECK (cause IN ('stalled', 'not running')),"
	"  clean_stop INTEGER NOT NULL DEFAULT 0 CHECK (clean_stop IN (0, 1))"
	") STRICT;"
	"CREATE INDEX sensor_gaps_to ON sensor_gaps (to_ns);",
	/*
	 * 4: the store becomes the outbox. Each output configured when a finding is stored gets a
	 * row: pending until that output took the whole finding (delivered) or answered that it
	 * never will (failed). seq orders deliveries (the finding's rowid). A finding written out
	 * by version 3 (delivered_ns set) counts as delivered by the jsonl output, one still
	 * waiting as pending there, and the column goes.
	 */
	"CREATE TABLE deliveries ("
	"  finding_id TEXT NOT NULL,"
	"  output TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (state IN ('pending', 'delivered', 'failed')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try_ns INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT NOT NULL DEFAULT '',"
	"  done_ns INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (finding_id, output)"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX deliveries_pending ON deliveries (output, seq) WHERE state = 'pending';"
	"INSERT INTO deliveries (finding_id, output, seq, state, done_ns)"
	"  SELECT id, 'jsonl', rowid, CASE WHEN delivered_ns = 0 THEN 'pending' ELSE"
	"  'delivered' END, delivered_ns FROM findings"
	"  WHERE delivered_ns != 0 OR mute != 'MUTED';"
	"DROP INDEX IF EXISTS findings_undelivered;"
	"ALTER TABLE findings DROP COLUMN delivered_ns;",
	/*
	 * 5: the host a finding came from, so that one store can hold a fleet's findings
	 * (sowatch collect) and relate only those of the same host. A node's store holds its own
	 * findings only: a row whose JSON names no host gets this machine's name (:hostname),
	 * and so does its JSON, so that the row and its object agree. related asks for one
	 * host's container (or host findings) in a time range: the index leads with host.
	 */
	"ALTER TABLE findings ADD COLUMN host TEXT NOT NULL DEFAULT '';"
	"UPDATE findings SET host = CASE WHEN NOT json_valid(json) THEN :hostname"
	"  WHEN json_type(json, '$.finding.sourceProperties.host') = 'text'"
	"   AND json_extract(json, '$.finding.sourceProperties.host') <> ''"
	"  THEN json_extract(json, '$.finding.sourceProperties.host') ELSE :hostname END;"
	"UPDATE findings SET json = json_set(json, '$.finding.sourceProperties.host', host)"
	"  WHERE CASE WHEN NOT json_valid(json) THEN 0"
	"  ELSE json_type(json, '$.finding.sourceProperties') = 'object'"
	"   AND json_extract(json, '$.finding.sourceProperties.host') IS NOT host END;"
	"DROP INDEX IF EXISTS findings_container_time;"
	"CREATE INDEX findings_host_container_time ON findings"
	"  (host, container_id, event_time_ns);",
	/*
	 * 6: what an output learnt once and must not learn again at each start, by name: the
	 * id of the SCC source that `source: create` made.
	 */
	"CREATE TABLE remembered ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  value TEXT NOT NULL,"
	"  time_ns INTEGER NOT NULL"
	") STRICT;",
	/*
	 * 7: the container's log lines around a finding, copied when it was made: the runtime
	 * rotates them away, and deletes them with the container. place and path say where they
	 * were; lines is CRI-format text (store/logs.c).
	 */
	"CREATE TABLE container_logs ("
	"  finding_id TEXT PRIMARY KEY NOT NULL,"
	"  place TEXT NOT NULL,"
	"  path TEXT NOT NULL,"
	"  from_ns INTEGER NOT NULL,"
	"  to_ns INTEGER NOT NULL,"
	"  copied_ns INTEGER NOT NULL,"
	"  lines_left_out INTEGER NOT NULL,"
	"  note TEXT NOT NULL,"
	"  lines BLOB NOT NULL"
	") STRICT;",
};

/*
 * PRAGMA application_id of a sowatch store: "SoWa" in ASCII. A non-empty database without it is
 * another application's, and is refused before anything in it changes.
 */
#define STORE_APPLICATION_ID 0x536f5761

/*
 * Files made before the application_id existed: versions 1 and 2, with the findings table and
 * nothing else of their own. They are recognised by that table's exact columns, and marked at
 * their first write. Every later version is marked in the same transaction that made it.
 */
#define STORE_V1_COLUMNS                                                                           \
	"id,event_time_ns,create_time_ns,category,severity,state,mute,container_id,"               \
	"container_name,image,pod,namespace,binary_path,module_path,module_sha256,json"
static const char *const unmarked_columns[] = {
	[1] = STORE_V1_COLUMNS,
	[2] = STORE_V1_COLUMNS ",delivered_ns",
};

/* The files SQLite keeps next to the database, by the database's name with these suffixes. */
static const char *const side_file_suffixes[] = { "-wal", "-shm", "-journal" };

static char error_buf[PATH_MAX + 512];

static const char *set_error(const char *fmt, const char *path, const char *detail)
{
	snprintf(error_buf, sizeof(error_buf), fmt, path, detail);
	return error_buf;
}

int sqlite_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
	case SQLITE_TOOBIG:
	case SQLITE_ERROR:
		return -EINVAL;
	default:
		return -EIO;
	}
}

int store_schema_version(void)
{
	return (int)ARRAY_SIZE(migrations);
}

int store_file_version(struct store *s)
{
	return s->version;
}

const char *store_errmsg(struct store *s)
{
	return s && s->db ? sqlite3_errmsg(s->db) : "no database";
}

int exec(struct store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

/* Runs a one-row, one-column query and reads its integer. */
static int read_int(struct store *s, const char *sql, int *ret_value)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*ret_value = sqlite3_column_int(st, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* The same for a text ("" for NULL), cut to size. */
static int read_text(struct store *s, const char *sql, char *buf, size_t size)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			const unsigned char *text = sqlite3_column_text(st, 0);

			snprintf(buf, size, "%s", text ? (const char *)text : "");
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

static int read_user_version(struct store *s, int *ret_version)
{
	return read_int(s, "PRAGMA user_version", ret_version);
}

/*
 * Runs one migration's statements in order. A statement may name the parameter :hostname, this
 * machine's name (util/hostname.h): whose findings the rows from before the host column are.
 */
static int exec_migration(struct store *s, const char *sql)
{
	char host[256];
	int rc = SQLITE_OK;

	host_name(host, sizeof(host));
	while (rc == SQLITE_OK && sql && *sql) {
		sqlite3_stmt *st = NULL;
		const char *tail = NULL;
		int i;

		rc = sqlite3_prepare_v2(s->db, sql, -1, &st, &tail);
		if (rc == SQLITE_OK && st) {
			i = sqlite3_bind_parameter_index(st, ":hostname");
			if (i)
				rc = sqlite3_bind_text(st, i, host, -1, SQLITE_STATIC);
			while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
				rc = SQLITE_OK;
			if (rc == SQLITE_DONE)
				rc = SQLITE_OK;
		}
		/* The error stays readable in sqlite3_errmsg() for migrate()'s message */
		sqlite3_finalize(st);
		sql = tail;
	}
	return rc;
}

/* Sets the application_id, inside the caller's write transaction, unless it is set already. */
static int mark_as_sowatch(struct store *s)
{
	char sql[64];
	int app_id, rc = read_int(s, "PRAGMA application_id", &app_id);

	if (rc != SQLITE_OK || app_id == STORE_APPLICATION_ID)
		return rc;
	/* PRAGMA takes no parameters; the value is our own integer. */
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", STORE_APPLICATION_ID);
	return exec(s, sql);
}

/* One transaction per migration; re-reads the version under the write lock, since the sensor
 * and a writing CLI command may open an old file at the same time. */
static int migrate(struct store *s)
{
	for (;;) {
		char sql[64];
		int rc, version;

		rc = exec(s, "BEGIN IMMEDIATE");
		if (rc != SQLITE_OK)
			return rc;
		rc = read_user_version(s, &version);
		if (rc == SQLITE_OK)
			rc = mark_as_sowatch(s);
		if (rc == SQLITE_OK && version >= store_schema_version()) {
			s->version = version;
			return exec(s, "COMMIT");
		}
		if (rc == SQLITE_OK)
			rc = exec_migration(s, migrations[version]);
		if (rc == SQLITE_OK) {
			/* PRAGMA takes no parameters; the value is our own integer. */
			snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
			rc = exec(s, sql);
		}
		if (rc == SQLITE_OK)
			rc = exec(s, "COMMIT");
		if (rc != SQLITE_OK) {
			/* The message, before ROLLBACK replaces it. */
			snprintf(s->migrate_error, sizeof(s->migrate_error),
				 "migration to schema "
				 "version %d failed: %s",
				 version + 1, sqlite3_errmsg(s->db));
			exec(s, "ROLLBACK");
			return rc;
		}
	}
}

/* The failure of a safe_path call as the store's error; returns err. */
static int path_error(struct store *s, int err, const char *path, enum store_mode mode,
		      const char **ret_error)
{
	if (err == -ENOENT && mode != STORE_CREATE)
		*ret_error = set_error("no findings database at %s%s", path, "");
	else
		*ret_error = set_error("%s%s", s->where.error, "");
	return err;
}

/*
 * The side files SQLite opens by name next to the database, as they are: a link or someone
 * else's file planted there would be used. Absent ones are fine (SQLite makes them 0600, owned
 * like the database).
 */
static int side_files_check(struct store *s, const char **ret_error)
{
	char side[NAME_MAX + 16];

	for (size_t i = 0; i < ARRAY_SIZE(side_file_suffixes); i++) {
		int err;

		snprintf(side, sizeof(side), "%s%s", s->where.name, side_file_suffixes[i]);
		err = safe_path_check_entry(&s->where, side, S_IFREG, NULL);
		if (err && err != -ENOENT) {
			*ret_error = set_error("%s%s", s->where.error, "");
			return err;
		}
	}
	return 0;
}

/*
 * The file's directory and the file itself, checked (util/safe_path.h) and created if asked,
 * and the side files. Returns the open file, to compare with what SQLite opens, or -errno.
 */
static int file_open_checked(struct store *s, const char *path, enum store_mode mode,
			     const char **ret_error)
{
	unsigned int flags = mode == STORE_CREATE ? SAFE_PATH_MKDIR : 0;
	int fd, err;

	err = safe_path_open(&s->where, path, "the findings database", flags);
	if (err)
		return path_error(s, err, path, mode, ret_error);
	err = side_files_check(s, ret_error);
	if (err)
		return err;
	/* SQLite gives its -wal and -shm files the mode of this one. */
	fd = safe_path_open_file(&s->where, mode == STORE_CREATE ? O_RDONLY | O_CREAT : O_RDONLY,
				 0600);
	return fd < 0 ? path_error(s, fd, path, mode, ret_error) : fd;
}

/*
 * A connection to the checked file: by its path without symbolic links, and SQLite told to
 * follow none (a link put there since the check makes the open fail).
 */
static int connection_open(struct store *s, const char *path, int flags, const char **ret_error)
{
	int rc;

	sqlite3_close(s->db);
	s->db = NULL;
	/* FULLMUTEX: the keeper writes while the main thread may read (the last sign of life) */
	rc = sqlite3_open_v2(s->where.path, &s->db,
			     flags | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		*ret_error = set_error("cannot open the findings database %s: %s", path,
				       s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		return sqlite_errno(rc);
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	/* Another application's file may be read before it is refused: no code from it runs. */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	return 0;
}

/* Whether the file SQLite opened by name is still the one checked: nothing replaced it since. */
static int same_file(struct store *s, const struct stat *checked, const char *path,
		     const char **ret_error)
{
	struct stat now;

	if (fstatat(s->where.dir_fd, s->where.name, &now, AT_SYMLINK_NOFOLLOW) ||
	    checked->st_dev != now.st_dev || checked->st_ino != now.st_ino) {
		*ret_error = set_error("refusing the findings database %s: %s", path,
				       "it was replaced while being opened");
		return -EPERM;
	}
	return 0;
}

/*
 * Whether the file is a sowatch store, or empty: read only, before anything in it may change.
 * Another application's database is refused with -EPERM, whatever its journal mode.
 */
static int check_is_sowatch(struct store *s, const char *path, const char **ret_error)
{
	char detail[160], tables[256], columns[1024];
	int app_id, version, rc;

	/* The first read of the header: a file that is not a database fails here. */
	rc = read_int(s, "PRAGMA application_id", &app_id);
	if (rc != SQLITE_OK) {
		*ret_error = set_error("cannot read the findings database %s: %s", path,
				       sqlite3_errmsg(s->db));
		return rc == SQLITE_NOTADB ? -EIO : sqlite_errno(rc);
	}
	if (app_id == STORE_APPLICATION_ID)
		return 0;
	if (app_id != 0) {
		snprintf(detail, sizeof(detail),
			 "it is another application's database (application_id 0x%08x, "
			 "sowatch's is 0x%08x)",
			 (unsigned int)app_id, STORE_APPLICATION_ID);
		*ret_error = set_error("refusing the findings database %s: %s", path, detail);
		return -EPERM;
	}
	/* Everything but indexes and SQLite's own tables: "table findings" for ours. */
	rc = read_int(s, "PRAGMA user_version", &version);
	if (rc == SQLITE_OK)
		rc = read_text(s,
			       "SELECT group_concat(type || ' ' || name, ',') FROM (SELECT type, "
			       "name FROM sqlite_schema WHERE type <> 'index' AND name NOT LIKE "
			       "'sqlite\\_%' ESCAPE '\\' ORDER BY name)",
			       tables, sizeof(tables));
	if (rc == SQLITE_OK)
		rc = read_text(s,
			       "SELECT group_concat(name, ',') FROM (SELECT name FROM "
			       "pragma_table_info('findings') ORDER BY cid)",
			       columns, sizeof(columns));
	if (rc != SQLITE_OK) {
		*ret_error = set_error("cannot read the findings database %s: %s", path,
				       sqlite3_errmsg(s->db));
		return sqlite_errno(rc);
	}
	if (version == 0 && !tables[0])
		return 0; /* empty: new, or made by a sowatch stopped before its first commit */
	if (version >= 1 && version < (int)ARRAY_SIZE(unmarked_columns) &&
	    !strcmp(tables, "table findings") && !strcmp(columns, unmarked_columns[version]))
		return 0;
	snprintf(detail, sizeof(detail),
		 "it is another application's database (its tables are not sowatch's, and it "
		 "has no application_id 0x%08x)",
		 STORE_APPLICATION_ID);
	*ret_error = set_error("refusing the findings database %s: %s", path, detail);
	return -EPERM;
}

static int configure(struct store *s, enum store_mode mode, const char *path,
		     const char **ret_error)
{
	char detail[128];
	int rc;

	rc = read_user_version(s, &s->version);
	if (rc != SQLITE_OK) {
		*ret_error = set_error("cannot read the findings database %s: %s", path,
				       sqlite3_errmsg(s->db));
		return rc == SQLITE_NOTADB ? -EIO : sqlite_errno(rc);
	}
	if (s->version > store_schema_version()) {
		snprintf(detail, sizeof(detail), "%d, but this sowatch knows versions up to %d",
			 s->version, store_schema_version());
		*ret_error = set_error("the findings database %s has schema version %s: upgrade "
				       "sowatch to read it",
				       path, detail);
		return -EPROTONOSUPPORT;
	}
	if (mode == STORE_READ_ONLY && s->version < store_schema_version()) {
		snprintf(detail, sizeof(detail), "%d, older than this sowatch's %d", s->version,
			 store_schema_version());
		*ret_error = set_error("the findings database %s has schema version %s: start "
				       "sowatch run once to upgrade it",
				       path, detail);
		return -EPROTONOSUPPORT;
	}
	/* Durable before printed: with WAL, FULL syncs the log at every commit. */
	rc = exec(s, "PRAGMA synchronous = FULL");
	if (rc == SQLITE_OK && mode != STORE_READ_ONLY)
		rc = exec(s, "PRAGMA journal_mode = WAL");
	if (rc == SQLITE_OK && mode != STORE_READ_ONLY) {
		rc = migrate(s);
		if (rc != SQLITE_OK && s->migrate_error[0]) {
			*ret_error = set_error("cannot prepare the findings database %s: %s", path,
					       s->migrate_error);
			return sqlite_errno(rc);
		}
	}
	if (rc != SQLITE_OK) {
		*ret_error = set_error("cannot prepare the findings database %s: %s", path,
				       sqlite3_errmsg(s->db));
		return sqlite_errno(rc);
	}
	return 0;
}

int store_open_mode(struct store **ret, const char *path, enum store_mode mode,
		    const char **ret_error)
{
	struct store *s;
	struct stat checked;
	int rc, err, fd;

	*ret = NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		*ret_error =
		    set_error("cannot open the findings database %s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	fd = file_open_checked(s, path, mode, ret_error);
	if (fd < 0) {
		err = fd;
		goto err_close;
	}
	/*
	 * Closed before SQLite opens the file: closing any descriptor of a file drops every POSIX
	 * lock the process holds on it, SQLite's included. A lost lock lets another process take
	 * the file for its own, and delete the WAL this one still writes to.
	 */
	err = fstat(fd, &checked) ? -errno : 0;
	close(fd);
	if (err) {
		*ret_error =
		    set_error("cannot open the findings database %s: %s", path, strerror(-err));
		goto err_close;
	}
	/* Whose file it is, asked without a way to write: a refused file keeps every byte. */
	err = connection_open(s, path, SQLITE_OPEN_READONLY, ret_error);
	if (!err)
		err = check_is_sowatch(s, path, ret_error);
	if (!err && mode != STORE_READ_ONLY)
		err = connection_open(s, path, SQLITE_OPEN_READWRITE, ret_error);
	if (!err)
		err = same_file(s, &checked, path, ret_error);
	if (!err)
		err = configure(s, mode, path, ret_error);
	if (err)
		goto err_close;
	if (mode != STORE_READ_ONLY) {
		/* Again, now that SQLite made them: someone may have raced to plant one. */
		err = side_files_check(s, ret_error);
		if (err)
			goto err_close;
		/* Only now: the close's checkpoint must never copy a planted WAL in */
		s->wal_owner = true;
		rc = rows_prepare_insert(s);
		if (rc != SQLITE_OK) {
			*ret_error = set_error("cannot prepare the findings database %s: %s", path,
					       sqlite3_errmsg(s->db));
			err = sqlite_errno(rc);
			goto err_close;
		}
	}
	*ret = s;
	return 0;

err_close:
	store_close(s);
	return err;
}

static int open_sibling(struct store **ret, const struct store *writer, int flags,
			const char **ret_error)
{
	struct store *s = calloc(1, sizeof(*s));
	int err;

	*ret = NULL;
	if (!s) {
		*ret_error = set_error("cannot open the findings database %s: %s",
				       writer->where.path, strerror(ENOMEM));
		return -ENOMEM;
	}
	/* The writer checked the file and its directory; no descriptor of ours touches it */
	s->where = writer->where;
	s->where.dir_fd = fcntl(writer->where.dir_fd, F_DUPFD_CLOEXEC, 0);
	s->version = writer->version;
	err = s->where.dir_fd < 0 ? -errno : 0;
	if (err)
		*ret_error = set_error("cannot open the findings database %s: %s",
				       writer->where.path, strerror(-err));
	else
		err = connection_open(s, writer->where.path, flags, ret_error);
	if (err) {
		store_close(s);
		return err;
	}
	*ret = s;
	return 0;
}

int store_open_reader(struct store **ret, const struct store *writer, const char **ret_error)
{
	return open_sibling(ret, writer, SQLITE_OPEN_READONLY, ret_error);
}

int store_open_sibling(struct store **ret, const struct store *writer, const char **ret_error)
{
	return open_sibling(ret, writer, SQLITE_OPEN_READWRITE, ret_error);
}

int store_open(struct store **ret, const char *path, bool read_only, const char **ret_error)
{
	return store_open_mode(ret, path, read_only ? STORE_READ_ONLY : STORE_CREATE, ret_error);
}

/*
 * SQLite removes the -wal and -shm files when the last connection closes, by name, and says
 * nothing when it cannot: the sensor gave up CAP_DAC_OVERRIDE after starting, so a directory
 * that only that capability let it write (mode 0555, say) keeps them. Say so; the log was
 * emptied into the database first, so they hold nothing.
 */
static void side_files_report(struct store *s, bool emptied)
{
	char wal[NAME_MAX + 16];
	struct stat st;

	snprintf(wal, sizeof(wal), "%s-wal", s->where.name);
	if (fstatat(s->where.dir_fd, wal, &st, AT_SYMLINK_NOFOLLOW))
		return; /* removed */
	if (faccessat(s->where.dir_fd, ".", W_OK, AT_EACCESS) == 0)
		return; /* another connection is open still: the last one removes them */
	if (fstat(s->where.dir_fd, &st))
		st.st_mode = 0;
	log_warn("cannot remove %s-wal and %s-shm: sowatch cannot write %s (mode %04o)%s",
		 s->where.path, s->where.name, s->where.dir, (unsigned int)(st.st_mode & 07777),
		 emptied ? "; they hold nothing that is not in the database" : "");
}

void store_close(struct store *s)
{
	int busy = 1;

	if (!s)
		return;
	sqlite3_finalize(s->insert);
	sqlite3_finalize(s->json_get);
	sqlite3_finalize(s->pending);
	/* All of the log into the database and the log cut to 0 bytes, whoever removes it. */
	if (s->wal_owner && read_int(s, "PRAGMA wal_checkpoint(TRUNCATE)", &busy) != SQLITE_OK)
		busy = 1;
	sqlite3_close(s->db);
	if (s->wal_owner)
		side_files_report(s, busy == 0);
	safe_path_close(&s->where);
	free(s);
}

const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* Runs a statement that returns no rows; finalizes it unless it is cached. */
int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

const char *column_str(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

int store_begin(struct store *s)
{
	int rc = exec(s, "BEGIN IMMEDIATE");

	return rc == SQLITE_OK ? 0 : sqlite_errno(rc);
}

int store_commit(struct store *s)
{
	int rc = exec(s, "COMMIT");

	if (rc == SQLITE_OK)
		return 0;
	store_rollback(s);
	return sqlite_errno(rc);
}

void store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		exec(s, "ROLLBACK");
}

bool store_in_transaction(struct store *s)
{
	return !sqlite3_get_autocommit(s->db);
}

int store_savepoint(struct store *s)
{
	return sqlite_errno(exec(s, "SAVEPOINT one"));
}

void store_savepoint_end(struct store *s, bool keep)
{
	if (!keep)
		exec(s, "ROLLBACK TO one");
	exec(s, "RELEASE one");
}

void store_set_busy_timeout(struct store *s, int ms)
{
	sqlite3_busy_timeout(s->db, ms);
}

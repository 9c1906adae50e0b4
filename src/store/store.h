/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The findings store: one SQLite file shared by the sensor (writes findings) and the CLI (reads
 * them, changes their state and mute). WAL mode, so readers never block the sensor;
 * synchronous=FULL, so a finding is on disk before store_insert() returns and before anyone
 * prints it.
 *
 * Rows keep the whole notification object ({"finding":{...},"resource":{...}}) as JSON, plus
 * the columns the CLI filters and sorts on. The schema is versioned with PRAGMA user_version;
 * migrations live in an ordered list in store.c.
 */
#ifndef SOWATCH_STORE_H
#define SOWATCH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_DEFAULT_PATH "/var/lib/sowatch/findings.db"

struct store;

/* What the sensor hands over; strings may be NULL or "" (stored as ""). */
struct store_finding {
	const char *id; /* the last segment of finding.name; required */
	int64_t event_time_ns, create_time_ns;
	const char *category, *severity;
	const char *state; /* "ACTIVE" or "INACTIVE"; NULL or "" = "ACTIVE" */
	const char *mute;  /* "UNDEFINED", "MUTED" or "UNMUTED"; NULL or "" = "UNDEFINED" */
	const char *container_id, *container_name, *image, *pod, *namespace;
	const char *binary_path, *module_path, *module_sha256;
	const char *json;	     /* the notification object, one line; must be valid JSON */
	const char *host;	     /* the sensor's host name (sourceProperties.host); required */
	const struct store_log *log; /* the container's log lines, kept with it; NULL: none */
};

/* A stored row, as the query functions hand it to their callback: valid during the call only. */
/*
 * The container's log lines around a finding, copied when it was made (store/logs.c). lines is
 * CRI-format text (proc/container_logs.h), at most a few tens of KiB.
 */
struct store_log {
	const char *place; /* "docker", "cri", "podman" */
	const char *path;  /* where the runtime kept them: a file, or the kubelet's directory */
	int64_t from_ns, to_ns; /* the window copied */
	int64_t copied_ns;	/* when */
	int64_t lines_left_out; /* older lines of the window that did not fit */
	const char *note;	/* what else the copy should say ("" for nothing) */
	const char *lines;
	size_t lines_len;
};

/* Keeps a finding's log copy; one per finding, a second one is ignored. 0 or -errno. */
int store_insert_log(struct store *s, const char *finding_id, const struct store_log *log);
/* The finding's log copy, to fn (its strings valid during the call): 0, -ENOENT, -errno. */
int store_get_log(struct store *s, const char *finding_id,
		  int (*fn)(const struct store_log *log, void *ctx), void *ctx);

struct store_row {
	const char *id;
	int64_t event_time_ns, create_time_ns;
	const char *category, *severity, *state, *mute;
	const char *container_id, *container_name, *image, *pod, *namespace;
	const char *binary_path, *module_path, *module_sha256;
	const char *json;
	const char *host;
};

/* Called once per row; a non-zero return stops the query and is returned by it. */
typedef int (*store_row_fn)(const struct store_row *row, void *ctx);

enum store_mode {
	STORE_READ_ONLY,  /* the file must exist */
	STORE_READ_WRITE, /* the file must exist; migrates an older schema */
	STORE_CREATE,	  /* creates the directory (0700) and the file (0600) if missing */
};

/*
 * Opens the store. On error returns -errno and one sentence naming the path in *ret_error
 * (static storage, valid until the next call): -ENOENT for a missing file (not created unless
 * STORE_CREATE), -EPROTONOSUPPORT for a schema this build does not know (newer, or older but
 * opened read-only), -EIO for a file that is not a database, -EPERM for a path others could
 * have planted (util/safe_path.h: the file, its -wal, -shm or -journal, or a directory on the
 * way) or for another application's database. A store is marked with PRAGMA application_id
 * 0x536f5761 ("SoWa"); a non-empty database without it is refused before a byte of it changes,
 * unless it is a store made before the mark existed (schema 1 or 2, only sowatch's table), which
 * is marked at its first write. A clean close of a writer empties and removes the -wal and -shm
 * files, or logs why it could not.
 */
int store_open_mode(struct store **ret, const char *path, enum store_mode mode,
		    const char **ret_error);
/*
 * Another connection, read-only, to the file writer has open: for a thread of the same process
 * (the delivery lanes). No check is repeated, and no descriptor but SQLite's own touches the
 * file: closing one would drop the locks the process's other connections hold on it. Close it
 * before the writer.
 */
int store_open_reader(struct store **ret, const struct store *writer, const char **ret_error);
/*
 * The same, read-write, for the rare write that is not a finding's (an output remembering
 * what it learnt): SQLite's lock orders it with the keeper's, waiting up to 5 s.
 */
int store_open_sibling(struct store **ret, const struct store *writer, const char **ret_error);
/* read_only ? STORE_READ_ONLY : STORE_CREATE: the sensor's call. */
int store_open(struct store **ret, const char *path, bool read_only, const char **ret_error);
/* Accepts NULL. */
void store_close(struct store *s);

/* The schema version this build writes, and the one of the open file. */
int store_schema_version(void);
int store_file_version(struct store *s);

/*
 * 0 stored, 1 already there (a restart saw the same event: the caller must not print it again),
 * -EINVAL (the finding's fault: no id, no or invalid JSON, no host, bad state or mute), or the
 * store's: -EBUSY, -ENOSPC, -EROFS, -ENOMEM, -EIO.
 */
int store_insert(struct store *s, const struct store_finding *f);
/*
 * Group several calls into one transaction: one sync to disk for all of them. A failed commit
 * is rolled back, and none of the calls since store_begin() took effect. 0 or -errno.
 */
int store_begin(struct store *s);
int store_commit(struct store *s);
/* Undo what was done since store_begin(), if a transaction is still open. */
void store_rollback(struct store *s);
/*
 * Inside a transaction, a group of writes that is kept or undone as one (one finding and its
 * delivery rows): store_savepoint(), then store_savepoint_end() with keep false to undo them.
 */
int store_savepoint(struct store *s);
void store_savepoint_end(struct store *s, bool keep);
/* Whether a transaction is open: SQLite ends one by itself on some errors (a full disk). */
bool store_in_transaction(struct store *s);
/* How long a write waits for another connection's lock before -EBUSY (default 5000 ms). */
void store_set_busy_timeout(struct store *s, int ms);
/* Column and $.finding.state; 0, -ENOENT for an unknown id, -EINVAL for another state. */
int store_set_state(struct store *s, const char *id, const char *state);
/* Column and $.finding.mute ("MUTED", "UNMUTED" or "UNDEFINED"); 0, -ENOENT, -EINVAL. */
int store_set_mute(struct store *s, const char *id, const char *mute);

/* SQLite's message for the last failure on this connection, for logging. */
const char *store_errmsg(struct store *s);

/* Filters of store_list(); zero/NULL fields do not filter. */
struct store_filter {
	int64_t since_ns;	 /* event_time_ns >= since_ns */
	const char *severity;	 /* exact */
	const char *state;	 /* exact */
	const char *container;	 /* container name, full id, or id prefix of at least 4 bytes */
	bool outside_containers; /* also match findings outside containers (container_id "") */
	const char *host;	 /* exact host name */
};

/* Rows matching f, newest event first (ties: id). Muted rows are included. */
int store_list(struct store *s, const struct store_filter *f, store_row_fn fn, void *ctx);

/*
 * How many distinct container ids start with prefix, among host's findings (NULL: any host's),
 * to refuse ambiguous prefixes.
 */
int store_count_container_prefix(struct store *s, const char *prefix, const char *host);

/*
 * Finds the full id of a finding from a full id, a finding name (".../findings/ID") or a unique
 * id prefix of at least 8 bytes. 0 and the id in ret_id (malloc'ed), -ENOENT, or -EEXIST when
 * the prefix matches several findings.
 */
int store_resolve_id(struct store *s, const char *arg, char **ret_id);

/* The row of id: calls fn once; -ENOENT for an unknown id. */
int store_get(struct store *s, const char *id, store_row_fn fn, void *ctx);

/*
 * The other findings of the same host and container_id as id (host findings: container_id "",
 * the host's other host findings) whose event time is within window_ns of id's, oldest first;
 * id itself excluded. A container id is only known to mean one container on one host. -ENOENT
 * for an unknown id.
 */
int store_related(struct store *s, const char *id, int64_t window_ns, store_row_fn fn, void *ctx);

/*
 * Reads one value out of a JSON text with SQLite's JSON functions (path syntax "$.a.b[0]").
 * Strings come back unescaped (they may then hold any byte, NUL included: use *ret_len),
 * numbers as written, booleans as "true"/"false". 0 and a malloc'ed, NUL-terminated copy in
 * *ret_value; -ENOENT when the path is absent or null; -EINVAL for an object or array.
 */
int store_json_get(struct store *s, const char *json, const char *path, char **ret_value,
		   size_t *ret_len);
/* Same, for each element of the array at path, in order; absent path: 0 calls, returns 0. */
int store_json_each(struct store *s, const char *json, const char *path,
		    int (*fn)(const char *value, size_t len, void *ctx), void *ctx);

/*
 * When the sensor was last known to be watching (CLOCK_REALTIME), and whether it stopped
 * cleanly then: rewritten every few seconds while it runs, and once at a clean stop.
 */
int store_set_alive(struct store *s, int64_t time_ns, bool stopped);
/* 0, or -ENOENT when no run has written it yet. */
int store_get_alive(struct store *s, int64_t *ret_time_ns, bool *ret_stopped);
/*
 * What an output remembers across starts (the SCC source it made), by name: set, and read
 * into value (size bytes). 0, -ENOENT when nothing is remembered under name, or -errno.
 */
int store_remember(struct store *s, const char *name, const char *value, int64_t time_ns);
int store_recall(struct store *s, const char *name, char *value, size_t size);

/* A time the sensor was not watching (CLOCK_REALTIME). */
struct store_gap {
	int64_t from_ns, to_ns;
	const char *cause; /* "stalled" or "not running" */
	bool clean_stop;   /* "not running": the run before stopped cleanly at from_ns */
};

/* 0, or -EINVAL (no or unknown cause, to before from), -EBUSY, -ENOSPC, ... */
int store_insert_gap(struct store *s, const struct store_gap *g);
/* Called once per gap, valid during the call only; non-zero stops the query and is returned. */
typedef int (*store_gap_fn)(const struct store_gap *g, void *ctx);
/* The gaps that ended at or after since_ns, the latest first. */
int store_gaps(struct store *s, int64_t since_ns, store_gap_fn fn, void *ctx);

/*
 * The outbox: for each finding and each output configured when it was stored, whether that
 * output has it. Outputs deliver from here, in the order findings were stored (seq), so a
 * receiver that is down costs rows on disk, not memory, and a restart (even after kill -9)
 * carries on where the last run stopped.
 */
enum store_delivery_state {
	STORE_PENDING,	 /* not yet: to be tried (again) */
	STORE_DELIVERED, /* the output took all of it */
	STORE_FAILED,	 /* the output answered that it never will: not tried again */
};

struct store_delivery {
	const char *finding_id, *output;
	enum store_delivery_state state;
	int64_t attempts;    /* tries so far (set as given, not added to) */
	int64_t next_try_ns; /* pending: not before this (CLOCK_REALTIME); 0: at once */
	const char *last_error;
	int64_t done_ns; /* delivered or failed: when */
};

/*
 * Adds the row of a stored finding for one output: 0, 1 when it is there already (left as it
 * is), -ENOENT when the finding is not stored, -EBUSY ...
 */
int store_outbox_add(struct store *s, const struct store_delivery *d);
/*
 * Sets a pending row's state, attempts, next try, last error and time: 0, -ENOENT when there is
 * no pending row (a final answer is never undone by a late one), -EBUSY ...
 */
int store_outbox_update(struct store *s, const struct store_delivery *d);

/* A pending delivery, as store_outbox_pending() hands it over: valid during the call only. */
struct store_pending {
	int64_t seq;
	const char *id, *json, *severity, *host;
	int64_t event_time_ns;
	int64_t attempts, next_try_ns;
};
typedef int (*store_pending_fn)(const struct store_pending *p, void *ctx);
/* Up to limit pending deliveries of output with seq > after_seq, in seq order. */
int store_outbox_pending(struct store *s, const char *output, int64_t after_seq, int limit,
			 store_pending_fn fn, void *ctx);
/* How many deliveries of output are pending, and the oldest event time among them (0: none). */
int store_outbox_backlog(struct store *s, const char *output, uint64_t *ret_count,
			 int64_t *ret_oldest_event_ns);
/* Each delivery row of a finding, by output name. */
typedef int (*store_delivery_fn)(const struct store_delivery *d, void *ctx);
int store_outbox_of(struct store *s, const char *id, store_delivery_fn fn, void *ctx);

/*
 * Retention: deletes up to STORE_PRUNE_CHUNK of the findings whose event came before before_ns
 * and that none of the n outputs still owes (no pending or failed row among them), with their
 * rows, in one transaction of its own (call it outside store_begin()): small enough that the
 * sensor's writes never wait long. The number deleted in *ret_deleted; call again while it is
 * STORE_PRUNE_CHUNK.
 */
#define STORE_PRUNE_CHUNK 500
int store_prune(struct store *s, int64_t before_ns, const char *const *outputs, size_t n,
		uint64_t *ret_deleted);

#endif

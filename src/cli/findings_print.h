/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The printing half of `sowatch findings` (cli/findings.c parses the command line and runs the
 * commands): terminal-safe text, tables of stored rows, one finding's summary.
 */
#ifndef SOWATCH_CLI_FINDINGS_PRINT_H
#define SOWATCH_CLI_FINDINGS_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/strbuf.h"

#define NS_PER_SEC   1000000000LL
#define SHORT_ID_LEN 12 /* of a finding id, in tables and the commands printed */

/*
 * n bytes as text for a terminal: printable UTF-8 as is; backslash, control bytes, invalid
 * UTF-8 and unsafe code points as C-style escapes (\\, \n, \x1b, \u202e).
 */
void term_escape(struct strbuf *out, const char *str, size_t n);
void term_escape_str(struct strbuf *out, const char *s);

/* A stored JSON object on one line, its strings made safe for a terminal (same JSON value). */
void print_json_line(const char *json);

#define MAX_COLUMNS 9

struct table {
	size_t ncols;
	const char *headers[MAX_COLUMNS];
	char **cells; /* nrows * ncols */
	size_t nrows, cap;
	int err;
};

/* The rows list and related print, as they come from the store. */
struct rows {
	struct table table;
	int64_t ref_ns; /* related: ID's event time */
	bool offsets;	/* related: first column is the offset */
	bool all;	/* muted rows too */
	bool json;	/* each row as its JSON line, printed at once, instead of the table */
	size_t matched, hidden;
};

void rows_init(struct rows *rc, bool offsets, bool all, bool json);
/* A store_row_fn: adds the row to the table (or prints its JSON line). */
int rows_add(const struct store_row *r, void *ctx);
/* The table, if it has rows. */
void rows_print(const struct rows *rc);
/* Ends the count line: how many were muted and hidden, then a newline. */
void rows_print_hidden(const struct rows *rc);
void rows_free(struct rows *rc);

/* How a row's container reads in a table: its name, its short id, or "(host)"; malloc'ed. */
char *container_cell(const struct store_row *r);

/* `show`: the store (for the JSON functions) and how to print. */
struct show {
	struct store *s;
	bool print_json;  /* the JSON line only */
	const char *db;	  /* for the related command printed last */
	const char *json; /* the row's JSON, set by show_row() */
};

/* A store_row_fn: the summary a responder reads, then the whole JSON, indented. */
int show_row(const struct store_row *r, void *ctx);

#endif

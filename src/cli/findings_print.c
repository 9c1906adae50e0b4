// SPDX-License-Identifier: Apache-2.0
/*
 * What sowatch findings prints: tables of rows, the summary of one finding, JSON lines.
 *
 * Everything printed for people goes through term_escape() or shell_quote(): argv, paths and
 * names in a finding are the attacker's bytes, and a terminal must never act on them. JSON is
 * printed through json_for_terminal(), which keeps each string's escapes as stored and turns
 * any raw byte a terminal could act on into a \u escape (the same JSON value).
 */
#include "cli/findings_print.h"
#include "cli/findings_settings.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "util/strbuf.h"
#include "util/unicode.h"

#define SHORT_CONTAINER_LEN 12
#define MAX_PROCESSES	    16

/* Which part of a value too long for its column stays. */
enum keep {
	KEEP_START,
	KEEP_END,  /* paths: the file name says more */
	KEEP_ENDS, /* host names: pool nodes differ at the end, FQDNs at the start */
};

/* ---- Output for terminals -------------------------------------------------------------- */

/*
 * n bytes as text for a terminal: printable UTF-8 as is; backslash, control bytes, invalid
 * UTF-8 and unsafe code points as C-style escapes (\\, \n, \x1b, \u202e).
 */
void term_escape(struct strbuf *out, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t len;

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			strbuf_addc(out, (char)c);
			i++;
			continue;
		}
		if (c == '\\' || c == '\n' || c == '\t' || c == '\r') {
			strbuf_addc(out, '\\');
			strbuf_addc(out, c == '\\'   ? '\\'
					 : c == '\n' ? 'n'
					 : c == '\t' ? 't'
						     : 'r');
			i++;
			continue;
		}
		len = c < 0x80 ? 0 : utf8_decode(s + i, n - i, &cp);
		if (!len) {
			strbuf_addf(out, "\\x%02x", c);
			i++;
		} else if (unicode_unsafe(cp)) {
			strbuf_addf(out, "\\u%04x", (unsigned)cp);
			i += len;
		} else {
			strbuf_add(out, s + i, len);
			i += len;
		}
	}
}

void term_escape_str(struct strbuf *out, const char *s)
{
	term_escape(out, s, strlen(s));
}

static bool shell_safe_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("@%+=:,./_-", c);
}

/*
 * One argument as a POSIX shell word that reads back as the same bytes: bare when it is
 * harmless, in '...' when it is printable text, else in bash's $'...' with \xNN and \uXXXX
 * escapes, so that a terminal never sees the control bytes themselves.
 */
static void shell_quote(struct strbuf *out, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	bool bare = n > 0, printable = true;

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_decode(s + i, n - i, &cp);

		if (!len || cp < 0x20 || cp == 0x7f || unicode_unsafe(cp)) {
			printable = bare = false;
			break;
		}
		if (len > 1 || !shell_safe_byte(s[i]))
			bare = false;
		i += len;
	}
	if (bare) {
		strbuf_add(out, s, n);
		return;
	}
	if (printable) {
		strbuf_addc(out, '\'');
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '\'')
				strbuf_adds(out, "'\\''");
			else
				strbuf_addc(out, (char)s[i]);
		}
		strbuf_addc(out, '\'');
		return;
	}
	strbuf_adds(out, "$'");
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_decode(s + i, n - i, &cp);

		if (!len) {
			strbuf_addf(out, "\\x%02x", s[i]);
			i++;
			continue;
		}
		if (cp == '\\' || cp == '\'')
			strbuf_addf(out, "\\%c", (char)cp);
		else if (cp < 0x20 || cp == 0x7f)
			strbuf_addf(out, "\\x%02x", (unsigned)cp);
		else if (unicode_unsafe(cp))
			strbuf_addf(out, "\\u%04x", (unsigned)cp);
		else
			strbuf_add(out, s + i, len);
		i += len;
	}
	strbuf_addc(out, '\'');
}

static void indent(struct strbuf *out, int depth)
{
	strbuf_addc(out, '\n');
	for (int i = 0; i < depth; i++)
		strbuf_adds(out, "  ");
}

/*
 * Reprints a JSON text (valid: the store checks it), compact or with a 2-space indent. String
 * contents are copied escape for escape; raw control bytes, unsafe code points and invalid
 * UTF-8 inside strings become \u escapes (invalid bytes \ufffd), which JSON reads back as the
 * same characters, so the result is the same JSON value and is safe on a terminal.
 */
static void json_for_terminal(struct strbuf *out, const char *json, bool pretty)
{
	const unsigned char *s = (const unsigned char *)json;
	size_t n = strlen(json);
	bool in_string = false;
	int depth = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (in_string) {
			uint32_t cp;
			size_t len;

			if (c == '\\' && i + 1 < n && s[i + 1] >= 0x20 && s[i + 1] < 0x7f) {
				strbuf_add(out, s + i, 2);
				i++;
			} else if (c == '"') {
				strbuf_addc(out, '"');
				in_string = false;
			} else if (c < 0x20 || c == 0x7f || c == '\\') {
				strbuf_addf(out, "\\u%04x", c);
			} else if (c < 0x80) {
				strbuf_addc(out, (char)c);
			} else if (!(len = utf8_decode(s + i, n - i, &cp))) {
				strbuf_adds(out, "\\ufffd");
			} else {
				if (unicode_unsafe(cp))
					strbuf_addf(out, "\\u%04x", (unsigned)cp);
				else
					strbuf_add(out, s + i, len);
				i += len - 1;
			}
			continue;
		}
		switch (c) {
		case '"':
			in_string = true;
			strbuf_addc(out, '"');
			break;
		case '{':
		case '[': {
			size_t j = i + 1;

			while (j < n && strchr(" \t\r\n", s[j]))
				j++;
			strbuf_addc(out, (char)c);
			if (j < n && s[j] == (c == '{' ? '}' : ']')) {
				strbuf_addc(out, (char)s[j]);
				i = j;
			} else {
				depth++;
				if (pretty)
					indent(out, depth);
			}
			break;
		}
		case '}':
		case ']':
			depth--;
			if (pretty)
				indent(out, depth);
			strbuf_addc(out, (char)c);
			break;
		case ',':
			strbuf_addc(out, ',');
			if (pretty)
				indent(out, depth);
			break;
		case ':':
			strbuf_adds(out, pretty ? ": " : ":");
			break;
		default:
			/* Numbers and literals; whitespace (and anything else) is dropped. */
			if (c > 0x20 && c < 0x7f)
				strbuf_addc(out, (char)c);
		}
	}
}

void print_json_line(const char *json)
{
	struct strbuf sb = STRBUF_INIT;

	json_for_terminal(&sb, json, false);
	printf("%s\n", strbuf_str(&sb));
	strbuf_release(&sb);
}

/* Display columns of UTF-8 text (one per code point: escapes already made it plain). */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* Byte offset of the code point that starts column `col` of s. */
static size_t column_offset(const char *s, size_t col)
{
	size_t i = 0;

	for (size_t w = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && w++ == col)
			break;
	}
	return i;
}

/* An escaped table cell of at most max columns (0: any); "…" marks a cut. */
static char *cell(const char *value, size_t max, enum keep keep)
{
	struct strbuf esc = STRBUF_INIT, out = STRBUF_INIT;
	const char *e;
	size_t w;

	term_escape_str(&esc, value && value[0] ? value : "-");
	e = strbuf_str(&esc);
	w = text_width(e);
	if (max && w > max) {
		if (keep == KEEP_END) {
			strbuf_adds(&out, "\u2026");
			strbuf_adds(&out, e + column_offset(e, w - max + 1));
		} else if (keep == KEEP_ENDS) {
			size_t head = (max - 1) / 2;

			strbuf_add(&out, e, column_offset(e, head));
			strbuf_adds(&out, "\u2026");
			strbuf_adds(&out, e + column_offset(e, w - (max - 1 - head)));
		} else {
			strbuf_add(&out, e, column_offset(e, max - 1));
			strbuf_adds(&out, "\u2026");
		}
		strbuf_release(&esc);
		return strbuf_detach(&out);
	}
	return strbuf_detach(&esc);
}

/* ---- Tables ---------------------------------------------------------------------------- */

static void table_add(struct table *t, char **row)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		char **cells = realloc(t->cells, cap * t->ncols * sizeof(*cells));

		if (!cells) {
			t->err = -ENOMEM;
			for (size_t c = 0; c < t->ncols; c++)
				free(row[c]);
			return;
		}
		t->cells = cells;
		t->cap = cap;
	}
	memcpy(t->cells + t->nrows * t->ncols, row, t->ncols * sizeof(*row));
	t->nrows++;
}

static void print_padded(const char *s, size_t width, bool last)
{
	fputs(s, stdout);
	if (last) {
		putchar('\n');
		return;
	}
	for (size_t w = text_width(s); w < width + 2; w++)
		putchar(' ');
}

static void table_print(const struct table *t)
{
	size_t width[MAX_COLUMNS] = { 0 };

	for (size_t c = 0; c < t->ncols; c++) {
		width[c] = text_width(t->headers[c]);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t w = text_width(t->cells[r * t->ncols + c]);

			width[c] = w > width[c] ? w : width[c];
		}
	}
	for (size_t c = 0; c < t->ncols; c++)
		print_padded(t->headers[c], width[c], c + 1 == t->ncols);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++)
			print_padded(t->cells[r * t->ncols + c], width[c], c + 1 == t->ncols);
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

/* "2026-11-27T15:22:29Z" */
static void format_time(int64_t ns, char out[32])
{
	time_t sec = (time_t)(ns / NS_PER_SEC);
	struct tm tm;

	if (!gmtime_r(&sec, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "?");
}

/* "+2m13s", "-45s", "+350ms", "+1h0m5s" */
static void format_offset(int64_t ns, char out[48])
{
	char sign = ns < 0 ? '-' : '+';
	uint64_t a = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;
	uint64_t sec = a / NS_PER_SEC;
	size_t off = 0;

	if (sec == 0) {
		snprintf(out, 48, "%c%llums", sign, (unsigned long long)(a / 1000000));
		if (a / 1000000 == 0)
			snprintf(out, 48, "%c0s", sign);
		return;
	}
	off += snprintf(out + off, 48 - off, "%c", sign);
	if (sec >= 86400)
		off += snprintf(out + off, 48 - off, "%llud", (unsigned long long)(sec / 86400));
	if (sec >= 3600)
		off += snprintf(out + off, 48 - off, "%lluh",
				(unsigned long long)(sec % 86400 / 3600));
	if (sec >= 60)
		off +=
		    snprintf(out + off, 48 - off, "%llum", (unsigned long long)(sec % 3600 / 60));
	snprintf(out + off, 48 - off, "%llus", (unsigned long long)(sec % 60));
}

/* "Execution: Suspicious OpenSSL Shared Object Loaded" -> without its tactic, for tables. */
static const char *short_category(const char *category)
{
	const char *colon = strstr(category, ": ");

	return colon && colon[2] ? colon + 2 : category;
}

static bool is_muted(const struct store_row *r)
{
	return strcmp(r->mute, "MUTED") == 0;
}

/* ---- list and related ------------------------------------------------------------------ */

static char *severity_cell(const struct store_row *r)
{
	struct strbuf sb = STRBUF_INIT;

	term_escape_str(&sb, r->severity[0] ? r->severity : "-");
	if (strcmp(r->state, "ACTIVE"))
		strbuf_adds(&sb, ", inactive");
	if (is_muted(r))
		strbuf_adds(&sb, ", muted");
	return strbuf_detach(&sb);
}

char *container_cell(const struct store_row *r)
{
	char id[SHORT_CONTAINER_LEN + 1];

	if (r->container_name[0])
		return cell(r->container_name, 24, KEEP_START);
	if (r->container_id[0]) {
		snprintf(id, sizeof(id), "%s", r->container_id);
		return cell(id, 0, KEEP_START);
	}
	return strdup("(host)"); /* a container may well be named "host" */
}

int rows_add(const struct store_row *r, void *ctx)
{
	struct rows *rc = ctx;
	char *cells[MAX_COLUMNS];
	char buf[48], id[SHORT_ID_LEN + 1];
	size_t n = 0;

	rc->matched++;
	if (is_muted(r) && !rc->all) {
		rc->hidden++;
		return 0;
	}
	if (rc->json) {
		print_json_line(r->json);
		return 0;
	}
	if (rc->offsets) {
		format_offset(r->event_time_ns - rc->ref_ns, buf);
		cells[n++] = strdup(buf);
	}
	snprintf(id, sizeof(id), "%s", r->id);
	cells[n++] = cell(id, 0, KEEP_START);
	format_time(r->event_time_ns, buf);
	cells[n++] = strdup(buf);
	cells[n++] = cell(r->host, 24, KEEP_ENDS);
	cells[n++] = severity_cell(r);
	cells[n++] = cell(short_category(r->category), 40, KEEP_START);
	cells[n++] = container_cell(r);
	cells[n++] = cell(r->binary_path, 32, KEEP_END);
	cells[n++] = cell(r->module_path, 48, KEEP_END);
	for (size_t i = 0; i < n; i++) {
		if (!cells[i]) {
			for (size_t j = 0; j < n; j++)
				free(cells[j]);
			rc->table.err = -ENOMEM;
			return -ENOMEM;
		}
	}
	table_add(&rc->table, cells);
	return rc->table.err;
}

void rows_init(struct rows *rc, bool offsets, bool all, bool json)
{
	static const char *const headers[] = { "ID",	   "TIME",	"HOST",	  "SEVERITY",
					       "CATEGORY", "CONTAINER", "BINARY", "MODULE" };
	size_t n = 0;

	memset(rc, 0, sizeof(*rc));
	rc->offsets = offsets;
	rc->all = all;
	rc->json = json;
	if (offsets)
		rc->table.headers[n++] = "OFFSET";
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		rc->table.headers[n++] = headers[i];
	rc->table.ncols = n;
}

void rows_print_hidden(const struct rows *rc)
{
	if (rc->hidden)
		printf("; %zu of them muted and hidden (--all shows them)", rc->hidden);
	printf("\n");
}

void rows_print(const struct rows *rc)
{
	if (rc->table.nrows)
		table_print(&rc->table);
}

void rows_free(struct rows *rc)
{
	table_free(&rc->table);
}

/* ---- show ------------------------------------------------------------------------------ */

/* The value at path, or NULL (absent, null, or not a scalar). */
static char *jget(const struct show *sh, const char *path, size_t *ret_len)
{
	char *v = NULL;
	size_t len = 0;

	if (store_json_get(sh->s, sh->json, path, &v, &len)) {
		free(v);
		v = NULL;
	}
	if (ret_len)
		*ret_len = len;
	return v;
}

static bool jexists(const struct show *sh, const char *path)
{
	char *v = NULL;
	int err = store_json_get(sh->s, sh->json, path, &v, NULL);

	free(v);
	return err != -ENOENT;
}

static void section(const char *title)
{
	printf("\n%s\n", title);
}

/* "  label          value": value escaped, "-" when missing. */
static void field_n(const char *label, const char *value, size_t len)
{
	struct strbuf sb = STRBUF_INIT;

	if (value && len)
		term_escape(&sb, value, len);
	else
		strbuf_addc(&sb, '-');
	printf("  %-16s %s\n", label, strbuf_str(&sb));
	strbuf_release(&sb);
}

static void field(const char *label, const char *value)
{
	field_n(label, value, value ? strlen(value) : 0);
}

static void field_json(const struct show *sh, const char *label, const char *path)
{
	size_t len;
	char *v = jget(sh, path, &len);

	field_n(label, v, len);
	free(v);
}

/* Fields that exist only sometimes: printed only when present. */
static void field_json_opt(const struct show *sh, const char *label, const char *path)
{
	size_t len;
	char *v = jget(sh, path, &len);

	if (v)
		field_n(label, v, len);
	free(v);
}

static int join_quoted(const char *value, size_t len, void *ctx)
{
	struct strbuf *sb = ctx;

	if (sb->len)
		strbuf_addc(sb, ' ');
	shell_quote(sb, value, len);
	return 0;
}

static int join_plain(const char *value, size_t len, void *ctx)
{
	struct strbuf *sb = ctx;

	if (sb->len)
		strbuf_adds(sb, ", ");
	term_escape(sb, value, len);
	return 0;
}

/* An array of strings on one line, already escaped by fn. */
static void field_array(const struct show *sh, const char *label, const char *path,
			int (*fn)(const char *, size_t, void *), const char *suffix)
{
	struct strbuf sb = STRBUF_INIT;

	store_json_each(sh->s, sh->json, path, fn, &sb);
	printf("  %-16s %s%s\n", label, sb.len ? strbuf_str(&sb) : "-", sb.len ? suffix : "");
	strbuf_release(&sb);
}

/* Is there a value at path (a scalar, an array or an object)? */
static bool jget_exists(const struct show *sh, const char *path)
{
	char *v = NULL;
	size_t len = 0;
	int err = store_json_get(sh->s, sh->json, path, &v, &len);

	free(v);
	return err == 0 || err == -EINVAL;
}

static bool jtrue(const struct show *sh, const char *path)
{
	char *v = jget(sh, path, NULL);
	bool t = v && !strcmp(v, "true");

	free(v);
	return t;
}

static void show_detected(const struct show *sh, const struct store_row *r)
{
	char state[64];

	section("What was detected");
	field("category", r->category);
	field("severity", r->severity);
	snprintf(state, sizeof(state), "%s%s", r->state, is_muted(r) ? ", muted" : "");
	field("state", state);
	field_json(sh, "event time", "$.finding.eventTime");
	field_json(sh, "reported", "$.finding.createTime");
	field_json_opt(sh, "MITRE tactic", "$.finding.mitreAttack.primaryTactic");
	field_array(sh, "MITRE technique", "$.finding.mitreAttack.primaryTechniques", join_plain,
		    "");
}

static void show_program(const struct show *sh)
{
	section("Program binary");
	field_json(sh, "path", "$.finding.processes[0].binary.path");
	field_json(sh, "sha256", "$.finding.processes[0].binary.sha256");
	if (jtrue(sh, "$.finding.processes[0].binary.partiallyHashed"))
		field("hashed", "first 64 MiB only (partially hashed)");

	section("Arguments");
	field_array(sh, "command line", "$.finding.processes[0].args", join_quoted,
		    jtrue(sh, "$.finding.processes[0].argumentsTruncated") ? " [truncated]" : "");
	if (jexists(sh, "$.finding.processes[0].envVariables[0]")) {
		struct strbuf env = STRBUF_INIT;

		for (int i = 0; i < 64; i++) {
			char path[96];
			size_t nlen, vlen;
			char *name, *val;
			struct strbuf pair = STRBUF_INIT;

			snprintf(path, sizeof(path), "$.finding.processes[0].envVariables[%d].name",
				 i);
			name = jget(sh, path, &nlen);
			snprintf(path, sizeof(path), "$.finding.processes[0].envVariables[%d].val",
				 i);
			val = jget(sh, path, &vlen);
			if (name) {
				strbuf_add(&pair, name, nlen);
				strbuf_addc(&pair, '=');
				if (val)
					strbuf_add(&pair, val, vlen);
				join_quoted(pair.buf, pair.len, &env);
			}
			strbuf_release(&pair);
			free(name);
			free(val);
			if (!name)
				break;
		}
		printf("  %-16s %s\n", "environment", strbuf_str(&env));
		strbuf_release(&env);
	}
}

static void show_module(const struct show *sh)
{
	const char *sp = "$.finding.sourceProperties";
	char path[96], *requested, *origin, *loaded;
	size_t rlen, olen;

	if (!jexists(sh, "$.finding.processes[0].libraries[0]") &&
	    !jexists(sh, "$.finding.sourceProperties.modulePath"))
		return;
	section("Module");
	if (jexists(sh, "$.finding.processes[0].libraries[0].path"))
		field_json(sh, "path", "$.finding.processes[0].libraries[0].path");
	else
		field_json(sh, "path", "$.finding.sourceProperties.modulePath");
	field_json(sh, "sha256", "$.finding.processes[0].libraries[0].sha256");

	snprintf(path, sizeof(path), "%s.requestedModule", sp);
	requested = jget(sh, path, &rlen);
	snprintf(path, sizeof(path), "%s.requestOrigin", sp);
	origin = jget(sh, path, &olen);
	if (requested) {
		struct strbuf sb = STRBUF_INIT;

		term_escape(&sb, requested, rlen);
		if (origin) {
			strbuf_adds(&sb, " (through ");
			term_escape(&sb, origin, olen);
			strbuf_addc(&sb, ')');
		}
		printf("  %-16s %s\n", "requested name", strbuf_str(&sb));
		strbuf_release(&sb);
	} else {
		field("requested name", "none seen (the module was only seen being mapped)");
	}
	free(requested);
	free(origin);

	snprintf(path, sizeof(path), "%s.moduleKind", sp);
	field_json_opt(sh, "kind", path);
	snprintf(path, sizeof(path), "%s.loaded", sp);
	loaded = jget(sh, path, NULL);
	if (!loaded)
		field("loaded", NULL);
	else if (!strcmp(loaded, "true"))
		field("loaded", "yes: its code was mapped executable");
	else
		field("loaded", "no: it was asked for, but its code was never mapped");
	free(loaded);
	snprintf(path, sizeof(path), "%s.moduleDeleted", sp);
	if (jtrue(sh, path))
		field("file", "deleted: no name left in the file system");
	snprintf(path, sizeof(path), "%s.moduleMemfd", sp);
	if (jtrue(sh, path))
		field("file", "an anonymous memory file (memfd)");
	snprintf(path, sizeof(path), "%s.addedReasons", sp);
	if (jget_exists(sh, path)) {
		/* Added Library Loaded: why the library is not the image's */
		field_array(sh, "why added", path, join_plain, "");
		return;
	}
	snprintf(path, sizeof(path), "%s.detectionLayers", sp);
	field_array(sh, "seen by", path, join_plain, "");
	snprintf(path, sizeof(path), "%s.trustReason", sp);
	field_json(sh, "why not trusted", path);
}

static void show_processes(const struct show *sh)
{
	static const char *const keys[] = { "pid", "userId", "name", "binary.path" };
	static const char *const headers[] = { "PID", "UID", "NAME", "BINARY" };
	enum { NKEYS = sizeof(keys) / sizeof(keys[0]) };
	struct strbuf rows[MAX_PROCESSES][NKEYS];
	size_t width[NKEYS] = { 0 }, n = 0;

	section("Process and its parents (the loading process first)");
	for (int k = 0; k < NKEYS; k++)
		width[k] = strlen(headers[k]);
	for (; n < MAX_PROCESSES; n++) {
		char path[96];

		snprintf(path, sizeof(path), "$.finding.processes[%zu]", n);
		if (!jexists(sh, path))
			break;
		for (int k = 0; k < NKEYS; k++) {
			size_t len, w;
			char *v;

			snprintf(path, sizeof(path), "$.finding.processes[%zu].%s", n, keys[k]);
			v = jget(sh, path, &len);
			rows[n][k] = (struct strbuf)STRBUF_INIT;
			term_escape(&rows[n][k], v ? v : "-", v ? len : 1);
			free(v);
			w = text_width(strbuf_str(&rows[n][k]));
			width[k] = w > width[k] ? w : width[k];
		}
	}
	if (!n) {
		printf("  -\n");
		return;
	}
	printf("  ");
	for (int k = 0; k < NKEYS; k++)
		print_padded(headers[k], width[k], k + 1 == NKEYS);
	for (size_t i = 0; i < n; i++) {
		printf("  ");
		for (int k = 0; k < NKEYS; k++) {
			print_padded(strbuf_str(&rows[i][k]), width[k], k + 1 == NKEYS);
			strbuf_release(&rows[i][k]);
		}
	}
}

static void show_resource(const struct show *sh, const struct store_row *r)
{
	char *v;
	size_t len;

	section("Affected resource");
	field_json(sh, "name", "$.resource.name");
	field_json(sh, "project", "$.resource.project_display_name");
	field_json(sh, "type", "$.resource.type");

	section("Container");
	if (!r->container_id[0]) {
		field("container", "none: the process ran on the host");
		return;
	}
	field("name", r->container_name);
	field("id", r->container_id);
	if (r->image[0]) {
		field("image", r->image);
	} else {
		v = jget(sh, "$.finding.containers[0].uri", &len);
		if (!v)
			v = jget(sh, "$.finding.containers[0].imageId", &len);
		field_n("image", v, len);
		free(v);
	}
	field_json_opt(sh, "image id", "$.finding.containers[0].imageId");
	if (r->pod[0])
		field("pod", r->pod);
	else
		field_json(sh, "pod", "$.finding.kubernetes.pods[0].name");
	if (r->namespace[0])
		field("namespace", r->namespace);
	else
		field_json(sh, "namespace", "$.finding.kubernetes.pods[0].ns");
	field_json(sh, "created", "$.finding.containers[0].createTime");
}

/* sourceProperties.sensorGap in one line: "not watching from T1 to T2 (N s, cause)" */
static void show_sensor_gap(const struct show *sh)
{
	char *from = jget(sh, "$.finding.sourceProperties.sensorGap.from", NULL);
	char *to = jget(sh, "$.finding.sourceProperties.sensorGap.to", NULL);
	char *seconds = jget(sh, "$.finding.sourceProperties.sensorGap.seconds", NULL);
	char *cause = jget(sh, "$.finding.sourceProperties.sensorGap.cause", NULL);
	char *clean = jget(sh, "$.finding.sourceProperties.sensorGap.cleanStop", NULL);
	struct strbuf line = STRBUF_INIT;

	strbuf_addf(&line, "not watching from %s to %s (%s s, %s%s)", from ? from : "?",
		    to ? to : "?", seconds ? seconds : "?", cause ? cause : "?",
		    !clean		    ? ""
		    : strcmp(clean, "true") ? ": ended without a clean stop (killed or crashed?)"
					    : ": stopped");
	field("sensor gap", strbuf_str(&line));
	strbuf_release(&line);
	free(from);
	free(to);
	free(seconds);
	free(cause);
	free(clean);
}

static void show_sensor(const struct show *sh, const struct store_row *r)
{
	char *drops = jget(sh, "$.finding.sourceProperties.eventDrops", NULL);
	bool dropped = drops && strcmp(drops, "0");
	bool gap = jget_exists(sh, "$.finding.sourceProperties.sensorGap");
	struct strbuf cmd = STRBUF_INIT;

	if (dropped || gap)
		section("Sensor");
	if (dropped) {
		field("events dropped", drops);
		field("note", "the sensor had lost events: layers or parents may be missing");
	}
	if (gap)
		show_sensor_gap(sh);
	free(drops);

	strbuf_adds(&cmd, "sowatch findings related ");
	strbuf_add(&cmd, r->id, strlen(r->id) < SHORT_ID_LEN ? strlen(r->id) : SHORT_ID_LEN);
	if (strcmp(sh->db, STORE_DEFAULT_PATH)) {
		strbuf_adds(&cmd, " --db ");
		shell_quote(&cmd, sh->db, strlen(sh->db));
	}
	section("Next");
	/* The id is ours (hex), the path was quoted: safe as it is. */
	printf("  %-16s %s\n", "related", strbuf_str(&cmd));
	strbuf_release(&cmd);
}

int show_row(const struct store_row *r, void *ctx)
{
	struct show *sh = ctx;
	struct strbuf sb = STRBUF_INIT;

	sh->json = r->json;
	if (sh->print_json) {
		print_json_line(r->json);
		return 0;
	}
	term_escape_str(&sb, r->id);
	printf("Finding %s\n", strbuf_str(&sb));
	strbuf_release(&sb);
	field_json(sh, "name", "$.finding.name");
	/* First: in a fleet's store, which node to go to */
	field("host", r->host);
	show_detected(sh, r);
	show_program(sh);
	show_module(sh);
	show_processes(sh);
	show_resource(sh, r);
	show_container_settings(r->json);
	show_sensor(sh, r);

	printf("\nJSON:\n");
	json_for_terminal(&sb, r->json, true);
	printf("%s\n", strbuf_str(&sb));
	strbuf_release(&sb);
	return 0;
}

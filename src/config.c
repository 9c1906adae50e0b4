// SPDX-License-Identifier: Apache-2.0
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "config_checks.h"
#include "util/log.h"

#define MAX_CONFIG_BYTES (1 << 20)
#define MESSAGE_MAX	 (PATH_MAX + 512)

/* The last error, escaped: each byte of the file's text may take four (\xNN). */
static char error_buf[4 * MESSAGE_MAX];

enum key_kind {
	KEY_TEXT,    /* text, into a char array */
	KEY_NUMBER,  /* a whole number in [min, max], into an int */
	KEY_SECTION, /* a mapping of keys of its own, the section "<section>.<key>" */
	KEY_HEADERS, /* a mapping of HTTP header names to values (outputs.webhook.headers) */
	KEY_SERVERS, /* NATS servers: a list of URLs, or one; offset: a struct config_nats */
};

struct config_key {
	const char *section;
	const char *key;
	enum key_kind kind;
	size_t offset; /* into struct config */
	size_t size;
	const char *const *choices; /* KEY_TEXT: NULL-terminated; NULL: any text */
	value_check check;	    /* KEY_TEXT: NULL: none */
	int min, max;		    /* KEY_NUMBER */
	/* KEY_SECTION: marks it present and sets its defaults; then checks it as a whole */
	void (*begin)(struct config *cfg, int line);
	int (*end)(struct config *cfg, const char *name, const yaml_mark_t *mark);
};

#define FIELD(field)                                                                               \
	.offset = offsetof(struct config, field), .size = sizeof(((struct config *)0)->field)
/* A text value at cfg.field; choices: its allowed values (NULL: any) */
#define KEY(s, k, field, list)                                                                     \
	{                                                                                          \
		.section = s, .key = k, .kind = KEY_TEXT, FIELD(field), .choices = list            \
	}
/* A text value at cfg.field that check() accepts */
#define CHECKED(s, k, field, fn)                                                                   \
	{                                                                                          \
		.section = s, .key = k, .kind = KEY_TEXT, FIELD(field), .check = fn                \
	}
#define NUMBER(s, k, field, lo, hi)                                                                \
	{                                                                                          \
		.section = s, .key = k, .kind = KEY_NUMBER, FIELD(field), .min = lo, .max = hi     \
	}
#define SECTION(s, k, on_begin, on_end)                                                            \
	{                                                                                          \
		.section = s, .key = k, .kind = KEY_SECTION, .begin = on_begin, .end = on_end      \
	}
#define RES(field) KEY("resource", #field, resource.field, NULL)
/* The keys outputs.nats and collect share, into cfg.member, a struct config_nats */
#define NATS_KEYS(s, member)                                                                       \
	{ .section = s, .key = "servers", .kind = KEY_SERVERS, FIELD(member) },                    \
	    CHECKED(s, "subject_prefix", member.subject_prefix, check_nats_subject_prefix),        \
	    CHECKED(s, "stream", member.stream, check_nats_name),                                  \
	    CHECKED(s, "creds_file", member.creds_file, check_creds_file),                         \
	    CHECKED(s, "user", member.user, check_nats_user),                                      \
	    CHECKED(s, "password_file", member.password_file, check_password_file),                \
	    CHECKED(s, "ca_file", member.ca_file, check_ca_file),                                  \
	    CHECKED(s, "inbox_prefix", member.inbox_prefix, check_nats_subject_prefix)

static const char *const enforce_modes[] = { "off", "kill", NULL };
static const char *const enforce_wheres[] = { "all", "containers", "host", NULL };
static const char *const enforce_severities[] = { "critical", "low", NULL };
/* RFC 5424's facilities, by code: 0 to 11, then local0 to local7 as 16 to 23 */
static const char *const facilities[] = { "kern",     "user",	"mail",	  "daemon", "auth",
					  "syslog",   "lpr",	"news",	  "uucp",   "cron",
					  "authpriv", "ftp",	"local0", "local1", "local2",
					  "local3",   "local4", "local5", "local6", "local7",
					  NULL };
#define FACILITY_LOCAL0 12 /* its index in facilities[]; its code is 16 */

static void webhook_begin(struct config *cfg, int line);
static int webhook_end(struct config *cfg, const char *name, const yaml_mark_t *mark);
static void syslog_begin(struct config *cfg, int line);
static int syslog_end(struct config *cfg, const char *name, const yaml_mark_t *mark);
static void nats_begin(struct config *cfg, int line);
static int nats_end(struct config *cfg, const char *name, const yaml_mark_t *mark);
static void scc_begin(struct config *cfg, int line);
static int scc_end(struct config *cfg, const char *name, const yaml_mark_t *mark);
static void collect_begin(struct config *cfg, int line);
static int collect_end(struct config *cfg, const char *name, const yaml_mark_t *mark);

static const struct config_key keys[] = {
	/* project and source become segments of finding.name */
	CHECKED("resource", "project", resource.project, check_name_segment),
	CHECKED("resource", "source", resource.source, check_name_segment),
	RES(name),
	RES(type),
	RES(project_display_name),
	KEY("outputs", "jsonl", jsonl_path, NULL),
	SECTION("outputs", "webhook", webhook_begin, webhook_end),
	CHECKED("outputs.webhook", "url", webhook.url, check_url),
	CHECKED("outputs.webhook", "ca_file", webhook.ca_file, check_ca_file),
	CHECKED("outputs.webhook", "bearer_token_file", webhook.bearer_token_file,
		check_token_file),
	{ .section = "outputs.webhook", .key = "headers", .kind = KEY_HEADERS },
	NUMBER("outputs.webhook", "timeout_ms", webhook.timeout_ms, 100, 600000),
	SECTION("outputs", "syslog", syslog_begin, syslog_end),
	CHECKED("outputs.syslog", "address", syslog.address, check_syslog_address),
	KEY("outputs.syslog", "facility", syslog.facility, facilities),
	SECTION("outputs", "nats", nats_begin, nats_end),
	NATS_KEYS("outputs.nats", nats),
	SECTION("outputs", "scc", scc_begin, scc_end),
	CHECKED("outputs.scc", "organization", scc.organization, check_scc_number),
	CHECKED("outputs.scc", "source", scc.source, check_scc_source),
	CHECKED("outputs.scc", "location", scc.location, check_scc_location),
	CHECKED("outputs.scc", "credentials", scc.credentials, check_scc_credentials),
	CHECKED("outputs.scc", "endpoint", scc.endpoint, check_https_url),
	CHECKED("outputs.scc", "token_uri", scc.token_uri, check_https_url),
	CHECKED("outputs.scc", "ca_file", scc.ca_file, check_ca_file),
	/* A top-level section with keys of its own, defaults and checks: under the root, "" */
	SECTION("", "collect", collect_begin, collect_end),
	NATS_KEYS("collect", collect),
	CHECKED("collect", "durable", collect.durable, check_nats_name),
	KEY("store", "path", store_path, NULL),
	NUMBER("store", "retention_days", retention_days, 1, 36500),
	CHECKED("metrics", "listen", metrics_listen, check_listen),
	KEY("enforce", "mode", enforce_mode, enforce_modes),
	KEY("enforce", "where", enforce_where, enforce_wheres),
	KEY("enforce", "severity", enforce_severity, enforce_severities),
	{ 0 },
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

const char *const rule_field_names[RULE_FIELDS] = {
	[RULE_MODULE_PATH] = "module_path",
	[RULE_MODULE_SHA256] = "module_sha256",
	[RULE_IMAGE] = "image",
	[RULE_CONTAINER] = "container",
	[RULE_NAMESPACE] = "namespace",
	[RULE_CATEGORY] = "category",
};

/* The top-level sections: each may be given once. */
static const char *const sections[] = { "resource", "outputs", "store", "metrics",
					"enforce",  "allow",   "mute",	"collect" };
#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

#define MAX_RULES 4096

/*
 * Set the message ret_error will point to. It quotes the file's name and text, so it is
 * escaped as log lines are: a newline or an escape sequence in the file must neither split
 * the one-line message nor reach the terminal.
 */
__attribute__((format(printf, 1, 2))) static void error_set(const char *fmt, ...)
{
	char raw[MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	log_escape(raw, error_buf, sizeof(error_buf));
}

/* "<file>:<line>: <what> '<key>': <why>"; key and why may be NULL, why may be "" */
static int fail_why(const char *name, const yaml_mark_t *mark, const char *what, const char *key,
		    const char *why)
{
	bool has_why = why && why[0];

	error_set("%s:%zu: %s%s%s%s%s%s", name, mark->line + 1, what, key ? " '" : "",
		  key ? key : "", key ? "'" : "", has_why ? ": " : "", has_why ? why : "");
	return -EINVAL;
}

static int fail(const char *name, const yaml_mark_t *mark, const char *what, const char *key)
{
	return fail_why(name, mark, what, key, NULL);
}

/*
 * A mapping key as text, into out. A key with a NUL byte or longer than out is refused: cut
 * short, it could pass for another key ("mode\0x" for "mode").
 */
static int key_text(const yaml_event_t *ev, const char *name, char *out, size_t size)
{
	size_t len = ev->data.scalar.length;

	if (len >= size || memchr(ev->data.scalar.value, '\0', len)) {
		snprintf(out, size, "%.*s", (int)(len < size ? len : size - 1),
			 (const char *)ev->data.scalar.value);
		return fail(name, &ev->start_mark, "key too long or holding a NUL byte:", out);
	}
	memcpy(out, ev->data.scalar.value, len + 1);
	return 0;
}

static const struct config_key *key_find(const char *section, const char *key)
{
	for (const struct config_key *k = keys; k->section; k++)
		if (strcmp(k->section, section) == 0 && strcmp(k->key, key) == 0)
			return k;
	return NULL;
}

static bool is_rule_section(const char *section)
{
	return strcmp(section, "allow") == 0 || strcmp(section, "mute") == 0;
}

/* The section's index in sections[], or -1 for none. */
static int section_index(const char *section)
{
	for (size_t i = 0; i < N_SECTIONS; i++)
		if (strcmp(sections[i], section) == 0)
			return (int)i;
	return -1;
}

/* Next event; a parse error becomes our message. */
static int next(yaml_parser_t *parser, yaml_event_t *ev, const char *name)
{
	size_t line;

	if (yaml_parser_parse(parser, ev))
		return 0;
	line = parser->problem_mark.line + 1;
	/*
	 * The reader (control bytes, bad UTF-8) gives a byte offset, not a mark: counted in the
	 * text, which is always a string here (config_load_string()).
	 */
	if (parser->error == YAML_READER_ERROR) {
		const unsigned char *text = parser->input.string.start;
		size_t end = parser->input.string.end - text;

		line = 1;
		for (size_t i = 0; i < parser->problem_offset && i < end; i++)
			line += text[i] == '\n';
	}
	error_set("%s:%zu: %s", name, line, parser->problem ? parser->problem : "not valid YAML");
	return -EINVAL;
}

static bool one_of(const char *value, const char *const *choices)
{
	for (; *choices; choices++)
		if (strcmp(value, *choices) == 0)
			return true;
	return false;
}

/* "expected a, b or c for" */
static void choices_text(const char *const *choices, char *out, size_t size)
{
	size_t n = snprintf(out, size, "expected");

	for (size_t i = 0; choices[i] && n < size; i++) {
		const char *sep = i == 0 ? " " : choices[i + 1] ? ", " : " or ";

		n += snprintf(out + n, size - n, "%s%s", sep, choices[i]);
	}
	if (n < size)
		snprintf(out + n, size - n, " for");
}

/* ---- Sub-sections ---------------------------------------------------------------------- */

static void webhook_begin(struct config *cfg, int line)
{
	cfg->webhook.enabled = true;
	cfg->webhook.line = line;
	cfg->webhook.timeout_ms = CONFIG_WEBHOOK_TIMEOUT_MS;
}

static int webhook_end(struct config *cfg, const char *name, const yaml_mark_t *mark)
{
	if (!cfg->webhook.url[0])
		return fail(name, mark, "a webhook needs", "outputs.webhook.url");
	return 0;
}

static void syslog_begin(struct config *cfg, int line)
{
	cfg->syslog.enabled = true;
	cfg->syslog.line = line;
	snprintf(cfg->syslog.address, sizeof(cfg->syslog.address), "%s", CONFIG_SYSLOG_ADDRESS);
	snprintf(cfg->syslog.facility, sizeof(cfg->syslog.facility), "%s", CONFIG_SYSLOG_FACILITY);
}

static int syslog_end(struct config *cfg, const char *name, const yaml_mark_t *mark)
{
	for (int i = 0; facilities[i]; i++)
		if (strcmp(facilities[i], cfg->syslog.facility) == 0)
			cfg->syslog.facility_code = i < FACILITY_LOCAL0 ? i : i + 4;
	return 0;
}

static void nats_defaults(struct config_nats *nats, int line)
{
	nats->enabled = true;
	nats->line = line;
	snprintf(nats->subject_prefix, sizeof(nats->subject_prefix), "%s",
		 CONFIG_NATS_SUBJECT_PREFIX);
	snprintf(nats->stream, sizeof(nats->stream), "%s", CONFIG_NATS_STREAM);
}

/*
 * What outputs.nats and collect need as a whole: servers, and one way to log in. The
 * section's line is named: the keys may come in any order.
 */
static int nats_check(const struct config_nats *nats, const char *name, const yaml_mark_t *mark,
		      const char *section, const char *needs)
{
	char servers[64];

	snprintf(servers, sizeof(servers), "%s.servers", section);
	if (!nats->n_servers)
		return fail(name, mark, needs, servers);
	if (nats->creds_file[0] && (nats->user[0] || nats->password_file[0]))
		return fail_why(name, mark, "both creds_file and user/password_file in", section,
				"give one way to log in, not two");
	if (nats->user[0] && !nats->password_file[0])
		return fail_why(name, mark, "user without password_file in", section,
				"the user's password is read from password_file");
	if (nats->password_file[0] && !nats->user[0])
		return fail_why(name, mark, "password_file without user in", section,
				"a password is a user's: give user too");
	return 0;
}

static void nats_begin(struct config *cfg, int line)
{
	nats_defaults(&cfg->nats, line);
}

static int nats_end(struct config *cfg, const char *name, const yaml_mark_t *mark)
{
	return nats_check(&cfg->nats, name, mark, "outputs.nats", "a NATS output needs");
}

static void scc_begin(struct config *cfg, int line)
{
	cfg->scc.enabled = true;
	cfg->scc.line = line;
	snprintf(cfg->scc.location, sizeof(cfg->scc.location), "%s", CONFIG_SCC_LOCATION);
	snprintf(cfg->scc.endpoint, sizeof(cfg->scc.endpoint), "%s", CONFIG_SCC_ENDPOINT);
}

static int scc_end(struct config *cfg, const char *name, const yaml_mark_t *mark)
{
	if (!cfg->scc.organization[0])
		return fail(name, mark, "an SCC output needs", "outputs.scc.organization");
	if (!cfg->scc.source[0])
		return fail_why(name, mark, "an SCC output needs", "outputs.scc.source",
				"a numeric source id, or create");
	if (!cfg->scc.credentials[0])
		return fail_why(name, mark, "an SCC output needs", "outputs.scc.credentials",
				"a service account's key file, or metadata");
	return 0;
}

static void collect_begin(struct config *cfg, int line)
{
	nats_defaults(&cfg->collect, line);
	snprintf(cfg->collect.durable, sizeof(cfg->collect.durable), "%s", CONFIG_NATS_DURABLE);
}

static int collect_end(struct config *cfg, const char *name, const yaml_mark_t *mark)
{
	return nats_check(&cfg->collect, name, mark, "collect", "a collector needs");
}

/* ---- NATS servers ---------------------------------------------------------------------- */

/* One server's URL, from its scalar event ev */
static int server_add(struct config_nats *nats, const char *name, const char *full,
		      const yaml_event_t *ev)
{
	const char *value = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	char why[256] = "";
	const char *problem;

	if (ev->type != YAML_SCALAR_EVENT)
		return fail(name, &ev->start_mark, "expected a URL, not a list or mapping, for",
			    full);
	if (memchr(value, '\0', len) || len >= sizeof(nats->servers[0]))
		return fail(name, &ev->start_mark, "value too long or holding a NUL byte for",
			    full);
	if (nats->n_servers == CONFIG_NATS_SERVERS_MAX) {
		snprintf(why, sizeof(why), "at most %d", CONFIG_NATS_SERVERS_MAX);
		return fail_why(name, &ev->start_mark, "too many servers in", full, why);
	}
	problem = check_nats_server(value, why, sizeof(why));
	if (problem)
		return fail_why(name, &ev->start_mark, problem, full, why);
	memcpy(nats->servers[nats->n_servers++], value, len + 1);
	return 0;
}

/* servers: [URL, ...] as a flow or a block list; one URL alone is a list of one */
static int parse_servers(yaml_parser_t *parser, struct config *cfg, const char *name,
			 const struct config_key *k, const char *full, const yaml_event_t *ev)
{
	struct config_nats *nats = (struct config_nats *)((char *)cfg + k->offset);
	yaml_event_t item;
	int err;

	if (ev->type == YAML_SCALAR_EVENT)
		return server_add(nats, name, full, ev);
	if (ev->type != YAML_SEQUENCE_START_EVENT)
		return fail(name, &ev->start_mark, "expected a URL or a list of URLs for", full);
	for (;;) {
		if ((err = next(parser, &item, name)))
			return err;
		if (item.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&item);
			break;
		}
		err = server_add(nats, name, full, &item);
		yaml_event_delete(&item);
		if (err)
			return err;
	}
	if (!nats->n_servers) {
		char why[64];

		snprintf(why, sizeof(why), "give 1 to %d", CONFIG_NATS_SERVERS_MAX);
		return fail_why(name, &ev->start_mark, "an empty list of servers for", full, why);
	}
	return 0;
}

/* ---- Extra webhook headers ------------------------------------------------------------- */

#define MAX_HEADERS	     64
#define MAX_HEADER_VALUE_LEN 4096

static int header_add(struct config_webhook *wh, const char *header, const char *value)
{
	struct config_header *grown = realloc(wh->headers, (wh->n_headers + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	wh->headers = grown;
	grown[wh->n_headers].name = strdup(header);
	grown[wh->n_headers].value = strdup(value);
	wh->n_headers++; /* config_free() frees what was copied */
	return grown[wh->n_headers - 1].name && grown[wh->n_headers - 1].value ? 0 : -ENOMEM;
}

/* outputs.webhook.headers: { Name: value, ... } */
static int parse_headers(yaml_parser_t *parser, struct config *cfg, const char *name,
			 const char *section)
{
	struct config_webhook *wh = &cfg->webhook;
	yaml_event_t ev;
	int err;

	for (;;) {
		char header[128], full[400];
		const char *problem;
		yaml_mark_t mark;
		const char *value;

		if ((err = next(parser, &ev, name)))
			return err;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		mark = ev.start_mark;
		if (ev.type != YAML_SCALAR_EVENT) {
			yaml_event_delete(&ev);
			return fail(name, &mark, "expected a header name in", section);
		}
		err = key_text(&ev, name, header, sizeof(header));
		yaml_event_delete(&ev);
		if (err)
			return err;
		snprintf(full, sizeof(full), "%s.%s", section, header);
		problem = header_name_problem(wh, header);
		if (problem)
			return fail_why(name, &mark, problem, full,
					strcasecmp(header, "Authorization") == 0
					    ? "give the token in outputs.webhook.bearer_token_file"
					    : NULL);
		if (wh->n_headers == MAX_HEADERS)
			return fail(name, &mark, "too many headers in", section);
		if ((err = next(parser, &ev, name)))
			return err;
		mark = ev.start_mark;
		value = (const char *)ev.data.scalar.value;
		problem = NULL;
		if (ev.type != YAML_SCALAR_EVENT || ev.data.scalar.length == 0)
			problem = "expected a non-empty text value for";
		else if (ev.data.scalar.length > MAX_HEADER_VALUE_LEN ||
			 memchr(value, '\0', ev.data.scalar.length))
			problem = "value too long or holding a NUL byte for";
		else if (has_control_byte(value))
			problem = "must hold no control bytes (CR, LF, tab...):";
		err = problem ? fail(name, &mark, problem, full) : header_add(wh, header, value);
		yaml_event_delete(&ev);
		if (err)
			return err;
	}
}

/* ---- Sections -------------------------------------------------------------------------- */

/* A text or number value, from its scalar event ev */
static int set_value(struct config *cfg, const char *name, const struct config_key *k,
		     const char *full, const yaml_event_t *ev)
{
	const char *value = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	char what[256], why[PATH_MAX + 128] = "";
	const char *problem;
	int number;

	if (ev->type != YAML_SCALAR_EVENT)
		return fail(name, &ev->start_mark,
			    "expected a text value, not a list or mapping, for", full);
	if (memchr(value, '\0', len) || (k->kind == KEY_TEXT && len >= k->size))
		return fail(name, &ev->start_mark, "value too long or holding a NUL byte for",
			    full);
	if (k->kind == KEY_NUMBER) {
		if (!whole_number(value, k->min, k->max, &number)) {
			snprintf(what, sizeof(what), "expected a whole number from %d to %d for",
				 k->min, k->max);
			return fail(name, &ev->start_mark, what, full);
		}
		*(int *)((char *)cfg + k->offset) = number;
		return 0;
	}
	if (k->choices && !one_of(value, k->choices)) {
		choices_text(k->choices, what, sizeof(what));
		return fail(name, &ev->start_mark, what, full);
	}
	problem = k->check ? k->check(value, why, sizeof(why)) : NULL;
	if (problem)
		return fail_why(name, &ev->start_mark, problem, full, why);
	memcpy((char *)cfg + k->offset, value, len + 1);
	return 0;
}

static int parse_section(yaml_parser_t *parser, struct config *cfg, const char *name,
			 const char *section);

/*
 * A key whose value is a mapping, from its first event ev. An empty value ("syslog:" alone)
 * counts as an empty mapping: the section is there, with its defaults.
 */
static int parse_mapping(yaml_parser_t *parser, struct config *cfg, const char *name,
			 const struct config_key *k, const char *full, const yaml_mark_t *key_mark,
			 const yaml_event_t *ev)
{
	bool empty = ev->type == YAML_SCALAR_EVENT && ev->data.scalar.length == 0 &&
		     ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	int err = 0;

	if (ev->type != YAML_MAPPING_START_EVENT && !empty)
		return fail(name, &ev->start_mark, "expected a mapping under", full);
	if (k->kind == KEY_HEADERS)
		return empty ? 0 : parse_headers(parser, cfg, name, full);
	k->begin(cfg, (int)key_mark->line + 1);
	if (!empty)
		err = parse_section(parser, cfg, name, full);
	return err ? err : k->end(cfg, name, key_mark);
}

/* Why a key that is not known here is refused, when it belongs elsewhere; NULL: no more to say */
static const char *unknown_key_hint(const char *full)
{
	if (strcmp(full, "outputs.nats.durable") == 0)
		return "a node only publishes; the durable consumer is collect.durable";
	return NULL;
}

/* section: { key: value, ... } */
static int parse_section(yaml_parser_t *parser, struct config *cfg, const char *name,
			 const char *section)
{
	bool given[N_KEYS] = { false };
	yaml_event_t ev;
	int err;

	for (;;) {
		const struct config_key *k;
		char key[128], full[256];
		yaml_mark_t mark;

		if ((err = next(parser, &ev, name)))
			return err;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (ev.type != YAML_SCALAR_EVENT) {
			err = fail(name, &ev.start_mark, "expected a key in section", section);
			yaml_event_delete(&ev);
			return err;
		}
		err = key_text(&ev, name, key, sizeof(key));
		mark = ev.start_mark;
		yaml_event_delete(&ev);
		if (err)
			return err;
		snprintf(full, sizeof(full), "%s.%s", section, key);
		k = key_find(section, key);
		if (!k)
			return fail_why(name, &mark, "unknown key", full, unknown_key_hint(full));
		/* Given twice, the last would silently win: "mode: kill ... mode: off" */
		if (given[k - keys])
			return fail(name, &mark, "key given twice:", full);
		given[k - keys] = true;
		if ((err = next(parser, &ev, name)))
			return err;
		if (k->kind == KEY_SECTION || k->kind == KEY_HEADERS)
			err = parse_mapping(parser, cfg, name, k, full, &mark, &ev);
		else if (k->kind == KEY_SERVERS)
			err = parse_servers(parser, cfg, name, k, full, &ev);
		else
			err = set_value(cfg, name, k, full, &ev);
		yaml_event_delete(&ev);
		if (err)
			return err;
	}
}

/* One rule: { field: value, ... } */
static int parse_rule(yaml_parser_t *parser, const char *name, const char *section,
		      struct config_rule *rule)
{
	yaml_event_t ev;
	int err;

	for (;;) {
		char key[64], full[128];
		yaml_mark_t mark;
		int f;

		if ((err = next(parser, &ev, name)))
			return err;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		mark = ev.start_mark;
		if (ev.type != YAML_SCALAR_EVENT) {
			err = fail(name, &mark, "expected a field name in a rule of", section);
			yaml_event_delete(&ev);
			return err;
		}
		err = key_text(&ev, name, key, sizeof(key));
		yaml_event_delete(&ev);
		if (err)
			return err;
		snprintf(full, sizeof(full), "%s.%s", section, key);
		for (f = 0; f < RULE_FIELDS && strcmp(rule_field_names[f], key) != 0; f++)
			;
		if (f == RULE_FIELDS)
			return fail(name, &mark, "unknown key", full);
		if (rule->field[f])
			return fail(name, &mark, "key given twice:", full);
		if ((err = next(parser, &ev, name)))
			return err;
		if (ev.type != YAML_SCALAR_EVENT || ev.data.scalar.length == 0 ||
		    memchr(ev.data.scalar.value, '\0', ev.data.scalar.length)) {
			err =
			    fail(name, &ev.start_mark, "expected a non-empty text value for", full);
			yaml_event_delete(&ev);
			return err;
		}
		rule->field[f] = strdup((const char *)ev.data.scalar.value);
		yaml_event_delete(&ev);
		if (!rule->field[f])
			return -ENOMEM;
		if (f == RULE_MODULE_SHA256 && !is_sha256_hex(rule->field[f]))
			return fail(name, &mark, "expected 64 lowercase hex digits for", full);
	}
}

/* allow: / mute: a list of rules */
static int parse_rules(yaml_parser_t *parser, struct config *cfg, const char *name,
		       const char *section)
{
	bool allow = strcmp(section, "allow") == 0;
	struct config_rule **list = allow ? &cfg->allow : &cfg->mute;
	size_t *n = allow ? &cfg->n_allow : &cfg->n_mute;
	yaml_event_t ev;
	int err;

	for (;;) {
		struct config_rule *grown, *rule;
		yaml_mark_t mark;

		yaml_event_type_t type;

		if ((err = next(parser, &ev, name)))
			return err;
		mark = ev.start_mark;
		type = ev.type;
		yaml_event_delete(&ev); /* clears ev: keep what we need first */
		if (type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (type != YAML_MAPPING_START_EVENT)
			return fail(name, &mark, "expected a rule (a mapping) in", section);
		if (*n == MAX_RULES)
			return fail(name, &mark, "too many rules in", section);
		grown = realloc(*list, (*n + 1) * sizeof(**list));
		if (!grown)
			return -ENOMEM;
		*list = grown;
		rule = &grown[(*n)++];
		memset(rule, 0, sizeof(*rule));
		rule->line = (int)mark.line + 1;
		if ((err = parse_rule(parser, name, section, rule)))
			return err;
		if (allow && (!rule->field[RULE_MODULE_PATH] || !rule->field[RULE_MODULE_SHA256]))
			return fail(name, &mark, "an allow rule needs both module_path and",
				    "module_sha256");
		if (!allow) {
			bool any = false;

			for (int f = 0; f < RULE_FIELDS; f++)
				any |= rule->field[f] != NULL;
			if (!any)
				return fail(name, &mark, "an empty rule would mute everything in",
					    section);
		}
	}
}

static int parse(yaml_parser_t *parser, struct config *cfg, const char *name)
{
	bool given[N_SECTIONS] = { false };
	bool in_root = false, in_document = false;
	yaml_event_t ev;
	int err;

	for (;;) {
		if ((err = next(parser, &ev, name)))
			return err;
		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		case YAML_DOCUMENT_START_EVENT:
			/* A second document ("---") would be read as if it were the first's. */
			if (in_document) {
				err = fail(name, &ev.start_mark,
					   "a second YAML document: the file must hold one", NULL);
				yaml_event_delete(&ev);
				return err;
			}
			in_document = true;
			break;
		case YAML_STREAM_END_EVENT:
			yaml_event_delete(&ev);
			return 0;
		case YAML_MAPPING_START_EVENT:
			if (in_root) {
				err = fail(name, &ev.start_mark, "expected a section name", NULL);
				yaml_event_delete(&ev);
				return err;
			}
			in_root = true;
			break;
		case YAML_MAPPING_END_EVENT:
			in_root = false;
			break;
		case YAML_SCALAR_EVENT: {
			const struct config_key *k;
			char section[64];
			yaml_mark_t mark = ev.start_mark;
			int index;

			if (!in_root) {
				err = fail(
				    name, &mark,
				    "expected sections (resource:, outputs:, store:, metrics:, "
				    "allow:, mute:, enforce:, collect:)",
				    NULL);
				yaml_event_delete(&ev);
				return err;
			}
			err = key_text(&ev, name, section, sizeof(section));
			yaml_event_delete(&ev);
			if (err)
				return err;
			index = section_index(section);
			if (index < 0)
				return fail(name, &mark, "unknown section", section);
			/* Given twice, its keys would merge, the last value winning */
			if (given[index])
				return fail(name, &mark, "section given twice:", section);
			given[index] = true;
			if ((err = next(parser, &ev, name)))
				return err;
			if (is_rule_section(section)) {
				if (ev.type != YAML_SEQUENCE_START_EVENT) {
					err = fail(name, &ev.start_mark,
						   "expected a list of rules under", section);
					yaml_event_delete(&ev);
					return err;
				}
				yaml_event_delete(&ev);
				if ((err = parse_rules(parser, cfg, name, section)))
					return err;
				continue;
			}
			/* A section with defaults and checks of its own (collect:) */
			k = key_find("", section);
			if (k) {
				err = parse_mapping(parser, cfg, name, k, section, &mark, &ev);
				yaml_event_delete(&ev);
				if (err)
					return err;
				continue;
			}
			if (ev.type != YAML_MAPPING_START_EVENT) {
				err =
				    fail(name, &ev.start_mark, "expected a mapping under", section);
				yaml_event_delete(&ev);
				return err;
			}
			yaml_event_delete(&ev);
			if ((err = parse_section(parser, cfg, name, section)))
				return err;
			continue;
		}
		default:
			err = fail(name, &ev.start_mark, "unexpected YAML construct", NULL);
			yaml_event_delete(&ev);
			return err;
		}
		yaml_event_delete(&ev);
	}
}

int config_load_string(struct config *cfg, const char *name, const char *text, size_t len,
		       const char **ret_error)
{
	yaml_parser_t parser;
	int err;

	memset(cfg, 0, sizeof(*cfg));
	finding_resource_defaults(&cfg->resource);
	if (!yaml_parser_initialize(&parser)) {
		*ret_error = "out of memory";
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	err = parse(&parser, cfg, name);
	yaml_parser_delete(&parser);
	if (err == -ENOMEM)
		error_set("%s: out of memory", name);
	if (err) {
		*ret_error = error_buf;
		config_free(cfg);
	}
	return err;
}

static void rules_free(struct config_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (int f = 0; f < RULE_FIELDS; f++)
			free(rules[i].field[f]);
	free(rules);
}

/* Frees what cfg holds and zeroes it; a zeroed struct may be freed again. */
void config_free(struct config *cfg)
{
	rules_free(cfg->allow, cfg->n_allow);
	rules_free(cfg->mute, cfg->n_mute);
	for (size_t i = 0; i < cfg->webhook.n_headers; i++) {
		free(cfg->webhook.headers[i].name);
		free(cfg->webhook.headers[i].value);
	}
	free(cfg->webhook.headers);
	memset(cfg, 0, sizeof(*cfg));
}

/*
 * The file's text, NUL-terminated, into *ret_text (to free). Only a regular file of at most
 * MAX_CONFIG_BYTES is read, and opening never blocks: a directory, a FIFO or a device given
 * as the configuration is refused at once instead of read as empty or waited on. On error
 * the message is in error_buf.
 */
static int config_read(const char *name, char **ret_text, size_t *ret_len)
{
	int fd = open(name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	size_t len = 0;
	struct stat st;
	char *text;
	int err;

	if (fd < 0) {
		err = -errno;
		error_set("%s: %s", name, strerror(-err));
		return err;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		error_set("%s: %s", name, strerror(-err));
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		error_set("%s: %s", name,
			  S_ISDIR(st.st_mode) ? "is a directory, not a configuration file"
					      : "not a regular file");
		goto err_close;
	}
	text = malloc(MAX_CONFIG_BYTES + 1);
	if (!text) {
		err = -ENOMEM;
		error_set("%s: out of memory", name);
		goto err_close;
	}
	/* One byte more than allowed tells a file that is too large, whatever fstat said. */
	while (len <= MAX_CONFIG_BYTES) {
		ssize_t n = read(fd, text + len, MAX_CONFIG_BYTES + 1 - len);

		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			error_set("%s: %s", name, strerror(-err));
			goto err_free;
		}
		len += (size_t)n;
	}
	if (len > MAX_CONFIG_BYTES) {
		err = -EFBIG;
		error_set("%s: larger than 1 MiB", name);
		goto err_free;
	}
	close(fd);
	text[len] = '\0';
	*ret_text = text;
	*ret_len = len;
	return 0;

err_free:
	free(text);
err_close:
	close(fd);
	return err;
}

int config_load(struct config *cfg, const char *path, const char **ret_error)
{
	const char *name = path ? path : CONFIG_DEFAULT_PATH;
	char *text = NULL;
	size_t len = 0;
	int err;

	err = config_read(name, &text, &len);
	if (err == -ENOENT && !path)
		return config_load_string(cfg, name, "", 0, ret_error);
	if (err) {
		memset(cfg, 0, sizeof(*cfg));
		*ret_error = error_buf;
		return err;
	}
	err = config_load_string(cfg, name, text, len, ret_error);
	free(text);
	return err;
}

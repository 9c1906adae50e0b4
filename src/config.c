// SPDX-License-Identifier: Apache-2.0
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#define MAX_CONFIG_BYTES (1 << 20)

static char error_buf[PATH_MAX + 512];

struct config_key {
	const char *section;
	const char *key;
	size_t offset; /* into struct config */
	size_t size;
	const char *const *choices; /* NULL-terminated; NULL: any text */
};

/* A text value at cfg.field; choices: its allowed values (NULL: any) */
#define KEY(section, key, field, choices)                                                          \
	{                                                                                          \
		section, key, offsetof(struct config, field), sizeof(((struct config *)0)->field), \
		    choices                                                                        \
	}
#define RES(field) KEY("resource", #field, resource.field, NULL)

static const char *const enforce_modes[] = { "off", "kill", NULL };
static const char *const enforce_wheres[] = { "all", "containers", "host", NULL };
static const char *const enforce_severities[] = { "critical", "low", NULL };

static const struct config_key keys[] = {
	RES(project),
	RES(source),
	RES(name),
	RES(type),
	RES(project_display_name),
	KEY("outputs", "jsonl", jsonl_path, NULL),
	KEY("store", "path", store_path, NULL),
	KEY("enforce", "mode", enforce_mode, enforce_modes),
	KEY("enforce", "where", enforce_where, enforce_wheres),
	KEY("enforce", "severity", enforce_severity, enforce_severities),
	{ 0 },
};

const char *const rule_field_names[RULE_FIELDS] = {
	[RULE_MODULE_PATH] = "module_path",
	[RULE_MODULE_SHA256] = "module_sha256",
	[RULE_IMAGE] = "image",
	[RULE_CONTAINER] = "container",
	[RULE_NAMESPACE] = "namespace",
	[RULE_CATEGORY] = "category",
};

#define MAX_RULES 4096

static int fail(const char *name, const yaml_mark_t *mark, const char *what, const char *key)
{
	snprintf(error_buf, sizeof(error_buf), "%s:%zu: %s%s%s%s", name, mark->line + 1, what,
		 key ? " '" : "", key ? key : "", key ? "'" : "");
	return -EINVAL;
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

static bool section_known(const char *section)
{
	if (is_rule_section(section))
		return true;
	for (const struct config_key *k = keys; k->section; k++)
		if (strcmp(k->section, section) == 0)
			return true;
	return false;
}

/* Next event; a parse error becomes our message. */
static int next(yaml_parser_t *parser, yaml_event_t *ev, const char *name)
{
	if (yaml_parser_parse(parser, ev))
		return 0;
	snprintf(error_buf, sizeof(error_buf), "%s:%zu: %s", name, parser->problem_mark.line + 1,
		 parser->problem ? parser->problem : "not valid YAML");
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

/* section: { key: scalar, ... } */
static int parse_section(yaml_parser_t *parser, struct config *cfg, const char *name,
			 const char *section)
{
	yaml_event_t ev;
	int err;

	for (;;) {
		const struct config_key *k;
		char key[128];
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
		snprintf(key, sizeof(key), "%s", (const char *)ev.data.scalar.value);
		mark = ev.start_mark;
		yaml_event_delete(&ev);
		k = key_find(section, key);
		if (!k) {
			char full[256];

			snprintf(full, sizeof(full), "%s.%s", section, key);
			return fail(name, &mark, "unknown key", full);
		}
		if ((err = next(parser, &ev, name)))
			return err;
		if (ev.type != YAML_SCALAR_EVENT || ev.data.scalar.length >= k->size ||
		    memchr(ev.data.scalar.value, '\0', ev.data.scalar.length)) {
			char full[256];

			snprintf(full, sizeof(full), "%s.%s", section, key);
			err = fail(name, &ev.start_mark,
				   ev.type != YAML_SCALAR_EVENT
				       ? "expected a text value, not a list or mapping, for"
				       : "value too long or holding a NUL byte for",
				   full);
			yaml_event_delete(&ev);
			return err;
		}
		if (k->choices && !one_of((const char *)ev.data.scalar.value, k->choices)) {
			char what[256], full[256];

			choices_text(k->choices, what, sizeof(what));
			snprintf(full, sizeof(full), "%s.%s", section, key);
			err = fail(name, &ev.start_mark, what, full);
			yaml_event_delete(&ev);
			return err;
		}
		/* project and source become segments of finding.name */
		if (strcmp(section, "resource") == 0 &&
		    (strcmp(key, "project") == 0 || strcmp(key, "source") == 0) &&
		    (ev.data.scalar.length == 0 ||
		     memchr(ev.data.scalar.value, '/', ev.data.scalar.length))) {
			char full[256];

			snprintf(full, sizeof(full), "%s.%s", section, key);
			err =
			    fail(name, &ev.start_mark, "must be non-empty and hold no '/':", full);
			yaml_event_delete(&ev);
			return err;
		}
		memcpy((char *)cfg + k->offset, ev.data.scalar.value, ev.data.scalar.length + 1);
		yaml_event_delete(&ev);
	}
}

static bool is_sha256_hex(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == 64 && s[n] == '\0';
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
		snprintf(key, sizeof(key), "%s", (const char *)ev.data.scalar.value);
		yaml_event_delete(&ev);
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
	yaml_event_t ev;
	int err;
	bool in_root = false;

	for (;;) {
		if ((err = next(parser, &ev, name)))
			return err;
		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
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
			char section[64];
			yaml_mark_t mark = ev.start_mark;

			if (!in_root) {
				err =
				    fail(name, &mark,
					 "expected sections (resource:, outputs:, store:, allow:, "
					 "mute:, enforce:)",
					 NULL);
				yaml_event_delete(&ev);
				return err;
			}
			snprintf(section, sizeof(section), "%s",
				 (const char *)ev.data.scalar.value);
			yaml_event_delete(&ev);
			if (!section_known(section))
				return fail(name, &mark, "unknown section", section);
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
		snprintf(error_buf, sizeof(error_buf), "%s: out of memory", name);
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

void config_free(struct config *cfg)
{
	rules_free(cfg->allow, cfg->n_allow);
	rules_free(cfg->mute, cfg->n_mute);
	cfg->allow = cfg->mute = NULL;
	cfg->n_allow = cfg->n_mute = 0;
}

int config_load(struct config *cfg, const char *path, const char **ret_error)
{
	const char *name = path ? path : CONFIG_DEFAULT_PATH;
	char *text;
	size_t len;
	FILE *f;
	int err;

	f = fopen(name, "re");
	if (!f) {
		if (!path && errno == ENOENT)
			return config_load_string(cfg, name, "", 0, ret_error);
		err = -errno;
		snprintf(error_buf, sizeof(error_buf), "%s: %s", name, strerror(errno));
		*ret_error = error_buf;
		return err;
	}
	text = malloc(MAX_CONFIG_BYTES + 1);
	len = text ? fread(text, 1, MAX_CONFIG_BYTES + 1, f) : 0;
	fclose(f);
	if (!text) {
		*ret_error = "out of memory";
		return -ENOMEM;
	}
	if (len > MAX_CONFIG_BYTES) {
		free(text);
		snprintf(error_buf, sizeof(error_buf), "%s: larger than 1 MiB", name);
		*ret_error = error_buf;
		return -EFBIG;
	}
	err = config_load_string(cfg, name, text, len, ret_error);
	free(text);
	return err;
}

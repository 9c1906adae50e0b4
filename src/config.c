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
};

#define RES(field)                                                                                 \
	{                                                                                          \
		"resource", #field, offsetof(struct config, resource.field),                       \
		    sizeof(((struct config *)0)->resource.field)                                   \
	}

static const struct config_key keys[] = {
	RES(project),
	RES(source),
	RES(name),
	RES(type),
	RES(project_display_name),
	{ "outputs", "jsonl", offsetof(struct config, jsonl_path),
	  sizeof(((struct config *)0)->jsonl_path) },
	{ 0 },
};

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

static bool section_known(const char *section)
{
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
				err = fail(name, &mark, "expected sections (resource:, outputs:)",
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
	if (err)
		*ret_error = error_buf;
	return err;
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

/* SPDX-License-Identifier: Apache-2.0 */
/* Matching findings against the configuration's allow and mute rules. */
#ifndef SOWATCH_RULES_H
#define SOWATCH_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* What a rule is matched against; NULL fields match only rules that leave them unset. */
struct rule_subject {
	const char *module_path;
	const char *module_sha256;
	const char *image;
	const char *container_name;
	const char *container_id;
	const char *namespace;
	const char *category;
};

/* Every field the rule sets matches (container: the name, or the id or its first 12+ digits). */
bool rule_matches(const struct config_rule *rule, const struct rule_subject *s);
/* The first rule of the list that matches, or NULL. */
const struct config_rule *rules_find(const struct config_rule *rules, size_t n,
				     const struct rule_subject *s);

#endif

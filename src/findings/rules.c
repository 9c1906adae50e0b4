// SPDX-License-Identifier: Apache-2.0
#include "findings/rules.h"

#include <string.h>

static bool equal(const char *want, const char *have)
{
	return have && strcmp(want, have) == 0;
}

/* A container is named by its name, its full id, or an id prefix of at least 12 digits. */
static bool container_matches(const char *want, const struct rule_subject *s)
{
	size_t n = strlen(want);

	return equal(want, s->container_name) ||
	       (s->container_id && n >= 12 && strncmp(want, s->container_id, n) == 0);
}

bool rule_matches(const struct config_rule *rule, const struct rule_subject *s)
{
	const char *const have[RULE_FIELDS] = {
		[RULE_MODULE_PATH] = s->module_path,
		[RULE_MODULE_SHA256] = s->module_sha256,
		[RULE_IMAGE] = s->image,
		[RULE_NAMESPACE] = s->namespace,
		[RULE_CATEGORY] = s->category,
	};

	for (int f = 0; f < RULE_FIELDS; f++) {
		const char *want = rule->field[f];

		if (!want)
			continue;
		if (f == RULE_CONTAINER ? !container_matches(want, s) : !equal(want, have[f]))
			return false;
	}
	return true;
}

const struct config_rule *rules_find(const struct config_rule *rules, size_t n,
				     const struct rule_subject *s)
{
	for (size_t i = 0; i < n; i++)
		if (rule_matches(&rules[i], s))
			return &rules[i];
	return NULL;
}

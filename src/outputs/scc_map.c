// SPDX-License-Identifier: Apache-2.0
#include "outputs/scc_map.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/*
 * The members of SCC's v2 Finding a provider may set (finding.proto): these go as they are.
 * name and parent are rewritten; the output-only ones are not in this list.
 */
static const char *const finding_fields[] = {
	"resourceName",
	"category",
	"externalUri",
	"sourceProperties",
	"eventTime",
	"severity",
	"muteInitiator",
	"findingClass",
	"indicator",
	"vulnerability",
	"mitreAttack",
	"access",
	"connections",
	"compliances",
	"description",
	"exfiltration",
	"iamBindings",
	"nextSteps",
	"moduleName",
	"containers",
	"kubernetes",
	"database",
	"attackExposure",
	"files",
	"cloudDlpInspection",
	"cloudDlpDataProfile",
	"kernelRootkit",
	"orgPolicies",
	"application",
	"backupDisasterRecovery",
	"securityPosture",
	"logEntries",
	"loadBalancers",
	"cloudArmor",
	"notebook",
	"processes",
	"disk",
	"dataAccessEvents",
	"dataFlowEvents",
	"dataRetentionDeletionEvents",
	NULL,
};

/* Members of sowatch's finding that SCC keeps itself: not sent, each for its reason */
static const char *const scc_owned[] = {
	"state", /* output only in v2: changed through setState */
	"mute",	 /* "a finding provider shouldn't set the value of mute": setMute */
	NULL,
};

static bool in_list(const char *const *list, const char *name)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

bool scc_finding_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isascii((unsigned char)id[i]) || !isalnum((unsigned char)id[i]))
			return false;
	return true;
}

int scc_finding_name(const struct scc_parent *p, const char *id, char *out, size_t size)
{
	int n;

	if (!scc_finding_id_valid(id))
		return -EINVAL;
	n = snprintf(out, size, "organizations/%s/sources/%s/locations/%s/findings/%s",
		     p->organization, p->source, p->location, id);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* sourceProperties keys: a letter, then letters, digits and '_', at most 255 */
static bool property_key_valid(const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > 255 || !isascii((unsigned char)key[0]) || !isalpha((unsigned char)key[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isascii((unsigned char)key[i]) ||
		    (!isalnum((unsigned char)key[i]) && key[i] != '_'))
			return false;
	return true;
}

/*
 * Puts value (a reference taken) into props under key, or sowatch_<key> if key is taken or
 * not a valid property key (then with its characters outside [A-Za-z0-9_] as '_').
 */
static int property_add(json_t *props, const char *key, json_t *value)
{
	char alt[300];

	if (property_key_valid(key) && !json_object_get(props, key))
		return json_object_set_new(props, key, value) ? -ENOMEM : 0;
	snprintf(alt, sizeof(alt), "sowatch_%.250s", key);
	for (char *c = alt; *c; c++)
		if (!isascii((unsigned char)*c) || (!isalnum((unsigned char)*c) && *c != '_'))
			*c = '_';
	for (int i = 2; json_object_get(props, alt) && i < 100; i++)
		snprintf(alt, sizeof(alt), "sowatch_%.240s_%d", key, i);
	if (json_object_get(props, alt)) {
		json_decref(value);
		return -EEXIST;
	}
	return json_object_set_new(props, alt, value) ? -ENOMEM : 0;
}

/* One of a closed list of values (an enum's name) into out (16 bytes), else "" */
static void mark(json_t *v, const char *const *allowed, char *out)
{
	const char *s = json_string_value(v);

	out[0] = '\0';
	if (s && in_list(allowed, s))
		snprintf(out, 16, "%s", s);
}

int scc_map_finding(const struct scc_parent *p, const char *id, const char *json, size_t len,
		    char **ret_body, char *name, struct scc_marks *marks, char *error, size_t esize)
{
	static const char *const states[] = { "ACTIVE", "INACTIVE", NULL };
	static const char *const mutes[] = { "UNDEFINED", "MUTED", "UNMUTED", NULL };
	/* NUL bytes are data (escaped as \u0000 by sowatch's writer): kept */
	json_t *root = json_loadb(json, len, JSON_ALLOW_NUL, NULL);
	json_t *finding = json_object_get(root, "finding");
	json_t *body = NULL, *props = NULL, *value;
	char parent[SCC_NAME_MAX];
	const char *key;
	int err = -EINVAL;

	*ret_body = NULL;
	if (!json_is_object(finding)) {
		snprintf(error, esize, "not a sowatch finding (no \"finding\" object)");
		goto out;
	}
	if (scc_finding_name(p, id, name, SCC_NAME_MAX) < 0) {
		snprintf(error, esize, "the finding id is not 1 to 32 letters and digits");
		goto out;
	}
	mark(json_object_get(finding, "state"), states, marks->state);
	mark(json_object_get(finding, "mute"), mutes, marks->mute);
	snprintf(parent, sizeof(parent), "organizations/%s/sources/%s/locations/%s",
		 p->organization, p->source, p->location);
	err = -ENOMEM;
	body = json_object();
	props = json_deep_copy(json_object_get(finding, "sourceProperties"));
	if (!props)
		props = json_object();
	if (!body || !json_is_object(props))
		goto out;
	if (json_object_set_new(body, "name", json_string(name)) ||
	    json_object_set_new(body, "parent", json_string(parent)))
		goto out;
	json_object_foreach(finding, key, value)
	{
		if (strcmp(key, "name") == 0)
			err = property_add(props, "sowatchName", json_incref(value));
		else if (strcmp(key, "createTime") == 0)
			err = property_add(props, "sowatchCreateTime", json_incref(value));
		else if (strcmp(key, "parent") == 0 || strcmp(key, "sourceProperties") == 0 ||
			 in_list(scc_owned, key))
			err = 0;
		else if (in_list(finding_fields, key))
			err = json_object_set(body, key, value) ? -ENOMEM : 0;
		else
			err = property_add(props, key, json_incref(value));
		if (err)
			goto out;
	}
	/* The resource SCC derives from resourceName; sowatch's own description of it, kept */
	if (json_object_get(root, "resource")) {
		err =
		    property_add(props, "resource", json_incref(json_object_get(root, "resource")));
		if (err)
			goto out;
	}
	err = -ENOMEM;
	if (json_object_set_new(body, "sourceProperties", props))
		goto out;
	props = NULL;
	*ret_body = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
	err = *ret_body ? 0 : -ENOMEM;
out:
	if (err == -ENOMEM)
		snprintf(error, esize, "%s", strerror(ENOMEM));
	else if (err == -EEXIST)
		snprintf(error, esize, "sourceProperties has no free name left for a member");
	json_decref(props);
	json_decref(body);
	json_decref(root);
	return err;
}

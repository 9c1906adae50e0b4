// SPDX-License-Identifier: Apache-2.0
#include "fleet/finding_check.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fleet/subject.h"
#include "util/rfc3339.h"

static const char *str_at(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static json_t *first_of(json_t *obj, const char *key)
{
	return json_array_get(json_object_get(obj, key), 0);
}

static bool one_of(const char *v, const char *const *choices)
{
	for (; v && *choices; choices++)
		if (!strcmp(v, *choices))
			return true;
	return false;
}

static bool is_id(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 32;
}

/*
 * The host of <prefix>.<host token>.<severity>, malloc'ed in *ret: 0, -EINVAL if the subject
 * names none, -ENOMEM.
 */
static int host_of_subject(char **ret, const char *subject, const char *prefix)
{
	char token[FLEET_SUBJECT_MAX], host[FLEET_SUBJECT_MAX];
	size_t plen = strlen(prefix);
	const char *start, *end;

	if (strncmp(subject, prefix, plen) != 0 || subject[plen] != '.')
		return -EINVAL;
	start = subject + plen + 1;
	end = strchr(start, '.');
	if (!end || (size_t)(end - start) >= sizeof(token))
		return -EINVAL;
	memcpy(token, start, (size_t)(end - start));
	token[end - start] = '\0';
	if (fleet_host_from_token(host, sizeof(host), token) < 0)
		return -EINVAL;
	*ret = strdup(host);
	return *ret ? 0 : -ENOMEM;
}

#define FAIL(err, ...)                                                                             \
	do {                                                                                       \
		snprintf(why, size, __VA_ARGS__);                                                  \
		fleet_finding_release(ret);                                                        \
		return err;                                                                        \
	} while (0)
/* Not a finding: refused for good */
#define REFUSE(...) FAIL(-EINVAL, __VA_ARGS__)
/* A finding perhaps, that this process had no memory to check: to be tried again later */
#define NO_MEMORY() FAIL(-ENOMEM, "out of memory")

int fleet_finding_parse(struct fleet_finding *ret, const char *data, size_t len,
			const char *subject, const char *prefix, char *why, size_t size)
{
	static const char *const severities[] = { "CRITICAL", "HIGH", "MEDIUM", "LOW", NULL };
	static const char *const states[] = { "ACTIVE", "INACTIVE", NULL };
	static const char *const mutes[] = { "UNDEFINED", "MUTED", "UNMUTED", NULL };
	char expected[FLEET_SUBJECT_MAX];
	int err;
	json_t *root, *finding, *props, *container, *pod, *process, *module;
	const char *name, *slash, *host;
	json_error_t jerr;

	memset(ret, 0, sizeof(*ret));
	if (len > FLEET_MESSAGE_MAX)
		REFUSE("%zu bytes, more than a finding's %d", len, FLEET_MESSAGE_MAX);
	/* Duplicate keys would let two readers of one message see two findings */
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	ret->doc = root;
	/*
	 * jansson says "out of memory" for some of its failed allocations, and nothing at all for
	 * others (an empty message: every error it finds in the text has one). A few (a string's
	 * copy) it reports as an invalid token: those are refused, as no other sign tells them.
	 */
	if (!root && (!jerr.text[0] || json_error_code(&jerr) == json_error_out_of_memory))
		NO_MEMORY();
	if (!root)
		REFUSE("not JSON (%.80s at byte %d)", jerr.text, jerr.position);
	finding = json_object_get(root, "finding");
	props = json_object_get(finding, "sourceProperties");
	if (!json_is_object(finding) || !json_is_object(props) ||
	    !json_is_object(json_object_get(root, "resource")))
		REFUSE("not a finding: no finding, sourceProperties or resource object");
	name = str_at(finding, "name");
	slash = name ? strrchr(name, '/') : NULL;
	if (!slash || slash - name < 9 || strncmp(slash - 9, "/findings", 9) != 0 ||
	    !is_id(slash + 1))
		REFUSE("not a finding: finding.name does not end in /findings/<32 hex digits>");
	snprintf(ret->id, sizeof(ret->id), "%s", slash + 1);
	ret->row.id = ret->id;
	ret->row.category = str_at(finding, "category");
	ret->row.severity = str_at(finding, "severity");
	ret->row.state = str_at(finding, "state");
	ret->row.mute = str_at(finding, "mute");
	if (!ret->row.category || !*ret->row.category)
		REFUSE("finding %s: no category", ret->id);
	if (!one_of(ret->row.severity, severities))
		REFUSE("finding %s: severity is not CRITICAL, HIGH, MEDIUM or LOW", ret->id);
	if (!one_of(ret->row.state, states) || !one_of(ret->row.mute, mutes))
		REFUSE("finding %s: state or mute is not one of SCC's values", ret->id);
	ret->row.event_time_ns = rfc3339_parse(str_at(finding, "eventTime"));
	ret->row.create_time_ns = rfc3339_parse(str_at(finding, "createTime"));
	if (!ret->row.event_time_ns || !ret->row.create_time_ns)
		REFUSE("finding %s: eventTime or createTime is not an RFC 3339 time", ret->id);
	/*
	 * A node may publish on its own subjects only (its NATS account says so), so the subject's
	 * host is the sender. A finding of an older sowatch names no host: it takes the subject's.
	 * One that names a host must name that one.
	 */
	if (!json_object_get(props, "host")) {
		err = host_of_subject(&ret->host, subject, prefix);
		if (err == -ENOMEM)
			NO_MEMORY();
		if (err < 0)
			REFUSE("finding %s: no sourceProperties.host, and the subject names no "
			       "host under %.100s",
			       ret->id, prefix);
		host = ret->host;
	} else {
		host = str_at(props, "host");
		if (!host || !*host)
			REFUSE("finding %s: sourceProperties.host is not a host name", ret->id);
	}
	if (fleet_subject(expected, sizeof(expected), prefix, host, ret->row.severity) < 0 ||
	    strcmp(expected, subject) != 0)
		REFUSE("finding %s: its host and severity belong on %.300s, not on this subject",
		       ret->id, expected);
	ret->row.host = host;
	ret->row.container_id = str_at(props, "containerId");
	container = first_of(finding, "containers");
	ret->row.container_name = str_at(container, "name");
	ret->row.image = str_at(container, "uri");
	pod = first_of(json_object_get(finding, "kubernetes"), "pods");
	ret->row.pod = str_at(pod, "name");
	ret->row.namespace = str_at(pod, "ns");
	process = first_of(finding, "processes");
	ret->row.binary_path = str_at(json_object_get(process, "binary"), "path");
	module = first_of(process, "libraries");
	ret->row.module_path = str_at(module, "path");
	ret->row.module_sha256 = str_at(module, "sha256");
	/*
	 * Stored as received, byte for byte: what the node sent is what a responder reads. It
	 * parsed as JSON, so it holds no NUL byte.
	 */
	ret->json = strndup(data, len);
	if (!ret->json)
		NO_MEMORY();
	ret->row.json = ret->json;
	return 0;
}

void fleet_finding_release(struct fleet_finding *f)
{
	json_decref(f->doc);
	free(f->json);
	free(f->host);
	f->doc = NULL;
	f->json = NULL;
	f->host = NULL;
}

// SPDX-License-Identifier: Apache-2.0
#include "cli/findings_settings.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli/findings_print.h"
#include "util/strbuf.h"

/* "! label          value" for a risky setting, "  label          value" otherwise */
static void line(bool risky, const char *label, const struct strbuf *value)
{
	printf("%c %-16s %s\n", risky ? '!' : ' ', label, value->len ? strbuf_str(value) : "-");
}

static void add_text(struct strbuf *sb, const json_t *v)
{
	if (json_is_string(v))
		term_escape(sb, json_string_value(v), json_string_length(v));
}

/* The strings of an array, escaped, joined by sep */
static void add_list(struct strbuf *sb, const json_t *arr, const char *sep)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		if (i)
			strbuf_adds(sb, sep);
		add_text(sb, v);
	}
}

static void show_user(const json_t *cs)
{
	const json_t *user = json_object_get(cs, "user");
	struct strbuf sb = STRBUF_INIT;
	bool root = json_is_true(json_object_get(user, "root"));
	size_t i;
	json_t *g;

	if (!json_is_object(user))
		return;
	if (json_is_integer(json_object_get(user, "uid")))
		strbuf_addf(&sb, "uid %lld",
			    (long long)json_integer_value(json_object_get(user, "uid")));
	if (json_is_integer(json_object_get(user, "gid")))
		strbuf_addf(&sb, "%sgid %lld", sb.len ? ", " : "",
			    (long long)json_integer_value(json_object_get(user, "gid")));
	json_array_foreach(json_object_get(user, "additionalGids"), i, g)
	    strbuf_addf(&sb, "%s%lld", i ? " " : ", groups ", (long long)json_integer_value(g));
	if (root)
		strbuf_adds(&sb, " (root)");
	line(root, "user", &sb);
	strbuf_release(&sb);
}

static void show_capabilities(const json_t *cs)
{
	const json_t *caps = json_object_get(cs, "capabilities");
	const json_t *risky = json_object_get(caps, "risky");
	struct strbuf sb = STRBUF_INIT;

	if (json_is_true(json_object_get(cs, "privileged"))) {
		strbuf_adds(&sb, "yes: every capability (ALL)");
		line(true, "privileged", &sb);
		strbuf_release(&sb);
	}
	if (!json_is_object(caps))
		return;
	add_list(&sb, json_object_get(caps, "effective"), " ");
	if (json_array_size(risky)) {
		strbuf_adds(&sb, " (risky: ");
		add_list(&sb, risky, ", ");
		strbuf_addc(&sb, ')');
	}
	line(json_array_size(risky) > 0, "capabilities", &sb);
	strbuf_release(&sb);
	add_list(&sb, json_object_get(caps, "bounding"), " ");
	line(false, "bounding set", &sb);
	strbuf_release(&sb);
}

/* A string setting; risky when it is one of the given values */
static void show_string(const json_t *cs, const char *key, const char *label,
			const char *const *risky_values)
{
	const json_t *v = json_object_get(cs, key);
	struct strbuf sb = STRBUF_INIT;
	bool risky = false;

	if (!json_is_string(v))
		return;
	for (const char *const *r = risky_values; r && *r; r++)
		risky |= strcmp(json_string_value(v), *r) == 0;
	add_text(&sb, v);
	line(risky, label, &sb);
	strbuf_release(&sb);
}

/* A yes/no setting; risky when it is risky_value, if that is given (a bool pointer) */
static void show_flag(const json_t *cs, const char *key, const char *label, const bool *risky_value)
{
	const json_t *v = json_object_get(cs, key);
	struct strbuf sb = STRBUF_INIT;

	if (!json_is_boolean(v))
		return;
	strbuf_adds(&sb, json_is_true(v) ? "yes" : "no");
	line(risky_value && json_is_true(v) == *risky_value, label, &sb);
	strbuf_release(&sb);
}

static void show_namespaces(const json_t *cs)
{
	const json_t *nss = json_object_get(cs, "hostNamespaces");
	struct strbuf sb = STRBUF_INIT;

	if (!json_is_array(nss))
		return;
	add_list(&sb, nss, ", ");
	if (!sb.len)
		strbuf_adds(&sb, "none (its own pid, network, ipc, uts and mount namespaces)");
	line(json_array_size(nss) > 0, "host namespaces", &sb);
	strbuf_release(&sb);
}

static void show_mounts(const json_t *cs)
{
	size_t i;
	json_t *m;

	json_array_foreach(json_object_get(cs, "mounts"), i, m)
	{
		struct strbuf sb = STRBUF_INIT;
		bool sensitive = json_is_true(json_object_get(m, "sensitive"));

		add_text(&sb, json_object_get(m, "source"));
		strbuf_adds(&sb, " -> ");
		add_text(&sb, json_object_get(m, "destination"));
		strbuf_adds(&sb, json_is_true(json_object_get(m, "readOnly")) ? " (read-only)"
									      : " (read-write)");
		if (sensitive)
			strbuf_adds(&sb, " [host path]");
		line(sensitive, i ? "" : "mounts", &sb);
		strbuf_release(&sb);
	}
}

static void show_devices(const json_t *cs)
{
	const json_t *devices = json_object_get(cs, "devices");
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	json_t *d;

	if (!json_array_size(devices))
		return;
	json_array_foreach(devices, i, d)
	{
		if (i)
			strbuf_adds(&sb, ", ");
		add_text(&sb, json_object_get(d, "path"));
	}
	line(true, "devices", &sb);
	strbuf_release(&sb);
}

static void show_lists(const json_t *cs)
{
	const json_t *omitted = json_object_get(cs, "omitted");
	struct strbuf sb = STRBUF_INIT;
	const char *key;
	json_t *v;

	add_list(&sb, json_object_get(cs, "environmentNames"), " ");
	line(false, "environment", &sb);
	strbuf_release(&sb);
	add_list(&sb, json_object_get(cs, "commandLine"), " ");
	line(false, "command", &sb);
	strbuf_release(&sb);
	json_object_foreach((json_t *)omitted, key, v)
	{
		strbuf_addf(&sb, "%lld more ", (long long)json_integer_value(v));
		term_escape_str(&sb, key);
		line(false, "left out", &sb);
		strbuf_release(&sb);
	}
}

void show_container_settings(const char *finding_json)
{
	static const char *const no_confinement[] = { "none", "unconfined", NULL };
	/* A filter that allows (or only logs) what it does not name confines nothing */
	static const char *const no_filter[] = { "none", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", NULL };
	static const bool no = false;
	/* A NUL that a spec held is written as a JSON escape: it must not hide the section */
	json_t *doc = json_loads(finding_json, JSON_ALLOW_NUL, NULL);
	const json_t *cs =
	    json_object_get(json_object_get(json_object_get(doc, "finding"), "sourceProperties"),
			    "containerSettings");

	if (json_is_object(cs)) {
		printf("\nContainer settings (when the finding was made; ! marks a risky one)\n");
		show_user(cs);
		show_capabilities(cs);
		show_flag(cs, "noNewPrivileges", "no new privs", &no);
		show_string(cs, "seccomp", "seccomp", no_filter);
		show_string(cs, "apparmor", "AppArmor", no_confinement);
		show_string(cs, "selinux", "SELinux", NULL);
		show_flag(cs, "readOnlyRoot", "read-only root", NULL);
		show_namespaces(cs);
		show_mounts(cs);
		show_devices(cs);
		show_lists(cs);
	}
	json_decref(doc);
}

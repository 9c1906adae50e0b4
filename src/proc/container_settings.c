// SPDX-License-Identifier: Apache-2.0
#include "proc/container_settings.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <sys/prctl.h>

#include <jansson.h>

#include "util/json.h"
#include "util/strbuf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Every capability up to CAP_AUDIT_READ (37), in the order of their numbers, which every runtime
 * in use knows: a set holding all of them is "all capabilities", whatever newer ones (CAP_PERFMON, CAP_BPF,
 * CAP_CHECKPOINT_RESTORE) the runtime was too old to add. That is what --privileged gives.
 */
static const char *const capability_names[] = {
	"CHOWN",
	"DAC_OVERRIDE",
	"DAC_READ_SEARCH",
	"FOWNER",
	"FSETID",
	"KILL",
	"SETGID",
	"SETUID",
	"SETPCAP",
	"LINUX_IMMUTABLE",
	"NET_BIND_SERVICE",
	"NET_BROADCAST",
	"NET_ADMIN",
	"NET_RAW",
	"IPC_LOCK",
	"IPC_OWNER",
	"SYS_MODULE",
	"SYS_RAWIO",
	"SYS_CHROOT",
	"SYS_PTRACE",
	"SYS_PACCT",
	"SYS_ADMIN",
	"SYS_BOOT",
	"SYS_NICE",
	"SYS_RESOURCE",
	"SYS_TIME",
	"SYS_TTY_CONFIG",
	"MKNOD",
	"LEASE",
	"AUDIT_WRITE",
	"AUDIT_CONTROL",
	"SETFCAP",
	"MAC_OVERRIDE",
	"MAC_ADMIN",
	"SYSLOG",
	"WAKE_ALARM",
	"BLOCK_SUSPEND",
	"AUDIT_READ",
};

/*
 * Not granted by Docker's, containerd's or CRI-O's default set, and each a known way to the host
 * or to other containers: mounting, module loading, raw devices, tracing other processes, the
 * kernel's BPF and perf, the network stack, reading any file by handle, the MAC policy.
 */
static const char *const risky_capabilities[] = {
	"SYS_ADMIN",	"SYS_MODULE", "SYS_RAWIO", "SYS_PTRACE",      "DAC_READ_SEARCH",
	"NET_ADMIN",	"BPF",	      "PERFMON",   "SYS_BOOT",	      "MAC_ADMIN",
	"MAC_OVERRIDE", "SYSLOG",     "SYS_TIME",  "LINUX_IMMUTABLE",
};

/* Host paths that hand a container the host (see container_mount_is_sensitive) */
static const char *const sensitive_paths[] = {
	"/proc",
	"/sys",
	"/etc",
	"/run/docker.sock",
	"/run/docker",
	"/var/lib/docker",
	"/run/containerd",
	"/var/lib/containerd",
	"/run/crio",
	"/run/containers",
	"/var/lib/containers",
	"/run/podman",
	"/var/lib/kubelet",
	"/etc/kubernetes",
	"/root",
	"/boot",
	"/dev",
};

/* The namespaces a container has its own of, unless its spec leaves one out: then it shares
 * the host's. (user and cgroup namespaces are not isolated by default: not listed.) */
static const char *const isolated_namespaces[] = { "pid", "network", "ipc", "uts", "mount" };

static pthread_once_t host_caps_once = PTHREAD_ONCE_INIT;
static uint64_t host_caps; /* bit n: capability n is in the host's bounding set */

static void read_host_capabilities(void)
{
	for (unsigned long c = 0; c < 64; c++)
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			host_caps |= 1ULL << c;
}

void container_settings_learn_host(void)
{
	pthread_once(&host_caps_once, read_host_capabilities);
}

static const char *cap_name(const char *name)
{
	return strncmp(name, "CAP_", 4) == 0 ? name + 4 : name;
}

bool container_capability_is_risky(const char *name)
{
	name = cap_name(name);
	for (size_t i = 0; i < ARRAY_SIZE(risky_capabilities); i++)
		if (strcmp(name, risky_capabilities[i]) == 0)
			return true;
	return false;
}

/* /var/run is /run on every distribution in use: one spelling to compare */
static const char *run_dir(const char *p, char *buf, size_t size)
{
	if (strncmp(p, "/var/run", 8) == 0 && (p[8] == '/' || p[8] == '\0')) {
		snprintf(buf, size, "/run%s", p + 8);
		return buf;
	}
	return p;
}

/* a is b, or a directory above it (both absolute, without a trailing slash but for "/") */
static bool is_at_or_above(const char *a, const char *b)
{
	size_t n = strlen(a);

	if (strcmp(a, "/") == 0)
		return true;
	return strncmp(a, b, n) == 0 && (b[n] == '\0' || b[n] == '/');
}

/*
 * path made lexically plain into out (size bytes): "//", "." and ".." resolved, no trailing
 * slash but for "/". False when it does not fit, or climbs above "/".
 */
static bool lexical_path(const char *path, char *out, size_t size)
{
	size_t n = 0;

	for (const char *c = path; *c;) {
		size_t k;

		c += strspn(c, "/");
		k = strcspn(c, "/");
		if (k == 0 || (k == 1 && c[0] == '.')) {
			c += k;
			continue;
		}
		if (k == 2 && c[0] == '.' && c[1] == '.') {
			if (n == 0)
				return false;
			while (n > 0 && out[n - 1] != '/')
				n--;
			n = n > 0 ? n - 1 : 0;
			c += k;
			continue;
		}
		if (n + 1 + k + 1 > size)
			return false;
		out[n++] = '/';
		memcpy(out + n, c, k);
		n += k;
		c += k;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	return true;
}

bool container_mount_is_sensitive(const char *host_path)
{
	char buf[CONTAINER_SETTINGS_MAX_STRING + 8], norm[CONTAINER_SETTINGS_MAX_STRING + 8];
	const char *p;

	if (!host_path || host_path[0] != '/')
		return false;
	/* "/etc/", "//etc" and "/tmp/../etc" are /etc; a path that cannot be made plain is
	 * taken for the worst */
	if (!lexical_path(host_path, norm, sizeof(norm)))
		return true;
	p = run_dir(norm, buf, sizeof(buf));
	for (size_t i = 0; i < ARRAY_SIZE(sensitive_paths); i++)
		if (is_at_or_above(p, sensitive_paths[i]) || is_at_or_above(sensitive_paths[i], p))
			return true;
	return false;
}

/* A string of the spec, cut to CONTAINER_SETTINGS_MAX_STRING bytes with a marker */
static void put_string(struct jw_writer *j, const json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	struct strbuf cut = STRBUF_INIT;

	if (!s) {
		jw_null(j);
		return;
	}
	if (n <= CONTAINER_SETTINGS_MAX_STRING) {
		jw_string_n(j, s, n);
		return;
	}
	if (strbuf_add(&cut, s, CONTAINER_SETTINGS_MAX_STRING) ||
	    strbuf_addf(&cut, "[... %zu bytes cut]", n - CONTAINER_SETTINGS_MAX_STRING))
		jw_string_n(j, s, CONTAINER_SETTINGS_MAX_STRING);
	else
		jw_string(j, strbuf_str(&cut));
	strbuf_release(&cut);
}

static void put_kv_string(struct jw_writer *j, const char *key, const json_t *v)
{
	if (json_is_string(v) && json_string_length(v)) {
		jw_key(j, key);
		put_string(j, v);
	}
}

/* An integer of the spec (read as a real: see container_parse_json) */
static bool number_of(const json_t *v, int64_t *ret)
{
	double d;

	if (json_is_integer(v)) {
		*ret = json_integer_value(v);
		return true;
	}
	if (!json_is_real(v))
		return false;
	d = json_real_value(v);
	if (!(d >= 0 && d <= 4294967295.0))
		return false;
	*ret = (int64_t)d;
	return true;
}

/* Writes how many items of a list were left out, under omitted.<key>, when any were */
struct omitted {
	const char *key[8];
	size_t n[8];
	size_t count;
};

/* Of a list of total items, written were: the rest is counted under omitted.<key> */
static void omit(struct omitted *o, const char *key, size_t total, size_t written)
{
	if (written < total && o->count < ARRAY_SIZE(o->key)) {
		o->key[o->count] = key;
		o->n[o->count++] = total - written;
	}
}

/*
 * Whether item i of a list is written: the first CONTAINER_SETTINGS_MAX_ITEMS, while the
 * settings are within CONTAINER_SETTINGS_MAX_BYTES
 */
static bool room(const struct jw_writer *j, size_t i)
{
	return i < CONTAINER_SETTINGS_MAX_ITEMS && j->out->len < CONTAINER_SETTINGS_MAX_BYTES;
}

static void json_user(struct jw_writer *j, const json_t *process)
{
	const json_t *user = json_object_get(process, "user");
	const json_t *gids = json_object_get(user, "additionalGids");
	int64_t uid = -1, gid = -1, v;
	size_t i;
	json_t *g;

	if (!json_is_object(user))
		return;
	jw_key(j, "user");
	jw_object_begin(j);
	if (number_of(json_object_get(user, "uid"), &uid))
		jw_kv_int(j, "uid", uid);
	if (number_of(json_object_get(user, "gid"), &gid))
		jw_kv_int(j, "gid", gid);
	if (json_is_array(gids)) {
		jw_key(j, "additionalGids");
		jw_array_begin(j);
		json_array_foreach(gids, i, g)
		{
			if (room(j, i) && number_of(g, &v))
				jw_int(j, v);
		}
		jw_array_end(j);
	}
	put_kv_string(j, "username", json_object_get(user, "username"));
	/* runc's default user is root: no uid at all is uid 0 */
	jw_kv_bool(j, "root", uid <= 0);
	jw_object_end(j);
}

/*
 * Whether set (an array of "CAP_X" strings) holds every capability of capability_names that
 * this host can grant at all: those in sowatch's bounding set as it started (a sandboxed node
 * may lack one, CAP_SYS_RESOURCE say, and then no container has it, --privileged or not).
 */
static bool has_all_capabilities(const json_t *set)
{
	container_settings_learn_host();
	for (size_t c = 0; c < ARRAY_SIZE(capability_names); c++) {
		bool found = false;
		size_t i;
		json_t *v;

		if (!(host_caps & (1ULL << c)))
			continue;

		json_array_foreach(
		    set, i, v) if (json_is_string(v) &&
				   strcmp(cap_name(json_string_value(v)), capability_names[c]) == 0)
		{
			found = true;
			break;
		}
		if (!found)
			return false;
	}
	return true;
}

static void json_capability_set(struct jw_writer *j, const char *key, const json_t *set)
{
	size_t i;
	json_t *v;

	if (!json_is_array(set))
		return;
	jw_key(j, key);
	jw_array_begin(j);
	if (has_all_capabilities(set)) {
		jw_string(j, "ALL");
	} else {
		json_array_foreach(set, i, v)
		{
			if (json_is_string(v) && room(j, i))
				put_string(j, v);
		}
	}
	jw_array_end(j);
}

/* capabilities {effective, bounding, risky}; whether the effective set is all of them */
static bool json_capabilities(struct jw_writer *j, const json_t *process)
{
	const json_t *caps = json_object_get(process, "capabilities");
	const json_t *effective = json_object_get(caps, "effective");
	bool all = json_is_array(effective) && has_all_capabilities(effective);
	size_t i;
	json_t *v;

	if (!json_is_object(caps))
		return false;
	jw_key(j, "capabilities");
	jw_object_begin(j);
	json_capability_set(j, "effective", effective);
	json_capability_set(j, "bounding", json_object_get(caps, "bounding"));
	jw_key(j, "risky");
	jw_array_begin(j);
	if (all) {
		jw_string(j, "ALL");
	} else if (json_is_array(effective)) {
		json_array_foreach(effective, i, v)
		{
			if (json_is_string(v) && room(j, i) &&
			    container_capability_is_risky(json_string_value(v)))
				put_string(j, v);
		}
	}
	jw_array_end(j);
	jw_object_end(j);
	return all;
}

static void json_host_namespaces(struct jw_writer *j, const json_t *linux_spec)
{
	const json_t *nss = json_object_get(linux_spec, "namespaces");

	jw_key(j, "hostNamespaces");
	jw_array_begin(j);
	for (size_t k = 0; k < ARRAY_SIZE(isolated_namespaces); k++) {
		bool own = false;
		size_t i;
		json_t *ns;

		/* An entry with a path joins a namespace that exists (a pod's): still not the host's */
		json_array_foreach(nss, i, ns)
		{
			const char *type = json_string_value(json_object_get(ns, "type"));

			own |= type && strcmp(type, isolated_namespaces[k]) == 0;
		}
		if (!own)
			jw_string(j, isolated_namespaces[k]);
	}
	jw_array_end(j);
}

static bool has_option(const json_t *options, const char *opt)
{
	size_t i;
	json_t *v;

	json_array_foreach(options, i, v) if (json_is_string(v) &&
					      strcmp(json_string_value(v), opt) == 0) return true;
	return false;
}

static void json_mounts(struct jw_writer *j, const json_t *spec, struct omitted *o)
{
	const json_t *mounts = json_object_get(spec, "mounts");
	size_t i;
	json_t *m;

	if (!json_is_array(mounts))
		return;
	jw_key(j, "mounts");
	jw_array_begin(j);
	json_array_foreach(mounts, i, m)
	{
		const json_t *options = json_object_get(m, "options");
		const json_t *source = json_object_get(m, "source");
		const char *type = json_string_value(json_object_get(m, "type"));
		bool bind = (type && strcmp(type, "bind") == 0) || has_option(options, "bind") ||
			    has_option(options, "rbind");
		const char *src = json_string_value(source);

		if (!room(j, i))
			break;
		jw_object_begin(j);
		put_kv_string(j, "source", source);
		put_kv_string(j, "destination", json_object_get(m, "destination"));
		put_kv_string(j, "type", json_object_get(m, "type"));
		jw_kv_bool(j, "readOnly", has_option(options, "ro"));
		/* Only a bind mount brings in a host path: "proc" as a source is a new procfs */
		jw_kv_bool(j, "sensitive",
			   bind && src && json_string_length(source) == strlen(src) &&
			       container_mount_is_sensitive(src));
		jw_object_end(j);
	}
	jw_array_end(j);
	omit(o, "mounts", json_array_size(mounts), i);
}

static void json_devices(struct jw_writer *j, const json_t *linux_spec, struct omitted *o)
{
	const json_t *devices = json_object_get(linux_spec, "devices");
	size_t i;
	json_t *d;

	if (!json_is_array(devices))
		return;
	jw_key(j, "devices");
	jw_array_begin(j);
	json_array_foreach(devices, i, d)
	{
		if (!room(j, i))
			break;
		jw_object_begin(j);
		put_kv_string(j, "path", json_object_get(d, "path"));
		put_kv_string(j, "type", json_object_get(d, "type"));
		jw_object_end(j);
	}
	jw_array_end(j);
	omit(o, "devices", json_array_size(devices), i);
}

/* The names of the environment, never the values: those hold secrets */
static void json_environment_names(struct jw_writer *j, const json_t *process, struct omitted *o)
{
	const json_t *env = json_object_get(process, "env");
	size_t i;
	json_t *e;

	if (!json_is_array(env))
		return;
	jw_key(j, "environmentNames");
	jw_array_begin(j);
	json_array_foreach(env, i, e)
	{
		const char *s = json_string_value(e);
		size_t n = json_string_length(e);
		const char *eq = s ? memchr(s, '=', n) : NULL;
		size_t name_len = eq ? (size_t)(eq - s) : n;

		if (!room(j, i))
			break;
		if (s)
			jw_string_n(j, s,
				    name_len > CONTAINER_SETTINGS_MAX_STRING
					? CONTAINER_SETTINGS_MAX_STRING
					: name_len);
	}
	jw_array_end(j);
	omit(o, "environmentNames", json_array_size(env), i);
}

static void json_command_line(struct jw_writer *j, const json_t *process, struct omitted *o)
{
	const json_t *args = json_object_get(process, "args");
	size_t i;
	json_t *a;

	if (!json_is_array(args))
		return;
	jw_key(j, "commandLine");
	jw_array_begin(j);
	json_array_foreach(args, i, a)
	{
		if (!room(j, i))
			break;
		if (json_is_string(a))
			put_string(j, a);
	}
	jw_array_end(j);
	omit(o, "commandLine", json_array_size(args), i);
}

/* seccomp: "none", or the filter's default action */
static void json_seccomp(struct jw_writer *j, const json_t *linux_spec)
{
	const json_t *seccomp = json_object_get(linux_spec, "seccomp");

	if (!json_is_object(seccomp)) {
		jw_kv_string(j, "seccomp", "none");
		return;
	}
	jw_key(j, "seccomp");
	if (json_is_string(json_object_get(seccomp, "defaultAction")))
		put_string(j, json_object_get(seccomp, "defaultAction"));
	else
		jw_string(j, "unknown");
}

int container_settings_json(const json_t *spec, struct strbuf *out)
{
	const json_t *process = json_object_get(spec, "process");
	const json_t *linux_spec = json_object_get(spec, "linux");
	const json_t *root = json_object_get(spec, "root");
	struct omitted o = { 0 };
	struct jw_writer j;
	bool all_caps;

	if (!json_is_object(spec))
		return -EINVAL;
	jw_init(&j, out);
	jw_object_begin(&j);
	json_user(&j, process);
	all_caps = json_capabilities(&j, process);
	jw_kv_bool(&j, "privileged", all_caps);
	if (json_is_object(process))
		jw_kv_bool(&j, "noNewPrivileges",
			   json_is_true(json_object_get(process, "noNewPrivileges")));
	json_seccomp(&j, linux_spec);
	put_kv_string(&j, "apparmor", json_object_get(process, "apparmorProfile"));
	put_kv_string(&j, "selinux", json_object_get(process, "selinuxLabel"));
	if (json_is_object(root))
		jw_kv_bool(&j, "readOnlyRoot", json_is_true(json_object_get(root, "readonly")));
	json_host_namespaces(&j, linux_spec);
	json_mounts(&j, spec, &o);
	json_devices(&j, linux_spec, &o);
	json_environment_names(&j, process, &o);
	json_command_line(&j, process, &o);
	if (o.count) {
		jw_key(&j, "omitted");
		jw_object_begin(&j);
		for (size_t i = 0; i < o.count; i++)
			jw_kv_int(&j, o.key[i], (int64_t)o.n[i]);
		jw_object_end(&j);
	}
	jw_object_end(&j);
	return jw_error(&j);
}

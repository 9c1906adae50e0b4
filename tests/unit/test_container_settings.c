// SPDX-License-Identifier: Apache-2.0
/*
 * A container's settings from its OCI spec (containerSettings), Docker's own record of a
 * container (config.v2.json), and where a container's log is.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli/findings_settings.h"
#include "proc/container.h"
#include "proc/container_docker.h"
#include "proc/container_log_place.h"
#include "proc/container_settings.h"
#include "util/strbuf.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* containerSettings of spec (JSON text), parsed back */
static json_t *settings_of(const char *spec_text)
{
	/* As the sensor reads a spec: NULs allowed, numbers as reals */
	json_t *spec = container_parse_json(spec_text, strlen(spec_text)), *out;
	struct strbuf sb = STRBUF_INIT;

	assert_non_null(spec);
	assert_int_equal(container_settings_json(spec, &sb), 0);
	out = json_loads(strbuf_str(&sb), JSON_ALLOW_NUL, NULL);
	assert_non_null(out);
	json_decref(spec);
	strbuf_release(&sb);
	return out;
}

static const char *str_at(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Docker's defaults, with --cap-add SYS_ADMIN and -v /etc:/host-etc:ro */
static const char docker_spec[] =
    "{\"process\":{\"user\":{\"uid\":0,\"gid\":0,\"additionalGids\":[0,10]},"
    "\"args\":[\"/bin/sh\",\"-c\",\"echo hi\"],"
    "\"env\":[\"PATH=/usr/bin\",\"API_TOKEN=s3cret\",\"EMPTY=\",\"NOEQUALS\"],"
    "\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\",\"CAP_SYS_ADMIN\"],"
    "\"effective\":[\"CAP_CHOWN\",\"CAP_KILL\",\"CAP_SYS_ADMIN\"]},"
    "\"apparmorProfile\":\"docker-default\",\"noNewPrivileges\":true},"
    "\"root\":{\"path\":\"/x\",\"readonly\":true},"
    "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/host-etc\",\"type\":\"bind\",\"source\":\"/etc\","
    "\"options\":[\"rbind\",\"ro\",\"rprivate\"]},"
    "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/srv/data\","
    "\"options\":[\"rbind\"]}],"
    "\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"network\"},"
    "{\"type\":\"uts\"},{\"type\":\"pid\"},{\"type\":\"ipc\"}],"
    "\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\"}}}";

static void test_docker_defaults_with_additions(void **state)
{
	json_t *cs = settings_of(docker_spec), *m;
	const json_t *caps = json_object_get(cs, "capabilities");

	(void)state;
	assert_true(json_is_true(json_object_get(json_object_get(cs, "user"), "root")));
	assert_int_equal(
	    json_array_size(json_object_get(json_object_get(cs, "user"), "additionalGids")), 2);
	assert_false(json_is_true(json_object_get(cs, "privileged")));
	assert_int_equal(json_array_size(json_object_get(caps, "effective")), 3);
	assert_int_equal(json_array_size(json_object_get(caps, "risky")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(caps, "risky"), 0)),
			    "CAP_SYS_ADMIN");
	assert_true(json_is_true(json_object_get(cs, "noNewPrivileges")));
	assert_string_equal(str_at(cs, "seccomp"), "SCMP_ACT_ERRNO");
	assert_string_equal(str_at(cs, "apparmor"), "docker-default");
	assert_true(json_is_true(json_object_get(cs, "readOnlyRoot")));
	assert_int_equal(json_array_size(json_object_get(cs, "hostNamespaces")), 0);

	/* proc is a new procfs, not the host's; /etc is the host's; /srv/data is nothing special */
	m = json_array_get(json_object_get(cs, "mounts"), 0);
	assert_false(json_is_true(json_object_get(m, "sensitive")));
	m = json_array_get(json_object_get(cs, "mounts"), 1);
	assert_string_equal(str_at(m, "source"), "/etc");
	assert_true(json_is_true(json_object_get(m, "readOnly")));
	assert_true(json_is_true(json_object_get(m, "sensitive")));
	m = json_array_get(json_object_get(cs, "mounts"), 2);
	assert_false(json_is_true(json_object_get(m, "readOnly")));
	assert_false(json_is_true(json_object_get(m, "sensitive")));

	/* Names only: a value is never written */
	m = json_object_get(cs, "environmentNames");
	assert_int_equal(json_array_size(m), 4);
	assert_string_equal(json_string_value(json_array_get(m, 1)), "API_TOKEN");
	assert_string_equal(json_string_value(json_array_get(m, 3)), "NOEQUALS");
	{
		char *text = json_dumps(cs, 0);

		assert_null(strstr(text, "s3cret"));
		free(text);
	}
	assert_int_equal(json_array_size(json_object_get(cs, "commandLine")), 3);
	assert_null(json_object_get(cs, "omitted"));
	json_decref(cs);
}

/* Every capability this machine can grant, as --privileged gives them */
static void test_privileged_and_host_namespaces(void **state)
{
	static const char *const names[] = {
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
		"PERFMON",
		"BPF",
	};
	struct strbuf spec = STRBUF_INIT, all = STRBUF_INIT;
	json_t *cs;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		/* A cap the machine lacks is left out, as runc must leave it out */
		if (i < 38 && prctl(PR_CAPBSET_READ, (unsigned long)i, 0, 0, 0) != 1)
			continue;
		strbuf_addf(&all, "%s\"CAP_%s\"", all.len ? "," : "", names[i]);
	}
	strbuf_addf(&spec,
		    "{\"process\":{\"capabilities\":{\"bounding\":[%s],\"effective\":[%s]}},"
		    "\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"network\","
		    "\"path\":\"/var/run/netns/pod\"},{\"type\":\"uts\"},{\"type\":\"ipc\"}],"
		    "\"devices\":[{\"path\":\"/dev/sda\",\"type\":\"b\"}]}}",
		    strbuf_str(&all), strbuf_str(&all));
	cs = settings_of(strbuf_str(&spec));
	assert_true(json_is_true(json_object_get(cs, "privileged")));
	assert_string_equal(
	    json_string_value(json_array_get(
		json_object_get(json_object_get(cs, "capabilities"), "effective"), 0)),
	    "ALL");
	/* No pid namespace: the host's. A network namespace joined by path is the pod's. */
	assert_int_equal(json_array_size(json_object_get(cs, "hostNamespaces")), 1);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(cs, "hostNamespaces"), 0)), "pid");
	assert_string_equal(str_at(cs, "seccomp"), "none");
	assert_string_equal(str_at(json_array_get(json_object_get(cs, "devices"), 0), "path"),
			    "/dev/sda");
	json_decref(cs);

	/* One capability short of all: not privileged */
	strbuf_release(&spec);
	cs = settings_of("{\"process\":{\"capabilities\":{\"effective\":[\"CAP_CHOWN\"]}}}");
	assert_false(json_is_true(json_object_get(cs, "privileged")));
	json_decref(cs);
	strbuf_release(&all);
}

static void test_hostile_spec(void **state)
{
	struct strbuf spec = STRBUF_INIT, sb = STRBUF_INIT;
	json_t *cs, *j;
	char *long_arg = malloc(5000);

	(void)state;
	memset(long_arg, 'a', 4999);
	long_arg[4999] = '\0';
	strbuf_addf(&spec, "{\"process\":{\"args\":[\"%s\",\"x\\u001b[2J\\u0000y\",3,null",
		    long_arg);
	for (int i = 0; i < 100; i++)
		strbuf_addf(&spec, ",\"arg%d\"", i);
	strbuf_adds(&spec, "],\"user\":{\"uid\":-5,\"gid\":\"0\"},\"capabilities\":\"all\"},"
			   "\"mounts\":{\"not\":\"an array\"},\"linux\":[]}");
	cs = settings_of(strbuf_str(&spec));
	j = json_object_get(cs, "commandLine");
	assert_int_equal(json_array_size(j), CONTAINER_SETTINGS_MAX_ITEMS - 2);
	assert_non_null(strstr(json_string_value(json_array_get(j, 0)), "[... 4487 bytes cut]"));
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(cs, "omitted"), "commandLine")),
	    104 - CONTAINER_SETTINGS_MAX_ITEMS);
	/* Not a number is not a uid: unknown, and then root is assumed (runc's default) */
	assert_null(json_object_get(json_object_get(cs, "user"), "gid"));
	assert_null(json_object_get(cs, "capabilities"));
	assert_null(json_object_get(cs, "mounts"));
	json_decref(cs);

	/* Not an object: nothing */
	j = json_loads("[1,2]", 0, NULL);
	assert_int_equal(container_settings_json(j, &sb), -EINVAL);
	json_decref(j);
	strbuf_release(&sb);
	strbuf_release(&spec);
	free(long_arg);
}

static void test_sensitive_paths(void **state)
{
	(void)state;
	assert_true(container_mount_is_sensitive("/"));
	assert_true(container_mount_is_sensitive("/etc"));
	assert_true(container_mount_is_sensitive("/etc/"));
	assert_true(container_mount_is_sensitive("/etc/kubernetes/pki"));
	assert_true(container_mount_is_sensitive("/proc"));
	assert_true(container_mount_is_sensitive("/sys/fs/cgroup"));
	assert_true(container_mount_is_sensitive("/var/run/docker.sock"));
	assert_true(container_mount_is_sensitive("/run/docker.sock"));
	assert_true(container_mount_is_sensitive("/var/run/containerd"));
	assert_true(container_mount_is_sensitive("/run/containerd/containerd.sock"));
	assert_true(container_mount_is_sensitive("/var/lib/kubelet/pods"));
	/* A directory holding one of them hands it over too */
	assert_true(container_mount_is_sensitive("/var"));
	assert_true(container_mount_is_sensitive("/run"));
	/* As the kernel resolves them */
	assert_true(container_mount_is_sensitive("//etc"));
	assert_true(container_mount_is_sensitive("/tmp/../etc/"));
	assert_true(container_mount_is_sensitive("/./var/./run/docker.sock"));
	assert_true(container_mount_is_sensitive("/var/lib/containers/storage"));
	assert_true(container_mount_is_sensitive("/../etc"));
	assert_false(container_mount_is_sensitive("/etc/../srv"));
	assert_false(container_mount_is_sensitive("/srv/data"));
	assert_false(container_mount_is_sensitive("/etcetera"));
	assert_false(container_mount_is_sensitive("/var/lib/app"));
	assert_false(container_mount_is_sensitive("/tmp/x"));
	assert_false(container_mount_is_sensitive("proc"));
	assert_false(container_mount_is_sensitive(NULL));

	assert_true(container_capability_is_risky("CAP_SYS_ADMIN"));
	assert_true(container_capability_is_risky("SYS_PTRACE"));
	assert_false(container_capability_is_risky("CAP_CHOWN"));
	assert_false(container_capability_is_risky("CAP_NET_BIND_SERVICE"));
}

/* ---- Docker's record ---- */

static void write_str(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(data, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static char *hostname_spec(const char *data_root, const char *id)
{
	char *s = NULL;

	assert_true(asprintf(&s,
			     "{\"mounts\":[{\"destination\":\"/etc/hosts\",\"source\":\"/x\"},"
			     "{\"destination\":\"/etc/hostname\",\"type\":\"bind\","
			     "\"source\":\"%s/containers/%s/hostname\"}]}",
			     data_root, id) > 0);
	return s;
}

static void test_docker_record(void **state)
{
	char root[] = "/tmp/sowatch-test-docker-XXXXXX", dir[PATH_MAX], path[PATH_MAX + 128];
	char *spec_text, *doc = NULL;
	struct docker_container dc;
	json_t *spec;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(dir, sizeof(dir), "%s/containers", root);
	assert_int_equal(mkdir(dir, 0710), 0);
	snprintf(dir, sizeof(dir), "%s/containers/%s", root, ID);
	assert_int_equal(mkdir(dir, 0710), 0);
	assert_true(asprintf(&doc,
			     "{\"ID\":\"%s\",\"Name\":\"/web-1\",\"Config\":{\"Image\":"
			     "\"shop/web:2\"},\"LogPath\":\"%s/%s-json.log\"}",
			     ID, dir, ID) > 0);
	snprintf(path, sizeof(path), "%s/config.v2.json", dir);
	write_str(path, doc);
	free(doc);

	spec_text = hostname_spec(root, ID);
	spec = json_loads(spec_text, 0, NULL);
	free(spec_text);
	assert_int_equal(docker_container_read(spec, ID, &dc), 0);
	assert_string_equal(dc.name, "web-1");
	assert_string_equal(dc.image, "shop/web:2");
	snprintf(path, sizeof(path), "%s/%s-json.log", dir, ID);
	assert_string_equal(dc.log_path, path);
	docker_container_free(&dc);

	/* Another id's mount names another directory: nothing */
	assert_int_equal(
	    docker_container_read(
		spec, "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210", &dc),
	    -ENOENT);

	/* A LogPath elsewhere (another driver, or a planted file) is not read */
	assert_true(asprintf(&doc, "{\"Name\":\"/web-1\",\"LogPath\":\"/etc/shadow\"}") > 0);
	snprintf(path, sizeof(path), "%s/config.v2.json", dir);
	write_str(path, doc);
	free(doc);
	assert_int_equal(docker_container_read(spec, ID, &dc), 0);
	assert_string_equal(dc.name, "web-1");
	assert_null(dc.log_path);
	docker_container_free(&dc);

	/* A directory others can write: a user's look-alike, refused */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(docker_container_read(spec, ID, &dc), -EPERM);
	assert_null(dc.name);
	json_decref(spec);

	snprintf(path, sizeof(path), "rm -rf '%s'", root);
	assert_int_equal(system(path), 0);
}

/* ---- Where the log is ---- */

static void test_cri_log_files(void **state)
{
	char dir[] = "/tmp/sowatch-test-pods-XXXXXX", path[PATH_MAX + 32];
	const char *names[] = {
		"0.log", "2.log", "10.log", "1.log", "x.log", "3.log.gz", "0.log.20261203-101010"
	};
	char **files = NULL;
	int n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		write_str(path, "");
	}
	n = container_log_place_files(CONTAINER_LOG_PLACE_CRI, dir, &files);
	assert_int_equal(n, 4);
	snprintf(path, sizeof(path), "%s/0.log", dir);
	assert_string_equal(files[0], path);
	snprintf(path, sizeof(path), "%s/10.log", dir);
	assert_string_equal(files[3], path);
	for (int i = 0; i < n; i++)
		free(files[i]);
	free(files);

	/* Docker's and podman's: the file itself */
	n = container_log_place_files(CONTAINER_LOG_PLACE_DOCKER, "/x/y-json.log", &files);
	assert_int_equal(n, 1);
	assert_string_equal(files[0], "/x/y-json.log");
	free(files[0]);
	free(files);
	assert_int_equal(container_log_place_files(CONTAINER_LOG_PLACE_NONE, "/x", &files),
			 -EINVAL);
	assert_int_equal(
	    container_log_place_files(CONTAINER_LOG_PLACE_CRI, "/nonexistent-sw", &files), -ENOENT);
	assert_int_equal(container_log_place_of("cri"), CONTAINER_LOG_PLACE_CRI);
	assert_int_equal(container_log_place_of("../x"), CONTAINER_LOG_PLACE_NONE);
	assert_string_equal(container_log_place_name(CONTAINER_LOG_PLACE_DOCKER), "docker");

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

/* Docker's state root, its bundle and its record: container_info_load names it as Docker does */
static void test_load_docker_container(void **state)
{
	char base[] = "/tmp/sowatch-test-moby-XXXXXX", p[PATH_MAX], q[2 * PATH_MAX];
	const char *roots[2] = { p, NULL };
	struct container_info ci;
	char *doc = NULL;

	(void)state;
	assert_non_null(mkdtemp(base));
	snprintf(q, sizeof(q),
		 "mkdir -p %s/exec/runtime-runc/moby/%s %s/bundle %s/data/containers/%s && chmod "
		 "710 %s/data/containers/%s",
		 base, ID, base, base, ID, base, ID);
	assert_int_equal(system(q), 0);
	snprintf(p, sizeof(p), "%s/exec/runtime-runc/moby", base);
	snprintf(q, sizeof(q), "%s/%s/state.json", p, ID);
	assert_true(asprintf(&doc, "{\"id\":\"%s\",\"config\":{\"labels\":[\"bundle=%s/bundle\"]}}",
			     ID, base) > 0);
	write_str(q, doc);
	free(doc);
	snprintf(q, sizeof(q), "%s/bundle/config.json", base);
	doc = NULL;
	{
		char data[PATH_MAX];

		snprintf(data, sizeof(data), "%s/data", base);
		doc = hostname_spec(data, ID);
	}
	write_str(q, doc);
	free(doc);
	snprintf(q, sizeof(q), "%s/data/containers/%s/config.v2.json", base, ID);
	write_str(q, "{\"Name\":\"/db\",\"Config\":{\"Image\":\"postgres:16\"}}");

	assert_int_equal(container_info_load(ID, roots, &ci), 0);
	assert_string_equal(ci.name, "db");
	assert_string_equal(ci.image, "postgres:16");
	assert_non_null(ci.settings);
	assert_int_equal(ci.log_place, CONTAINER_LOG_PLACE_NONE); /* no json-file LogPath */
	container_info_free(&ci);

	snprintf(q, sizeof(q), "rm -rf '%s'", base);
	assert_int_equal(system(q), 0);
}

/* `show`'s section from a stored finding: printed whole, a NUL in a name included */
static void test_show_section(void **state)
{
	static const char finding[] =
	    "{\"finding\":{\"sourceProperties\":{\"containerSettings\":{"
	    "\"user\":{\"uid\":0,\"root\":true},\"privileged\":true,"
	    "\"capabilities\":{\"effective\":[\"ALL\"],\"risky\":[\"ALL\"]},"
	    "\"seccomp\":\"SCMP_ACT_ALLOW\",\"hostNamespaces\":[\"pid\"],"
	    "\"mounts\":[{\"source\":\"/\",\"destination\":\"/host\",\"readOnly\":false,"
	    "\"sensitive\":true}],\"environmentNames\":[\"A\\u0000B\",\"\\u001b[2J\"]}}}}";
	char path[] = "/tmp/sowatch-test-show-XXXXXX", text[4096];
	int fd = mkstemp(path), saved;
	ssize_t n;

	(void)state;
	assert_true(fd >= 0);
	fflush(stdout);
	saved = dup(1);
	assert_int_equal(dup2(fd, 1), 1);
	show_container_settings(finding);
	fflush(stdout);
	assert_int_equal(dup2(saved, 1), 1);
	close(saved);
	n = pread(fd, text, sizeof(text) - 1, 0);
	assert_true(n > 0);
	text[n] = '\0';
	close(fd);
	unlink(path);
	assert_non_null(strstr(text, "Container settings"));
	assert_non_null(strstr(text, "\n! privileged       yes: every capability (ALL)\n"));
	assert_non_null(strstr(text, "\n! seccomp          SCMP_ACT_ALLOW\n"));
	assert_non_null(strstr(text, "\n! host namespaces  pid\n"));
	assert_non_null(strstr(text, "\n! mounts           / -> /host (read-write) [host path]\n"));
	/* Escaped for the terminal: no raw ESC */
	assert_non_null(strstr(text, "\n  environment      A\\x00B \\x1b[2J\n"));
	assert_null(strchr(text, 0x1b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker_defaults_with_additions),
		cmocka_unit_test(test_privileged_and_host_namespaces),
		cmocka_unit_test(test_hostile_spec),
		cmocka_unit_test(test_sensitive_paths),
		cmocka_unit_test(test_docker_record),
		cmocka_unit_test(test_cri_log_files),
		cmocka_unit_test(test_load_docker_container),
		cmocka_unit_test(test_show_section),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

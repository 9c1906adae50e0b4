// SPDX-License-Identifier: Apache-2.0
/* Container ids from the cgroup layouts of docker, containerd, CRI-O, podman and runc. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc/container.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void expect_id(const char *cgroup, const char *runc_dir, const char *want)
{
	char id[CONTAINER_ID_MAX] = "untouched";
	bool found = container_id_from_cgroup_path(cgroup, runc_dir, id);

	if (!want) {
		assert_false(found);
		return;
	}
	assert_true(found);
	assert_string_equal(id, want);
}

static void test_layouts(void **state)
{
	expect_id("/system.slice/docker-" ID ".scope", NULL, ID);
	expect_id("/docker/" ID, NULL, ID);
	expect_id("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/"
		  "cri-containerd-" ID ".scope",
		  NULL, ID);
	expect_id("/kubepods/burstable/pod0b6e0c7f-7d0e-4a55-9d1b-1c8a2d7a9c11/" ID, NULL, ID);
	expect_id("/machine.slice/libpod-" ID ".scope", NULL, ID);
	expect_id("/crio-" ID ".scope", NULL, ID);
}

static void test_host_cgroups(void **state)
{
	expect_id("/", NULL, NULL);
	expect_id("/user.slice/user-0.slice/session-1.scope", NULL, NULL);
	expect_id("/system.slice/ssh.service", NULL, NULL);
	/* 63 hex digits, or 64 with a non-hex one: not an id */
	expect_id("/docker/"
		  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
		  NULL, NULL);
	expect_id("/docker/"
		  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
		  NULL, NULL);
}

static void test_plain_runc_needs_its_state(void **state)
{
	char dir[] = "/tmp/sowatch-test-runc-XXXXXX";
	char path[PATH_MAX];
	FILE *f;

	assert_non_null(mkdtemp(dir));
	expect_id("/my-ctr", dir, NULL); /* no state: a host cgroup named like a container */
	snprintf(path, sizeof(path), "%s/my-ctr", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/my-ctr/state.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	expect_id("/my-ctr", dir, "my-ctr");
	expect_id("/parent/my-ctr", dir, "my-ctr");
	expect_id("/..", dir, NULL);
	unlink(path);
	snprintf(path, sizeof(path), "%s/my-ctr", dir);
	rmdir(path);
	rmdir(dir);
}

static void test_own_process(void **state)
{
	char id[CONTAINER_ID_MAX] = "";

	/* Whatever this machine is, the call must not fail loudly or overflow. */
	container_id_of_pid((uint32_t)getpid(), id);
	assert_true(strlen(id) < CONTAINER_ID_MAX);
	assert_false(container_id_of_pid(0, id));
}

static void test_nested_and_decorated(void **state)
{
	char dir[] = "/tmp/sowatch-test-runc-XXXXXX";
	char path[PATH_MAX];
	FILE *f;

	/* A sub-cgroup of a container (systemd inside it, or one it made to hide) is the container */
	expect_id("/docker/" ID "/init.scope", NULL, ID);
	expect_id("/system.slice/docker-" ID ".scope/system.slice/foo.service", NULL, ID);
	expect_id("/machine.slice/libpod-" ID ".scope/container", NULL, ID);
	/* ...and one named like another container does not make it that one: outermost wins */
	expect_id("/docker/" ID "/docker/"
		  "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
		  NULL, ID);
	/* conmon, CRI-O's and podman's monitor, runs on the host side */
	expect_id("/machine.slice/libpod-conmon-" ID ".scope", NULL, NULL);
	expect_id("/kubepods/crio-conmon-" ID ".scope", NULL, NULL);

	/* runc under systemd: runc-<name>.scope; and a name found under the second root */
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/my-ctr", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/my-ctr/state.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	expect_id("/system.slice/runc-my-ctr.scope", dir, "my-ctr");
	{
		const char *roots[] = { "/nonexistent-sowatch-root", dir, NULL };
		char id[CONTAINER_ID_MAX] = "";

		assert_true(container_id_from_cgroup_path_roots("/my-ctr", roots, id));
		assert_string_equal(id, "my-ctr");
		assert_false(container_id_from_cgroup_path_roots("/other", roots, id));
		assert_false(container_id_from_cgroup_path_roots("/my-ctr", NULL, id));
	}
	unlink(path);
	snprintf(path, sizeof(path), "%s/my-ctr", dir);
	rmdir(path);
	rmdir(dir);
}

/* ---- container_info_load: fixtures in a mkdtemp root ---- */

struct fx {
	char root[64];	  /* runtime state root */
	char bundles[64]; /* parent of bundles */
	const char *roots[2];
};

static void write_file(const char *path, const char *data, size_t n)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void write_str(const char *path, const char *data)
{
	write_file(path, data, strlen(data));
}

static void fx_path(const struct fx *fx, char *out, const char *fmt, const char *a, const char *b)
{
	snprintf(out, PATH_MAX, fmt, a, b);
}

/* <root>/<id>/state.json as runc writes it: annotations also copied into config.labels */
static void fx_state(struct fx *fx, const char *id, const char *state_json)
{
	char path[PATH_MAX];

	fx_path(fx, path, "%s/%s", fx->root, id);
	assert_int_equal(mkdir(path, 0711), 0);
	fx_path(fx, path, "%s/%s/state.json", fx->root, id);
	write_str(path, state_json);
}

/* <bundles>/<id>/config.json; returns the bundle directory in bundle[PATH_MAX] */
static void fx_config(struct fx *fx, const char *id, const char *config_json, char *bundle)
{
	char path[PATH_MAX];

	fx_path(fx, bundle, "%s/%s", fx->bundles, id);
	assert_int_equal(mkdir(bundle, 0700), 0);
	fx_path(fx, path, "%s/%s/config.json", fx->bundles, id);
	write_str(path, config_json);
}

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->root, sizeof(fx->root), "/tmp/sowatch-test-root-XXXXXX");
	snprintf(fx->bundles, sizeof(fx->bundles), "/tmp/sowatch-test-bundles-XXXXXX");
	assert_non_null(mkdtemp(fx->root));
	assert_non_null(mkdtemp(fx->bundles));
	fx->roots[0] = fx->root;
	fx->roots[1] = NULL;
	container_info_cache_clear();
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", fx->root, fx->bundles);
	assert_int_equal(system(cmd), 0);
	container_info_cache_clear();
	free(fx);
	return 0;
}

static char *state_json(const char *id, const char *bundle, const char *labels)
{
	char *s = NULL;

	assert_true(asprintf(&s,
			     "{\"id\":\"%s\",\"init_process_pid\":1234,\"init_process_start\":5,"
			     "\"created\":\"2026-11-27T15:46:19.45716098Z\",\"config\":{"
			     "\"rootfs\":\"%s/rootfs\",\"labels\":[\"bundle=%s\"%s%s],"
			     "\"cgroups\":{\"path\":\"/docker/%s\"}},\"rootless\":false}",
			     id, bundle, bundle, labels ? "," : "", labels ? labels : "", id) > 0);
	return s;
}

static const char *label(const struct container_info *ci, const char *name)
{
	for (size_t i = 0; i < ci->n_labels; i++)
		if (strcmp(ci->labels[i].name, name) == 0)
			return ci->labels[i].value;
	return NULL;
}

#define CREATED_NS 1795794379457160980LL /* 2026-11-27T15:46:19.45716098Z */

static void test_info_docker(void **state)
{
	struct fx *fx = *state;
	struct container_info ci;
	char bundle[PATH_MAX];
	char *st;

	/* docker writes no identifying annotations: what is known is the runtime and times */
	fx_config(fx, ID,
		  "{\"ociVersion\":\"1.0.2-dev\",\"process\":{\"rlimits\":[{\"type\":"
		  "\"RLIMIT_NOFILE\",\"hard\":18446744073709551615,\"soft\":1048576}]},"
		  "\"annotations\":{\"com.example.team\":\"payments\"}}",
		  bundle);
	st = state_json(ID, bundle, "\"com.example.team=payments\"");
	fx_state(fx, ID, st);
	free(st);

	assert_int_equal(container_info_load(ID, fx->roots, &ci), 0);
	assert_string_equal(ci.id, ID);
	assert_string_equal(ci.runtime, fx->root);
	assert_string_equal(ci.bundle, bundle);
	assert_int_equal(ci.created_ns, CREATED_NS);
	assert_null(ci.name);
	assert_null(ci.image);
	assert_null(ci.pod);
	assert_false(ci.annotations_from_state); /* the uint64 rlimit did not spoil config.json */
	assert_int_equal(ci.n_labels, 1);
	assert_string_equal(label(&ci, "com.example.team"), "payments");
	container_info_free(&ci);
	container_info_free(&ci); /* zeroed: freeing twice is harmless */

	assert_int_equal(container_info_load("0000000000000000000000000000000000000000000000000000"
					     "000000000000",
					     fx->roots, &ci),
			 -ENOENT);
	assert_null(ci.runtime);
	assert_int_equal(container_info_load("../etc", fx->roots, &ci), -EINVAL);
	assert_int_equal(container_info_load("", fx->roots, &ci), -EINVAL);
	assert_int_equal(container_info_load(NULL, fx->roots, &ci), -EINVAL);
}

static void test_info_nerdctl_name(void **state)
{
	struct fx *fx = *state;
	struct container_info ci;
	char bundle[PATH_MAX];
	char *st;

	fx_config(fx, "web1",
		  "{\"annotations\":{\"nerdctl/name\":\"web1\",\"nerdctl/namespace\":\"default\"}}",
		  bundle);
	st = state_json("web1", bundle, NULL);
	fx_state(fx, "web1", st);
	free(st);
	assert_int_equal(container_info_load("web1", fx->roots, &ci), 0);
	assert_string_equal(ci.name, "web1");
	assert_string_equal(label(&ci, "nerdctl/namespace"), "default");
	assert_null(label(&ci, "nerdctl/name"));
	container_info_free(&ci);
}

#define K8S_UID "0b6e0c7f-7d0e-4a55-9d1b-1c8a2d7a9c11"

static void test_info_containerd_k8s(void **state)
{
	struct fx *fx = *state;
	struct container_info ci;
	char bundle[PATH_MAX];
	char *st;

	fx_config(fx, ID,
		  "{\"annotations\":{"
		  "\"io.kubernetes.cri.container-type\":\"container\","
		  "\"io.kubernetes.cri.container-name\":\"nginx\","
		  "\"io.kubernetes.cri.image-name\":\"docker.io/library/nginx:1.25\","
		  "\"io.kubernetes.cri.sandbox-id\":\"fedcba98\","
		  "\"io.kubernetes.cri.sandbox-name\":\"web-7d4b9c\","
		  "\"io.kubernetes.cri.sandbox-namespace\":\"shop\","
		  "\"io.kubernetes.cri.sandbox-uid\":\"" K8S_UID "\","
		  /* passed through from the pod (pod_annotations): not believed */
		  "\"io.kubernetes.pod.namespace\":\"kube-system\"}}",
		  bundle);
	st = state_json(ID, bundle, NULL);
	fx_state(fx, ID, st);
	free(st);

	assert_int_equal(container_info_load(ID, fx->roots, &ci), 0);
	assert_string_equal(ci.name, "nginx");
	assert_string_equal(ci.image, "docker.io/library/nginx:1.25");
	assert_null(ci.image_id);
	assert_string_equal(ci.pod, "web-7d4b9c");
	assert_string_equal(ci.namespace, "shop");
	assert_string_equal(ci.pod_uid, K8S_UID);
	assert_false(ci.annotations_from_state);
	/* what is not a field is a label; what is, is not */
	assert_int_equal(ci.n_labels, 2);
	assert_string_equal(label(&ci, "io.kubernetes.cri.container-type"), "container");
	assert_string_equal(label(&ci, "io.kubernetes.cri.sandbox-id"), "fedcba98");
	assert_null(label(&ci, "io.kubernetes.cri.container-name"));
	container_info_free(&ci);
}

static void test_info_crio(void **state)
{
	struct fx *fx = *state;
	struct container_info ci;
	char bundle[PATH_MAX];
	char *st;

	/* CRI-O: the Kubernetes labels as a JSON string; pod name and namespace only in there */
	fx_config(fx, ID,
		  "{\"annotations\":{"
		  "\"io.kubernetes.container.name\":\"redis\","
		  "\"io.kubernetes.cri-o.ContainerType\":\"container\","
		  "\"io.kubernetes.cri-o.ImageName\":\"quay.io/libpod/redis:latest\","
		  "\"io.kubernetes.cri-o.ImageRef\":\"sha256:0123abcd\","
		  "\"io.kubernetes.cri-o.Labels\":\"{\\\"app\\\":\\\"cache\\\","
		  "\\\"io.kubernetes.container.name\\\":\\\"redis\\\","
		  "\\\"io.kubernetes.pod.name\\\":\\\"cache-0\\\","
		  "\\\"io.kubernetes.pod.namespace\\\":\\\"infra\\\","
		  "\\\"io.kubernetes.pod.uid\\\":\\\"" K8S_UID "\\\","
		  "\\\"tier\\\":\\\"backend\\\"}\","
		  "\"io.kubernetes.cri-o.Annotations\":\"{}\","
		  /* a pod's own annotations, copied by CRI-O: not believed */
		  "\"io.kubernetes.cri.sandbox-namespace\":\"kube-system\","
		  "\"io.kubernetes.pod.namespace\":\"kube-system\","
		  "\"io.kubernetes.cri.container-name\":\"kube-apiserver\"}}",
		  bundle);
	st = state_json(ID, bundle, NULL);
	fx_state(fx, ID, st);
	free(st);

	assert_int_equal(container_info_load(ID, fx->roots, &ci), 0);
	assert_string_equal(ci.name, "redis");
	assert_string_equal(ci.image, "quay.io/libpod/redis:latest");
	assert_string_equal(ci.image_id, "sha256:0123abcd");
	assert_string_equal(ci.pod, "cache-0");
	assert_string_equal(ci.namespace, "infra");
	assert_string_equal(ci.pod_uid, K8S_UID);
	/* the pod's labels first, then the remaining annotations */
	assert_true(ci.n_labels >= 4);
	assert_string_equal(ci.labels[0].name, "app");
	assert_string_equal(ci.labels[0].value, "cache");
	assert_string_equal(ci.labels[1].name, "tier");
	assert_string_equal(label(&ci, "io.kubernetes.cri-o.ContainerType"), "container");
	assert_string_equal(label(&ci, "io.kubernetes.cri-o.Annotations"), "{}");
	assert_null(label(&ci, "io.kubernetes.cri-o.Labels"));
	assert_null(label(&ci, "io.kubernetes.pod.name"));
	container_info_free(&ci);
}

static void test_info_crun_status(void **state)
{
	struct fx *fx = *state;
	struct container_info ci;
	char bundle[PATH_MAX], path[PATH_MAX];

	fx_config(fx, "podman-ctr",
		  "{\"annotations\":{\"io.kubernetes.cri.container-name\":\"x\"}}", bundle);
	fx_path(fx, path, "%s/%s", fx->root, "podman-ctr");
	assert_int_equal(mkdir(path, 0700), 0);
	fx_path(fx, path, "%s/%s/status", fx->root, "podman-ctr");
	{
		char *s = NULL;

		assert_true(asprintf(&s,
				     "{\"pid\":42,\"bundle\":\"%s\",\"created\":"
				     "\"2026-11-27T16:46:19.5+01:00\",\"systemd-cgroup\":false}",
				     bundle) > 0);
		write_str(path, s);
		free(s);
	}
	assert_int_equal(container_info_load("podman-ctr", fx->roots, &ci), 0);
	assert_string_equal(ci.bundle, bundle);
	assert_string_equal(ci.name, "x");
	assert_int_equal(ci.created_ns, 1795794379500000000LL);
	container_info_free(&ci);
}

/* Whatever the files hold, load returns what is known and never crashes. */
static void test_info_malformed(void **state)
{
	struct fx *fx = *state;
	struct container_info ci;
	char bundle[PATH_MAX], path[PATH_MAX], *st;
	static const char *const bad[] = {
		"",
		"{",
		"{\"created\":",
		"[1,2,3]",
		"\"just a string\"",
		"null",
		"{\"created\":5,\"config\":[],\"bundle\":7}",
		"{\"created\":\"yesterday\",\"config\":{\"labels\":{\"bundle\":\"/x\"}}}",
		"{\"created\":\"2026-13-45T99:99:99Z\",\"config\":{\"labels\":[1,null,[],{},"
		"\"=x\",\"noequals\",\"bundle=relative/path\",\"bundle=/a/../etc\"]}}",
		"{\"config\":{\"labels\":[\"bundle=/nonexistent/sowatch/bundle\","
		"\"io.kubernetes.cri.container-name=from-state\"]}}",
		"\xff\xfe{}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char id[32];

		snprintf(id, sizeof(id), "bad-%zu", i);
		fx_state(fx, id, bad[i]);
		assert_int_equal(container_info_load(id, fx->roots, &ci), 0);
		assert_string_equal(ci.runtime, fx->root);
		assert_string_equal(ci.id, id);
		assert_int_equal(ci.created_ns, 0);
		if (i == sizeof(bad) / sizeof(bad[0]) - 2) {
			/* missing bundle: the annotations runc copied into its state */
			assert_string_equal(ci.bundle, "/nonexistent/sowatch/bundle");
			assert_string_equal(ci.name, "from-state");
			assert_true(ci.annotations_from_state);
		} else {
			assert_null(ci.bundle);
			assert_null(ci.name);
		}
		container_info_free(&ci);
	}

	/* malformed config.json: the state's copy of the annotations */
	fx_config(fx, "badcfg", "{\"annotations\":{\"io.kubernetes.cri.container-name\":", bundle);
	st = state_json("badcfg", bundle, "\"io.kubernetes.cri.container-name=from-state\"");
	fx_state(fx, "badcfg", st);
	free(st);
	assert_int_equal(container_info_load("badcfg", fx->roots, &ci), 0);
	assert_string_equal(ci.bundle, bundle);
	assert_string_equal(ci.name, "from-state");
	assert_true(ci.annotations_from_state);
	container_info_free(&ci);

	/*
	 * A NUL in a key makes jansson refuse the whole document, whatever the flags: the state's
	 * copy then (where such a label is one string, and skipped).
	 */
	fx_config(fx, "nulkey",
		  "{\"annotations\":{\"a\\u0000b\":\"v\","
		  "\"io.kubernetes.cri.container-name\":\"cfg\"}}",
		  bundle);
	st = state_json("nulkey", bundle,
			"\"a\\u0000b=v\",\"io.kubernetes.cri.container-name=from-state\"");
	fx_state(fx, "nulkey", st);
	free(st);
	assert_int_equal(container_info_load("nulkey", fx->roots, &ci), 0);
	assert_string_equal(ci.name, "from-state");
	assert_true(ci.annotations_from_state);
	assert_int_equal(ci.n_labels, 0);
	container_info_free(&ci);

	/* an annotation named "bundle" comes before runc's own "bundle=" label: not followed */
	fx_config(fx, "evil", "{\"annotations\":{\"io.kubernetes.cri.container-name\":\"evil\"}}",
		  path);
	fx_config(fx, "good", "{\"annotations\":{\"io.kubernetes.cri.container-name\":\"good\"}}",
		  bundle);
	assert_true(asprintf(&st, "{\"config\":{\"labels\":[\"bundle=%s\",\"x=y\",\"bundle=%s\"]}}",
			     path, bundle) > 0);
	fx_state(fx, "spoof", st);
	free(st);
	assert_int_equal(container_info_load("spoof", fx->roots, &ci), 0);
	assert_string_equal(ci.bundle, bundle);
	assert_string_equal(ci.name, "good");
	container_info_free(&ci);

	/* annotations that are not an object; a bundle that is a file */
	fx_config(fx, "notobj", "{\"annotations\":[\"io.kubernetes.cri.container-name=x\"]}",
		  bundle);
	st = state_json("notobj", bundle, NULL);
	fx_state(fx, "notobj", st);
	free(st);
	assert_int_equal(container_info_load("notobj", fx->roots, &ci), 0);
	assert_null(ci.name);
	assert_int_equal(ci.n_labels, 0);
	container_info_free(&ci);

	fx_path(fx, path, "%s/%s/config.json", fx->bundles, "notobj");
	st = state_json("filebundle", path, NULL);
	fx_state(fx, "filebundle", st);
	free(st);
	assert_int_equal(container_info_load("filebundle", fx->roots, &ci), 0);
	assert_null(ci.name);
	container_info_free(&ci);

	/* the state's "bundle" a FIFO's directory: config.json a FIFO is never opened to block */
	fx_path(fx, path, "%s/%s", fx->bundles, "fifo");
	assert_int_equal(mkdir(path, 0700), 0);
	fx_path(fx, path, "%s/%s/config.json", fx->bundles, "fifo");
	assert_int_equal(mkfifo(path, 0600), 0);
	fx_path(fx, bundle, "%s/%s", fx->bundles, "fifo");
	st = state_json("fifo", bundle, NULL);
	fx_state(fx, "fifo", st);
	free(st);
	assert_int_equal(container_info_load("fifo", fx->roots, &ci), 0);
	assert_string_equal(ci.bundle, bundle);
	assert_null(ci.name);
	container_info_free(&ci);
}

static void test_info_values(void **state)
{
	struct fx *fx = *state;
	struct container_info ci;
	char bundle[PATH_MAX], *cfg, *st;
	size_t cap = 64 * 1024, n = 0;

	/* non-string values, a NUL, an over-long name, a label too long, 100 short ones */
	cfg = malloc(cap);
	assert_non_null(cfg);
	n += snprintf(cfg + n, cap - n,
		      "{\"annotations\":{"
		      "\"io.kubernetes.cri.container-name\":5,"
		      "\"io.kubernetes.cri.sandbox-name\":null,"
		      "\"io.kubernetes.cri.sandbox-namespace\":[\"ns\"],"
		      "\"io.kubernetes.cri.sandbox-uid\":{\"a\":1},"
		      "\"io.kubernetes.container.name\":\"ab\\u0000cd\","
		      "\"io.kubernetes.pod.name\":\"\","
		      "\"io.kubernetes.cri.image-name\":\"img\\u00e9\\n\\\"quoted\\\"\","
		      "\"evil\":\"\\u001b[31mred\\u001b[0m\","
		      "\"io.kubernetes.pod.namespace\":\"");
	for (int i = 0; i < CONTAINER_FIELD_MAX + 1; i++)
		cfg[n++] = 'n';
	n += snprintf(cfg + n, cap - n, "\",\"long\":\"");
	for (int i = 0; i < CONTAINER_LABEL_MAX + 1; i++)
		cfg[n++] = 'l';
	n += snprintf(cfg + n, cap - n, "\"");
	for (int i = 0; i < 100; i++)
		n += snprintf(cfg + n, cap - n, ",\"k%03d\":\"v%d\"", i, i);
	n += snprintf(cfg + n, cap - n, "}}");
	assert_true(n < cap);
	fx_config(fx, ID, cfg, bundle);
	free(cfg);
	st = state_json(ID, bundle, NULL);
	fx_state(fx, ID, st);
	free(st);

	assert_int_equal(container_info_load(ID, fx->roots, &ci), 0);
	assert_null(ci.name);
	assert_null(ci.pod);
	assert_null(ci.namespace);
	assert_null(ci.pod_uid);
	assert_string_equal(ci.image, "img\xc3\xa9\n\"quoted\"");
	assert_int_equal(ci.n_labels, CONTAINER_LABELS_MAX);
	assert_null(label(&ci, "long"));
	assert_string_equal(label(&ci, "evil"), "\x1b[31mred\x1b[0m");
	assert_string_equal(label(&ci, "k000"), "v0");
	assert_null(label(&ci, "k099"));
	container_info_free(&ci);
}

static void test_info_huge(void **state)
{
	struct fx *fx = *state;
	struct container_info ci;
	char bundle[PATH_MAX], path[PATH_MAX], *big, *st;
	size_t n = CONTAINER_FILE_MAX + 1;

	/* config.json one byte too large: not read; the state's copy is used */
	big = malloc(n);
	assert_non_null(big);
	memset(big, ' ', n);
	memcpy(big, "{\"annotations\":{\"io.kubernetes.cri.container-name\":\"big\"}}", 58);
	fx_config(fx, "huge-cfg", "", bundle);
	fx_path(fx, path, "%s/%s/config.json", fx->bundles, "huge-cfg");
	write_file(path, big, n);
	st = state_json("huge-cfg", bundle, "\"io.kubernetes.cri.container-name=small\"");
	fx_state(fx, "huge-cfg", st);
	free(st);
	assert_int_equal(container_info_load("huge-cfg", fx->roots, &ci), 0);
	assert_string_equal(ci.name, "small");
	container_info_free(&ci);
	/* exactly the limit is fine */
	write_file(path, big, n - 1);
	assert_int_equal(container_info_load("huge-cfg", fx->roots, &ci), 0);
	assert_string_equal(ci.name, "big");
	container_info_free(&ci);

	/* a huge state.json: known to the runtime, nothing else */
	fx_state(fx, "huge-state", "");
	fx_path(fx, path, "%s/%s/state.json", fx->root, "huge-state");
	write_file(path, big, n);
	assert_int_equal(container_info_load("huge-state", fx->roots, &ci), 0);
	assert_string_equal(ci.runtime, fx->root);
	assert_null(ci.bundle);
	container_info_free(&ci);

	/* deeply nested JSON */
	memset(big, '[', 100000);
	big[100000] = '\0';
	fx_state(fx, "deep", big);
	assert_int_equal(container_info_load("deep", fx->roots, &ci), 0);
	assert_null(ci.bundle);
	container_info_free(&ci);
	free(big);
}

static void test_info_symlinks(void **state)
{
	struct fx *fx = *state;
	struct container_info ci;
	char bundle[PATH_MAX], path[PATH_MAX], target[PATH_MAX], *st;

	/* a real container's files, to which the links below point */
	fx_config(fx, "real", "{\"annotations\":{\"io.kubernetes.cri.container-name\":\"real\"}}",
		  bundle);
	st = state_json("real", bundle, "\"io.kubernetes.cri.container-name=real-state\"");
	fx_state(fx, "real", st);
	free(st);

	/* <id>/state.json a symlink: not followed; the runtime knows the id, nothing more */
	fx_path(fx, path, "%s/%s", fx->root, "lnk-state");
	assert_int_equal(mkdir(path, 0700), 0);
	fx_path(fx, path, "%s/%s/state.json", fx->root, "lnk-state");
	fx_path(fx, target, "%s/%s/state.json", fx->root, "real");
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(container_info_load("lnk-state", fx->roots, &ci), 0);
	assert_string_equal(ci.runtime, fx->root);
	assert_null(ci.bundle);
	assert_null(ci.name);
	container_info_free(&ci);

	/* <id> itself a symlink: not a container here */
	fx_path(fx, path, "%s/%s", fx->root, "lnk-dir");
	fx_path(fx, target, "%s/%s", fx->root, "real");
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(container_info_load("lnk-dir", fx->roots, &ci), -ENOENT);

	/* config.json a symlink: not followed; the state's copy */
	fx_path(fx, path, "%s/%s", fx->bundles, "lnk-cfg");
	assert_int_equal(mkdir(path, 0700), 0);
	fx_path(fx, path, "%s/%s/config.json", fx->bundles, "lnk-cfg");
	fx_path(fx, target, "%s/%s/config.json", fx->bundles, "real");
	assert_int_equal(symlink(target, path), 0);
	fx_path(fx, bundle, "%s/%s", fx->bundles, "lnk-cfg");
	st = state_json("lnk-cfg", bundle, "\"io.kubernetes.cri.container-name=own\"");
	fx_state(fx, "lnk-cfg", st);
	free(st);
	assert_int_equal(container_info_load("lnk-cfg", fx->roots, &ci), 0);
	assert_string_equal(ci.name, "own");
	assert_true(ci.annotations_from_state);
	container_info_free(&ci);
}

static void touch_later(const char *path, int seconds)
{
	struct timeval tv[2];

	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec += seconds;
	tv[1] = tv[0];
	assert_int_equal(utimes(path, tv), 0);
}

static void test_info_cache(void **state)
{
	struct fx *fx = *state;
	struct container_info ci;
	char bundle[PATH_MAX], cfg[PATH_MAX], path[PATH_MAX], *st;

	fx_config(fx, ID, "{\"annotations\":{\"io.kubernetes.cri.container-name\":\"one\"}}",
		  bundle);
	st = state_json(ID, bundle, NULL);
	fx_state(fx, ID, st);
	free(st);
	fx_path(fx, cfg, "%s/%s/config.json", fx->bundles, ID);
	fx_path(fx, path, "%s/%s/state.json", fx->root, ID);

	assert_int_equal(container_info_get(ID, fx->roots, &ci), 0);
	assert_string_equal(ci.name, "one");
	container_info_free(&ci);

	/* config.json changes alone: the cached answer stands */
	write_str(cfg, "{\"annotations\":{\"io.kubernetes.cri.container-name\":\"two\"}}");
	assert_int_equal(container_info_get(ID, fx->roots, &ci), 0);
	assert_string_equal(ci.name, "one");
	container_info_free(&ci);

	/* state.json's mtime changes: reloaded */
	touch_later(path, 10);
	assert_int_equal(container_info_get(ID, fx->roots, &ci), 0);
	assert_string_equal(ci.name, "two");
	container_info_free(&ci);

	/* the container is gone: what was known of it */
	unlink(path);
	assert_int_equal(container_info_get(ID, fx->roots, &ci), 0);
	assert_string_equal(ci.name, "two");
	container_info_free(&ci);
	container_info_cache_clear();
	assert_int_equal(container_info_get(ID, fx->roots, &ci), -ENOENT);
	assert_int_equal(container_info_get("../x", fx->roots, &ci), -EINVAL);

	/* more containers than entries: evicted and reloaded, never wrong */
	for (int i = 0; i < CONTAINER_CACHE_SIZE + 10; i++) {
		char id[32], json[512];

		snprintf(id, sizeof(id), "c%d", i);
		snprintf(json, sizeof(json),
			 "{\"config\":{\"labels\":[\"io.kubernetes.cri.container-name=n%d\"]}}", i);
		fx_state(fx, id, json);
	}
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < CONTAINER_CACHE_SIZE + 10; i++) {
			char id[32], want[32];

			snprintf(id, sizeof(id), "c%d", i);
			snprintf(want, sizeof(want), "n%d", i);
			assert_int_equal(container_info_get(id, fx->roots, &ci), 0);
			assert_string_equal(ci.name, want);
			container_info_free(&ci);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_host_cgroups),
		cmocka_unit_test(test_plain_runc_needs_its_state),
		cmocka_unit_test(test_own_process),
		cmocka_unit_test(test_nested_and_decorated),
		cmocka_unit_test_setup_teardown(test_info_docker, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_info_nerdctl_name, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_info_containerd_k8s, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_info_crio, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_info_crun_status, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_info_malformed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_info_values, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_info_huge, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_info_symlinks, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_info_cache, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * How a finding names a Cloud Run revision: resource and sourceProperties.cloudRun, from the
 * K_* values a sandboxed process carried, which whoever runs in the sandbox can choose.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "detectors/openssl.h"
#include "findings/finding.h"
#include "finding_json.h"

/* The JSON a SIEM would receive for a sandbox process with these values (NULL: unset). */
static json_t *finding_json(const char *service, const char *revision, const char *config,
			    const struct finding_resource *res)
{
	struct proc p = { .ns = (1ull << 63) | 1, .pid = 7, .container_id = "ctr-1" };
	struct finding f = {
		.kind = &openssl_finding_kind,
		.severity = "CRITICAL",
		.sensor = "gvisor",
		.proc = &p,
		.trust_reason = "custom",
	};

	memcpy(p.comm, "openssl", 8);
	p.cloud_run[CLOUD_RUN_SERVICE] = (char *)service;
	p.cloud_run[CLOUD_RUN_REVISION] = (char *)revision;
	p.cloud_run[CLOUD_RUN_CONFIGURATION] = (char *)config;
	f.module.file.path = "/tmp/x.so";
	f.module.kind = "engine";
	return finding_parsed(&f, res);
}

static const char *str_at(json_t *j, const char *a, const char *b, const char *c)
{
	json_t *v = json_object_get(j, a);

	if (b)
		v = json_object_get(v, b);
	if (c)
		v = json_object_get(v, c);
	return json_string_value(v);
}

static void test_cloud_run_revision(void **state)
{
	struct finding_resource res;
	json_t *j;

	finding_resource_defaults(&res);
	snprintf(res.hostname, sizeof(res.hostname), "node-1");
	j = finding_json("hello", "hello-00001-abc", "hello", &res);
	assert_string_equal(str_at(j, "resource", "type", NULL), "cloud_run_revision");
	assert_string_equal(
	    str_at(j, "resource", "name", NULL),
	    "//sowatch/hosts/node-1/cloudRun/services/hello/revisions/hello-00001-abc");
	assert_string_equal(str_at(j, "finding", "resourceName", NULL),
			    str_at(j, "resource", "name", NULL));
	assert_string_equal(str_at(j, "resource", "display_name", NULL), "hello-00001-abc");
	assert_string_equal(str_at(j, "finding", "sourceProperties", "containerId"), "ctr-1");
	/* The sensor's host, which a fleet's central store keeps apart */
	assert_string_equal(str_at(j, "finding", "sourceProperties", "host"), "node-1");
	{
		json_t *cr = json_object_get(
		    json_object_get(json_object_get(j, "finding"), "sourceProperties"), "cloudRun");

		assert_string_equal(str_at(cr, "service", NULL, NULL), "hello");
		assert_string_equal(str_at(cr, "revision", NULL, NULL), "hello-00001-abc");
		assert_string_equal(str_at(cr, "configuration", NULL, NULL), "hello");
	}
	json_decref(j);

	/* Configuration wins, for every finding */
	snprintf(res.type, sizeof(res.type), "k8s_node");
	snprintf(res.name, sizeof(res.name), "//example/node-1");
	j = finding_json("hello", "hello-00001-abc", NULL, &res);
	assert_string_equal(str_at(j, "resource", "type", NULL), "k8s_node");
	assert_string_equal(str_at(j, "resource", "name", NULL), "//example/node-1");
	/* ... and sourceProperties still name the service */
	assert_string_equal(
	    str_at(json_object_get(json_object_get(j, "finding"), "sourceProperties"), "cloudRun",
		   "service", NULL),
	    "hello");
	json_decref(j);
}

/* Values no Cloud Run would set: written escaped in sourceProperties, kept out of the name */
static void test_hostile_values(void **state)
{
	static const char nasty[] = "a/../../x\"}\n\x01\xff";
	struct finding_resource res;
	json_t *j, *cr;

	finding_resource_defaults(&res);
	snprintf(res.hostname, sizeof(res.hostname), "node-1");
	j = finding_json(nasty, "hello-1", NULL, &res);
	assert_string_equal(str_at(j, "resource", "type", NULL), "container");
	assert_string_equal(str_at(j, "resource", "name", NULL),
			    "//sowatch/hosts/node-1/containers/ctr-1");
	assert_null(json_object_get(json_object_get(j, "resource"), "display_name"));
	cr = json_object_get(json_object_get(json_object_get(j, "finding"), "sourceProperties"),
			     "cloudRun");
	assert_non_null(cr);
	/* The invalid byte became U+FFFD; everything else is as it was */
	assert_string_equal(str_at(cr, "service", NULL, NULL), "a/../../x\"}\n\x01\xef\xbf\xbd");
	assert_null(json_object_get(cr, "configuration"));
	json_decref(j);

	/* A service alone names no revision */
	j = finding_json("hello", NULL, NULL, &res);
	assert_string_equal(str_at(j, "resource", "type", NULL), "container");
	json_decref(j);
	j = finding_json("Hello", "hello-1", NULL, &res);
	assert_string_equal(str_at(j, "resource", "type", NULL), "container");
	json_decref(j);
	/* None at all: no cloudRun key */
	j = finding_json(NULL, NULL, NULL, &res);
	assert_null(json_object_get(
	    json_object_get(json_object_get(j, "finding"), "sourceProperties"), "cloudRun"));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cloud_run_revision),
		cmocka_unit_test(test_hostile_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

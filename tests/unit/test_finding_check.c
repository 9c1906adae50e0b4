// SPDX-License-Identifier: Apache-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "fleet/finding_check.h"

#define PREFIX	"sowatch.findings"
#define SUBJECT "sowatch.findings.node-a_2elan.critical"
#define ID	"0123456789abcdef0123456789abcdef"

/*
 * A finding as a node writes it, with extra fields in sourceProperties when given; host NULL:
 * none, as an older sowatch wrote them
 */
static char *finding(const char *host, const char *severity, const char *extra)
{
	char *out = NULL, host_field[300] = "";

	if (host)
		snprintf(host_field, sizeof(host_field), "\"host\":\"%s\",", host);

	if (asprintf(&out,
		     "{\"finding\":{\"name\":\"projects/p/sources/sowatch/findings/" ID "\","
		     "\"category\":\"Execution: Suspicious OpenSSL Shared Object Loaded\","
		     "\"severity\":\"%s\",\"state\":\"ACTIVE\",\"mute\":\"UNDEFINED\","
		     "\"eventTime\":\"2026-12-02T21:00:00.000001Z\","
		     "\"createTime\":\"2026-12-02T21:00:00.000002Z\","
		     "\"processes\":[{\"binary\":{\"path\":\"/usr/bin/openssl\"},"
		     "\"libraries\":[{\"path\":\"/tmp/x.so\",\"sha256\":\"ab\"}]}],"
		     "\"containers\":[{\"name\":\"web\",\"uri\":\"nginx:1\"}],"
		     "\"kubernetes\":{\"pods\":[{\"ns\":\"prod\",\"name\":\"web-1\"}]},"
		     "\"sourceProperties\":{%s\"containerId\":\"c0ffee\"%s}},"
		     "\"resource\":{\"name\":\"//sowatch/hosts/x\"}}",
		     severity, host_field, extra ? extra : "") < 0)
		return NULL;
	return out;
}

static void test_accepts_a_finding(void **state)
{
	char *json = finding("node-a.lan", "CRITICAL", NULL), why[512] = "";
	struct fleet_finding f;

	assert_int_equal(
	    fleet_finding_parse(&f, json, strlen(json), SUBJECT, PREFIX, why, sizeof(why)), 0);
	assert_string_equal(f.row.id, ID);
	assert_string_equal(f.row.host, "node-a.lan");
	assert_string_equal(f.row.severity, "CRITICAL");
	assert_string_equal(f.row.container_id, "c0ffee");
	assert_string_equal(f.row.container_name, "web");
	assert_string_equal(f.row.image, "nginx:1");
	assert_string_equal(f.row.pod, "web-1");
	assert_string_equal(f.row.namespace, "prod");
	assert_string_equal(f.row.binary_path, "/usr/bin/openssl");
	assert_string_equal(f.row.module_path, "/tmp/x.so");
	assert_int_equal(f.row.event_time_ns, 1796245200000001000LL);
	/* Stored byte for byte as received */
	assert_string_equal(f.row.json, json);
	fleet_finding_release(&f);
	free(json);
}

static void expect_refused(const char *json, size_t len, const char *subject, const char *said)
{
	struct fleet_finding f;
	char why[512] = "";

	assert_int_equal(fleet_finding_parse(&f, json, len, subject, PREFIX, why, sizeof(why)),
			 -EINVAL);
	if (!strstr(why, said))
		fail_msg("refused for '%s', expected '%s'", why, said);
	assert_null(f.doc);
	assert_null(f.json);
}

static void test_refuses_what_is_not_a_finding(void **state)
{
	char *other_host = finding("node-b", "CRITICAL", NULL);
	char *low = finding("node-a.lan", "LOW", NULL);
	char *dup = finding("node-a.lan", "CRITICAL", ",\"host\":\"node-a.lan\"");
	char *bad_sev = finding("node-a.lan", "URGENT", NULL);
	char *empty_host = finding("", "CRITICAL", NULL);
	char *no_host = finding(NULL, "CRITICAL", NULL);
	char *big = calloc(1, FLEET_MESSAGE_MAX + 2);
	static const char nul[] = "{\"finding\":{}}\0{}";
	static const char no_sp[] = "{\"finding\":{\"name\":\"x\"},\"resource\":{}}";

	expect_refused("not json", 8, SUBJECT, "not JSON");
	expect_refused(nul, sizeof(nul) - 1, SUBJECT, "not JSON");
	expect_refused("[]", 2, SUBJECT, "not a finding");
	expect_refused(no_sp, strlen(no_sp), SUBJECT, "not a finding");
	/* Another host's finding, or the right host on another severity's subject */
	expect_refused(other_host, strlen(other_host), SUBJECT, "belong on");
	expect_refused(low, strlen(low), SUBJECT, "belong on");
	/* Two readers of the same bytes must not see two different findings */
	expect_refused(dup, strlen(dup), SUBJECT, "not JSON");
	expect_refused(bad_sev, strlen(bad_sev), SUBJECT, "severity");
	expect_refused(empty_host, strlen(empty_host), SUBJECT, "not a host name");
	/* No host of its own, and none in a subject that is not <prefix>.<token>.<severity> */
	expect_refused(no_host, strlen(no_host), "sowatch.findings.node-a_2Elan.critical",
		       "no sourceProperties.host");
	expect_refused(no_host, strlen(no_host), "sowatch.findings.node-a_2elan",
		       "no sourceProperties.host");
	expect_refused(no_host, strlen(no_host), "other.prefix.node-a.critical",
		       "no sourceProperties.host");
	expect_refused(no_host, strlen(no_host), "sowatch.findings.node-a_2elan.low", "belong on");
	memset(big, ' ', FLEET_MESSAGE_MAX + 1);
	expect_refused(big, FLEET_MESSAGE_MAX + 1, SUBJECT, "more than a finding's");
	free(other_host);
	free(low);
	free(dup);
	free(bad_sev);
	free(empty_host);
	free(no_host);
	free(big);
}

/* A finding of a sowatch older than the store's host column: the host is its subject's */
static void test_host_from_the_subject(void **state)
{
	char *json = finding(NULL, "CRITICAL", NULL), why[512] = "";
	struct fleet_finding f;

	assert_int_equal(
	    fleet_finding_parse(&f, json, strlen(json), SUBJECT, PREFIX, why, sizeof(why)), 0);
	assert_string_equal(f.row.host, "node-a.lan");
	assert_string_equal(f.row.json, json);
	fleet_finding_release(&f);
	assert_null(f.host);
	assert_int_equal(fleet_finding_parse(&f, json, strlen(json),
					     "sowatch.findings.h_c3_a9_20x.critical", PREFIX, why,
					     sizeof(why)),
			 0);
	assert_string_equal(f.row.host, "h\xc3\xa9 x");
	fleet_finding_release(&f);
	free(json);
}

/*
 * Out of memory is not "not a finding": the collector must try the message again later, not
 * refuse it for good. The parser's allocations are made to fail one kind at a time: jansson's
 * through its allocator hook, the copies (of the message, of the subject's host) through this
 * file's strndup() and strdup(), which the program's own calls reach before the C library's.
 */
static bool copies_fail;

char *strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *out = copies_fail ? NULL : malloc(len + 1);

	if (out) {
		memcpy(out, s, len);
		out[len] = '\0';
	}
	return out;
}

char *strdup(const char *s)
{
	return strndup(s, strlen(s));
}

static void *no_malloc(size_t size)
{
	return NULL;
}

static void expect_no_memory(const char *json, const char *subject)
{
	struct fleet_finding f;
	char why[512] = "";

	assert_int_equal(
	    fleet_finding_parse(&f, json, strlen(json), subject, PREFIX, why, sizeof(why)),
	    -ENOMEM);
	assert_string_equal(why, "out of memory");
	assert_null(f.doc);
	assert_null(f.json);
	assert_null(f.host);
}

static void test_out_of_memory_is_not_a_refusal(void **state)
{
	char *with_host = finding("node-a.lan", "CRITICAL", NULL);
	char *no_host = finding(NULL, "CRITICAL", NULL);

	json_set_alloc_funcs(no_malloc, free);
	expect_no_memory(with_host, SUBJECT);
	json_set_alloc_funcs(malloc, free);
	copies_fail = true;
	expect_no_memory(with_host, SUBJECT);
	expect_no_memory(no_host, SUBJECT);
	copies_fail = false;
	free(with_host);
	free(no_host);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts_a_finding),
		cmocka_unit_test(test_refuses_what_is_not_a_finding),
		cmocka_unit_test(test_host_from_the_subject),
		cmocka_unit_test(test_out_of_memory_is_not_a_refusal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

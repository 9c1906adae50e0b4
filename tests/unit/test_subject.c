// SPDX-License-Identifier: Apache-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "fleet/subject.h"

static void expect_token(const char *host, const char *want)
{
	char out[FLEET_SUBJECT_MAX];

	assert_int_equal(fleet_host_token(out, sizeof(out), host), 0);
	assert_string_equal(out, want);
}

static void test_host_token(void **state)
{
	expect_token("node-1", "node-1");
	expect_token("Node7", "Node7");
	/* The token separator and the wildcards never reach the subject as themselves */
	expect_token("node-1.example.com", "node-1_2eexample_2ecom");
	expect_token("a*b>c", "a_2ab_3ec");
	expect_token("a b\tc", "a_20b_09c");
	/* '_' is escaped too, so that "a_2e" and "a." stay apart */
	expect_token("a_2e", "a_5f2e");
	expect_token("a.", "a_2e");
	expect_token("h\xc3\xa9", "h_c3_a9");
}

static void test_host_token_limits(void **state)
{
	char out[8];

	assert_int_equal(fleet_host_token(out, sizeof(out), ""), -EINVAL);
	assert_int_equal(fleet_host_token(out, sizeof(out), NULL), -EINVAL);
	assert_int_equal(fleet_host_token(out, sizeof(out), "1234567"), 0);
	assert_int_equal(fleet_host_token(out, sizeof(out), "12345678"), -ENAMETOOLONG);
	assert_int_equal(fleet_host_token(out, sizeof(out), "12345."), -ENAMETOOLONG);
}

static void expect_round_trip(const char *host)
{
	char token[FLEET_SUBJECT_MAX], back[256];

	assert_int_equal(fleet_host_token(token, sizeof(token), host), 0);
	assert_int_equal(fleet_host_from_token(back, sizeof(back), token), 0);
	assert_string_equal(back, host);
}

static void test_host_from_token(void **state)
{
	char out[256], all[256];

	expect_round_trip("node-1");
	expect_round_trip("node-1.example.com");
	expect_round_trip("a*b>c d\te_2e.");
	expect_round_trip("h\xc3\xa9\xe2\x80\xae\x01\xff");
	for (int i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	expect_round_trip(all);
	/* Only what fleet_host_token() writes: one host per token, one token per host */
	assert_int_equal(fleet_host_from_token(out, sizeof(out), ""), -EINVAL);
	assert_int_equal(fleet_host_from_token(out, sizeof(out), "a_2E"), -EINVAL);
	assert_int_equal(fleet_host_from_token(out, sizeof(out), "a_2"), -EINVAL);
	assert_int_equal(fleet_host_from_token(out, sizeof(out), "a_"), -EINVAL);
	assert_int_equal(fleet_host_from_token(out, sizeof(out), "a_zz"), -EINVAL);
	assert_int_equal(fleet_host_from_token(out, sizeof(out), "a_00"), -EINVAL);
	assert_int_equal(fleet_host_from_token(out, sizeof(out), "a_61"), -EINVAL);
	assert_int_equal(fleet_host_from_token(out, sizeof(out), "a_2d"), -EINVAL);
	assert_int_equal(fleet_host_from_token(out, sizeof(out), "a.b"), -EINVAL);
	assert_int_equal(fleet_host_from_token(out, sizeof(out), "a*"), -EINVAL);
	assert_int_equal(fleet_host_from_token(out, 4, "abc"), 0);
	assert_int_equal(fleet_host_from_token(out, 4, "abcd"), -ENAMETOOLONG);
	assert_int_equal(fleet_host_from_token(out, 4, "ab_2e_2e"), -ENAMETOOLONG);
}

static void test_subject(void **state)
{
	char out[FLEET_SUBJECT_MAX];
	char host[256];

	assert_int_equal(
	    fleet_subject(out, sizeof(out), "sowatch.findings", "node-1.lan", "CRITICAL"), 0);
	assert_string_equal(out, "sowatch.findings.node-1_2elan.critical");
	assert_int_equal(fleet_subject(out, sizeof(out), "p", "h", ""), -EINVAL);
	/* The longest host name fits */
	memset(host, '.', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	assert_int_equal(fleet_subject(out, sizeof(out), "sowatch.findings", host, "LOW"), 0);
	assert_int_equal(strlen(out), strlen("sowatch.findings.") + 3 * 255 + strlen(".low"));
	assert_int_equal(fleet_subject(out, 20, "sowatch.findings", "node", "LOW"), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_token),
		cmocka_unit_test(test_host_token_limits),
		cmocka_unit_test(test_host_from_token),
		cmocka_unit_test(test_subject),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

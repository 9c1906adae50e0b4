// SPDX-License-Identifier: Apache-2.0
/* Allow and mute rules: every field a rule sets must match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "findings/rules.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct rule_subject subject = {
	.module_path = "/opt/hsm/engine.so",
	.module_sha256 = "aa",
	.image = "registry.example/app:1.2",
	.container_name = "web",
	.container_id = ID,
	.namespace = "shop",
	.category = "Execution: Added Library Loaded",
};

static void test_every_set_field_must_match(void **state)
{
	struct config_rule r = { 0 };

	r.field[RULE_MODULE_PATH] = "/opt/hsm/engine.so";
	assert_true(rule_matches(&r, &subject));
	r.field[RULE_MODULE_SHA256] = "bb";
	assert_false(rule_matches(&r, &subject));
	r.field[RULE_MODULE_SHA256] = "aa";
	r.field[RULE_NAMESPACE] = "shop";
	assert_true(rule_matches(&r, &subject));
	r.field[RULE_IMAGE] = "registry.example/app:1.3";
	assert_false(rule_matches(&r, &subject));
}

static void test_container_by_name_or_id(void **state)
{
	struct config_rule r = { 0 };

	r.field[RULE_CONTAINER] = "web";
	assert_true(rule_matches(&r, &subject));
	r.field[RULE_CONTAINER] = ID;
	assert_true(rule_matches(&r, &subject));
	r.field[RULE_CONTAINER] = "0123456789ab"; /* 12 digits: a short id */
	assert_true(rule_matches(&r, &subject));
	r.field[RULE_CONTAINER] = "0123"; /* too short to name one container */
	assert_false(rule_matches(&r, &subject));
	r.field[RULE_CONTAINER] = "db";
	assert_false(rule_matches(&r, &subject));
}

static void test_unknown_subject_fields_never_match(void **state)
{
	struct rule_subject host = { .module_path = "/tmp/x.so", .category = "c" };
	struct config_rule r = { 0 };

	r.field[RULE_IMAGE] = "anything";
	assert_false(rule_matches(&r, &host));
	r.field[RULE_IMAGE] = NULL;
	r.field[RULE_CONTAINER] = "web";
	assert_false(rule_matches(&r, &host));
}

static void test_first_matching_rule(void **state)
{
	struct config_rule rules[3];

	memset(rules, 0, sizeof(rules));

	rules[0].field[RULE_CATEGORY] = "Execution: Suspicious OpenSSL Shared Object Loaded";
	rules[1].field[RULE_CATEGORY] = "Execution: Added Library Loaded";
	rules[2].field[RULE_NAMESPACE] = "shop";
	assert_ptr_equal(rules_find(rules, 3, &subject), &rules[1]);
	assert_null(rules_find(rules, 1, &subject));
	assert_null(rules_find(NULL, 0, &subject));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_set_field_must_match),
		cmocka_unit_test(test_container_by_name_or_id),
		cmocka_unit_test(test_unknown_subject_fields_never_match),
		cmocka_unit_test(test_first_matching_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

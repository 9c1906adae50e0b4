// SPDX-License-Identifier: Apache-2.0
/* The configuration file: what is accepted, and that a bad file names its line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

static int load(struct config *cfg, const char *text, const char **err)
{
	*err = NULL;
	return config_load_string(cfg, "test.yaml", text, strlen(text), err);
}

static void test_full_file(void **state)
{
	struct config cfg;
	const char *err;

	assert_int_equal(load(&cfg,
			      "# comment\n"
			      "resource:\n"
			      "  project: acme-prod\n"
			      "  source: \"1234\"\n"
			      "  name: //container.googleapis.com/projects/acme/clusters/c1\n"
			      "  type: k8s_cluster\n"
			      "  project_display_name: Acme production\n"
			      "outputs:\n"
			      "  jsonl: /var/log/sowatch.jsonl\n"
			      "enforce:\n"
			      "  mode: kill\n"
			      "  where: containers\n"
			      "  severity: low\n",
			      &err),
			 0);
	assert_string_equal(cfg.enforce_mode, "kill");
	assert_string_equal(cfg.enforce_where, "containers");
	assert_string_equal(cfg.enforce_severity, "low");
	assert_string_equal(cfg.resource.project, "acme-prod");
	assert_string_equal(cfg.resource.source, "1234");
	assert_string_equal(cfg.resource.type, "k8s_cluster");
	assert_string_equal(cfg.resource.project_display_name, "Acme production");
	assert_string_equal(cfg.jsonl_path, "/var/log/sowatch.jsonl");
}

static void test_defaults(void **state)
{
	struct config cfg;
	const char *err;

	assert_int_equal(load(&cfg, "", &err), 0);
	assert_string_equal(cfg.resource.source, "sowatch");
	assert_true(cfg.resource.project[0]);
	assert_string_equal(cfg.jsonl_path, "");
	assert_int_equal(load(&cfg, "resource:\n  type: host\n", &err), 0);
	assert_string_equal(cfg.resource.source, "sowatch");
}

static void expect_error(const char *text, const char *want)
{
	struct config cfg;
	const char *err;

	assert_int_not_equal(load(&cfg, text, &err), 0);
	assert_non_null(err);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_errors_name_line_and_key(void **state)
{
	expect_error("resource:\n  project: a\n  colour: blue\n",
		     "test.yaml:3: unknown key 'resource.colour'");
	expect_error("logging:\n  level: debug\n", "test.yaml:1: unknown section 'logging'");
	expect_error("resource:\n  project: [a, b]\n", "test.yaml:2:");
	expect_error("resource: [1]\n", "test.yaml:1:");
	expect_error("resource:\n  project: \"unterminated\n", "test.yaml:");
	expect_error("- a\n- b\n", "test.yaml:1:");
	expect_error("\t\x01\xff: :\n", "test.yaml:");
	expect_error("enforce:\n  mode: block\n",
		     "test.yaml:2: expected off or kill for 'enforce.mode'");
	expect_error("enforce:\n  mode: kill\n  where: pods\n",
		     "test.yaml:3: expected all, containers or host for 'enforce.where'");
	expect_error("enforce:\n  severity: high\n",
		     "test.yaml:2: expected critical or low for 'enforce.severity'");
	expect_error("resource:\n  project: a/b\n",
		     "test.yaml:2: must be non-empty and hold no '/': 'resource.project'");
	expect_error("resource:\n  source: \"\"\n", "'resource.source'");
	expect_error("resource:\n  project:\n    - a\n", "not a list or mapping");
}

static void test_too_long_value(void **state)
{
	char text[8192];

	snprintf(text, sizeof(text), "resource:\n  project: %0*d\n", 4000, 0);
	expect_error(text, "test.yaml:2:");
}

static void test_missing_file(void **state)
{
	struct config cfg;
	const char *err = NULL;

	assert_int_not_equal(config_load(&cfg, "/nonexistent/sowatch.yaml", &err), 0);
	assert_non_null(strstr(err, "/nonexistent/sowatch.yaml"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors_name_line_and_key),
		cmocka_unit_test(test_too_long_value),
		cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: Apache-2.0
/* outputs.scc in the configuration file: its keys, defaults, and a one-line error for each bad value. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "config_test.h"

#define SCC "outputs:\n  scc:\n"

static void test_scc_keys_and_defaults(void **state)
{
	struct files *fx = *state;
	struct config cfg;
	const char *err;

	assert_int_equal(loadf(&cfg, &err,
			       SCC "    organization: \"123456789012\"\n"
				   "    source: create\n"
				   "    credentials: metadata\n"),
			 0);
	assert_true(cfg.scc.enabled);
	assert_int_equal(cfg.scc.line, 2);
	assert_string_equal(cfg.scc.organization, "123456789012");
	assert_string_equal(cfg.scc.source, "create");
	assert_string_equal(cfg.scc.credentials, "metadata");
	assert_string_equal(cfg.scc.location, "global");
	assert_string_equal(cfg.scc.endpoint, "https://securitycenter.googleapis.com");
	assert_string_equal(cfg.scc.token_uri, "");
	assert_string_equal(cfg.scc.ca_file, "");
	config_free(&cfg);

	assert_int_equal(loadf(&cfg, &err,
			       SCC "    organization: 42\n"
				   "    source: 9876543210\n"
				   "    location: eu\n"
				   "    credentials: %s\n"
				   "    endpoint: https://securitycenter.eu.rep.googleapis.com\n"
				   "    token_uri: https://oauth2.example/token\n"
				   "    ca_file: %s\n",
			       fx->creds, fx->ca),
			 0);
	assert_string_equal(cfg.scc.organization, "42");
	assert_string_equal(cfg.scc.source, "9876543210");
	assert_string_equal(cfg.scc.location, "eu");
	assert_string_equal(cfg.scc.credentials, fx->creds);
	assert_string_equal(cfg.scc.token_uri, "https://oauth2.example/token");
	config_free(&cfg);

	assert_int_equal(load(&cfg, "outputs:\n  jsonl: /tmp/x\n", &err), 0);
	assert_false(cfg.scc.enabled);
}

static void test_scc_refused(void **state)
{
	struct files *fx = *state;
	struct config cfg;
	const char *err;
	char want[512];

	expect_error(SCC "    organization: acme\n    source: create\n    credentials: metadata\n",
		     "test.yaml:3: not a number for 'outputs.scc.organization': the numeric id (1 "
		     "to 20 digits), as 123456789012");
	expect_error(SCC "    organization: [1, 2]\n",
		     "test.yaml:3: expected a text value, not a list or mapping, for "
		     "'outputs.scc.organization'");
	expect_error(SCC "    organization: -5\n", "test.yaml:3: not a number for");
	expect_error(SCC "    source: make\n",
		     "test.yaml:3: not a source for 'outputs.scc.source': the numeric source id "
		     "(1 to 20 digits), or create");
	expect_error(SCC "    location: Europe/West\n", "test.yaml:3: not a location for");
	expect_error(SCC "    endpoint: http://securitycenter.googleapis.com\n",
		     "test.yaml:3: expected an https:// URL for 'outputs.scc.endpoint': the "
		     "credentials it carries are never sent in clear");
	expect_error(SCC "    token_uri: https://user:pw@oauth2.example/token\n",
		     "test.yaml:3: not a valid URL for 'outputs.scc.token_uri'");
	expect_error(SCC "    credentials: key.json\n",
		     "test.yaml:3: cannot use 'outputs.scc.credentials': an absolute path to a "
		     "key file, or metadata");
	expect_error(SCC "    source: create\n    credentials: metadata\n",
		     "test.yaml:2: an SCC output needs 'outputs.scc.organization'");
	expect_error(SCC "    organization: \"1\"\n    credentials: metadata\n",
		     "test.yaml:2: an SCC output needs 'outputs.scc.source'");
	expect_error(SCC "    organization: \"1\"\n    source: create\n",
		     "test.yaml:2: an SCC output needs 'outputs.scc.credentials'");
	/* A key file others may read */
	assert_int_not_equal(loadf(&cfg, &err, SCC "    credentials: %s\n", fx->ca), 0);
	snprintf(want, sizeof(want), "test.yaml:3: cannot use 'outputs.scc.credentials': ");
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "readable or writable by group or others (mode 0644)"));
	assert_null(strchr(err, '\n'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scc_keys_and_defaults, files_setup,
						files_teardown),
		cmocka_unit_test_setup_teardown(test_scc_refused, files_setup, files_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

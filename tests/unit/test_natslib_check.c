// SPDX-License-Identifier: Apache-2.0
/* natslib_check(): a NATS password goes to a server only over TLS or on this machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "fleet/natslib.h"

static int check(const char *user, const char *url, char *error, size_t size)
{
	static struct config_nats cfg;
	const char *urls[] = { url };

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.user, sizeof(cfg.user), "%s", user);
	error[0] = '\0';
	return natslib_check(&cfg, urls, 1, error, size);
}

static void expect_allowed(const char *user, const char *url)
{
	char error[512];

	if (check(user, url, error, sizeof(error)))
		fail_msg("%s refused: %s", url, error);
}

static void expect_refused(const char *url)
{
	char error[512];

	assert_int_equal(check("node-a", url, error, sizeof(error)), -EINVAL);
	assert_non_null(strstr(error, "a password would cross the network in clear to"));
	assert_non_null(strstr(error, url));
}

static void test_loopback_and_tls_allowed(void **state)
{
	(void)state;
	expect_allowed("node-a", "nats://127.0.0.1:4222");
	expect_allowed("node-a", "nats://127.8.9.10:4222");
	expect_allowed("node-a", "nats://127.0.0.1");
	expect_allowed("node-a", "nats://localhost:4222");
	expect_allowed("node-a", "nats://[::1]:4222");
	expect_allowed("node-a", "tls://nats.example:4222");
	expect_allowed("node-a", "tls://10.0.0.1:4222");
	/* no user: a creds file's key is never sent */
	expect_allowed("", "nats://10.0.0.1:4222");
}

static void test_other_machines_refused(void **state)
{
	(void)state;
	expect_refused("nats://10.0.0.1:4222");
	expect_refused("nats://nats.example:4222");
	/* names that only look like loopback */
	expect_refused("nats://127.evil.example:4222");
	expect_refused("nats://127.0.0.1.evil.example:4222");
	expect_refused("nats://localhost.evil.example:4222");
	expect_refused("nats://[::1].evil:4222");
	expect_refused("nats://[::10]:4222");
	expect_refused("nats://128.0.0.1:4222");
}

static void test_one_url_in_clear_is_enough(void **state)
{
	struct config_nats cfg = { 0 };
	char error[512];

	(void)state;
	snprintf(cfg.user, sizeof(cfg.user), "node-a");
	snprintf(cfg.servers[0], sizeof(cfg.servers[0]), "nats://127.0.0.1:4222");
	snprintf(cfg.servers[1], sizeof(cfg.servers[1]), "nats://10.0.0.2:4222");
	cfg.n_servers = 2;
	assert_int_equal(natslib_check(&cfg, NULL, 0, error, sizeof(error)), -EINVAL);
	assert_non_null(strstr(error, "nats://10.0.0.2:4222"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback_and_tls_allowed),
		cmocka_unit_test(test_other_machines_refused),
		cmocka_unit_test(test_one_url_in_clear_is_enough),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

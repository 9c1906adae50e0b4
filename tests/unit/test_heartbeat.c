// SPDX-License-Identifier: Apache-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sources/heartbeat.h"

static void test_healthy(void **state)
{
	struct heartbeat hb = { 0 };

	assert_int_equal(heartbeat_tick(&hb, 1000), HEARTBEAT_SEND);
	heartbeat_sent(&hb, 1000);
	assert_int_equal(heartbeat_tick(&hb, 2000), HEARTBEAT_WAIT);
	assert_true(heartbeat_age_s(&hb, 2000) < 0); /* none came back yet */
	assert_int_equal(heartbeat_seen(&hb, 2100), HEARTBEAT_WAIT);
	assert_true(heartbeat_ok(&hb));
	assert_true(heartbeat_age_s(&hb, 4600) == 2.5);
	assert_int_equal(heartbeat_tick(&hb, 1000 + HEARTBEAT_PERIOD_MS - 1), HEARTBEAT_WAIT);
	assert_int_equal(heartbeat_tick(&hb, 1000 + HEARTBEAT_PERIOD_MS), HEARTBEAT_SEND);
}

static void test_stall_alarm_repeat_and_recovery(void **state)
{
	struct heartbeat hb = { 0 };
	uint64_t t = 5000;

	heartbeat_sent(&hb, t);
	assert_int_equal(heartbeat_tick(&hb, t + HEARTBEAT_TIMEOUT_MS - 1), HEARTBEAT_WAIT);
	assert_int_equal(heartbeat_tick(&hb, t + HEARTBEAT_TIMEOUT_MS), HEARTBEAT_ALARM);
	/* Another canary at the next period; still missing: no second alarm yet. */
	assert_int_equal(heartbeat_tick(&hb, t + HEARTBEAT_PERIOD_MS), HEARTBEAT_SEND);
	heartbeat_sent(&hb, t + HEARTBEAT_PERIOD_MS);
	assert_int_equal(heartbeat_tick(&hb, t + HEARTBEAT_PERIOD_MS + HEARTBEAT_TIMEOUT_MS),
			 HEARTBEAT_WAIT);
	/* Repeated once the repeat period has passed. */
	for (uint64_t now = t + 2 * HEARTBEAT_PERIOD_MS;; now += HEARTBEAT_PERIOD_MS) {
		enum heartbeat_action a = heartbeat_tick(&hb, now);

		if (a == HEARTBEAT_SEND) {
			heartbeat_sent(&hb, now);
			a = heartbeat_tick(&hb, now + HEARTBEAT_TIMEOUT_MS);
		}
		if (a == HEARTBEAT_ALARM) {
			assert_true(now + HEARTBEAT_TIMEOUT_MS - t - HEARTBEAT_TIMEOUT_MS >=
				    HEARTBEAT_REPEAT_MS);
			break;
		}
		assert_true(now < t + 2 * HEARTBEAT_REPEAT_MS);
	}
	assert_false(heartbeat_ok(&hb));
	heartbeat_sent(&hb, t + 200000);
	assert_int_equal(heartbeat_seen(&hb, t + 200001), HEARTBEAT_RECOVERED);
	assert_true(heartbeat_ok(&hb));
	assert_int_equal(heartbeat_seen(&hb, t + 200002), HEARTBEAT_WAIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthy),
		cmocka_unit_test(test_stall_alarm_repeat_and_recovery),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

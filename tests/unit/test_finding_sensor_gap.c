// SPDX-License-Identifier: Apache-2.0
/*
 * sourceProperties.sensorGap and eventDrops: what a finding tells a responder about the holes
 * in sowatch's picture.
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

#define SEC 1000000000ULL
#define T0  1795792800000000000ULL /* 2026-11-27T15:20:00Z */

/* sourceProperties of a finding carrying this gap and drop count */
static json_t *source_properties(const struct sensor_gap *gap, uint64_t drops)
{
	struct proc p = { .pid = 7 };
	struct finding f = {
		.kind = &openssl_finding_kind,
		.severity = "CRITICAL",
		.sensor = "ebpf",
		.proc = &p,
		.trust_reason = "custom",
		.event_time_ns = T0,
		.event_drops = drops,
		.sensor_gap = *gap,
	};

	memcpy(p.comm, "openssl", 8);
	f.module.file.path = "/tmp/x.so";
	f.module.kind = "engine";
	return finding_source_properties(&f);
}

static const char *gap_str(json_t *props, const char *key)
{
	return json_string_value(json_object_get(json_object_get(props, "sensorGap"), key));
}

static void test_no_gap(void **state)
{
	json_t *props = source_properties(&(struct sensor_gap){ .cause = SENSOR_GAP_NONE }, 0);

	assert_null(json_object_get(props, "sensorGap"));
	assert_string_equal(json_string_value(json_object_get(props, "eventDrops")), "0");
	json_decref(props);
}

static void test_stalled(void **state)
{
	struct sensor_gap gap = { .cause = SENSOR_GAP_STALLED,
				  .from_ns = T0 - 20 * SEC - 250000000,
				  .to_ns = T0 - 10 * SEC };
	json_t *props = source_properties(&gap, 151610);

	assert_string_equal(gap_str(props, "from"), "2026-11-27T15:19:39.750000Z");
	assert_string_equal(gap_str(props, "to"), "2026-11-27T15:19:50.000000Z");
	assert_string_equal(gap_str(props, "seconds"), "10"); /* 10.25 s, rounded */
	assert_string_equal(gap_str(props, "cause"), "stalled");
	/* only said of a run that was not running */
	assert_null(json_object_get(json_object_get(props, "sensorGap"), "cleanStop"));
	assert_int_equal(json_object_size(json_object_get(props, "sensorGap")), 4);
	assert_string_equal(json_string_value(json_object_get(props, "eventDrops")), "151610");
	json_decref(props);
}

static void test_not_running(void **state)
{
	struct sensor_gap gap = { .cause = SENSOR_GAP_NOT_RUNNING,
				  .from_ns = T0 - 3600 * SEC,
				  .to_ns = T0 - 60 * SEC + 600000000 };
	json_t *props = source_properties(&gap, 0);

	assert_string_equal(gap_str(props, "cause"), "not running");
	assert_string_equal(gap_str(props, "seconds"), "3541"); /* 3540.6 s, rounded */
	assert_true(
	    json_is_false(json_object_get(json_object_get(props, "sensorGap"), "cleanStop")));
	json_decref(props);

	gap.clean_stop = true;
	props = source_properties(&gap, 0);
	assert_true(
	    json_is_true(json_object_get(json_object_get(props, "sensorGap"), "cleanStop")));
	json_decref(props);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_gap),
		cmocka_unit_test(test_stalled),
		cmocka_unit_test(test_not_running),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

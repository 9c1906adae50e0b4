// SPDX-License-Identifier: Apache-2.0
/*
 * sourceProperties.enforcement and enforcementJudgement: every kill enforce mode makes is told,
 * with what the kernel judged, and with the detector's own judgement where it differed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <cmocka.h>
#include <jansson.h>

#include "detectors/openssl.h"
#include "findings/finding.h"
#include "finding_json.h"

/* sourceProperties of a finding about /tmp/x/afalg.so, with this enforcement */
static json_t *source_properties(const struct enforcement *e, const char *trusted_by_detector)
{
	struct proc p = { .pid = 7 };
	struct finding f = {
		.kind = &openssl_finding_kind,
		.severity = "CRITICAL",
		.sensor = "ebpf",
		.proc = &p,
		.trust_reason = "custom",
		.event_time_ns = 1795792800000000000ULL,
		.enforcement = *e,
		.trusted_by_detector = trusted_by_detector,
	};

	memcpy(p.comm, "openssl", 8);
	f.module.file.path = "/usr/lib/x86_64-linux-gnu/engines-3/afalg.so";
	f.module.file.dev = makedev(259, 3);
	f.module.file.ino = 1234567;
	f.module.kind = "engine";
	return finding_source_properties(&f);
}

static const char *judgement(json_t *props, const char *key)
{
	return json_string_value(
	    json_object_get(json_object_get(props, "enforcementJudgement"), key));
}

static void test_not_killed_says_nothing(void **state)
{
	json_t *props = source_properties(&(struct enforcement){ 0 }, NULL);

	assert_null(json_object_get(props, "enforcement"));
	assert_null(json_object_get(props, "enforcementJudgement"));
	json_decref(props);
}

static void test_killed_with_the_kernels_view(void **state)
{
	struct enforcement e = {
		.killed = true,
		.reason = "the directory the file really lies in is not one of the trusted ones",
		.dir_dev = makedev(0, 45),
		.dir_ino = 88,
	};
	json_t *props = source_properties(&e, NULL);

	assert_string_equal(json_string_value(json_object_get(props, "enforcement")),
			    "killed: the process was stopped before the mapped file's code could "
			    "run");
	assert_string_equal(judgement(props, "by"), "kernel");
	assert_string_equal(judgement(props, "reason"), e.reason);
	assert_string_equal(judgement(props, "fileDevice"), "259:3");
	assert_string_equal(judgement(props, "fileInode"), "1234567");
	assert_string_equal(judgement(props, "directoryDevice"), "0:45");
	assert_string_equal(judgement(props, "directoryInode"), "88");
	assert_null(judgement(props, "detectorDiffers")); /* the two agreed */
	json_decref(props);
}

static void test_detector_trusted_what_the_kernel_killed(void **state)
{
	struct enforcement e = { .killed = true, .reason = "a module must come from ENGINESDIR" };
	json_t *props = source_properties(&e, "the host's installed file, as its package "
					      "recorded it");
	const char *differs = judgement(props, "detectorDiffers");

	assert_non_null(differs);
	assert_non_null(strstr(differs, "sowatch's own policy trusted the file (the host's "
					"installed file, as its package recorded it)"));
	assert_non_null(strstr(differs, "stricter"));
	json_decref(props);
}

static void test_not_possible_says_why(void **state)
{
	struct enforcement e = { .not_possible = "a gVisor sandbox" };
	json_t *props = source_properties(&e, NULL);

	assert_string_equal(json_string_value(json_object_get(props, "enforcement")),
			    "not possible: a gVisor sandbox");
	assert_null(json_object_get(props, "enforcementJudgement"));
	json_decref(props);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_killed_says_nothing),
		cmocka_unit_test(test_killed_with_the_kernels_view),
		cmocka_unit_test(test_detector_trusted_what_the_kernel_killed),
		cmocka_unit_test(test_not_possible_says_why),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests' view of a finding: the JSON a SIEM receives, parsed strictly. */
#ifndef SOWATCH_TEST_FINDING_JSON_H
#define SOWATCH_TEST_FINDING_JSON_H

#include <jansson.h>

#include "findings/finding.h"

/* f as JSON (a new reference); fails the test when it is not strict JSON. */
static inline json_t *finding_parsed(const struct finding *f, const struct finding_resource *res)
{
	struct strbuf out = STRBUF_INIT;
	json_error_t err;
	json_t *j;

	assert_int_equal(finding_to_json(f, res, NULL, &out), 0);
	j = json_loads(strbuf_str(&out), JSON_REJECT_DUPLICATES, &err);
	if (!j)
		fail_msg("not JSON (%s): %s", err.text, strbuf_str(&out));
	strbuf_release(&out);
	return j;
}

/* f's finding.sourceProperties (a new reference), with the default resource */
static inline json_t *finding_source_properties(const struct finding *f)
{
	struct finding_resource res;
	json_t *j, *props;

	finding_resource_defaults(&res);
	j = finding_parsed(f, &res);
	props = json_incref(json_object_get(json_object_get(j, "finding"), "sourceProperties"));
	json_decref(j);
	assert_non_null(props);
	return props;
}

#endif

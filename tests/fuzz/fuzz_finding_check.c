// SPDX-License-Identifier: Apache-2.0
/*
 * What a collector receives from the stream, anyone's bytes: the first line is the subject,
 * the rest the message. An accepted message must give a whole row: an id of 32 hex digits, a
 * host, a severity, times, and the message itself, byte for byte; and its host and severity
 * must give back the subject it came on, whether the host was the finding's or the subject's.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/finding_check.h"
#include "fleet/subject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t subject_len = nl ? (size_t)(nl - data) : 0;
	char subject[512], why[512], again[FLEET_SUBJECT_MAX];
	struct fleet_finding f;

	if (!nl || subject_len >= sizeof(subject))
		return 0;
	memcpy(subject, data, subject_len);
	subject[subject_len] = '\0';
	data += subject_len + 1;
	size -= subject_len + 1;
	if (fleet_finding_parse(&f, (const char *)data, size, subject, "sowatch.findings", why,
				sizeof(why)) != 0) {
		if (!why[0])
			abort();
		return 0;
	}
	if (strlen(f.row.id) != 32 || !f.row.host || !*f.row.host || !f.row.severity ||
	    f.row.event_time_ns <= 0 || strlen(f.row.json) != size ||
	    memcmp(f.row.json, data, size) != 0)
		abort();
	if (fleet_subject(again, sizeof(again), "sowatch.findings", f.row.host, f.row.severity) ||
	    strcmp(again, subject) != 0)
		abort();
	fleet_finding_release(&f);
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * What the SCC output reads that others wrote: a token endpoint's or metadata server's
 * answer, an error answer (any server at the endpoint, or in between), and a finding a
 * collector received from a node. Each must give a token that can go in a header, a printable
 * one-line error, or a PATCH body that is one JSON object under the right name, and nothing
 * else.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "outputs/scc_auth.h"
#include "outputs/scc_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct scc_parent parent = { "1", "2", "global" };
	char token[SCC_TOKEN_MAX + 1], error[256], name[SCC_NAME_MAX], *body = NULL;
	struct scc_marks marks;
	int64_t expires = 0;
	json_t *j;

	if (scc_token_answer((const char *)data, size, token, &expires, error, sizeof(error)) ==
	    0) {
		if (expires <= 0 || !token[0])
			abort();
		for (const char *p = token; *p; p++)
			if (*p <= 0x20 || *p >= 0x7f)
				abort();
	} else if (token[0] || !error[0]) {
		abort();
	}
	scc_error_text((const char *)data, size, error, sizeof(error));
	for (const char *p = error; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			abort();
	if (scc_map_finding(&parent, "abc123", (const char *)data, size, &body, name, &marks, error,
			    sizeof(error)) == 0) {
		json_t *want = json_string(name);

		j = json_loads(body, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
		if (!json_is_object(j) ||
		    strcmp(name, "organizations/1/sources/2/locations/"
				 "global/findings/abc123") != 0 ||
		    !json_equal(json_object_get(j, "name"), want) || json_object_get(j, "state") ||
		    json_object_get(j, "finding"))
			abort();
		json_decref(want);
		json_decref(j);
		free(body);
	}
	return 0;
}

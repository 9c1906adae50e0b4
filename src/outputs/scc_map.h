/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A sowatch finding as Security Command Center's v2 API takes it: the body of
 * PATCH /v2/{name} (UpdateFinding, which creates the finding when it is new), that is the
 * Finding resource itself, not the {"finding", "resource"} pair sowatch's outputs write.
 * https://cloud.google.com/security-command-center/docs/reference/rest/v2/organizations.sources.findings
 *
 * The README's SCC section has the mapping field by field; in short:
 *  - name and parent are rewritten to organizations/ORG/sources/SOURCE/locations/LOCATION[...];
 *    the finding id stays sowatch's (32 hex digits: SCC takes 1 to 32 letters and digits);
 *  - state, mute and createTime are SCC's own (output only, or not the provider's to set):
 *    not sent; state and mute change through setState and setMute, and sowatch's createTime
 *    goes to sourceProperties.sowatchCreateTime;
 *  - the resource object, which SCC makes itself from resourceName, goes to
 *    sourceProperties.resource, and sowatch's own name to sourceProperties.sowatchName;
 *  - any other member SCC's Finding has no field for moves into sourceProperties under its
 *    own name (or sowatch_<name> if that is taken), so nothing is dropped.
 */
#ifndef SOWATCH_OUTPUTS_SCC_MAP_H
#define SOWATCH_OUTPUTS_SCC_MAP_H

#include <stdbool.h>
#include <stddef.h>

/* organizations/ORG/sources/SOURCE/locations/LOCATION/findings/ID, and room to spare */
#define SCC_NAME_MAX 512

/* organizations/ORG/sources/SOURCE/locations/LOCATION */
struct scc_parent {
	char organization[32];
	char source[32];
	char location[64];
};

/* SCC's finding ids: 1 to 32 ASCII letters and digits */
bool scc_finding_id_valid(const char *id);

/* The finding's full name; -ENAMETOOLONG if it does not fit, -EINVAL for a bad id */
int scc_finding_name(const struct scc_parent *p, const char *id, char *out, size_t size);

/* The state and mute sowatch's finding has (a responder may have changed them before it
 * reached SCC), which SCC takes through setState and setMute only */
struct scc_marks {
	char state[16]; /* "ACTIVE", "INACTIVE"; "" if none */
	char mute[16];	/* "UNDEFINED", "MUTED", "UNMUTED"; "" if none */
};

/*
 * The PATCH body for the JSONL line json (len bytes) of the finding id, with the name it is
 * sent to in name (SCC_NAME_MAX bytes), and its marks. *ret_body is malloc()ed, compact JSON.
 * 0, or -errno and why in error (a line that is not a sowatch finding, an id SCC does not
 * take).
 */
int scc_map_finding(const struct scc_parent *p, const char *id, const char *json, size_t len,
		    char **ret_body, char *name, struct scc_marks *marks, char *error,
		    size_t esize);

#endif

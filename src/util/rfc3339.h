/* SPDX-License-Identifier: Apache-2.0 */
/* Times as the finding JSON and the container runtimes write them (RFC 3339, UTC). */
#ifndef SOWATCH_RFC3339_H
#define SOWATCH_RFC3339_H

#include <stdint.h>

/* ns since the epoch -> "2026-11-27T15:46:19.457160Z" (microseconds, as SCC shows them) */
void rfc3339(uint64_t ns, char out[40]);

/* "2026-11-27T15:46:19.45716098Z" or "...+02:00" -> ns since the epoch; 0 when not that. */
int64_t rfc3339_parse(const char *s);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The NATS subject a finding travels on: <prefix>.<host>.<severity>, for example
 * sowatch.findings.node-1.critical. A NATS account can then let a node publish on its own
 * host's subjects only, and a collector checks that a finding names the host of its subject.
 */
#ifndef SOWATCH_SUBJECT_H
#define SOWATCH_SUBJECT_H

#include <stddef.h>

/* Room for any subject sowatch makes: a 100-byte prefix, a 255-byte host escaped (x3), ... */
#define FLEET_SUBJECT_MAX 1024

/*
 * The host name as one subject token: letters, digits and '-' stay; any other byte (the '.'
 * that separates tokens, the wildcards '*' and '>', '_', spaces, anything outside ASCII)
 * becomes '_' and two lower-case hex digits. Two host names never give the same token.
 * 0, or -ENAMETOOLONG if out (size bytes) is too small, -EINVAL for an empty host.
 */
int fleet_host_token(char *out, size_t size, const char *host);

/*
 * The host name a token stands for: the inverse of fleet_host_token(), which accepts only what
 * that function writes (letters, digits, '-', and '_' with two lower-case hex digits for any
 * other byte but NUL), so that a host has one token and a token one host. 0, or -EINVAL for
 * anything else, -ENAMETOOLONG if out (size bytes) is too small.
 */
int fleet_host_from_token(char *out, size_t size, const char *token);

/* <prefix>.<fleet_host_token(host)>.<severity in lower case>; 0 or -errno as above */
int fleet_subject(char *out, size_t size, const char *prefix, const char *host,
		  const char *severity);

#endif

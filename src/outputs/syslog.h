/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Syslog output: one RFC 5424 message per finding, to a local socket (unix:///dev/log), a UDP
 * receiver or a TCP receiver (RFC 6587 octet counting). The message's MSG is the finding's JSON
 * line and its structured data carries the finding id, so a receiver can drop duplicates
 * (delivery is at least once).
 */
#ifndef SOWATCH_OUTPUTS_SYSLOG_H
#define SOWATCH_OUTPUTS_SYSLOG_H

#include <stddef.h>

#include "config.h"
#include "outputs/output.h"
#include "util/strbuf.h"

/* The SD-ID of the structured data every message carries: RFC 5612's documentation number. */
#define SYSLOG_SD_ID "finding@32473"

/*
 * Parses cfg->address (unix:///PATH, udp://HOST:PORT, tcp://HOST:PORT; HOST a name, an IPv4
 * address or an IPv6 address in brackets). Does not connect: the receiver may not be up yet, and
 * send() connects. On error returns -EINVAL (or -ENOMEM) and one line in error.
 */
int syslog_output_new(struct output **ret, const struct config_syslog *cfg, char *error,
		      size_t size);

/*
 * Appends the RFC 5424 message for f to out, without any framing:
 *
 *   <PRI>1 TIMESTAMP HOSTNAME sowatch PROCID finding [finding@32473 id="ID"] MSG
 *
 * PRI = facility_code * 8 + the severity f->severity maps to; TIMESTAMP f's event time in UTC
 * with microseconds; MSG f's JSON, byte for byte (after a UTF-8 BOM when it holds non-ASCII
 * bytes, as RFC 5424 6.4 asks). Returns 0 or -ENOMEM (out may then hold part of the message).
 */
int syslog_format(struct strbuf *out, int facility_code, const char *hostname, int pid,
		  const struct output_finding *f);

/* RFC 5424's severity for a finding's severity: CRITICAL 2, HIGH 3, MEDIUM 4, LOW 5, else 6. */
int syslog_severity(const char *severity);

#endif

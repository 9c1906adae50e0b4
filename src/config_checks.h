/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checks of single configuration values, for config.c and for the command-line options that
 * set the same values (cli/nats_args.c). Each check_* function says
 * whether a text value is good: NULL when it is, else what is wrong, worded to precede the
 * key's name ("not a valid address for"), with any detail in why ("" for none). config.c
 * turns that into "<file>:<line>: <what> '<key>': <why>".
 */
#ifndef SOWATCH_CONFIG_CHECKS_H
#define SOWATCH_CONFIG_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

typedef const char *(*value_check)(const char *value, char *why, size_t size);

/* resource.project and resource.source: non-empty, no '/' */
const char *check_name_segment(const char *value, char *why, size_t size);
/* outputs.webhook.url */
const char *check_url(const char *url, char *why, size_t size);
/* outputs.scc.endpoint, token_uri: an https:// URL without a user or password */
const char *check_https_url(const char *url, char *why, size_t size);
/* outputs.scc.organization: 1 to 20 decimal digits */
const char *check_scc_number(const char *value, char *why, size_t size);
/* outputs.scc.source: a number as organization, or "create" */
const char *check_scc_source(const char *value, char *why, size_t size);
/* outputs.scc.location: 1 to 63 of [a-z0-9-] */
const char *check_scc_location(const char *value, char *why, size_t size);
/* outputs.scc.credentials: "metadata", or an absolute path to a key file, as creds_file */
const char *check_scc_credentials(const char *value, char *why, size_t size);
/* outputs.syslog.address */
const char *check_syslog_address(const char *address, char *why, size_t size);
/* metrics.listen */
const char *check_listen(const char *value, char *why, size_t size);
/* A CA file: a regular file, not empty, that only root (or sowatch's user) can change, in
 * directories only they can change (util/safe_path.h) */
const char *check_ca_file(const char *path, char *why, size_t size);
/* outputs.webhook.bearer_token_file: a secret only its owner may read or change */
const char *check_token_file(const char *path, char *why, size_t size);

/* outputs.nats and collect: a server's URL, nats://HOST:PORT or tls://HOST:PORT */
const char *check_nats_server(const char *url, char *why, size_t size);
/* subject_prefix: dot-separated tokens of [A-Za-z0-9_-], no wildcards, at most 100 bytes */
const char *check_nats_subject_prefix(const char *prefix, char *why, size_t size);
/* stream, durable: 1 to 32 bytes of [A-Za-z0-9_-] */
const char *check_nats_name(const char *name, char *why, size_t size);
/* user: printable ASCII, no spaces, '"' or '\' */
const char *check_nats_user(const char *user, char *why, size_t size);
/* password_file: a secret file of one line, as bearer_token_file */
const char *check_password_file(const char *path, char *why, size_t size);
/* creds_file: a secret file, only its owner may read or change it; its owner, and those of
 * the directories to it, as for a CA file */
const char *check_creds_file(const char *path, char *why, size_t size);

/* A whole number in [min, max], written in decimal digits only ("+5", "0x10", "1e3": no) */
bool whole_number(const char *s, int min, int max, int *ret);
/* 64 lowercase hex digits */
bool is_sha256_hex(const char *s);
bool has_control_byte(const char *s);
/* outputs.webhook.headers: the header's name is refused, or given twice: what is wrong */
const char *header_name_problem(const struct config_webhook *wh, const char *header);

#endif

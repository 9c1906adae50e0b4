// SPDX-License-Identifier: Apache-2.0
/* The configuration of the fleet: outputs.nats (the sensor) and collect: (collect, nats-init). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config.h"
#include "config_test.h"
#include "util/secret_file.h"

#define NATS "outputs:\n  nats:\n"

static void test_nats(void **state)
{
	struct files *fx = *state;
	struct config cfg;
	const char *err;

	assert_int_equal(
	    loadf(&cfg, &err,
		  "outputs:\n"
		  "  jsonl: \"-\"\n"
		  "  nats:\n"
		  "    servers: [nats://10.0.0.1:4222, tls://nats-2.example.com:4222]\n"
		  "    subject_prefix: acme.sowatch-v1.Findings_2\n"
		  "    stream: ACME_findings-1\n"
		  "    creds_file: %s\n"
		  "    ca_file: %s\n"
		  "collect:\n"
		  "  servers:\n"
		  "    - tls://[2001:db8::1]:4222\n"
		  "    - nats://localhost:4222\n"
		  "    - nats://192.0.2.9:65535\n"
		  "  durable: central-1\n"
		  "  user: collector\n"
		  "  password_file: %s\n",
		  fx->creds, fx->ca, fx->password),
	    0);
	assert_true(cfg.nats.enabled);
	assert_int_equal(cfg.nats.line, 3);
	assert_int_equal(cfg.nats.n_servers, 2);
	assert_string_equal(cfg.nats.servers[0], "nats://10.0.0.1:4222");
	assert_string_equal(cfg.nats.servers[1], "tls://nats-2.example.com:4222");
	assert_string_equal(cfg.nats.subject_prefix, "acme.sowatch-v1.Findings_2");
	assert_string_equal(cfg.nats.stream, "ACME_findings-1");
	assert_string_equal(cfg.nats.durable, "");
	assert_string_equal(cfg.nats.creds_file, fx->creds);
	assert_string_equal(cfg.nats.user, "");
	assert_string_equal(cfg.nats.password_file, "");
	assert_string_equal(cfg.nats.ca_file, fx->ca);

	assert_true(cfg.collect.enabled);
	assert_int_equal(cfg.collect.line, 9);
	assert_int_equal(cfg.collect.n_servers, 3);
	assert_string_equal(cfg.collect.servers[0], "tls://[2001:db8::1]:4222");
	assert_string_equal(cfg.collect.servers[1], "nats://localhost:4222");
	assert_string_equal(cfg.collect.servers[2], "nats://192.0.2.9:65535");
	assert_string_equal(cfg.collect.durable, "central-1");
	assert_string_equal(cfg.collect.subject_prefix, "sowatch.findings");
	assert_string_equal(cfg.collect.stream, "SOWATCH");
	assert_string_equal(cfg.collect.user, "collector");
	assert_string_equal(cfg.collect.password_file, fx->password);
	assert_string_equal(cfg.collect.creds_file, "");
	assert_string_equal(cfg.collect.ca_file, "");
	/* the other outputs stay as they were */
	assert_false(cfg.webhook.enabled);
	assert_string_equal(cfg.jsonl_path, "-");
	config_free(&cfg);
}

static void test_nats_defaults(void **state)
{
	struct config cfg;
	const char *err;

	/* absent: off, and empty */
	assert_int_equal(load(&cfg, "outputs:\n  jsonl: \"-\"\n", &err), 0);
	assert_false(cfg.nats.enabled);
	assert_false(cfg.collect.enabled);
	assert_int_equal(cfg.nats.n_servers, 0);
	assert_string_equal(cfg.nats.subject_prefix, "");
	assert_string_equal(cfg.collect.durable, "");
	config_free(&cfg);

	/* present: the defaults of the keys not given; one URL alone is a list of one */
	assert_int_equal(load(&cfg, NATS "    servers: nats://127.0.0.1:4222\n", &err), 0);
	assert_true(cfg.nats.enabled);
	assert_int_equal(cfg.nats.line, 2);
	assert_int_equal(cfg.nats.n_servers, 1);
	assert_string_equal(cfg.nats.servers[0], "nats://127.0.0.1:4222");
	assert_string_equal(cfg.nats.subject_prefix, "sowatch.findings");
	assert_string_equal(cfg.nats.stream, "SOWATCH");
	assert_string_equal(cfg.nats.durable, ""); /* collect only */
	assert_string_equal(cfg.nats.creds_file, "");
	assert_string_equal(cfg.nats.user, "");
	assert_string_equal(cfg.nats.password_file, "");
	assert_string_equal(cfg.nats.ca_file, "");
	assert_false(cfg.collect.enabled);
	config_free(&cfg);

	assert_int_equal(
	    load(&cfg, "resource:\n  type: host\ncollect: {servers: [nats://a:4222]}\n", &err), 0);
	assert_true(cfg.collect.enabled);
	assert_int_equal(cfg.collect.line, 3);
	assert_int_equal(cfg.collect.n_servers, 1);
	assert_string_equal(cfg.collect.servers[0], "nats://a:4222");
	assert_string_equal(cfg.collect.durable, "sowatch-collect");
	assert_string_equal(cfg.collect.subject_prefix, "sowatch.findings");
	assert_string_equal(cfg.collect.stream, "SOWATCH");
	assert_false(cfg.nats.enabled);
	config_free(&cfg);
}

static void test_nats_accepted_forms(void **state)
{
	char text[8192], host[254];
	size_t n;

	/* 16 servers, the most */
	n = snprintf(text, sizeof(text), NATS "    servers:\n");
	for (int i = 0; i < 16; i++)
		n += snprintf(text + n, sizeof(text) - n, "      - nats://10.0.0.%d:4222\n", i + 1);
	expect_accepted(text);
	/* the longest host name */
	memset(host, 'a', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	for (size_t i = 63; i < sizeof(host) - 1; i += 64)
		host[i] = '.';
	snprintf(text, sizeof(text), NATS "    servers: tls://%s:4222\n", host);
	expect_accepted(text);
	expect_accepted(NATS "    servers: [\"tls://[::1]:4222\"]\n");
	expect_accepted(NATS "    servers: [nats://nats-1.example.com:1]\n");
	expect_accepted(NATS "    servers: nats://a:4222\n    subject_prefix: a\n");
	expect_accepted(NATS "    servers: nats://a:4222\n    subject_prefix: A.b-c.d_e.9\n");
	snprintf(text, sizeof(text),
		 NATS "    servers: nats://a:4222\n    subject_prefix: %0100d\n", 0);
	expect_accepted(text);
	expect_accepted(NATS "    servers: nats://a:4222\n    stream: s\n");
	snprintf(text, sizeof(text), NATS "    servers: nats://a:4222\n    stream: %032d\n", 0);
	expect_accepted(text);
	snprintf(text, sizeof(text), "collect:\n  servers: nats://a:4222\n  durable: d-%030d\n", 0);
	expect_accepted(text);
	expect_accepted("collect:\n  servers: nats://a:4222\n  durable: Central_2\n");
}

/* "servers: <url>" under outputs.nats is refused, saying why */
static void expect_server_refused(const char *url, const char *what, const char *why)
{
	char text[1024], want[1024];

	snprintf(text, sizeof(text), NATS "    servers: \"%s\"\n", url);
	snprintf(want, sizeof(want), "test.yaml:3: %s 'outputs.nats.servers'%s%s", what,
		 why ? ": " : "", why ? why : "");
	expect_error(text, want);
}

static void test_nats_servers_refused(void **state)
{
	static const char *const wrong_scheme[] = { "http://a:4222", "NATS://a:4222",
						    "TLS://a:4222",  "a:4222",
						    "nats:/a:4222",  "" };
	static const struct {
		const char *url, *why;
	} bad[] = {
		{ "nats://a", "no port (HOST:PORT)" },
		{ "nats://a:", "the port must be a number from 1 to 65535" },
		{ "nats://a:0", "the port must be a number from 1 to 65535" },
		{ "tls://a:65536", "the port must be a number from 1 to 65535" },
		{ "nats://:4222", "no host" },
		{ "tls://-a:4222", "not a host name" },
		{ "nats://a_b!:4222", "not a host name" },
		{ "nats://10.0.0.300:4222", "not an IPv4 address" },
		{ "nats://::1:4222", "an IPv6 address goes between [ and ], as [::1]:PORT" },
		{ "nats://[::1:4222", "an IPv6 address needs its closing ']'" },
		{ "nats://[::1]4222", "expected ':PORT' after the host" },
		{ "nats://a:4222/", "nothing may follow HOST:PORT" },
		{ "nats://a:4222/sub", "nothing may follow HOST:PORT" },
		{ "nats://a:4222?x=1", "nothing may follow HOST:PORT" },
		{ "nats://a:4222,nats://b:4222",
		  "one server per item of a list, as [nats://a:4222, nats://b:4222]" },
	};
	/* a secret in the URL: refused, pointing to where it goes */
	static const char *const with_secret[] = { "nats://alice:s3cret@a:4222",
						   "nats://t0ken@a:4222", "tls://alice@[::1]:4222",
						   "NATS://alice:pw@a:4222" };
	char text[8192];
	size_t n;

	for (size_t i = 0; i < sizeof(wrong_scheme) / sizeof(wrong_scheme[0]); i++)
		expect_server_refused(wrong_scheme[i],
				      "expected a nats:// or tls:// URL (lowercase) for", NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_server_refused(bad[i].url, "not a valid server for", bad[i].why);
	for (size_t i = 0; i < sizeof(with_secret) / sizeof(with_secret[0]); i++)
		expect_server_refused(with_secret[i], "not a valid server for",
				      "no user or password in the URL: give user and "
				      "password_file, or creds_file, so that no secret sits in "
				      "the configuration");
	expect_server_refused("nats://a b:4222",
			      "must hold no spaces, control bytes or non-ASCII bytes:", NULL);
	expect_server_refused("nats://a:4222\\r\\n",
			      "must hold no spaces, control bytes or non-ASCII bytes:", NULL);
	/* written as YAML text, not a list */
	expect_error(NATS "    servers: nats://a:4222, nats://b:4222\n",
		     "test.yaml:3: not a valid server for 'outputs.nats.servers': one server per "
		     "item of a list");
	/* under collect: the same checks, named so */
	expect_error("collect:\n  servers: [nats://a]\n",
		     "test.yaml:2: not a valid server for 'collect.servers': no port (HOST:PORT)");
	/* the bad one of a block list names its own line */
	expect_error("collect:\n  servers:\n    - nats://a:4222\n    - nats://b:4222\n"
		     "    - http://c:4222\n",
		     "test.yaml:5: expected a nats:// or tls:// URL (lowercase) for "
		     "'collect.servers'");

	/* none, or more than 16 */
	expect_error(NATS "    stream: S\n",
		     "test.yaml:2: a NATS output needs 'outputs.nats.servers'");
	expect_error(NATS, "test.yaml:2: a NATS output needs 'outputs.nats.servers'");
	expect_error("outputs:\n  nats: {}\n",
		     "test.yaml:2: a NATS output needs 'outputs.nats.servers'");
	expect_error("collect:\n  durable: c\n",
		     "test.yaml:1: a collector needs 'collect.servers'");
	expect_error("collect:\n", "test.yaml:1: a collector needs 'collect.servers'");
	expect_error(NATS "    servers: []\n",
		     "test.yaml:3: an empty list of servers for 'outputs.nats.servers': give 1 to "
		     "16");
	n = snprintf(text, sizeof(text), NATS "    servers:\n");
	for (int i = 0; i < 17; i++)
		n += snprintf(text + n, sizeof(text) - n, "      - nats://10.0.0.%d:4222\n", i + 1);
	expect_error(text, "test.yaml:20: too many servers in 'outputs.nats.servers': at most 16");
	/* 512 bytes and more do not fit */
	snprintf(text, sizeof(text), NATS "    servers: nats://%0*d:4222\n", 500, 0);
	expect_error(
	    text, "test.yaml:3: value too long or holding a NUL byte for 'outputs.nats.servers'");
	expect_error(
	    NATS "    servers: \"nats://a:4222\\0x\"\n",
	    "test.yaml:3: value too long or holding a NUL byte for 'outputs.nats.servers'");

	/* the wrong kinds of YAML */
	expect_error(NATS "    servers: {url: nats://a:4222}\n",
		     "test.yaml:3: expected a URL or a list of URLs for 'outputs.nats.servers'");
	expect_error(NATS "    servers: [[nats://a:4222]]\n",
		     "test.yaml:3: expected a URL, not a list or mapping, for "
		     "'outputs.nats.servers'");
	expect_error(NATS "    servers:\n      - url: nats://a:4222\n",
		     "test.yaml:4: expected a URL, not a list or mapping, for "
		     "'outputs.nats.servers'");
	expect_error("outputs:\n  nats: nats://a:4222\n",
		     "test.yaml:2: expected a mapping under 'outputs.nats'");
	expect_error("collect: nats://a:4222\n", "test.yaml:1: expected a mapping under 'collect'");
	expect_error("collect:\n  - servers: nats://a:4222\n",
		     "test.yaml:2: expected a mapping under 'collect'");
}

static void test_nats_names_refused(void **state)
{
	static const struct {
		const char *prefix, *why;
	} bad_prefixes[] = {
		{ "a..b", "an empty token (a dot at either end, or two dots)" },
		{ ".a", "an empty token (a dot at either end, or two dots)" },
		{ "a.", "an empty token (a dot at either end, or two dots)" },
		{ "", "an empty token (a dot at either end, or two dots)" },
		{ "a.*", "'*' and '>' are wildcards: findings go to one subject" },
		{ "a.>", "'*' and '>' are wildcards: findings go to one subject" },
		{ ">", "'*' and '>' are wildcards: findings go to one subject" },
		{ "a*b", "'*' and '>' are wildcards: findings go to one subject" },
		{ "a/b", "tokens of letters, digits, '_' and '-', separated by dots" },
		{ "a b", "tokens of letters, digits, '_' and '-', separated by dots" },
		{ "a.b\\tc", "tokens of letters, digits, '_' and '-', separated by dots" },
		{ "caf\\u00e9", "tokens of letters, digits, '_' and '-', separated by dots" },
		{ "a$b", "tokens of letters, digits, '_' and '-', separated by dots" },
	};
	static const char *const bad_names[] = { "",	"a.b", "a b",	     "a*",   "a>",
						 "a/b", "a:b", "caf\\u00e9", "a\\tb" };
	char text[1024], want[512];

	for (size_t i = 0; i < sizeof(bad_prefixes) / sizeof(bad_prefixes[0]); i++) {
		snprintf(text, sizeof(text),
			 NATS "    servers: nats://a:4222\n    subject_prefix: \"%s\"\n",
			 bad_prefixes[i].prefix);
		snprintf(want, sizeof(want),
			 "test.yaml:4: not a valid NATS subject prefix for "
			 "'outputs.nats.subject_prefix': %s",
			 bad_prefixes[i].why);
		expect_error(text, want);
	}
	snprintf(text, sizeof(text),
		 "collect:\n  servers: nats://a:4222\n  subject_prefix: %0101d\n", 0);
	expect_error(text, "test.yaml:3: not a valid NATS subject prefix for "
			   "'collect.subject_prefix': at most 100 bytes");
	snprintf(text, sizeof(text),
		 NATS "    servers: nats://a:4222\n    subject_prefix: %0128d\n", 0);
	expect_error(text, "test.yaml:4: value too long or holding a NUL byte for "
			   "'outputs.nats.subject_prefix'");

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		snprintf(text, sizeof(text),
			 NATS "    servers: nats://a:4222\n    stream: \"%s\"\n", bad_names[i]);
		expect_error(text, "test.yaml:4: not a valid name for 'outputs.nats.stream': 1 to "
				   "32 letters, digits, '_' or '-'");
		snprintf(text, sizeof(text),
			 "collect:\n  servers: nats://a:4222\n  durable: \"%s\"\n", bad_names[i]);
		expect_error(text, "test.yaml:3: not a valid name for 'collect.durable': 1 to 32 "
				   "letters, digits, '_' or '-'");
		snprintf(text, sizeof(text),
			 "collect:\n  servers: nats://a:4222\n  stream: \"%s\"\n", bad_names[i]);
		expect_error(text, "test.yaml:3: not a valid name for 'collect.stream'");
	}
	snprintf(text, sizeof(text), NATS "    servers: nats://a:4222\n    stream: %033d\n", 0);
	expect_error(text, "test.yaml:4: not a valid name for 'outputs.nats.stream': 1 to 32");
	snprintf(text, sizeof(text), "collect:\n  servers: nats://a:4222\n  durable: %033d\n", 0);
	expect_error(text, "test.yaml:3: not a valid name for 'collect.durable': 1 to 32");
	snprintf(text, sizeof(text), "collect:\n  servers: nats://a:4222\n  durable: %064d\n", 0);
	expect_error(text, "test.yaml:3: value too long or holding a NUL byte for "
			   "'collect.durable'");

	/* a node publishes: durable is the collector's */
	expect_error(NATS "    servers: nats://a:4222\n    durable: sowatch-collect\n",
		     "test.yaml:4: unknown key 'outputs.nats.durable': a node only publishes; the "
		     "durable consumer is collect.durable");
}

static void test_nats_user_refused(void **state)
{
	struct files *fx = *state;
	static const char *const bad[] = { "\"a b\"",	"'a\"b'",	  "'a\\b'",
					   "\"a\\tb\"", "\"caf\\u00e9\"", "\"a\\x7f\"" };
	char text[1024];
	struct config cfg;
	const char *err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
			 NATS "    servers: nats://a:4222\n    user: %s\n    password_file: %s\n",
			 bad[i], fx->password);
		expect_error(text, "test.yaml:4: not a valid NATS user for 'outputs.nats.user': "
				   "printable ASCII only, without spaces, control bytes, '\"' or "
				   "'\\'");
	}
	snprintf(text, sizeof(text), NATS "    servers: nats://a:4222\n    user: \"\"\n");
	expect_error(text, "test.yaml:4: expected a non-empty text value for 'outputs.nats.user'");
	snprintf(text, sizeof(text), "collect:\n  servers: nats://a:4222\n  user: %0128d\n", 0);
	expect_error(text, "test.yaml:3: value too long or holding a NUL byte for 'collect.user'");
	/* every other printable byte, and 127 of them, are fine */
	assert_int_equal(loadf(&cfg, &err,
			       NATS "    servers: nats://a:4222\n"
				    "    user: \"!#$%%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~\"\n"
				    "    password_file: %s\n",
			       fx->password),
			 0);
	assert_string_equal(cfg.nats.user, "!#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~");
	config_free(&cfg);
	assert_int_equal(loadf(&cfg, &err,
			       "collect:\n  servers: nats://a:4222\n  user: %0127d\n"
			       "  password_file: %s\n",
			       0, fx->password),
			 0);
	assert_int_equal(strlen(cfg.collect.user), 127);
	config_free(&cfg);
}

/* "<section> ... <key>: <path>" is refused: "<verb> '<full key>': <path>: <want_end>" */
static void expect_nats_file_message(const char *section, const char *key, const char *path,
				     const char *verb, const char *want_end)
{
	struct config cfg;
	const char *err;
	char want[1024];
	bool collect = strcmp(section, "collect") == 0;

	assert_int_not_equal(loadf(&cfg, &err, "%s%sservers: nats://a:4222\n%s%s: %s\n",
				   collect ? "collect:\n" : NATS, collect ? "  " : "    ",
				   collect ? "  " : "    ", key, path),
			     0);
	snprintf(want, sizeof(want), "test.yaml:%d: %s '%s.%s': %s: %s", collect ? 3 : 4, verb,
		 section, key, path, want_end);
	assert_string_equal(err, want);
}

/* A file that cannot be used: "cannot use '<full key>': <path>: <want_end>" */
static void expect_nats_file_error(const char *section, const char *key, const char *path,
				   const char *want_end)
{
	expect_nats_file_message(section, key, path, "cannot use", want_end);
}

/* A file in a place others may change: "refusing '<full key>': <path>: <want_end>" */
static void expect_nats_file_refused(const char *section, const char *key, const char *path,
				     const char *want_end)
{
	expect_nats_file_message(section, key, path, "refusing", want_end);
}

static void test_nats_files_refused(void **state)
{
	static const char *const sections[] = { "outputs.nats", "collect" };
	static const char *const keys[] = { "creds_file", "password_file", "ca_file" };
	struct files *fx = *state;
	char missing[300], long_password[SECRET_FILE_MAX + 3] = "";

	snprintf(missing, sizeof(missing), "%s/missing", fx->dir);
	for (size_t s = 0; s < 2; s++) {
		for (size_t k = 0; k < 3; k++) {
			expect_nats_file_error(sections[s], keys[k], missing,
					       "No such file or directory");
			expect_nats_file_error(sections[s], keys[k], fx->dir, "not a regular file");
			expect_nats_file_error(sections[s], keys[k], fx->empty, "empty");
		}
		/* secrets: only their owner may read or change them */
		assert_int_equal(chmod(fx->creds, 0640), 0);
		expect_nats_file_error(sections[s], "creds_file", fx->creds,
				       "readable or writable by group or others (mode 0640): chmod "
				       "600 it");
		assert_int_equal(chmod(fx->creds, 0602), 0);
		expect_nats_file_error(sections[s], "creds_file", fx->creds,
				       "readable or writable by group or others (mode 0602): chmod "
				       "600 it");
		assert_int_equal(chmod(fx->creds, 0600), 0);
		assert_int_equal(chmod(fx->password, 0644), 0);
		expect_nats_file_error(sections[s], "password_file", fx->password,
				       "readable or writable by group or others (mode 0644): chmod "
				       "600 it");
		assert_int_equal(chmod(fx->password, 0620), 0);
		expect_nats_file_error(sections[s], "password_file", fx->password,
				       "readable or writable by group or others (mode 0620): chmod "
				       "600 it");
		/* the password: one line, as a token, and nothing JSON would need escaped */
		write_file(fx->password, " \n\r\n", 0600);
		expect_nats_file_error(sections[s], "password_file", fx->password, "empty");
		write_file(fx->password, "pass word\n", 0600);
		expect_nats_file_error(sections[s], "password_file", fx->password,
				       "the password holds a space or a control byte");
		write_file(fx->password, "pass\r\nword\n", 0600);
		expect_nats_file_error(sections[s], "password_file", fx->password,
				       "the password holds a space or a control byte");
		write_file(fx->password, "pass\"word\n", 0600);
		expect_nats_file_error(
		    sections[s], "password_file", fx->password,
		    "the password holds '\"', which NATS clients send unescaped");
		write_file(fx->password, "pass\\word\n", 0600);
		expect_nats_file_error(
		    sections[s], "password_file", fx->password,
		    "the password holds '\\', which NATS clients send unescaped");
		/* no longer than the output reads when it connects */
		memset(long_password, 'p', sizeof(long_password) - 2);
		long_password[sizeof(long_password) - 2] = '\n';
		write_file(fx->password, long_password, 0600);
		expect_nats_file_error(sections[s], "password_file", fx->password,
				       "larger than 4096 bytes");
		write_file(fx->password, "pa$$w0rd!\n", 0600);
	}
}

/*
 * libnats reads the CA file at connect and the credentials at every connection: whoever can
 * change the directory they are in could swap them. Refused, as the webhook's ca_file is.
 */
static void test_nats_files_in_open_directory_refused(void **state)
{
	static const char *const sections[] = { "outputs.nats", "collect" };
	struct files *fx = *state;
	char open_dir[300], creds[320], ca[320], want[700];

	snprintf(open_dir, sizeof(open_dir), "%s/open", fx->dir);
	snprintf(creds, sizeof(creds), "%s/node.creds", open_dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", open_dir);
	assert_int_equal(mkdir(open_dir, 0700), 0);
	assert_int_equal(chmod(open_dir, 0777), 0);
	write_file(creds, "-----BEGIN NATS USER JWT-----\n", 0600);
	write_file(ca, "-----BEGIN CERTIFICATE-----\n", 0644);
	for (size_t s = 0; s < 2; s++) {
		snprintf(want, sizeof(want),
			 "%s is writable by others (mode 0777) without the sticky bit", open_dir);
		expect_nats_file_refused(sections[s], "creds_file", creds, want);
		expect_nats_file_refused(sections[s], "ca_file", ca, want);
	}
	/* Closed again, both are taken */
	assert_int_equal(chmod(open_dir, 0755), 0);
	for (size_t s = 0; s < 2; s++) {
		struct config cfg;
		const char *err;
		bool collect = strcmp(sections[s], "collect") == 0;

		if (loadf(&cfg, &err,
			  "%s%sservers: nats://a:4222\n%screds_file: %s\n%sca_file: %s\n",
			  collect ? "collect:\n" : NATS, collect ? "  " : "    ",
			  collect ? "  " : "    ", creds, collect ? "  " : "    ", ca))
			fail_msg("refused: %s", err);
		config_free(&cfg);
	}
	unlink(creds);
	unlink(ca);
	rmdir(open_dir);
}

static void test_nats_login_refused(void **state)
{
	struct files *fx = *state;
	struct config cfg;
	const char *err;
	char want[256];

	/* one way to log in, not two */
	assert_int_not_equal(loadf(&cfg, &err,
				   NATS "    servers: nats://a:4222\n    creds_file: %s\n"
					"    user: node\n    password_file: %s\n",
				   fx->creds, fx->password),
			     0);
	assert_string_equal(err, "test.yaml:2: both creds_file and user/password_file in "
				 "'outputs.nats': give one way to log in, not two");
	assert_int_not_equal(loadf(&cfg, &err,
				   "collect:\n  servers: nats://a:4222\n  password_file: %s\n"
				   "  creds_file: %s\n",
				   fx->password, fx->creds),
			     0);
	assert_string_equal(err, "test.yaml:1: both creds_file and user/password_file in "
				 "'collect': give one way to log in, not two");
	assert_int_not_equal(loadf(&cfg, &err,
				   NATS "    servers: nats://a:4222\n    user: node\n"
					"    creds_file: %s\n",
				   fx->creds),
			     0);
	assert_string_equal(err, "test.yaml:2: both creds_file and user/password_file in "
				 "'outputs.nats': give one way to log in, not two");
	/* a user and its password go together */
	expect_error(NATS "    servers: nats://a:4222\n    user: node\n",
		     "test.yaml:2: user without password_file in 'outputs.nats': the user's "
		     "password is read from password_file");
	assert_int_not_equal(loadf(&cfg, &err,
				   "resource:\n  type: host\ncollect:\n  servers: nats://a:4222\n"
				   "  password_file: %s\n",
				   fx->password),
			     0);
	snprintf(want, sizeof(want),
		 "test.yaml:3: password_file without user in 'collect': a password is a user's: "
		 "give user too");
	assert_string_equal(err, want);
	/* each alone is fine, and so is neither */
	assert_int_equal(
	    loadf(&cfg, &err, NATS "    servers: nats://a:4222\n    creds_file: %s\n", fx->creds),
	    0);
	config_free(&cfg);
	assert_int_equal(loadf(&cfg, &err,
			       NATS "    servers: nats://a:4222\n    user: node\n"
				    "    password_file: %s\n",
			       fx->password),
			 0);
	assert_string_equal(cfg.nats.user, "node");
	assert_string_equal(cfg.nats.password_file, fx->password);
	config_free(&cfg);
}

static void test_nats_unknown_and_duplicate_keys(void **state)
{
	expect_error(NATS "    servers: nats://a:4222\n    colour: blue\n",
		     "test.yaml:4: unknown key 'outputs.nats.colour'");
	expect_error(NATS "    servers: nats://a:4222\n    url: nats://b:4222\n",
		     "test.yaml:4: unknown key 'outputs.nats.url'");
	expect_error(NATS "    servers: nats://a:4222\n    password: s3cret\n",
		     "test.yaml:4: unknown key 'outputs.nats.password'");
	expect_error("collect:\n  servers: nats://a:4222\n  colour: blue\n",
		     "test.yaml:3: unknown key 'collect.colour'");
	expect_error("collect:\n  servers: nats://a:4222\n  token: abc\n",
		     "test.yaml:3: unknown key 'collect.token'");
	expect_error("collect:\n  nats: {}\n", "test.yaml:2: unknown key 'collect.nats'");
	expect_error("outputs:\n  collect: {}\n", "test.yaml:2: unknown key 'outputs.collect'");
	expect_error("outputs:\n  servers: nats://a:4222\n",
		     "test.yaml:2: unknown key 'outputs.servers'");
	expect_error(NATS "    servers: nats://a:4222\n    servers: nats://b:4222\n",
		     "test.yaml:4: key given twice: 'outputs.nats.servers'");
	expect_error("collect:\n  servers: nats://a:4222\n  durable: a\n  durable: b\n",
		     "test.yaml:4: key given twice: 'collect.durable'");
	expect_error(
	    "outputs:\n  nats: {servers: nats://a:4222}\n  nats: {servers: nats://a:4222}\n",
	    "test.yaml:3: key given twice: 'outputs.nats'");
	expect_error("collect: {servers: nats://a:4222}\ncollect: {servers: nats://b:4222}\n",
		     "test.yaml:2: section given twice: 'collect'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nats_defaults),
		cmocka_unit_test(test_nats_accepted_forms),
		cmocka_unit_test(test_nats_servers_refused),
		cmocka_unit_test(test_nats_names_refused),
		cmocka_unit_test(test_nats_unknown_and_duplicate_keys),
		cmocka_unit_test_setup_teardown(test_nats, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_nats_user_refused, files_setup,
						files_teardown),
		cmocka_unit_test_setup_teardown(test_nats_files_refused, files_setup,
						files_teardown),
		cmocka_unit_test_setup_teardown(test_nats_files_in_open_directory_refused,
						files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_nats_login_refused, files_setup,
						files_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

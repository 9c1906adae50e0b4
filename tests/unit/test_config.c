// SPDX-License-Identifier: Apache-2.0
/* The configuration file: what is accepted, and that a bad file names its line and key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "config_test.h"

static void test_full_file(void **state)
{
	struct config cfg;
	const char *err;

	assert_int_equal(load(&cfg,
			      "# comment\n"
			      "resource:\n"
			      "  project: acme-prod\n"
			      "  source: \"1234\"\n"
			      "  name: //container.googleapis.com/projects/acme/clusters/c1\n"
			      "  type: k8s_cluster\n"
			      "  project_display_name: Acme production\n"
			      "outputs:\n"
			      "  jsonl: /var/log/sowatch.jsonl\n"
			      "enforce:\n"
			      "  mode: kill\n"
			      "  where: containers\n"
			      "  severity: low\n",
			      &err),
			 0);
	assert_string_equal(cfg.enforce_mode, "kill");
	assert_string_equal(cfg.enforce_where, "containers");
	assert_string_equal(cfg.enforce_severity, "low");
	assert_string_equal(cfg.resource.project, "acme-prod");
	assert_string_equal(cfg.resource.source, "1234");
	assert_string_equal(cfg.resource.type, "k8s_cluster");
	assert_string_equal(cfg.resource.project_display_name, "Acme production");
	assert_string_equal(cfg.jsonl_path, "/var/log/sowatch.jsonl");
}

static void test_defaults(void **state)
{
	struct config cfg;
	const char *err;

	assert_int_equal(load(&cfg, "", &err), 0);
	assert_string_equal(cfg.resource.source, "sowatch");
	assert_true(cfg.resource.project[0]);
	assert_string_equal(cfg.jsonl_path, "");
	assert_int_equal(load(&cfg, "resource:\n  type: host\n", &err), 0);
	assert_string_equal(cfg.resource.source, "sowatch");
}

static void test_errors_name_line_and_key(void **state)
{
	expect_error("resource:\n  project: a\n  colour: blue\n",
		     "test.yaml:3: unknown key 'resource.colour'");
	expect_error("logging:\n  level: debug\n", "test.yaml:1: unknown section 'logging'");
	expect_error("resource:\n  project: [a, b]\n", "test.yaml:2:");
	expect_error("resource: [1]\n", "test.yaml:1:");
	expect_error("resource:\n  project: \"unterminated\n", "test.yaml:");
	expect_error("- a\n- b\n", "test.yaml:1:");
	expect_error("\t\x01\xff: :\n", "test.yaml:");
	expect_error("enforce:\n  mode: block\n",
		     "test.yaml:2: expected off or kill for 'enforce.mode'");
	expect_error("enforce:\n  mode: kill\n  where: pods\n",
		     "test.yaml:3: expected all, containers or host for 'enforce.where'");
	expect_error("enforce:\n  severity: high\n",
		     "test.yaml:2: expected critical or low for 'enforce.severity'");
	expect_error("resource:\n  project: a/b\n",
		     "test.yaml:2: must be non-empty and hold no '/': 'resource.project'");
	expect_error("resource:\n  source: \"\"\n", "'resource.source'");
	expect_error("resource:\n  project:\n    - a\n", "not a list or mapping");
}

static void test_too_long_value(void **state)
{
	char text[8192];

	snprintf(text, sizeof(text), "resource:\n  project: %0*d\n", 4000, 0);
	expect_error(text, "test.yaml:2:");
}

static void test_missing_file(void **state)
{
	struct config cfg;
	const char *err = NULL;

	assert_int_not_equal(config_load(&cfg, "/nonexistent/sowatch.yaml", &err), 0);
	assert_non_null(strstr(err, "/nonexistent/sowatch.yaml"));
}

/* Given twice, a key or a section would merge silently, the last value winning. */
static void test_duplicates_refused(void **state)
{
	expect_error("enforce:\n  mode: kill\n  mode: off\n",
		     "test.yaml:3: key given twice: 'enforce.mode'");
	expect_error("enforce: {mode: kill, mode: off}\n",
		     "test.yaml:1: key given twice: 'enforce.mode'");
	expect_error("enforce:\n  mode: kill\nresource:\n  type: host\nenforce:\n  mode: off\n",
		     "test.yaml:5: section given twice: 'enforce'");
	expect_error("mute:\n  - image: a\nmute:\n  - image: b\n",
		     "test.yaml:3: section given twice: 'mute'");
	expect_error("mute:\n  - image: a\n    image: b\n",
		     "test.yaml:3: key given twice: 'mute.image'");
	/* a NUL byte must not cut a key short into a known one */
	expect_error("enforce:\n  \"mode\\0x\": kill\n", "test.yaml:2: key too long or holding");
}

static void test_one_document_only(void **state)
{
	struct config cfg;
	const char *err;

	expect_error("resource:\n  type: host\n---\nenforce:\n  mode: kill\n",
		     "test.yaml:3: a second YAML document");
	expect_error("---\nenforce:\n  mode: off\n...\n---\nenforce:\n  mode: kill\n",
		     "test.yaml:5: a second YAML document");
	/* one explicit document is fine */
	assert_int_equal(load(&cfg, "---\nenforce:\n  mode: kill\n...\n", &err), 0);
	assert_string_equal(cfg.enforce_mode, "kill");
	config_free(&cfg);
}

/* What the file says is quoted in messages: escaped as log lines are, on one line. */
static void expect_escaped_error(const char *name, const char *text, const char *want)
{
	struct config cfg;
	const char *err = NULL;

	assert_int_not_equal(config_load_string(&cfg, name, text, strlen(text), &err), 0);
	assert_non_null(err);
	for (const char *c = err; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			fail_msg("error '%s' holds control byte 0x%02x", err, *c);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_errors_escaped(void **state)
{
	/* YAML's "\e" is an ESC byte in the key */
	expect_escaped_error("test.yaml", "\"\\e[2Jpwned\": 1\n",
			     "test.yaml:1: unknown section '\\x1b[2Jpwned'");
	expect_escaped_error("test.yaml", "enforce:\n  \"mo\\ede\\n\": kill\n",
			     "unknown key 'enforce.mo\\x1bde\\x0a'");
	expect_escaped_error("test.yaml", "mute:\n  - \"\\e]0;x\\a\": v\n",
			     "unknown key 'mute.\\x1b]0;x\\x07'");
	/* and the file's own name */
	expect_escaped_error("evil\x1b[31m\n.yaml", "logging: {}\n",
			     "evil\\x1b[31m\\x0a.yaml:1: unknown section 'logging'");
	/* a raw control byte is no YAML at all, and is not echoed either */
	expect_escaped_error("test.yaml", "resource:\n  project: a\x1b[2J\n", "test.yaml:2:");
}

/* A scratch directory for files of other kinds than regular ones. */
static void expect_file_error(const char *path, int want_err, const char *want)
{
	struct config cfg;
	const char *err = NULL;

	assert_int_equal(config_load(&cfg, path, &err), want_err);
	assert_non_null(err);
	assert_null(strchr(err, '\n'));
	if (!strstr(err, path) || !strstr(err, want))
		fail_msg("error '%s' does not name '%s' with '%s'", err, path, want);
}

static void test_directory_refused(void **state)
{
	char *dir = scratch_dir();

	expect_file_error(dir, -EISDIR, "is a directory");
	rmdir(dir);
	free(dir);
}

/* A FIFO with no writer: refused at once, never waited on (the alarm fails a hang). */
static void test_fifo_refused_without_blocking(void **state)
{
	char *dir = scratch_dir(), path[256];

	snprintf(path, sizeof(path), "%s/sowatch.yaml", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10);
	expect_file_error(path, -EINVAL, "not a regular file");
	alarm(0);
	unlink(path);
	rmdir(dir);
	free(dir);
}

static void test_too_large_file(void **state)
{
	char *dir = scratch_dir(), path[256];
	size_t size = (1 << 20) + 1;
	char *text = malloc(size);
	FILE *f;

	snprintf(path, sizeof(path), "%s/sowatch.yaml", dir);
	memset(text, '#', size);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, size, f), size);
	fclose(f);
	expect_file_error(path, -EFBIG, "larger than 1 MiB");
	/* one byte less is read (comments only: the defaults) */
	assert_int_equal(truncate(path, (off_t)size - 1), 0);
	{
		struct config cfg;
		const char *err = NULL;

		assert_int_equal(config_load(&cfg, path, &err), 0);
		config_free(&cfg);
	}
	unlink(path);
	rmdir(dir);
	free(dir);
	free(text);
}

/* ---- outputs.webhook, outputs.syslog, store.retention_days, metrics.listen ---------------- */

static void test_new_keys(void **state)
{
	struct files *fx = *state;
	struct config cfg;
	const char *err;

	assert_int_equal(loadf(&cfg, &err,
			       "outputs:\n"
			       "  jsonl: /var/log/sowatch/findings.jsonl\n"
			       "  webhook:\n"
			       "    url: https://siem.example.com/ingest\n"
			       "    ca_file: %s\n"
			       "    bearer_token_file: %s\n"
			       "    headers:\n"
			       "      X-Tenant: blue\n"
			       "      X-Source: \"sowatch node-1\"\n"
			       "    timeout_ms: 2500\n"
			       "  syslog:\n"
			       "    address: udp://logs.example.com:514\n"
			       "    facility: local3\n"
			       "store:\n"
			       "  path: /var/lib/sowatch/findings.db\n"
			       "  retention_days: 30\n"
			       "metrics:\n"
			       "  listen: 127.0.0.1:9464\n",
			       fx->ca, fx->token),
			 0);
	assert_string_equal(cfg.jsonl_path, "/var/log/sowatch/findings.jsonl");
	assert_true(cfg.webhook.enabled);
	assert_int_equal(cfg.webhook.line, 3);
	assert_string_equal(cfg.webhook.url, "https://siem.example.com/ingest");
	assert_string_equal(cfg.webhook.ca_file, fx->ca);
	assert_string_equal(cfg.webhook.bearer_token_file, fx->token);
	assert_int_equal(cfg.webhook.n_headers, 2);
	assert_string_equal(cfg.webhook.headers[0].name, "X-Tenant");
	assert_string_equal(cfg.webhook.headers[0].value, "blue");
	assert_string_equal(cfg.webhook.headers[1].name, "X-Source");
	assert_string_equal(cfg.webhook.headers[1].value, "sowatch node-1");
	assert_int_equal(cfg.webhook.timeout_ms, 2500);
	assert_true(cfg.syslog.enabled);
	assert_int_equal(cfg.syslog.line, 11);
	assert_string_equal(cfg.syslog.address, "udp://logs.example.com:514");
	assert_string_equal(cfg.syslog.facility, "local3");
	assert_int_equal(cfg.syslog.facility_code, 19);
	assert_int_equal(cfg.retention_days, 30);
	assert_string_equal(cfg.metrics_listen, "127.0.0.1:9464");
	config_free(&cfg);
}

static void test_new_keys_defaults(void **state)
{
	struct config cfg;
	const char *err;

	/* absent: off */
	assert_int_equal(load(&cfg, "outputs:\n  jsonl: \"-\"\n", &err), 0);
	assert_false(cfg.webhook.enabled);
	assert_false(cfg.syslog.enabled);
	assert_int_equal(cfg.retention_days, 0);
	assert_string_equal(cfg.metrics_listen, "");
	config_free(&cfg);

	/* present: on, with the defaults of the keys not given */
	assert_int_equal(load(&cfg,
			      "outputs:\n  webhook:\n    url: http://10.0.0.1:8080\n"
			      "  syslog: {}\n",
			      &err),
			 0);
	assert_true(cfg.webhook.enabled);
	assert_int_equal(cfg.webhook.timeout_ms, 10000);
	assert_string_equal(cfg.webhook.ca_file, "");
	assert_string_equal(cfg.webhook.bearer_token_file, "");
	assert_int_equal(cfg.webhook.n_headers, 0);
	assert_null(cfg.webhook.headers);
	assert_true(cfg.syslog.enabled);
	assert_int_equal(cfg.syslog.line, 4);
	assert_string_equal(cfg.syslog.address, "unix:///dev/log");
	assert_string_equal(cfg.syslog.facility, "auth");
	assert_int_equal(cfg.syslog.facility_code, 4);
	config_free(&cfg);

	/* "syslog:" alone is an empty section too */
	assert_int_equal(load(&cfg, "outputs:\n  syslog:\n", &err), 0);
	assert_true(cfg.syslog.enabled);
	assert_int_equal(cfg.syslog.facility_code, 4);
	config_free(&cfg);
}

static void test_new_keys_accepted_forms(void **state)
{
	struct config cfg;
	const char *err;
	static const struct {
		const char *name;
		int code;
	} facilities[] = { { "kern", 0 }, { "user", 1 },    { "cron", 9 },    { "authpriv", 10 },
			   { "ftp", 11 }, { "local0", 16 }, { "local7", 23 }, { "syslog", 5 } };

	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++) {
		assert_int_equal(loadf(&cfg, &err, "outputs:\n  syslog:\n    facility: %s\n",
				       facilities[i].name),
				 0);
		assert_int_equal(cfg.syslog.facility_code, facilities[i].code);
		config_free(&cfg);
	}
	expect_accepted("outputs:\n  syslog:\n    address: unix:///run/systemd/journal/syslog\n");
	expect_accepted("outputs:\n  syslog:\n    address: tcp://[::1]:514\n");
	expect_accepted("outputs:\n  syslog:\n    address: tcp://192.0.2.7:6514\n");
	expect_accepted("outputs:\n  syslog:\n    address: udp://localhost:514\n");
	expect_accepted("outputs:\n  webhook:\n    url: HTTPS://[2001:db8::1]:8443/in?x=1\n");
	expect_accepted("outputs:\n  webhook:\n    url: https://user:pw@siem.example.com\n");
	expect_accepted("outputs:\n  webhook: {url: \"http://siem\", timeout_ms: 100}\n");
	expect_accepted("outputs:\n  webhook: {url: \"http://siem\", timeout_ms: 600000}\n");
	expect_accepted("outputs:\n  webhook:\n    url: http://siem\n    headers: {}\n");
	expect_accepted("store:\n  retention_days: 1\n");
	expect_accepted("store:\n  retention_days: \"36500\"\n");
	expect_accepted("metrics:\n  listen: localhost:9464\n");
	expect_accepted("metrics:\n  listen: \"[::1]:9464\"\n");
	expect_accepted("metrics:\n  listen: 0.0.0.0:65535\n");
}

#define WEBHOOK "outputs:\n  webhook:\n"

static void test_webhook_url_refused(void **state)
{
	expect_error(WEBHOOK "    url: ftp://siem.example.com/in\n",
		     "test.yaml:3: expected an http:// or https:// URL for 'outputs.webhook.url'");
	expect_error(WEBHOOK "    url: siem.example.com/in\n",
		     "test.yaml:3: expected an http:// or https:// URL for 'outputs.webhook.url'");
	expect_error(WEBHOOK "    url: \"\"\n", "test.yaml:3: expected an http:// or https://");
	expect_error(WEBHOOK "    url: \"https://siem/in\\r\\nX-Evil: 1\"\n",
		     "test.yaml:3: must hold no spaces, control bytes or non-ASCII bytes "
		     "(percent-encode them): 'outputs.webhook.url'");
	expect_error(WEBHOOK "    url: \"https://siem/a b\"\n", "test.yaml:3: must hold no spaces");
	expect_error(WEBHOOK "    url: \"https://siem/\\e[2J\"\n", "test.yaml:3: must hold no");
	expect_error(WEBHOOK "    url: https:///in\n",
		     "test.yaml:3: not a valid URL for 'outputs.webhook.url': no host");
	expect_error(WEBHOOK "    url: https://siem:0/in\n",
		     "test.yaml:3: not a valid URL for 'outputs.webhook.url': the port must be a "
		     "number from 1 to 65535");
	expect_error(WEBHOOK "    url: https://siem!/in\n",
		     "test.yaml:3: not a valid URL for 'outputs.webhook.url': not a host name");
	expect_error(WEBHOOK "    timeout_ms: 5000\n",
		     "test.yaml:2: a webhook needs 'outputs.webhook.url'");
	expect_error(WEBHOOK, "test.yaml:2: a webhook needs 'outputs.webhook.url'");
	expect_error(WEBHOOK "    url:\n      host: siem\n",
		     "test.yaml:4: expected a text value, not a list or mapping, for "
		     "'outputs.webhook.url'");
}

static void test_webhook_ca_file_refused(void **state)
{
	struct files *fx = *state;
	struct config cfg;
	const char *err;
	char want[512];

	assert_int_not_equal(
	    loadf(&cfg, &err, WEBHOOK "    url: https://siem\n    ca_file: %s/nope.pem\n", fx->dir),
	    0);
	snprintf(want, sizeof(want),
		 "test.yaml:4: cannot use 'outputs.webhook.ca_file': %s/nope.pem: No such file or "
		 "directory",
		 fx->dir);
	assert_string_equal(err, want);
	assert_int_not_equal(
	    loadf(&cfg, &err, WEBHOOK "    url: https://siem\n    ca_file: %s\n", fx->dir), 0);
	snprintf(want, sizeof(want),
		 "test.yaml:4: cannot use 'outputs.webhook.ca_file': %s: not a regular file",
		 fx->dir);
	assert_string_equal(err, want);
	assert_int_not_equal(
	    loadf(&cfg, &err, WEBHOOK "    url: https://siem\n    ca_file: %s\n", fx->empty), 0);
	snprintf(want, sizeof(want), "test.yaml:4: cannot use 'outputs.webhook.ca_file': %s: empty",
		 fx->empty);
	assert_string_equal(err, want);
}

/* The token file: "bearer_token_file: PATH", then what must be wrong with it */
static void expect_token_error(const char *path, const char *want_end)
{
	struct config cfg;
	const char *err;
	char want[512];

	assert_int_not_equal(
	    loadf(&cfg, &err, WEBHOOK "    url: https://siem\n    bearer_token_file: %s\n", path),
	    0);
	snprintf(want, sizeof(want),
		 "test.yaml:4: cannot use 'outputs.webhook.bearer_token_file': %s: %s", path,
		 want_end);
	assert_string_equal(err, want);
}

static void test_webhook_token_file_refused(void **state)
{
	struct files *fx = *state;
	char missing[300];

	snprintf(missing, sizeof(missing), "%s/missing", fx->dir);
	expect_token_error(missing, "No such file or directory");
	expect_token_error(fx->dir, "not a regular file");
	expect_token_error(fx->empty, "empty");
	assert_int_equal(chmod(fx->token, 0644), 0);
	expect_token_error(fx->token, "readable or writable by group or others (mode 0644): chmod "
				      "600 it");
	assert_int_equal(chmod(fx->token, 0620), 0);
	expect_token_error(fx->token, "readable or writable by group or others (mode 0620): chmod "
				      "600 it");
	assert_int_equal(chmod(fx->token, 0604), 0);
	expect_token_error(fx->token, "readable or writable by group or others (mode 0604): chmod "
				      "600 it");
	write_file(fx->token, " \n\r\n", 0600);
	expect_token_error(fx->token, "empty");
	write_file(fx->token, "abc\r\nX-Evil: 1\n", 0600);
	expect_token_error(fx->token, "the token holds a space or a control byte");
	write_file(fx->token, "s3cr3t-token\n", 0600);
}

static void test_webhook_headers_refused(void **state)
{
	const char *base = WEBHOOK "    url: https://siem\n    headers:\n";
	char text[512];

#define HEADERS(more) (snprintf(text, sizeof(text), "%s%s", base, more), text)
	expect_error(HEADERS("      \"X Tenant\": blue\n"),
		     "test.yaml:5: not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~ "
		     "only): 'outputs.webhook.headers.X Tenant'");
	expect_error(HEADERS("      \"X-Tenant:\": blue\n"),
		     "test.yaml:5: not an HTTP header name");
	expect_error(HEADERS("      \"\": blue\n"), "test.yaml:5: not an HTTP header name");
	expect_error(HEADERS("      X-Tenant: \"blue\\r\\nX-Evil: 1\"\n"),
		     "test.yaml:5: must hold no control bytes (CR, LF, tab...): "
		     "'outputs.webhook.headers.X-Tenant'");
	expect_error(HEADERS("      X-Tenant: \"blue\\x7f\"\n"),
		     "test.yaml:5: must hold no control");
	expect_error(HEADERS("      X-Tenant: \"\"\n"),
		     "test.yaml:5: expected a non-empty text value for "
		     "'outputs.webhook.headers.X-Tenant'");
	expect_error(HEADERS("      X-Tenant: [a, b]\n"),
		     "test.yaml:5: expected a non-empty text value for");
	expect_error(HEADERS("      Content-Type: text/plain\n"),
		     "test.yaml:5: sowatch sets this header itself: "
		     "'outputs.webhook.headers.Content-Type'");
	expect_error(HEADERS("      x-sowatch-finding-id: 1\n"),
		     "test.yaml:5: sowatch sets this header itself: "
		     "'outputs.webhook.headers.x-sowatch-finding-id'");
	expect_error(HEADERS("      AUTHORIZATION: Bearer x\n"),
		     "test.yaml:5: sowatch sets this header itself: "
		     "'outputs.webhook.headers.AUTHORIZATION': give the token in "
		     "outputs.webhook.bearer_token_file");
	expect_error(HEADERS("      Content-Length: 0\n"), "test.yaml:5: sowatch sets this header");
	expect_error(HEADERS("      X-Tenant: blue\n      x-tenant: red\n"),
		     "test.yaml:6: key given twice: 'outputs.webhook.headers.x-tenant'");
	expect_error(HEADERS("      - X-Tenant: blue\n"),
		     "test.yaml:5: expected a mapping under 'outputs.webhook.headers'");
	expect_error(WEBHOOK "    url: https://siem\n    headers: X-Tenant\n",
		     "test.yaml:4: expected a mapping under 'outputs.webhook.headers'");
#undef HEADERS
}

static void test_webhook_timeout_refused(void **state)
{
	static const char *const bad[] = { "99",   "600001", "abc", "-5",
					   "+500", "0x100",  "1e4", "99999999999999999999",
					   "\"\"" };
	char text[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), WEBHOOK "    url: https://siem\n    timeout_ms: %s\n",
			 bad[i]);
		expect_error(text, "test.yaml:4: expected a whole number from 100 to 600000 for "
				   "'outputs.webhook.timeout_ms'");
	}
}

static void test_syslog_refused(void **state)
{
	static const struct {
		const char *address, *why;
	} bad[] = {
		{ "ftp://logs:514", "expected unix:///PATH, udp://HOST:PORT or tcp://HOST:PORT" },
		{ "logs:514", "expected unix:///PATH, udp://HOST:PORT or tcp://HOST:PORT" },
		{ "unix://dev/log", "the socket's path must be absolute, as unix:///dev/log" },
		{ "udp://logs", "no port (HOST:PORT)" },
		{ "udp://logs:", "the port must be a number from 1 to 65535" },
		{ "tcp://logs:0", "the port must be a number from 1 to 65535" },
		{ "tcp://logs:65536", "the port must be a number from 1 to 65535" },
		{ "tcp://logs:-1", "the port must be a number from 1 to 65535" },
		{ "tcp://:514", "no host" },
		{ "tcp://lo gs:514", "not a host name" },
		{ "tcp://-logs:514", "not a host name" },
		{ "tcp://10.0.0.300:514", "not an IPv4 address" },
		{ "udp://::1:514", "an IPv6 address goes between [ and ], as [::1]:PORT" },
		{ "udp://[::1:514", "an IPv6 address needs its closing ']'" },
		{ "udp://[1.2.3.4]:514", "not an IPv6 address between [ and ]" },
		{ "udp://[::1]514", "expected ':PORT' after the host" },
	};
	char text[256], want[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "outputs:\n  syslog:\n    address: \"%s\"\n",
			 bad[i].address);
		snprintf(want, sizeof(want),
			 "test.yaml:3: not a valid address for 'outputs.syslog.address': %s",
			 bad[i].why);
		expect_error(text, want);
	}
	expect_error("outputs:\n  syslog:\n    facility: local8\n",
		     "test.yaml:3: expected kern, user, mail, daemon, auth, syslog, lpr, news, "
		     "uucp, cron, authpriv, ftp, local0, local1, local2, local3, local4, local5, "
		     "local6 or local7 for 'outputs.syslog.facility'");
	expect_error("outputs:\n  syslog:\n    facility: AUTH\n", "test.yaml:3: expected kern");
	expect_error("outputs:\n  syslog: udp://logs:514\n",
		     "test.yaml:2: expected a mapping under 'outputs.syslog'");
	expect_error("outputs:\n  syslog: [a]\n",
		     "test.yaml:2: expected a mapping under 'outputs.syslog'");
	expect_error("outputs:\n  syslog:\n    address: [udp://logs:514]\n",
		     "test.yaml:3: expected a text value, not a list or mapping, for "
		     "'outputs.syslog.address'");
}

static void test_store_and_metrics_refused(void **state)
{
	static const char *const bad_days[] = { "0", "36501", "thirty", "-1", "30d", "1.5" };
	char text[256];

	for (size_t i = 0; i < sizeof(bad_days) / sizeof(bad_days[0]); i++) {
		snprintf(text, sizeof(text), "store:\n  path: /x.db\n  retention_days: %s\n",
			 bad_days[i]);
		expect_error(text, "test.yaml:3: expected a whole number from 1 to 36500 for "
				   "'store.retention_days'");
	}
	expect_error("metrics:\n  listen: 9464\n",
		     "test.yaml:2: not a valid address for 'metrics.listen': expected an IPv4 "
		     "address, [IPv6] or localhost for the host");
	expect_error("metrics:\n  listen: metrics.example.com:9464\n",
		     "test.yaml:2: not a valid address for 'metrics.listen': expected an IPv4");
	expect_error("metrics:\n  listen: 127.0.0.1\n",
		     "test.yaml:2: not a valid address for 'metrics.listen': no port (HOST:PORT)");
	expect_error("metrics:\n  listen: 127.0.0.1:70000\n",
		     "test.yaml:2: not a valid address for 'metrics.listen': the port must be");
	expect_error("metrics:\n  listen: \"::1:9464\"\n",
		     "test.yaml:2: not a valid address for 'metrics.listen': an IPv6 address goes");
	expect_error("metrics:\n  listen: {host: x}\n",
		     "test.yaml:2: expected a text value, not a list or mapping, for "
		     "'metrics.listen'");
	expect_error("metrics: 127.0.0.1:9464\n",
		     "test.yaml:1: expected a mapping under 'metrics'");
}

static void test_new_sections_unknown_and_duplicate_keys(void **state)
{
	expect_error(WEBHOOK "    url: https://siem\n    colour: blue\n",
		     "test.yaml:4: unknown key 'outputs.webhook.colour'");
	expect_error(WEBHOOK "    url: https://siem\n    token: abc\n",
		     "test.yaml:4: unknown key 'outputs.webhook.token'");
	expect_error("outputs:\n  syslog:\n    port: 514\n",
		     "test.yaml:3: unknown key 'outputs.syslog.port'");
	expect_error("metrics:\n  port: 9464\n", "test.yaml:2: unknown key 'metrics.port'");
	expect_error("outputs:\n  kafka: {}\n", "test.yaml:2: unknown key 'outputs.kafka'");
	expect_error(WEBHOOK "    url: https://a\n    url: https://b\n",
		     "test.yaml:4: key given twice: 'outputs.webhook.url'");
	expect_error("outputs:\n  syslog: {}\n  syslog: {}\n",
		     "test.yaml:3: key given twice: 'outputs.syslog'");
	expect_error("store:\n  retention_days: 1\n  retention_days: 2\n",
		     "test.yaml:3: key given twice: 'store.retention_days'");
	expect_error("metrics:\n  listen: 127.0.0.1:1\nmetrics:\n  listen: 127.0.0.1:2\n",
		     "test.yaml:3: section given twice: 'metrics'");
	/* a section's keys are not keys of another */
	expect_error("outputs:\n  url: https://siem\n", "test.yaml:2: unknown key 'outputs.url'");
	expect_error(WEBHOOK "    url: https://siem\n    facility: auth\n",
		     "test.yaml:4: unknown key 'outputs.webhook.facility'");
}

static bool all_zero(const void *p, size_t size)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < size; i++)
		if (b[i])
			return false;
	return true;
}

/*
 * A reload loads into a second struct while the first is in use: a refused file leaves the
 * first as it was, and the second zeroed, with nothing leaked (ASan).
 */
static void test_reload_keeps_the_old_configuration(void **state)
{
	struct files *fx = *state;
	struct config old, fresh;
	const char *err;
	static const char *const bad[] = {
		/* refused after headers and rules were allocated */
		"mute:\n  - image: a\noutputs:\n  webhook:\n    url: https://siem\n"
		"    headers: {X-A: a, X-B: b}\n    timeout_ms: 1\n",
		"allow:\n  - module_path: /x\n    module_sha256: nope\n",
		"outputs:\n  webhook:\n    url: https://new\n    headers: {X-A: a, Content-Type: "
		"x}\n",
		"resource:\n  project: new\n\"\n",
		"collect:\n  servers: [nats://a:4222, tls://b:4222]\n  user: node\n",
		"outputs:\n  nats:\n    servers: nats://a:4222\n    stream: a.b\n",
	};

	assert_int_equal(loadf(&old, &err,
			       "resource:\n  project: old\n"
			       "outputs:\n  webhook:\n    url: https://old\n"
			       "    bearer_token_file: %s\n    headers: {X-Tenant: blue}\n"
			       "  syslog: {facility: cron}\n"
			       "mute:\n  - image: registry/old\n",
			       fx->token),
			 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&fresh, 0xa5, sizeof(fresh));
		assert_int_not_equal(load(&fresh, bad[i], &err), 0);
		assert_true(all_zero(&fresh, sizeof(fresh)));
		config_free(&fresh); /* a refused load may be freed again */
	}
	/* a token file spoilt since the last load: the reload is refused too */
	assert_int_equal(chmod(fx->token, 0640), 0);
	assert_int_not_equal(loadf(&fresh, &err,
				   WEBHOOK "    url: https://new\n    bearer_token_file: %s\n",
				   fx->token),
			     0);
	assert_non_null(strstr(err, "test.yaml:4: cannot use 'outputs.webhook.bearer_token_file'"));
	assert_int_equal(chmod(fx->token, 0600), 0);

	assert_string_equal(old.resource.project, "old");
	assert_string_equal(old.webhook.url, "https://old");
	assert_string_equal(old.webhook.bearer_token_file, fx->token);
	assert_int_equal(old.webhook.n_headers, 1);
	assert_string_equal(old.webhook.headers[0].name, "X-Tenant");
	assert_string_equal(old.webhook.headers[0].value, "blue");
	assert_int_equal(old.syslog.facility_code, 9);
	assert_int_equal(old.n_mute, 1);
	assert_string_equal(old.mute[0].field[RULE_IMAGE], "registry/old");

	/* and a good reload replaces it */
	assert_int_equal(load(&fresh, "outputs:\n  syslog: {}\n", &err), 0);
	config_free(&old);
	assert_true(all_zero(&old, sizeof(old)));
	assert_true(fresh.syslog.enabled);
	assert_false(fresh.webhook.enabled);
	config_free(&fresh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors_name_line_and_key),
		cmocka_unit_test(test_too_long_value),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_duplicates_refused),
		cmocka_unit_test(test_one_document_only),
		cmocka_unit_test(test_errors_escaped),
		cmocka_unit_test(test_directory_refused),
		cmocka_unit_test(test_fifo_refused_without_blocking),
		cmocka_unit_test(test_too_large_file),
		cmocka_unit_test(test_new_keys_defaults),
		cmocka_unit_test(test_new_keys_accepted_forms),
		cmocka_unit_test(test_webhook_url_refused),
		cmocka_unit_test(test_webhook_headers_refused),
		cmocka_unit_test(test_webhook_timeout_refused),
		cmocka_unit_test(test_syslog_refused),
		cmocka_unit_test(test_store_and_metrics_refused),
		cmocka_unit_test(test_new_sections_unknown_and_duplicate_keys),
		cmocka_unit_test_setup_teardown(test_new_keys, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_webhook_ca_file_refused, files_setup,
						files_teardown),
		cmocka_unit_test_setup_teardown(test_webhook_token_file_refused, files_setup,
						files_teardown),
		cmocka_unit_test_setup_teardown(test_reload_keeps_the_old_configuration,
						files_setup, files_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

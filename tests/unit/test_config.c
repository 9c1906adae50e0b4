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

static int load(struct config *cfg, const char *text, const char **err)
{
	*err = NULL;
	return config_load_string(cfg, "test.yaml", text, strlen(text), err);
}

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

static void expect_error(const char *text, const char *want)
{
	struct config cfg;
	const char *err;

	assert_int_not_equal(load(&cfg, text, &err), 0);
	assert_non_null(err);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
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
static char *scratch_dir(void)
{
	char *dir = strdup("/tmp/sowatch-test-config.XXXXXX");

	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

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

/*
 * A scratch directory with a CA file, a token file (mode 0600) and an empty file; for NATS, a
 * credentials file and a password file (mode 0600).
 */
struct files {
	char *dir;
	char ca[256], token[256], empty[256], creds[256], password[256];
};

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static int files_setup(void **state)
{
	struct files *fx = calloc(1, sizeof(*fx));

	fx->dir = scratch_dir();
	snprintf(fx->ca, sizeof(fx->ca), "%s/ca.pem", fx->dir);
	snprintf(fx->token, sizeof(fx->token), "%s/token", fx->dir);
	snprintf(fx->empty, sizeof(fx->empty), "%s/empty", fx->dir);
	write_file(fx->ca, "-----BEGIN CERTIFICATE-----\n", 0644);
	write_file(fx->token, "s3cr3t-token\n", 0600);
	write_file(fx->empty, "", 0600);
	snprintf(fx->creds, sizeof(fx->creds), "%s/node.creds", fx->dir);
	snprintf(fx->password, sizeof(fx->password), "%s/nats-password", fx->dir);
	/* several lines, with spaces: its text is not checked as a token's */
	write_file(fx->creds,
		   "-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QifQ.e30.sig\n"
		   "------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n"
		   "SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4\n"
		   "------END USER NKEY SEED------\n",
		   0600);
	write_file(fx->password, "pa$$w0rd!\n", 0600);
	*state = fx;
	return 0;
}

static int files_teardown(void **state)
{
	struct files *fx = *state;

	unlink(fx->ca);
	unlink(fx->token);
	unlink(fx->empty);
	unlink(fx->creds);
	unlink(fx->password);
	rmdir(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

/* Loads printf(fmt, ...) */
__attribute__((format(printf, 3, 4))) static int loadf(struct config *cfg, const char **err,
						       const char *fmt, ...)
{
	char text[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return load(cfg, text, err);
}

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

static void expect_accepted(const char *text)
{
	struct config cfg;
	const char *err = NULL;

	if (load(&cfg, text, &err))
		fail_msg("refused '%s': %s", text, err);
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

/* ---- outputs.nats and collect ---------------------------------------------------------------- */

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

/* "<section> ... <key>: <path>" is refused: "cannot use '<full key>': <path>: <want_end>" */
static void expect_nats_file_error(const char *section, const char *key, const char *path,
				   const char *want_end)
{
	struct config cfg;
	const char *err;
	char want[1024];
	bool collect = strcmp(section, "collect") == 0;

	assert_int_not_equal(loadf(&cfg, &err, "%s%sservers: nats://a:4222\n%s%s: %s\n",
				   collect ? "collect:\n" : NATS, collect ? "  " : "    ",
				   collect ? "  " : "    ", key, path),
			     0);
	snprintf(want, sizeof(want), "test.yaml:%d: cannot use '%s.%s': %s: %s", collect ? 3 : 4,
		 section, key, path, want_end);
	assert_string_equal(err, want);
}

static void test_nats_files_refused(void **state)
{
	static const char *const sections[] = { "outputs.nats", "collect" };
	static const char *const keys[] = { "creds_file", "password_file", "ca_file" };
	struct files *fx = *state;
	char missing[300];

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
		write_file(fx->password, "pa$$w0rd!\n", 0600);
	}
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
		cmocka_unit_test_setup_teardown(test_nats_login_refused, files_setup,
						files_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

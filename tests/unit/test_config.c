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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

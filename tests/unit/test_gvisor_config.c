// SPDX-License-Identifier: Apache-2.0
/*
 * `sowatch gvisor-config`: the document parses as JSON (Debian's Python, strictly), names the
 * socket, has the shape runsc's pod-init-config loader wants, and (when runsc is installed) only
 * names points and fields that `runsc trace metadata` lists.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/gvisor_config.h"

#define RUNSC "/usr/bin/runsc"

/*
 * Checks the JSON file argv[1]: strict UTF-8, no duplicate keys or NaN; the endpoint equals
 * $SW_EXPECT_SOCKET (bytes); every key is one runsc's structs know (runsc decodes with
 * DisallowUnknownFields). With argv[2] == "metadata", also checks every point, optional field
 * and context field against `runsc trace metadata`. Prints the reason and exits 1 on failure.
 */
static const char checker[] =
    "import json, os, re, subprocess, sys\n"
    "def dup(pairs):\n"
    "    d = {}\n"
    "    for k, v in pairs:\n"
    "        if k in d: raise ValueError('duplicate key %r' % k)\n"
    "        d[k] = v\n"
    "    return d\n"
    "def bad(c): raise ValueError('constant %s' % c)\n"
    "raw = open(sys.argv[1], 'rb').read()\n"
    "assert raw.endswith(b'}\\n'), 'not one object and a newline'\n"
    "doc = json.loads(raw.decode('utf-8', 'strict'), object_pairs_hook=dup, parse_constant=bad)\n"
    "assert set(doc) == {'trace_session'}, doc.keys()\n"
    "s = doc['trace_session']\n"
    "assert set(s) <= {'name', 'points', 'ignore_missing', 'sinks'}, s.keys()\n"
    "assert s['name'] == 'Default'\n"
    "assert not s.get('ignore_missing')\n"
    "assert len(s['sinks']) == 1\n"
    "sink = s['sinks'][0]\n"
    "assert set(sink) <= {'name', 'config', 'ignore_setup_error'}, sink.keys()\n"
    "assert sink['name'] == 'remote'\n"
    "cfg = sink['config']\n"
    "assert set(cfg) <= {'endpoint', 'retries', 'backoff', 'backoff_max'}, cfg.keys()\n"
    "want = os.environb[b'SW_EXPECT_SOCKET']\n"
    "assert cfg['endpoint'].encode('utf-8') == want, (cfg['endpoint'], want)\n"
    "assert isinstance(cfg['retries'], int) and cfg['retries'] >= 0\n"
    "for k in ('backoff', 'backoff_max'):\n"
    "    assert re.fullmatch(r'[0-9]+(ns|us|ms|s)', cfg[k]), cfg[k]\n"
    "names = [p['name'] for p in s['points']]\n"
    "assert len(names) == len(set(names)), names\n"
    "need = {'container/start', 'sentry/execve', 'sentry/clone', 'sentry/task_exit',\n"
    "        'syscall/openat/exit', 'syscall/close/enter', 'syscall/execve/enter',\n"
    "        'syscall/sysno/9/enter', 'syscall/sysno/9/exit'}\n"
    "assert need <= set(names), need - set(names)\n"
    "pts = {p['name']: p for p in s['points']}\n"
    "for p in s['points']:\n"
    "    assert set(p) <= {'name', 'optional_fields', 'context_fields'}, p.keys()\n"
    "    for k in ('container_id', 'group_id', 'thread_id', 'process_name', 'cwd',\n"
    "              'credentials', 'time'):\n"
    "        assert k in p['context_fields'], (p['name'], k)\n"
    "assert 'binary_info' in pts['sentry/execve']['optional_fields']\n"
    "assert 'env' in pts['container/start']['optional_fields']\n"
    "assert 'envv' in pts['syscall/execve/enter']['optional_fields']\n"
    "assert 'fd_path' in pts['syscall/openat/exit']['optional_fields']\n"
    "assert 'fd_path' in pts['syscall/close/enter']['optional_fields']\n"
    "if len(sys.argv) > 2 and sys.argv[2] == 'metadata':\n"
    "    out = subprocess.run(['" RUNSC "', 'trace', 'metadata'], stdout=subprocess.PIPE,\n"
    "                         check=True, universal_newlines=True).stdout\n"
    "    meta, sinks, in_sinks = {}, set(), False\n"
    "    for line in out.splitlines():\n"
    "        if line.startswith('SINKS'): in_sinks = True\n"
    "        m = re.match(r'Name: ([^,]+)(?:, optional fields: \\[(.*?)\\], "
    "context fields: \\[(.*?)\\])?$', line)\n"
    "        if not m: continue\n"
    "        if in_sinks: sinks.add(m.group(1)); continue\n"
    "        split = lambda t: set(t.split('|')) if t else set()\n"
    "        meta[m.group(1)] = (split(m.group(2)), split(m.group(3)))\n"
    "    assert len(meta) > 100, 'runsc trace metadata listed %d points' % len(meta)\n"
    "    assert sink['name'] in sinks, sinks\n"
    "    for p in s['points']:\n"
    "        assert p['name'] in meta, 'runsc has no point %s' % p['name']\n"
    "        opt, ctx = meta[p['name']]\n"
    "        assert set(p.get('optional_fields', [])) <= opt, (p['name'], opt)\n"
    "        assert set(p.get('context_fields', [])) <= ctx, (p['name'], ctx)\n";

static char tmpdir[64];

static int setup(void **state)
{
	char script[128];
	FILE *f;

	(void)state;
	strcpy(tmpdir, "/tmp/sowatch-test-gvisor-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(script, sizeof(script), "%s/check.py", tmpdir);
	f = fopen(script, "w");
	if (!f)
		return -1;
	fputs(checker, f);
	return fclose(f) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* Runs the checker on the file; returns its exit status. quiet hides an expected failure. */
static int check_file_q(const char *path, const char *socket_path, bool metadata, bool quiet)
{
	char cmd[512];
	int status;

	assert_int_equal(setenv("SW_EXPECT_SOCKET", socket_path, 1), 0);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s/check.py' '%s'%s%s", tmpdir, path,
		 metadata ? " metadata" : "", quiet ? " 2>/dev/null" : "");
	fflush(NULL);
	status = system(cmd);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int check_file(const char *path, const char *socket_path, bool metadata)
{
	return check_file_q(path, socket_path, metadata, false);
}

/* Runs cmd_gvisor_config with stdout going to out_path; returns its exit status. */
static int run_cmd(const char *out_path, int argc, char **argv)
{
	int saved, fd, rc;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
	close(fd);
	rc = cmd_gvisor_config(argc, argv);
	fflush(stdout);
	assert_int_equal(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
	close(saved);
	return rc;
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void test_build_parses_and_names_socket(void **state)
{
	const char *sock = "/run/sowatch/test-gvisor.sock";
	struct strbuf sb = STRBUF_INIT;
	char path[128];

	(void)state;
	assert_int_equal(gvisor_config_build(&sb, sock), 0);
	assert_non_null(strstr(strbuf_str(&sb), "\"endpoint\":\"/run/sowatch/test-gvisor.sock\""));
	snprintf(path, sizeof(path), "%s/build.json", tmpdir);
	write_file(path, sb.buf, sb.len);
	assert_int_equal(check_file(path, sock, false), 0);
	strbuf_release(&sb);
	assert_int_equal(gvisor_config_build(&sb, NULL), -EINVAL);
}

static void test_command_default_socket(void **state)
{
	char *argv[] = { "gvisor-config", NULL };
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/default.json", tmpdir);
	assert_int_equal(run_cmd(path, 1, argv), 0);
	assert_int_equal(check_file(path, GVISOR_DEFAULT_SOCKET, false), 0);
}

static void test_command_socket_option(void **state)
{
	char *argv[] = { "gvisor-config", "--socket", "/tmp/sw gv \"quoted\"\\.sock", NULL };
	char *argv_eq[] = { "gvisor-config", "--socket=/var/run/x.sock", NULL };
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/option.json", tmpdir);
	assert_int_equal(run_cmd(path, 3, argv), 0);
	/* Quotes and backslashes are escaped: the parser gets the same bytes back. */
	assert_int_equal(check_file(path, argv[2], false), 0);
	/* The checker really compares the endpoint. */
	assert_int_not_equal(check_file_q(path, "/tmp/other.sock", false, true), 0);
	assert_int_equal(run_cmd(path, 2, argv_eq), 0);
	assert_int_equal(check_file(path, "/var/run/x.sock", false), 0);
}

static void test_usage_errors(void **state)
{
	char *relative[] = { "gvisor-config", "--socket", "run/sowatch.sock", NULL };
	char *empty[] = { "gvisor-config", "--socket", "", NULL };
	char *bad_flag[] = { "gvisor-config", "--bogus", NULL };
	char *short_flag[] = { "gvisor-config", "-x", NULL };
	char *no_value[] = { "gvisor-config", "--socket", NULL };
	char *extra[] = { "gvisor-config", "extra", NULL };
	char long_path[200];
	char *too_long[] = { "gvisor-config", "--socket", long_path, NULL };
	char *help[] = { "gvisor-config", "--help", NULL };
	char path[128];

	(void)state;
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	snprintf(path, sizeof(path), "%s/usage.out", tmpdir);
	assert_int_equal(run_cmd(path, 3, relative), 2);
	assert_int_equal(file_size(path), 0);
	assert_int_equal(run_cmd(path, 3, empty), 2);
	assert_int_equal(run_cmd(path, 2, bad_flag), 2);
	assert_int_equal(run_cmd(path, 2, short_flag), 2);
	assert_int_equal(run_cmd(path, 2, no_value), 2);
	assert_int_equal(run_cmd(path, 2, extra), 2);
	assert_int_equal(run_cmd(path, 3, too_long), 2);
	assert_int_equal(file_size(path), 0);
	assert_int_equal(run_cmd(path, 2, help), 0);
	assert_true(file_size(path) > 0);
}

/* Every point and field is one this runsc knows (runsc refuses to start a sandbox otherwise). */
static void test_names_match_runsc_metadata(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char path[128];

	(void)state;
	if (access(RUNSC, X_OK) != 0)
		skip();
	assert_int_equal(gvisor_config_build(&sb, GVISOR_DEFAULT_SOCKET), 0);
	snprintf(path, sizeof(path), "%s/metadata.json", tmpdir);
	write_file(path, sb.buf, sb.len);
	assert_int_equal(check_file(path, GVISOR_DEFAULT_SOCKET, true), 0);
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_parses_and_names_socket),
		cmocka_unit_test(test_command_default_socket),
		cmocka_unit_test(test_command_socket_option),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_names_match_runsc_metadata),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

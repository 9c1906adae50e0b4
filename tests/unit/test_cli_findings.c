// SPDX-License-Identifier: Apache-2.0
/*
 * `sowatch findings ...` as a responder sees it: a store filled with hand-made findings, then
 * cmd_findings() run with argv arrays, its stdout and stderr captured through temporary files.
 */
#include <errno.h>
#include <limits.h>
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/findings.h"
#include "store/store.h"
#include "util/json.h"

#define SEC	 1000000000LL
#define CATEGORY "Execution: Suspicious OpenSSL Shared Object Loaded"
/* 2026-11-27T15:20:00Z */
#define T0 (1795792800LL * SEC)

struct fixture {
	char dir[64];
	char db[PATH_MAX];
	struct store *s;
};

struct fake {
	const char *id;
	int64_t t;
	const char *severity;
	const char *container; /* NULL: host */
	const char *args[6];
	const char *module;
	bool loaded;
	const char *host;
};

struct out {
	int status;
	char *out, *err;
};

static void rfc3339(int64_t ns, char out[40])
{
	time_t sec = (time_t)(ns / SEC);
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 40 - n, ".%06dZ", (int)(ns % SEC / 1000));
}

static void json_file(struct jw_writer *j, const char *path, const char *sha)
{
	jw_object_begin(j);
	jw_kv_string(j, "path", path);
	jw_kv_int_string(j, "size", 15648);
	jw_kv_string(j, "sha256", sha);
	jw_kv_int_string(j, "hashedSize", 15648);
	jw_kv_bool(j, "partiallyHashed", false);
	jw_object_end(j);
}

/* A finding in the shape src/findings/finding.c writes. */
static char *fake_json(const struct fake *f)
{
	struct strbuf sb = STRBUF_INIT;
	struct jw_writer j;
	char name[256], time[40], resource[256];

	snprintf(resource, sizeof(resource),
		 f->container ? "//sowatch/hosts/vm/containers/%s" : "//sowatch/hosts/vm%s",
		 f->container ? f->container : "");
	jw_init(&j, &sb);
	jw_object_begin(&j);
	jw_key(&j, "finding");
	jw_object_begin(&j);
	snprintf(name, sizeof(name), "projects/vm/sources/sowatch/findings/%s", f->id);
	jw_kv_string(&j, "name", name);
	jw_kv_string(&j, "parent", "projects/vm/sources/sowatch");
	jw_kv_string(&j, "resourceName", resource);
	jw_kv_string(&j, "state", "ACTIVE");
	jw_kv_string(&j, "category", CATEGORY);
	jw_kv_string(&j, "findingClass", "THREAT");
	jw_kv_string(&j, "severity", f->severity);
	rfc3339(f->t, time);
	jw_kv_string(&j, "eventTime", time);
	rfc3339(f->t + 170000, time);
	jw_kv_string(&j, "createTime", time);
	jw_key(&j, "mitreAttack");
	jw_object_begin(&j);
	jw_kv_string(&j, "primaryTactic", "EXECUTION");
	jw_key(&j, "primaryTechniques");
	jw_array_begin(&j);
	jw_string(&j, "SHARED_MODULES");
	jw_array_end(&j);
	jw_object_end(&j);
	jw_key(&j, "processes");
	jw_array_begin(&j);
	jw_object_begin(&j);
	jw_kv_string(&j, "name", "openssl");
	jw_key(&j, "binary");
	json_file(&j, "/usr/bin/openssl",
		  "66521161cfad981e189bbc746560e0cc71a141b3765b3fe3658704d877c6ad7d");
	jw_key(&j, "libraries");
	jw_array_begin(&j);
	json_file(&j, f->module,
		  "0fd2ea87f437471d748b6e50bdb65843131a86a98cf782e0d6556e493f693332");
	jw_array_end(&j);
	jw_key(&j, "args");
	jw_array_begin(&j);
	for (int i = 0; i < 6 && f->args[i]; i++)
		jw_string(&j, f->args[i]);
	jw_array_end(&j);
	jw_kv_bool(&j, "argumentsTruncated", false);
	jw_key(&j, "envVariables");
	jw_array_begin(&j);
	jw_object_begin(&j);
	jw_kv_string(&j, "name", "OPENSSL_CONF");
	jw_kv_string(&j, "val", "/tmp/evil dir/openssl.cnf");
	jw_object_end(&j);
	jw_array_end(&j);
	jw_kv_bool(&j, "envVariablesTruncated", false);
	jw_kv_int_string(&j, "pid", 10109);
	jw_kv_int_string(&j, "parentPid", 10094);
	jw_kv_int_string(&j, "userId", 0);
	jw_object_end(&j);
	jw_object_begin(&j);
	jw_kv_string(&j, "name", "bash\x1b]0;owned\x07");
	jw_key(&j, "binary");
	jw_object_begin(&j);
	jw_kv_string(&j, "path", "/usr/bin/bash");
	jw_object_end(&j);
	jw_key(&j, "args");
	jw_array_begin(&j);
	jw_string(&j, "bash");
	jw_array_end(&j);
	jw_kv_int_string(&j, "pid", 10094);
	jw_kv_int_string(&j, "parentPid", 1);
	jw_kv_int_string(&j, "userId", 0);
	jw_object_end(&j);
	jw_array_end(&j);
	if (f->container) {
		jw_key(&j, "containers");
		jw_array_begin(&j);
		jw_object_begin(&j);
		jw_kv_string(&j, "name", f->container);
		jw_key(&j, "labels");
		jw_array_begin(&j);
		jw_array_end(&j);
		jw_object_end(&j);
		jw_array_end(&j);
	}
	jw_kv_string(&j, "description", "OpenSSL was made to load a shared object.");
	jw_kv_string(&j, "nextSteps", "1. Read the summary.");
	jw_key(&j, "sourceProperties");
	jw_object_begin(&j);
	jw_key(&j, "detectionLayers");
	jw_array_begin(&j);
	jw_string(&j, "intent");
	jw_string(&j, "library");
	if (f->loaded)
		jw_string(&j, "effect");
	jw_array_end(&j);
	jw_kv_string(&j, "moduleKind", "engine");
	jw_kv_string(&j, "modulePath", f->module);
	jw_kv_string(&j, "requestedModule", f->module);
	jw_kv_string(&j, "requestOrigin", "engine command");
	jw_kv_bool(&j, "loaded", f->loaded);
	jw_kv_bool(&j, "moduleDeleted", false);
	jw_kv_bool(&j, "moduleMemfd", false);
	jw_kv_string(&j, "trustReason", "the module lies outside OpenSSL's ENGINESDIR");
	jw_kv_string(&j, "sensor", "ebpf");
	jw_kv_string(&j, "host", f->host);
	jw_kv_string(&j, "containerId", f->container ? f->container : "");
	jw_kv_string(&j, "eventDrops", "0");
	jw_object_end(&j);
	jw_object_end(&j);
	jw_key(&j, "resource");
	jw_object_begin(&j);
	jw_kv_string(&j, "name", resource);
	jw_kv_string(&j, "project_display_name", "vm");
	jw_kv_string(&j, "type", f->container ? "container" : "host");
	jw_object_end(&j);
	jw_object_end(&j);
	assert_int_equal(jw_error(&j), 0);
	return strbuf_detach(&sb);
}

static void fake_insert(struct store *s, const struct fake *f)
{
	char *json = fake_json(f);
	struct store_finding sf = {
		.id = f->id,
		.event_time_ns = f->t,
		.create_time_ns = f->t + 170000,
		.category = CATEGORY,
		.severity = f->severity,
		.container_id = f->container,
		.binary_path = "/usr/bin/openssl",
		.module_path = f->module,
		.module_sha256 = "0fd2ea87f437471d748b6e50bdb65843131a86a98cf782e0d6556e493f693332",
		.json = json,
		.host = f->host,
	};

	assert_int_equal(store_insert(s, &sf), 0);
	free(json);
}

#define ID_A "a1000000000000000000000000000001" /* web, T0 */
#define ID_B "b2000000000000000000000000000002" /* web, T0 + 2m13s */
#define ID_C "c3000000000000000000000000000003" /* web, T0 - 45s */
#define ID_D "d4000000000000000000000000000004" /* web, T0 + 11m: outside 10m */
#define ID_E "e5000000000000000000000000000005" /* other container, T0 + 10s */
#define ID_F "f6000000000000000000000000000006" /* host, T0 + 20s */
#define WEB  "4f2a9c0d11e2b3a4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c"
#define DB   "9b8a7c6d5e4f30211203f4e5d6c7b8a99b8a7c6d5e4f30211203f4e5d6c7b8a9"

static const struct fake fakes[] = {
	{ ID_A,
	  T0,
	  "CRITICAL",
	  WEB,
	  { "openssl", "engine", "-t", "/tmp/x y.so", "\x1b[31mred" },
	  "/tmp/x y.so",
	  true,
	  "vm" },
	{ ID_B,
	  T0 + 133 * SEC,
	  "HIGH",
	  WEB,
	  { "openssl", "req", "-engine", "/tmp/b.so" },
	  "/tmp/b.so",
	  false,
	  "vm" },
	{ ID_C,
	  T0 - 45 * SEC,
	  "CRITICAL",
	  WEB,
	  { "openssl", "engine", "/tmp/c\x1b[2J.so" },
	  "/tmp/c\x1b[2J.so",
	  true,
	  "vm" },
	{ ID_D, T0 + 660 * SEC, "CRITICAL", WEB, { "openssl" }, "/tmp/d.so", true, "vm" },
	{ ID_E, T0 + 10 * SEC, "CRITICAL", DB, { "openssl" }, "/tmp/e.so", true, "vm" },
	{ ID_F, T0 + 20 * SEC, "HIGH", NULL, { "openssl" }, "/tmp/f.so", false, "vm" },
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	const char *error = NULL;

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/sowatch-test-cli.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->db, sizeof(fx->db), "%s/findings.db", fx->dir);
	assert_int_equal(store_open(&fx->s, fx->db, false, &error), 0);
	for (size_t i = 0; i < sizeof(fakes) / sizeof(fakes[0]); i++)
		fake_insert(fx->s, &fakes[i]);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[PATH_MAX + 16];

	store_close(fx->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static char *slurp(FILE *f)
{
	long n;
	char *buf;

	fflush(f);
	n = ftell(f);
	assert_true(n >= 0);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	rewind(f);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* Runs `sowatch findings ARGS...` (NULL-terminated) with stdout and stderr captured. */
static struct out run(const char *first, ...)
{
	char *argv[32];
	int argc = 0, saved_out, saved_err;
	FILE *fo = tmpfile(), *fe = tmpfile();
	struct out o;
	va_list ap;

	assert_non_null(fo);
	assert_non_null(fe);
	argv[argc++] = strdup("findings");
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *))
		argv[argc++] = strdup(a);
	va_end(ap);
	argv[argc] = NULL;

	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(fileno(fo), 1);
	dup2(fileno(fe), 2);
	o.status = cmd_findings(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	/* tmpfile() streams were written through the fds: seek by fd. */
	fseek(fo, 0, SEEK_END);
	fseek(fe, 0, SEEK_END);
	o.out = slurp(fo);
	o.err = slurp(fe);
	return o;
}

static void out_free(struct out *o)
{
	free(o->out);
	free(o->err);
}

/* The line of text that contains needle, as a new string (fails when absent). */
static char *line_with(const char *text, const char *needle)
{
	const char *hit = strstr(text, needle), *start, *end;

	if (!hit)
		fail_msg("no line with '%s' in:\n%s", needle, text);
	for (start = hit; start > text && start[-1] != '\n'; start--)
		;
	end = strchr(hit, '\n');
	return strndup(start, end ? (size_t)(end - start) : strlen(start));
}

static void assert_line(const char *text, const char *needle, const char *want)
{
	char *line = line_with(text, needle);

	if (strcmp(line, want))
		fail_msg("line\n  '%s'\nwanted\n  '%s'", line, want);
	free(line);
}

static void assert_no_raw_control(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
			fail_msg("raw control byte 0x%02x in output:\n%s", *p, text);
}

/* Each line of text must be one strict JSON object; returns the number of lines. */
static int python_check_lines(const char *text, const char *script)
{
	char cmd[1024];
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -c '%s'", script);
	p = popen(cmd, "w");
	assert_non_null(p);
	fputs(text, p);
	status = pclose(p);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_list_table(void **state)
{
	struct fixture *fx = *state;
	struct out o = run("list", "--db", fx->db, NULL);
	char *lines[16];
	int n = 0;

	assert_int_equal(o.status, 0);
	assert_string_equal(o.err, "");
	assert_no_raw_control(o.out);
	for (char *p = strtok(o.out, "\n"); p && n < 16; p = strtok(NULL, "\n"))
		lines[n++] = p;
	assert_int_equal(n, 8); /* header, 6 rows, count */
	assert_string_equal(lines[0],
			    "ID            TIME                  HOST  SEVERITY  CATEGORY        "
			    "                         CONTAINER     BINARY            MODULE");
	/* newest first */
	assert_string_equal(lines[1],
			    "d40000000000  2026-11-27T15:31:00Z  vm    CRITICAL  Suspicious "
			    "OpenSSL Shared Object Loaded  4f2a9c0d11e2  /usr/bin/openssl  "
			    "/tmp/d.so");
	assert_string_equal(lines[2],
			    "b20000000000  2026-11-27T15:22:13Z  vm    HIGH      Suspicious "
			    "OpenSSL Shared Object Loaded  4f2a9c0d11e2  /usr/bin/openssl  "
			    "/tmp/b.so");
	assert_non_null(strstr(lines[3], "f60000000000  2026-11-27T15:20:20Z  vm    HIGH"));
	assert_non_null(strstr(lines[3], "  (host)  ")); /* a container may be named "host" */
	assert_non_null(strstr(lines[4], "e50000000000  2026-11-27T15:20:10Z"));
	assert_non_null(strstr(lines[5], "a10000000000  2026-11-27T15:20:00Z"));
	assert_non_null(strstr(lines[5], "/tmp/x y.so"));
	/* the attacker's escape sequence, escaped */
	assert_non_null(strstr(lines[6], "c30000000000  2026-11-27T15:19:15Z"));
	assert_non_null(strstr(lines[6], "/tmp/c\\x1b[2J.so"));
	assert_string_equal(lines[7], "6 findings matched");
	out_free(&o);
}

static void test_list_filters_and_mute(void **state)
{
	struct fixture *fx = *state;
	struct out o;
	char *line;

	o = run("list", "--db", fx->db, "--severity", "high", NULL);
	assert_int_equal(o.status, 0);
	assert_non_null(strstr(o.out, "b20000000000"));
	assert_non_null(strstr(o.out, "f60000000000"));
	assert_null(strstr(o.out, "a10000000000"));
	assert_line(o.out, "matched", "2 findings matched");
	out_free(&o);

	o = run("list", "--db", fx->db, "--container", "4f2a", NULL); /* id prefix */
	assert_line(o.out, "matched", "4 findings matched");
	assert_null(strstr(o.out, "e50000000000"));
	out_free(&o);

	o = run("list", "--db", fx->db, "--container", "host", NULL);
	assert_line(o.out, "matched", "1 finding matched");
	out_free(&o);

	o = run("mute", ID_B, "--db", fx->db, NULL);
	assert_int_equal(o.status, 0);
	assert_string_equal(o.out, "finding " ID_B ": mute MUTED\n");
	out_free(&o);
	o = run("set-state", "b2000000", "INACTIVE", "--db", fx->db, NULL); /* prefix */
	assert_int_equal(o.status, 0);
	out_free(&o);

	o = run("list", "--db", fx->db, NULL);
	assert_null(strstr(o.out, "b20000000000"));
	assert_line(o.out, "matched",
		    "6 findings matched; 1 of them muted and hidden (--all shows them)");
	out_free(&o);
	o = run("list", "--all", "--db", fx->db, NULL);
	line = line_with(o.out, "b20000000000");
	assert_non_null(strstr(line, "HIGH, inactive, muted"));
	free(line);
	out_free(&o);
	o = run("list", "--state", "INACTIVE", "--all", "--db", fx->db, NULL);
	assert_line(o.out, "matched", "1 finding matched");
	out_free(&o);

	o = run("mute", ID_B, "--undo", "--json", "--db", fx->db, NULL);
	assert_int_equal(o.status, 0);
	assert_non_null(strstr(o.out, "\"mute\":\"UNMUTED\""));
	assert_non_null(strstr(o.out, "\"state\":\"INACTIVE\""));
	out_free(&o);
	o = run("list", "--db", fx->db, NULL);
	assert_line(o.out, "matched", "6 findings matched");
	out_free(&o);
}

static void test_list_since(void **state)
{
	struct fixture *fx = *state;
	struct timespec now;
	struct fake recent = fakes[0], old = fakes[0];
	struct out o;

	clock_gettime(CLOCK_REALTIME, &now);
	recent.id = "1ece0000000000000000000000000000";
	recent.t = (int64_t)now.tv_sec * SEC - 3600 * SEC;
	old.id = "01d00000000000000000000000000000";
	old.t = (int64_t)now.tv_sec * SEC - 3 * 86400 * SEC;
	fake_insert(fx->s, &recent);
	fake_insert(fx->s, &old);
	o = run("list", "--since", "1h30m", "--db", fx->db, NULL);
	assert_int_equal(o.status, 0);
	assert_non_null(strstr(o.out, "1ece00000000"));
	assert_null(strstr(o.out, "01d000000000"));
	out_free(&o);
	o = run("list", "--since", "4d", "--db", fx->db, NULL);
	assert_non_null(strstr(o.out, "01d000000000"));
	out_free(&o);
}

static void test_show(void **state)
{
	struct fixture *fx = *state;
	struct out o = run("show", ID_A, "--db", fx->db, NULL);
	char *line;

	assert_int_equal(o.status, 0);
	assert_string_equal(o.err, "");
	assert_no_raw_control(o.out);
	assert_line(o.out, "Finding ", "Finding " ID_A);
	assert_line(o.out, "  host ", "  host             vm");
	assert_line(o.out, "category", "  category         " CATEGORY);
	assert_line(o.out, "severity", "  severity         CRITICAL");
	assert_line(o.out, "  state", "  state            ACTIVE");
	assert_line(o.out, "event time", "  event time       2026-11-27T15:20:00.000000Z");
	assert_line(o.out, "Program binary", "Program binary");
	assert_line(o.out, "/usr/bin/openssl", "  path             /usr/bin/openssl");
	assert_line(o.out, "command line",
		    "  command line     openssl engine -t '/tmp/x y.so' $'\\x1b[31mred'");
	assert_line(o.out, "environment",
		    "  environment      'OPENSSL_CONF=/tmp/evil dir/openssl.cnf'");
	assert_line(o.out, "requested name",
		    "  requested name   /tmp/x y.so (through engine command)");
	assert_line(o.out, "loaded", "  loaded           yes: its code was mapped executable");
	assert_line(o.out, "seen by", "  seen by          intent, library, effect");
	assert_line(o.out, "why not trusted",
		    "  why not trusted  the module lies outside OpenSSL's ENGINESDIR");
	assert_line(o.out, "  PID", "  PID    UID  NAME                  BINARY");
	assert_line(o.out, "10109", "  10109  0    openssl               /usr/bin/openssl");
	assert_line(o.out, "10094", "  10094  0    bash\\x1b]0;owned\\x07  /usr/bin/bash");
	assert_line(o.out, "  project ", "  project          vm");
	assert_line(o.out, "  type", "  type             container");
	assert_line(o.out, "  id ", "  id               " WEB);
	line = line_with(o.out, "  related ");
	assert_true(strncmp(line, "  related          sowatch findings related a10000000000 --db ",
			    61) == 0);
	free(line);
	out_free(&o);
}

/* A finding made after sowatch was blind: the gap in one line, beside the drops. */
static void test_show_sensor_gap(void **state)
{
	struct fixture *fx = *state;
	struct fake f = {
		"9a9000000000000000000000000000a1",	    T0,		 "CRITICAL", NULL,
		{ "openssl", "engine", "-t", "/tmp/g.so" }, "/tmp/g.so", true,	     "vm"
	};
	char *json = fake_json(&f), *edited;
	const char *gap = "\"eventDrops\":\"151610\",\"sensorGap\":{\"from\":"
			  "\"2026-11-27T15:19:40.000000Z\",\"to\":\"2026-11-27T15:19:50.000000Z\","
			  "\"seconds\":\"10\",\"cause\":\"stalled\"}";
	const char *drops = strstr(json, "\"eventDrops\":\"0\"");
	struct store_finding sf = {
		.id = f.id, .event_time_ns = f.t, .create_time_ns = f.t, .host = "vm"
	};
	struct out o;

	assert_non_null(drops);
	assert_true(asprintf(&edited, "%.*s%s%s", (int)(drops - json), json, gap,
			     drops + strlen("\"eventDrops\":\"0\"")) > 0);
	sf.json = edited;
	assert_int_equal(store_insert(fx->s, &sf), 0);
	o = run("show", f.id, "--db", fx->db, NULL);
	assert_int_equal(o.status, 0);
	assert_line(o.out, "events dropped", "  events dropped   151610");
	assert_line(o.out, "sensor gap",
		    "  sensor gap       not watching from 2026-11-27T15:19:40.000000Z to "
		    "2026-11-27T15:19:50.000000Z (10 s, stalled)");
	out_free(&o);
	free(edited);
	free(json);

	/* ... and none for a finding without one */
	o = run("show", ID_A, "--db", fx->db, NULL);
	assert_null(strstr(o.out, "sensor gap"));
	assert_null(strstr(o.out, "\nSensor\n"));
	out_free(&o);
}

static void test_show_json_section(void **state)
{
	struct fixture *fx = *state;
	struct out o =
	    run("show", "projects/vm/sources/sowatch/findings/" ID_A, "--db", fx->db, NULL);
	const char *json;

	assert_int_equal(o.status, 0);
	json = strstr(o.out, "\nJSON:\n");
	assert_non_null(json);
	json += strlen("\nJSON:\n");
	assert_true(strncmp(json, "{\n  \"finding\": {\n    \"name\": \"projects/", 39) == 0);
	/* strings keep their escapes */
	assert_non_null(strstr(json, "\"\\u001b[31mred\""));
	assert_non_null(strstr(json, "\"labels\": []"));
	/* same value as stored */
	assert_int_equal(python_check_lines(json,
					    "import json,sys; d=json.load(sys.stdin); "
					    "assert d[\"finding\"][\"processes\"][0][\"args\"][4]"
					    "==\"\\x1b[31mred\"; "
					    "assert d[\"resource\"][\"type\"]==\"container\""),
			 0);
	out_free(&o);
}

/* C1 controls and bidi overrides are valid UTF-8, and the sensor's JSON keeps them raw. */
static void test_show_c1_and_bidi(void **state)
{
	struct fixture *fx = *state;
	struct fake f = { "c1000000000000000000000000000001",
			  T0,
			  "HIGH",
			  NULL,
			  { "openssl",
			    "\xc2\x9b"
			    "2J",
			    "os.\xe2\x80\xaeos.x" },
			  "/tmp/\xe2\x80\xae.so",
			  false,
			  "vm" };
	struct out o;

	fake_insert(fx->s, &f);
	o = run("show", f.id, "--db", fx->db, NULL);
	assert_int_equal(o.status, 0);
	assert_null(strstr(o.out, "\xc2\x9b"));
	assert_null(strstr(o.out, "\xe2\x80\xae"));
	assert_line(o.out, "command line",
		    "  command line     openssl $'\\u009b2J' $'os.\\u202eos.x'");
	assert_line(o.out, "  path             /tmp", "  path             /tmp/\\u202e.so");
	assert_non_null(strstr(o.out, "\"\\u009b2J\""));
	out_free(&o);
	o = run("list", "--json", "--db", fx->db, NULL);
	assert_null(strstr(o.out, "\xc2\x9b"));
	assert_non_null(strstr(o.out, "\"os.\\u202eos.x\""));
	out_free(&o);
}

static void test_show_line(void **state)
{
	struct fixture *fx = *state;
	struct out o = run("show", ID_A, "--json", "--db", fx->db, NULL);

	assert_int_equal(o.status, 0);
	assert_int_equal(python_check_lines(o.out, "import json,sys; "
						   "ls=sys.stdin.read().splitlines(); "
						   "assert len(ls)==1; json.loads(ls[0])"),
			 0);
	out_free(&o);
}

static void test_related(void **state)
{
	struct fixture *fx = *state;
	struct out o = run("related", ID_A, "--db", fx->db, NULL);
	char *lines[8];
	int n = 0;

	assert_int_equal(o.status, 0);
	assert_string_equal(o.err, "");
	for (char *p = strtok(o.out, "\n"); p && n < 8; p = strtok(NULL, "\n"))
		lines[n++] = p;
	assert_int_equal(n, 4);
	assert_true(strncmp(lines[0], "OFFSET  ID            TIME", 26) == 0);
	assert_true(strncmp(lines[1], "-45s    c30000000000  2026-11-27T15:19:15Z", 42) == 0);
	assert_true(strncmp(lines[2], "+2m13s  b20000000000  2026-11-27T15:22:13Z", 42) == 0);
	assert_string_equal(lines[3],
			    "2 other findings of container 4f2a9c0d11e2 on host vm within "
			    "10m of a10000000000");
	out_free(&o);

	o = run("related", ID_A, "--window", "15m", "--db", fx->db, NULL);
	assert_non_null(strstr(o.out, "+11m0s  d40000000000"));
	assert_line(o.out, "other",
		    "3 other findings of container 4f2a9c0d11e2 on host vm within 15m of "
		    "a10000000000");
	out_free(&o);

	o = run("related", ID_A, "--window", "30s", "--db", fx->db, NULL);
	assert_line(o.out, "other",
		    "0 other findings of container 4f2a9c0d11e2 on host vm within 30s of "
		    "a10000000000");
	out_free(&o);

	/* host findings relate to host findings only */
	o = run("related", ID_F, "--window", "1d", "--db", fx->db, NULL);
	assert_line(o.out, "other", "0 other findings of host vm within 1d of f60000000000");
	out_free(&o);

	/* --json: the stored objects, in offset order */
	o = run("related", ID_A, "--json", "--window", "15m", "--db", fx->db, NULL);
	assert_int_equal(
	    python_check_lines(o.out, "import json,sys; "
				      "ls=sys.stdin.read().splitlines(); "
				      "ids=[json.loads(l)[\"finding\"][\"name\"][-32:] "
				      "for l in ls]; "
				      "assert ids==[\"" ID_C "\",\"" ID_B "\",\"" ID_D "\"], ids"),
	    0);
	out_free(&o);
}

#define ID_G "a7000000000000000000000000000007" /* web's id on another host, T0 + 5s */
#define ID_H "a8000000000000000000000000000008" /* a host finding on a third host */
#define GKE  "gke-prod-default-pool-1a2b3c4d-x7k9"
#define EVIL "evil\x1b]0;x\x07"

/*
 * A fleet's store, as sowatch collect fills it: the same container id on another host is not
 * the same container, and the HOST column tells the nodes apart.
 */
static void test_hosts(void **state)
{
	struct fixture *fx = *state;
	struct fake g = {
		ID_G, T0 + 5 * SEC, "CRITICAL", WEB, { "openssl" }, "/tmp/g.so", true, GKE
	};
	struct fake h = {
		ID_H, T0 + 6 * SEC, "HIGH", NULL, { "openssl" }, "/tmp/h.so", false, EVIL
	};
	struct out o;

	fake_insert(fx->s, &g);
	fake_insert(fx->s, &h);
	o = run("list", "--db", fx->db, NULL);
	assert_int_equal(o.status, 0);
	assert_no_raw_control(o.out);
	/* Pool nodes differ at the end, FQDNs at the start: the middle goes */
	assert_non_null(strstr(o.out, "a70000000000  2026-11-27T15:20:05Z  gke-prod-de\u2026"
				      "a2b3c4d-x7k9  CRITICAL"));
	assert_non_null(strstr(o.out, "a80000000000  2026-11-27T15:20:06Z  evil\\x1b]0;x\\x07"));
	assert_line(o.out, "matched", "8 findings matched");
	out_free(&o);

	o = run("list", "--host", GKE, "--db", fx->db, NULL);
	assert_int_equal(o.status, 0);
	assert_line(o.out, "matched", "1 finding matched");
	assert_non_null(strstr(o.out, "a70000000000"));
	out_free(&o);
	o = run("list", "--host", "vm", "--container", "4f2a", "--db", fx->db, NULL);
	assert_line(o.out, "matched", "4 findings matched");
	assert_null(strstr(o.out, "a70000000000"));
	out_free(&o);
	o = run("list", "--host", "gke", "--db", fx->db, NULL); /* exact names only */
	assert_line(o.out, "matched", "0 findings matched");
	out_free(&o);
	o = run("list", "--host", GKE, "--json", "--db", fx->db, NULL);
	assert_int_equal(
	    python_check_lines(o.out, "import json,sys; "
				      "ls=sys.stdin.read().splitlines(); "
				      "assert len(ls)==1; "
				      "d=json.loads(ls[0])[\"finding\"]; "
				      "assert d[\"sourceProperties\"][\"host\"]==\"" GKE "\""),
	    0);
	out_free(&o);
	o = run("list", "--host", "", "--db", fx->db, NULL);
	assert_int_equal(o.status, 2);
	assert_non_null(strstr(o.err, "--host needs a host name"));
	out_free(&o);
	o = run("related", ID_A, "--host", "vm", "--db", fx->db, NULL);
	assert_int_equal(o.status, 2);
	assert_non_null(strstr(o.err, "'--host' does not apply"));
	out_free(&o);

	/* Same container id, same minute, another host: not related either way */
	o = run("related", ID_A, "--db", fx->db, NULL);
	assert_null(strstr(o.out, "a70000000000"));
	assert_line(o.out, "other",
		    "2 other findings of container 4f2a9c0d11e2 on host vm within 10m of "
		    "a10000000000");
	out_free(&o);
	o = run("related", ID_G, "--db", fx->db, NULL);
	assert_line(o.out, "other",
		    "0 other findings of container 4f2a9c0d11e2 on host " GKE
		    " within 10m of a70000000000");
	out_free(&o);
	/* Host findings of different hosts neither; the name is escaped */
	o = run("related", ID_H, "--window", "1d", "--db", fx->db, NULL);
	assert_no_raw_control(o.out);
	assert_line(o.out, "other",
		    "0 other findings of host evil\\x1b]0;x\\x07 within 1d of a80000000000");
	out_free(&o);

	o = run("show", ID_G, "--db", fx->db, NULL);
	assert_line(o.out, "  host ", "  host             " GKE);
	out_free(&o);
	o = run("show", ID_H, "--db", fx->db, NULL);
	assert_no_raw_control(o.out);
	assert_line(o.out, "  host ", "  host             evil\\x1b]0;x\\x07");
	out_free(&o);
}

static void test_list_json(void **state)
{
	struct fixture *fx = *state;
	struct out o = run("list", "--json", "--db", fx->db, NULL);

	assert_int_equal(o.status, 0);
	assert_int_equal(
	    python_check_lines(o.out, "import json,sys; "
				      "ls=sys.stdin.read().splitlines(); "
				      "assert len(ls)==6; "
				      "[json.loads(l)[\"finding\"][\"severity\"] for l in ls]; "
				      "assert all(json.loads(l)[\"finding\"][\"sourceProperties\"]"
				      "[\"host\"]==\"vm\" for l in ls)"),
	    0);
	out_free(&o);
}

static void test_durations(void **state)
{
	static const struct {
		const char *s;
		int64_t sec;
	} good[] = { { "30s", 30 },	{ "10m", 600 },	       { "2h", 7200 }, { "7d", 604800 },
		     { "1h30m", 5400 }, { "1d2h3m4s", 93784 }, { "0s", 0 } };
	static const char *const bad[] = { "",	  "10",	  "m",	 "1x",	"30m1h",	  "1h1h",
					   "-5m", "1.5h", " 1m", "1m ", "99999999999999d" };
	struct fixture *fx = *state;
	struct out o;
	int64_t ns;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(findings_parse_duration(good[i].s, &ns), 0);
		assert_int_equal(ns, good[i].sec * SEC);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(findings_parse_duration(bad[i], &ns), -EINVAL);

	o = run("list", "--since", "10", "--db", fx->db, NULL);
	assert_int_equal(o.status, 2);
	assert_string_equal(o.out, "");
	assert_true(strncmp(o.err,
			    "sowatch: findings list: invalid duration '10' for --since (30s, 10m, "
			    "2h, 7d, 1h30m)\n",
			    80) == 0);
	out_free(&o);
	o = run("related", ID_A, "--window", "5 min", "--db", fx->db, NULL);
	assert_int_equal(o.status, 2);
	assert_non_null(strstr(o.err, "'5 min'"));
	out_free(&o);
}

static void test_errors(void **state)
{
	struct fixture *fx = *state;
	char want[PATH_MAX + 128], missing[PATH_MAX];
	struct stat st;
	struct out o;

	o = run("show", "ffff0000ffff0000", "--db", fx->db, NULL);
	assert_int_equal(o.status, 1);
	snprintf(want, sizeof(want), "sowatch: no finding with id ffff0000ffff0000 in %s\n",
		 fx->db);
	assert_string_equal(o.err, want);
	assert_string_equal(o.out, "");
	out_free(&o);
	o = run("set-state", "nope", "INACTIVE", "--db", fx->db, NULL);
	assert_int_equal(o.status, 1);
	assert_non_null(strstr(o.err, "no finding with id nope"));
	out_free(&o);
	o = run("related", "nope", "--db", fx->db, NULL);
	assert_int_equal(o.status, 1);
	out_free(&o);

	/* a prefix shared by several findings: not guessed */
	o = run("show", "a1000000", "--db", fx->db, NULL);
	assert_int_equal(o.status, 0);
	out_free(&o);

	snprintf(missing, sizeof(missing), "%s/none/findings.db", fx->dir);
	for (int i = 0; i < 2; i++) {
		o = i ? run("mute", ID_A, "--db", missing, NULL)
		      : run("list", "--db", missing, NULL);
		assert_int_equal(o.status, 1);
		snprintf(want, sizeof(want), "sowatch: no findings database at %s\n", missing);
		assert_string_equal(o.err, want);
		out_free(&o);
	}
	assert_int_not_equal(stat(missing, &st), 0);

	o = run("list", "--bogus", "--db", fx->db, NULL);
	assert_int_equal(o.status, 2);
	assert_non_null(strstr(o.err, "unknown option '--bogus'"));
	out_free(&o);
	o = run("show", "--db", fx->db, NULL);
	assert_int_equal(o.status, 2);
	assert_non_null(strstr(o.err, "missing argument (ID)"));
	out_free(&o);
	o = run("show", ID_A, "--since", "1h", "--db", fx->db, NULL);
	assert_int_equal(o.status, 2);
	assert_non_null(strstr(o.err, "'--since' does not apply"));
	out_free(&o);
	o = run("set-state", ID_A, "CLOSED", "--db", fx->db, NULL);
	assert_int_equal(o.status, 2);
	out_free(&o);
	o = run("frobnicate", NULL);
	assert_int_equal(o.status, 2);
	out_free(&o);
	o = run("list", "--db", NULL);
	assert_int_equal(o.status, 2);
	assert_non_null(strstr(o.err, "needs a value"));
	out_free(&o);
	o = run("list", "--help", NULL);
	assert_int_equal(o.status, 0);
	assert_true(strncmp(o.out, "Usage: sowatch findings list", 28) == 0);
	out_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_filters_and_mute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_since, setup, teardown),
		cmocka_unit_test_setup_teardown(test_show, setup, teardown),
		cmocka_unit_test_setup_teardown(test_show_sensor_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_show_json_section, setup, teardown),
		cmocka_unit_test_setup_teardown(test_show_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_show_c1_and_bidi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_related, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

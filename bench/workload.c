// SPDX-License-Identifier: Apache-2.0
/*
 * Workloads for `make bench` (bench/run.py): a fixed amount of work, timed from inside.
 *
 *   workload exec -n COUNT PROGRAM [ARG...]     fork + exec PROGRAM and wait for it, COUNT times
 *   workload exec -t SECONDS PROGRAM [ARG...]   the same, for SECONDS
 *   workload dlopen -n COUNT LIBRARY            dlopen() + dlclose() LIBRARY, COUNT times
 *   workload dlopen -t SECONDS LIBRARY          the same, for SECONDS
 *
 * The children's standard output and error go to /dev/null. Prints one line on standard
 * output: "<iterations> <seconds>", the seconds being the loop's wall-clock time (monotonic).
 * Exits non-zero as soon as one iteration fails (a child exiting non-zero is a failure).
 *
 * A benchmark wants the same amount of work in every configuration (-n), so that the times
 * compare; the flood test (tests/e2e/test_flood_e2e.py) wants a duration (-t).
 *
 * Build: cc -O2 -o workload bench/workload.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: workload exec|dlopen -n COUNT|-t SECONDS PROGRAM|LIBRARY [ARG...]\n");
	return 2;
}

static int spawn_once(char **argv, const posix_spawn_file_actions_t *fa)
{
	pid_t pid;
	int status, err;

	err = posix_spawn(&pid, argv[0], fa, NULL, argv, environ);
	if (err) {
		fprintf(stderr, "workload: spawn %s: %s\n", argv[0], strerror(err));
		return -1;
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("workload: waitpid");
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "workload: %s failed (status 0x%x)\n", argv[0], status);
		return -1;
	}
	return 0;
}

static int dlopen_once(const char *library)
{
	void *h = dlopen(library, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		fprintf(stderr, "workload: %s\n", dlerror());
		return -1;
	}
	dlclose(h);
	return 0;
}

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	unsigned long n = 0, count = 0;
	double start, end = 0, limit = 0;
	int exec_mode;

	if (argc < 5 || (strcmp(argv[1], "exec") && strcmp(argv[1], "dlopen")))
		return usage();
	exec_mode = argv[1][0] == 'e';
	if (!strcmp(argv[2], "-n"))
		count = strtoul(argv[3], NULL, 10);
	else if (!strcmp(argv[2], "-t"))
		limit = atof(argv[3]);
	else
		return usage();
	if (!count && limit <= 0)
		return usage();

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);

	start = now();
	if (limit > 0)
		end = start + limit;
	for (;;) {
		if (count ? n >= count : now() >= end)
			break;
		if (exec_mode ? spawn_once(argv + 4, &fa) : dlopen_once(argv[4]))
			return 1;
		n++;
	}
	printf("%lu %.6f\n", n, now() - start);
	return 0;
}

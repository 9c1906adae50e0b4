// SPDX-License-Identifier: Apache-2.0
/*
 * What the service manager hears, through the real libsystemd to a real datagram socket in
 * NOTIFY_SOCKET, as systemd would receive it: readiness, and a watchdog fed only while the
 * heartbeat state machine says the kernel side answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "service.h"
#include "sources/heartbeat.h"

struct manager {
	char dir[64];
	char path[108];
	int fd;
};

static int manager_setup(void **state)
{
	struct manager *m = calloc(1, sizeof(*m));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	assert_non_null(m);
	strcpy(m->dir, "/tmp/sowatch-notify-XXXXXX");
	assert_non_null(mkdtemp(m->dir));
	snprintf(m->path, sizeof(m->path), "%s/notify", m->dir);
	strcpy(sa.sun_path, m->path);
	m->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(m->fd >= 0);
	assert_int_equal(bind(m->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", m->path, 1);
	setenv("WATCHDOG_USEC", "2000000", 1); /* WatchdogSec=2: fed every second */
	unsetenv("WATCHDOG_PID");
	*state = m;
	return 0;
}

static int manager_teardown(void **state)
{
	struct manager *m = *state;

	close(m->fd);
	unlink(m->path);
	rmdir(m->dir);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	free(m);
	return 0;
}

/* The next message, or "" when none is waiting. */
static const char *heard(struct manager *m)
{
	static char buf[512];
	ssize_t n = recv(m->fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void test_ready_reloading_stopping(void **state)
{
	struct manager *m = *state;

	service_ready();
	assert_string_equal(heard(m), "READY=1\nSTATUS=watching");
	service_reloading();
	assert_string_equal(heard(m), "RELOADING=1\nSTATUS=reloading the configuration");
	service_stopping();
	assert_string_equal(heard(m), "STOPPING=1\nSTATUS=stopping");
	assert_string_equal(heard(m), "");
}

static void test_watchdog_follows_the_heartbeat(void **state)
{
	struct manager *m = *state;
	struct heartbeat hb = { 0 };
	struct service_watchdog wd;
	uint64_t t = 1000;

	service_watchdog_init(&wd, t);
	assert_int_equal(wd.period_ms, 1000);
	/* A canary sent and come back: fed once a period, not more often. */
	assert_int_equal(heartbeat_tick(&hb, t), HEARTBEAT_SEND);
	heartbeat_sent(&hb, t);
	heartbeat_seen(&hb, t + 10);
	service_watchdog_tick(&wd, heartbeat_ok(&hb), t + 500);
	assert_string_equal(heard(m), "");
	service_watchdog_tick(&wd, heartbeat_ok(&hb), t + 1000);
	assert_string_equal(heard(m), "WATCHDOG=1");
	service_watchdog_tick(&wd, heartbeat_ok(&hb), t + 1500);
	assert_string_equal(heard(m), "");

	/* The next canary never comes back: once the alarm is raised, the watchdog starves. */
	t += HEARTBEAT_PERIOD_MS;
	assert_int_equal(heartbeat_tick(&hb, t), HEARTBEAT_SEND);
	heartbeat_sent(&hb, t);
	service_watchdog_tick(&wd, heartbeat_ok(&hb), t + 1000);
	assert_string_equal(heard(m), "WATCHDOG=1"); /* not missing for long enough yet */
	assert_int_equal(heartbeat_tick(&hb, t + HEARTBEAT_TIMEOUT_MS), HEARTBEAT_ALARM);
	for (uint64_t now = t + HEARTBEAT_TIMEOUT_MS; now < t + 60000; now += 250) {
		service_watchdog_tick(&wd, heartbeat_ok(&hb), now);
		if (now == t + HEARTBEAT_TIMEOUT_MS)
			assert_string_equal(
			    heard(m), "STATUS=no events from the kernel: the watchdog is not fed");
		else
			assert_string_equal(heard(m), "");
	}

	/* A canary comes back: fed again at once. */
	assert_int_equal(heartbeat_seen(&hb, t + 60000), HEARTBEAT_RECOVERED);
	service_watchdog_tick(&wd, heartbeat_ok(&hb), t + 60000);
	assert_string_equal(heard(m), "WATCHDOG=1\nSTATUS=watching");
	service_watchdog_tick(&wd, heartbeat_ok(&hb), t + 60001);
	assert_string_equal(heard(m), "");
}

/* No WatchdogSec=, or one meant for another process: never fed. */
static void test_watchdog_off(void **state)
{
	struct manager *m = *state;
	struct service_watchdog wd;
	char pid[32];

	unsetenv("WATCHDOG_USEC");
	service_watchdog_init(&wd, 0);
	service_watchdog_tick(&wd, true, 100000);
	assert_string_equal(heard(m), "");

	setenv("WATCHDOG_USEC", "2000000", 1);
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	service_watchdog_init(&wd, 0);
	service_watchdog_tick(&wd, true, 100000);
	assert_string_equal(heard(m), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ready_reloading_stopping, manager_setup,
						manager_teardown),
		cmocka_unit_test_setup_teardown(test_watchdog_follows_the_heartbeat, manager_setup,
						manager_teardown),
		cmocka_unit_test_setup_teardown(test_watchdog_off, manager_setup, manager_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

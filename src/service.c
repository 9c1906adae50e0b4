// SPDX-License-Identifier: Apache-2.0
#include "service.h"

#include <string.h>
#include <systemd/sd-daemon.h>

#include "util/log.h"

/* sd_notify() answers 0 when there is no service manager to tell, < 0 when telling failed. */
static void notify(const char *state)
{
	int err = sd_notify(0, state);

	if (err < 0)
		log_warn("cannot tell the service manager \"%s\": %s", state, strerror(-err));
}

void service_ready(void)
{
	notify("READY=1\nSTATUS=watching");
}

void service_reloading(void)
{
	notify("RELOADING=1\nSTATUS=reloading the configuration");
}

void service_reloaded(void)
{
	notify("READY=1");
}

void service_stopping(void)
{
	notify("STOPPING=1\nSTATUS=stopping");
}

void service_watchdog_init(struct service_watchdog *wd, uint64_t now_ms)
{
	uint64_t usec = 0;

	*wd = (struct service_watchdog){ .fed_ms = now_ms };
	if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000)
		wd->period_ms = usec / 2000;
}

void service_watchdog_tick(struct service_watchdog *wd, bool alive, uint64_t now_ms)
{
	if (!wd->period_ms)
		return;
	if (!alive) {
		if (!wd->starving) {
			log_error(
			    "the watchdog is no longer fed: the kernel heartbeat does not come "
			    "back, and the service manager will restart sowatch");
			notify("STATUS=no events from the kernel: the watchdog is not fed");
			wd->starving = true;
		}
		return;
	}
	if (wd->starving) {
		log_info("the kernel heartbeat is back: the watchdog is fed again");
		notify("WATCHDOG=1\nSTATUS=watching");
	} else if (now_ms - wd->fed_ms >= wd->period_ms) {
		notify("WATCHDOG=1");
	} else {
		return;
	}
	wd->starving = false;
	wd->fed_ms = now_ms;
}

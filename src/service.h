/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Telling the service manager how the sensor is, through sd_notify(3): ready once every probe
 * is attached (Type=notify), reloading on SIGHUP, stopping, and alive.
 *
 * "Alive" is stricter than "the process runs": the watchdog (WatchdogSec=) is fed only while
 * the kernel side still answers the heartbeat. A sensor whose BPF programs were detached, or
 * whose ring buffer stopped, detects nothing; systemd then kills and restarts it, which
 * attaches everything again. Outside systemd (no NOTIFY_SOCKET) every call does nothing.
 */
#ifndef SOWATCH_SERVICE_H
#define SOWATCH_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

struct service_watchdog {
	uint64_t period_ms; /* feed this often: half of WatchdogSec; 0 when it is off */
	uint64_t fed_ms;    /* when it was last fed */
	bool starving;	    /* not fed, on purpose: the kernel side stopped answering */
};

void service_ready(void);
void service_reloading(void);
/* Ready again after a reload; the status stays what it was (watching, or not fed). */
void service_reloaded(void);
void service_stopping(void);

/* Reads WatchdogSec= from the environment systemd gives (WATCHDOG_USEC, WATCHDOG_PID). */
void service_watchdog_init(struct service_watchdog *wd, uint64_t now_ms);
/*
 * Called on every turn of the main loop: feeds the watchdog when it is due and `alive` (the
 * kernel heartbeat comes back); says once when it stops feeding, and when it starts again.
 */
void service_watchdog_tick(struct service_watchdog *wd, bool alive, uint64_t now_ms);

#endif

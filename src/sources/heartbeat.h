/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Is the kernel side still talking? A source sends itself a canary event now and then (the
 * eBPF source: a child that exits at once) and says so loudly when it does not come back:
 * programs detached, or a ring buffer that stopped, would otherwise look like a quiet machine.
 */
#ifndef SOWATCH_HEARTBEAT_H
#define SOWATCH_HEARTBEAT_H

#include <stdbool.h>
#include <stdint.h>

#define HEARTBEAT_PERIOD_MS  10000 /* a canary this often */
#define HEARTBEAT_TIMEOUT_MS 5000  /* missing after this long: alarm */
#define HEARTBEAT_REPEAT_MS  60000 /* while missing, the alarm is repeated this often */

struct heartbeat {
	uint64_t sent_ms;	/* when the canary in flight was sent */
	uint64_t last_alarm_ms; /* when the alarm was last raised */
	uint64_t last_seen_ms;	/* when a canary last came back; 0: none yet */
	bool in_flight;		/* a canary was sent and has not come back */
	bool stalled;		/* the alarm is raised */
};

enum heartbeat_action {
	HEARTBEAT_WAIT,	     /* nothing to do */
	HEARTBEAT_SEND,	     /* send a canary now, then call heartbeat_sent() */
	HEARTBEAT_ALARM,     /* say loudly that events stopped */
	HEARTBEAT_RECOVERED, /* say that they flow again */
};

/* What to do at now_ms (a monotonic clock); called about once a second. */
enum heartbeat_action heartbeat_tick(struct heartbeat *hb, uint64_t now_ms);
void heartbeat_sent(struct heartbeat *hb, uint64_t now_ms);
/* The canary came back. Returns HEARTBEAT_RECOVERED if the alarm was raised, else WAIT. */
enum heartbeat_action heartbeat_seen(struct heartbeat *hb, uint64_t now_ms);
/* Seconds since a canary last came back, or -1 when none has yet. */
double heartbeat_age_s(const struct heartbeat *hb, uint64_t now_ms);
/* False while the alarm is raised: events from the kernel stopped. */
static inline bool heartbeat_ok(const struct heartbeat *hb)
{
	return !hb->stalled;
}

#endif

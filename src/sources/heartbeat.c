// SPDX-License-Identifier: Apache-2.0
#include "sources/heartbeat.h"

enum heartbeat_action heartbeat_tick(struct heartbeat *hb, uint64_t now_ms)
{
	uint64_t waited = now_ms - hb->sent_ms;

	if (!hb->in_flight)
		return waited >= HEARTBEAT_PERIOD_MS || !hb->sent_ms ? HEARTBEAT_SEND
								     : HEARTBEAT_WAIT;
	if (waited < HEARTBEAT_TIMEOUT_MS)
		return HEARTBEAT_WAIT;
	/* Given up: the next period sends another, in case this one alone was lost. */
	hb->in_flight = false;
	if (hb->stalled && now_ms - hb->last_alarm_ms < HEARTBEAT_REPEAT_MS)
		return HEARTBEAT_WAIT;
	hb->stalled = true;
	hb->last_alarm_ms = now_ms;
	return HEARTBEAT_ALARM;
}

void heartbeat_sent(struct heartbeat *hb, uint64_t now_ms)
{
	hb->sent_ms = now_ms;
	hb->in_flight = true;
}

enum heartbeat_action heartbeat_seen(struct heartbeat *hb, uint64_t now_ms)
{
	bool was_stalled = hb->stalled;

	hb->last_seen_ms = now_ms;
	hb->in_flight = false;
	hb->stalled = false;
	return was_stalled ? HEARTBEAT_RECOVERED : HEARTBEAT_WAIT;
}

double heartbeat_age_s(const struct heartbeat *hb, uint64_t now_ms)
{
	if (!hb->last_seen_ms)
		return -1;
	return now_ms > hb->last_seen_ms ? (double)(now_ms - hb->last_seen_ms) / 1000 : 0;
}

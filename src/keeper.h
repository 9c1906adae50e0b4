/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The keeper: the thread that keeps findings (the store) and then tells them (the outputs).
 *
 * The finding workers hand over findings whose JSON line is made. The keeper takes all that
 * are waiting and stores them in one transaction, so one sync to disk for the batch, then
 * writes them to the outputs, then notes them as written, in a second transaction. A slow
 * disk costs one sync per batch instead of two per finding, and holds up neither the workers
 * nor the event thread.
 *
 * Keep it, then tell it, then note it told: a finding stored but not written (a crash in
 * between, a failed write) is written at the next start; one the store refused is written
 * anyway, and kept in memory until the store takes it (tried again every second).
 */
#ifndef SOWATCH_KEEPER_H
#define SOWATCH_KEEPER_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

struct jsonl_output;
struct keeper;

struct keeper_stats {
	uint64_t reported; /* stored and written to the outputs */
	uint64_t muted;	   /* stored, marked muted, not written */
	uint64_t repeated; /* already in the store (seen before a restart): not written again */
	uint64_t failed;   /* could not be written (kept, written at the next start) */
	uint64_t resent;   /* stored by an earlier run but never written: written at start */
};

/*
 * Start keeping into store and telling jsonl (both stay the caller's, open until
 * keeper_free()). First writes what an earlier run stored but never wrote.
 */
int keeper_new(struct keeper **ret, struct store *store, struct jsonl_output *jsonl);
/* Hand over a finding (its strings are copied). 0, or -ENOMEM: then it is lost, and logged. */
int keeper_submit(struct keeper *k, const struct store_finding *row);
/*
 * What the store keeps about sowatch itself, written by the keeper too, so that no other
 * thread waits for the disk: its last sign of life (the latest replaces one not yet written),
 * and the times it was not watching. Errors are logged by the keeper.
 */
void keeper_note_alive(struct keeper *k, int64_t time_ns, bool stopped);
void keeper_note_gap(struct keeper *k, const struct store_gap *gap);
/* Wait until every finding and note handed over so far is kept and told. */
void keeper_drain(struct keeper *k);
void keeper_stats(struct keeper *k, struct keeper_stats *ret);
/* Drain, stop the thread, and try the store once more with what it refused. */
void keeper_free(struct keeper *k);

#endif

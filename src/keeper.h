/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The keeper: the one thread that writes the store (the outbox), so that nothing else waits for
 * the disk or the store's lock.
 *
 *  - Findings: the workers hand over findings whose JSON is made. The keeper takes all that
 *    are waiting and stores them in one transaction (one sync to disk for the batch), each with
 *    a pending delivery row for every output, then tells the delivery lanes (outputs/delivery.h).
 *  - Answers: the lanes hand over what each output answered; the keeper writes them in batches.
 *  - A finding the store refuses for now (its lock held by someone else, a full disk) is held in
 *    memory, bounded, and handed to the lanes from there at once; the keeper tries the store
 *    again every second, with the answers the outputs gave meanwhile.
 *  - Notes about sowatch itself (its last sign of life, its gaps), and retention.
 */
#ifndef SOWATCH_KEEPER_H
#define SOWATCH_KEEPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct keeper;
struct output_finding;

struct keeper_stats {
	uint64_t reported; /* stored (or held) and handed to the outputs */
	uint64_t muted;	   /* stored, marked muted, not handed to the outputs */
	uint64_t repeated; /* already in the store (seen before a restart): not handed again */
	uint64_t unstored; /* held in memory now: the store refuses them for the moment */
	uint64_t lost;	   /* could not be kept at all (memory bound, out of memory) */
	uint64_t pruned;   /* deleted by retention */
};

/* Who hears from the keeper (the delivery lanes); called on the keeper's thread. */
struct keeper_listener {
	void (*stored)(void *ctx); /* new findings and their delivery rows are in the store */
	/* The store refused f for now: deliver it from memory */
	void (*refused)(void *ctx, const struct output_finding *f);
	void *ctx;
};

/* Start writing to store (which stays the caller's, open until keeper_free()). */
int keeper_new(struct keeper **ret, struct store *store);
void keeper_listen(struct keeper *k, const struct keeper_listener *l);
/* The outputs whose delivery rows each new finding gets (names copied). */
void keeper_set_outputs(struct keeper *k, const char *const *names, size_t n);
/* Retention in days (0: keep forever). Pruning runs soon, then every hour. */
void keeper_set_retention(struct keeper *k, int days);
/* Hand over a finding (its strings are copied). 0, or -ENOMEM: then it is lost, and logged. */
int keeper_submit(struct keeper *k, const struct store_finding *row);
/*
 * An output's answer, to be written (d's strings are copied). done(ctx, output, id) is called on
 * the keeper's thread once the store has it, or once it was given up (the row then stays
 * pending and the finding is delivered again: at least once).
 */
typedef void (*keeper_done_fn)(void *ctx, const char *output, const char *id);
void keeper_record(struct keeper *k, const struct store_delivery *d, keeper_done_fn done,
		   void *ctx);
/*
 * What the store keeps about sowatch itself (the latest sign of life replaces one not yet
 * written; gaps). Errors are logged by the keeper.
 */
void keeper_note_alive(struct keeper *k, int64_t time_ns, bool stopped);
void keeper_note_gap(struct keeper *k, const struct store_gap *gap);
/*
 * Wait until every finding and note handed over so far was tried on the store (the outputs'
 * answers are written by keeper_free() at the latest).
 */
void keeper_drain(struct keeper *k);
void keeper_stats(struct keeper *k, struct keeper_stats *ret);
/* Drain, stop the thread, and try the store once more with what it refused. */
void keeper_free(struct keeper *k);

#endif

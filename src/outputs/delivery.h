/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The delivery loop: one thread per output (a lane), each taking findings from the store (the
 * outbox) in the order they were stored and handing them to its output, one at a time.
 *
 *  - An answer is recorded in the store through the keeper (the store's only writer): delivered,
 *    failed for good, or pending with its attempts, next try and last error. Until the keeper
 *    has written it, the lane does not take that finding again.
 *  - A receiver that is down, slow or hanging holds up its own lane only: retries wait with
 *    capped exponential backoff and jitter, or as long as the receiver's Retry-After says.
 *    Nothing waits in memory meanwhile: findings wait in the store.
 *  - A finding the store cannot take yet (its lock held, disk full) is handed to every lane
 *    from memory (delivery_hold()), bounded, so outputs still get it at once.
 *
 * Each lane reads the store through its own read-only connection (WAL: never blocked by the
 * writer). The event thread never calls into here.
 */
#ifndef SOWATCH_OUTPUTS_DELIVERY_H
#define SOWATCH_OUTPUTS_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "outputs/output.h"

struct delivery;
struct keeper;
struct metrics_output;

/*
 * Lanes read the store through readers of store (which must outlive the delivery); their
 * answers go to keeper. 0 or -errno.
 */
struct store;
int delivery_new(struct delivery **ret, struct store *store, struct keeper *keeper);
/*
 * The outputs from now on (each taken over). One with the same name and settings as a running
 * lane is freed and that lane goes on; other running lanes are stopped (without waiting for
 * them). Also tells the keeper the names findings get delivery rows for.
 */
void delivery_set_outputs(struct delivery *d, struct output **outputs, size_t n);
/* New findings were stored: lanes look at the store again. */
void delivery_wake(struct delivery *d);
/* A finding the store refused for now: lanes deliver it from memory (bounded). */
void delivery_hold(struct delivery *d, const struct output_finding *f);
/* SIGUSR1: each output closes its files and opens them again at its next finding. */
void delivery_reopen(struct delivery *d);
/*
 * Waits up to timeout_ms until every lane has delivered what the store and memory hold (a lane
 * whose receiver is failing is not waited for past the timeout). Returns how many findings are
 * still pending in all.
 */
uint64_t delivery_drain(struct delivery *d, int timeout_ms);
/* Per output figures, for metrics and the stop summary; n_max entries at most. */
size_t delivery_stats(struct delivery *d, struct metrics_output *ret, size_t n_max);
/*
 * Stops every lane (each gives up its current try within about a second) and waits for them.
 * The keeper may still call back (answers it writes late find no lane): free it after this,
 * then free the delivery.
 */
void delivery_stop(struct delivery *d);
/* delivery_stop(), then frees d. Accepts NULL. */
void delivery_free(struct delivery *d);

#endif

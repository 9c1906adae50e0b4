/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoding what one gVisor sandbox sends to its remote sink into events. Kept apart from the
 * sockets so it can be tested and fuzzed without a sandbox: every length is checked against the
 * message before use, and all per-sandbox state is bounded.
 *
 * A message, as gVisor's sinks/remote/remote.go writes it (one SOCK_SEQPACKET record each):
 *
 *   0             2              4                  8           header_size
 *   +-------------+--------------+------------------+-- ... ----+----------------------+
 *   | header_size | message_type | dropped_count    | (fields   | protobuf payload,    |
 *   | u16         | u16          | u32, cumulative, |  of later |  proto/gvisor/ by    |
 *   |             | (MessageType)| wraps            |  versions)|  message_type        |
 *   +-------------+--------------+------------------+-- ... ----+----------------------+
 *   host byte order (the sandbox runs on this host)
 *
 * The handshake that comes first each way is a bare Handshake message, without a header.
 *
 * Per sandbox the decoder keeps, for the effect layer, the files each process has open (from
 * open/openat/creat exits, dup, fcntl(F_DUPFD), close, fork and exec), so that an executable
 * mmap of an fd can be reported with the file's path.
 */
#ifndef SOWATCH_SOURCES_GVISOR_DECODE_H
#define SOWATCH_SOURCES_GVISOR_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "sources/ebpf_decode.h" /* event_handler_fn */

#define GVISOR_HEADER_MIN	  8
#define GVISOR_WIRE_VERSION	  1	/* wire.CurrentVersion in gVisor 20221219 */
#define GVISOR_HANDSHAKE_MAX	  10240 /* what the sandbox reads our handshake into */
#define GVISOR_MAX_PROCS	  4096	/* processes with an fd table, per sandbox */
#define GVISOR_MAX_FDS		  256	/* files remembered per process */
#define GVISOR_PATH_MAX		  4096	/* longer paths are cut and marked path_truncated */
#define GVISOR_MAX_CONTAINERS	  32	/* containers whose root is remembered, per sandbox */
#define GVISOR_CONTAINER_ID_MAX	  127	/* longer ids are not looked up */
#define GVISOR_ROOT_LOOKUPS_PER_S 16	/* container starts per second whose root is looked up */

struct gvisor_decoder_stats {
	uint64_t messages;	    /* decoded, whatever their type */
	uint64_t malformed;	    /* bad header or protobuf: nothing emitted */
	uint64_t unknown_type;	    /* a message type sowatch does not decode: skipped */
	uint64_t no_context;	    /* without the thread group id ("group_id"): skipped */
	uint64_t dropped_by_gvisor; /* points the sandbox could not send (its counter, unwrapped) */
	uint64_t procs_evicted;	    /* fd tables dropped, oldest first, to stay within bounds */
	uint64_t fds_evicted;
	uint64_t maps_untracked;       /* executable mmap of an fd whose file was not known */
	uint64_t root_lookups_skipped; /* container starts beyond GVISOR_ROOT_LOOKUPS_PER_S */
};

struct gvisor_decoder;

/*
 * Where container_id's files are, as the host sees them: its root file system as an absolute
 * host path in ret, returning true; false when its paths are the host's own (its root is "/",
 * or nothing says otherwise). Called on the event thread at each container/start (at most
 * GVISOR_ROOT_LOOKUPS_PER_S a second per sandbox), so it may read a file or two, no more. A
 * container whose start was not seen, or came over budget, has the host's paths.
 */
typedef bool (*gvisor_root_fn)(const char *container_id, char *ret, size_t size, void *ctx);

/*
 * ns: the pid space of this sandbox (non-zero), put in every event. Returns NULL without
 * memory.
 */
struct gvisor_decoder *gvisor_decoder_new(uint64_t ns, event_handler_fn on_event, void *ctx);
void gvisor_decoder_free(struct gvisor_decoder *dec);
/* Without one, every path is the host's (as for `runsc do`, whose root is the host's "/"). */
void gvisor_decoder_set_root_fn(struct gvisor_decoder *dec, gvisor_root_fn fn, void *ctx);

/*
 * Enforce mode is on: every mapping event says why it cannot stop a sandbox's process
 * (enforcement.not_possible).
 */
void gvisor_decoder_set_enforce_mode(struct gvisor_decoder *dec, bool on);

/*
 * Decode one message (header + payload) and emit its events. Returns 0; -EBADMSG for a
 * malformed one (counted, nothing emitted); -ENOMSG for a type sowatch does not decode (counted,
 * skipped); -ENOMEM.
 */
int gvisor_decode_message(struct gvisor_decoder *dec, const void *data, size_t size);

const struct gvisor_decoder_stats *gvisor_decoder_stats(const struct gvisor_decoder *dec);
/* The last container id seen from this sandbox ("" before any): for log lines. */
const char *gvisor_decoder_container(const struct gvisor_decoder *dec);

/* The sandbox's handshake: returns 0 and its version, or -EBADMSG. */
int gvisor_decode_handshake(const void *data, size_t size, uint32_t *ret_version);
/* Ours, into buf: returns its length, or -ENOSPC. */
int gvisor_encode_handshake(void *buf, size_t size);

#endif

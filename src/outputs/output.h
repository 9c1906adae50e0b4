/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One output: a place findings go (a JSON Lines file, a webhook, syslog). Each output is driven
 * by its own delivery thread (outputs/delivery.h), which takes findings from the store (the
 * outbox), hands them to send() one at a time, and records the answer in the store. An output
 * knows nothing about the store, retries or other outputs: it sends one finding and says what
 * happened.
 */
#ifndef SOWATCH_OUTPUTS_OUTPUT_H
#define SOWATCH_OUTPUTS_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What became of one finding. */
enum output_answer {
	OUTPUT_SENT,   /* all of it went out (the whole line, message or request) */
	OUTPUT_RETRY,  /* not now (receiver down or busy, disk full, no reader yet): try later */
	OUTPUT_FAILED, /* never: this finding can never be taken as it is (HTTP 400, too large) */
};

struct output_result {
	enum output_answer answer;
	int64_t retry_after_ms; /* OUTPUT_RETRY: the receiver's own wait (Retry-After); -1: none */
	char error[256];	/* OUTPUT_RETRY, OUTPUT_FAILED: why, one line, printable */
};

/* A finding as the outputs see it: the JSONL line (without its newline) and what names it. */
struct output_finding {
	const char *id;	  /* the finding id: every delivery carries it, for de-duplication */
	const char *json; /* {"finding":{...},"resource":{...}}, one line */
	size_t len;
	const char *severity; /* "CRITICAL", "HIGH", "MEDIUM", "LOW" */
	const char *host;     /* the host it was found on; NULL: this sensor's own */
	int64_t event_time_ns;
};

struct output;

struct output_ops {
	/* The kind, and the name its delivery state is kept under: "jsonl", "webhook", "syslog" */
	const char *name;
	/*
	 * Sends f, on the output's delivery thread. Opens or connects first if it must (an output
	 * that cannot open yet answers OUTPUT_RETRY). May block, but no longer than the output's own
	 * timeout, and returns OUTPUT_RETRY soon (within about a second) once *stopping becomes
	 * non-zero. Fills every field of *res.
	 */
	void (*send)(struct output *out, const struct output_finding *f,
		     const volatile int *stopping, struct output_result *res);
	/*
	 * SIGUSR1 (log rotation): close files, to open them again at the next send. Called on the
	 * delivery thread, right before a send. May be NULL.
	 */
	void (*reopen)(struct output *out);
	void (*free)(struct output *out);
};

/* Each output's own state embeds this as its first member. */
struct output {
	const struct output_ops *ops;
	/*
	 * Two outputs with the same name and the same settings are the same output: a reload keeps
	 * its thread and state. Filled by the output's constructor (a digest or a copy of its
	 * settings, printable, at most 511 bytes).
	 */
	char settings[512];
};

static inline void output_result_set(struct output_result *res, enum output_answer answer,
				     const char *error)
{
	res->answer = answer;
	res->retry_after_ms = -1;
	res->error[0] = '\0';
	if (error) {
		size_t i;

		for (i = 0; error[i] && i + 1 < sizeof(res->error); i++)
			res->error[i] = error[i] >= 0x20 && error[i] < 0x7f ? error[i] : '?';
		res->error[i] = '\0';
	}
}

#endif

// SPDX-License-Identifier: Apache-2.0
#include "outputs/nats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/natslib.h"
#include "fleet/subject.h"
#include "util/hash.h"
#include "util/log.h"

/*
 * How long a publish waits for JetStream's acknowledgement. An R3 stream answers in
 * milliseconds; a longer wait (a leader election after a server died) is answered RETRY and
 * the finding published again, which JetStream drops as a duplicate if the first one landed.
 * Short enough for a stop to be quick (output.h asks for about a second).
 */
#define NATS_ACK_WAIT_MS 1000
/* Per server, at the first connect: a send may wait this long for each unanswering server */
#define NATS_CONNECT_WAIT_MS 1000

struct nats_output {
	struct output out;	/* first: the delivery thread only knows this */
	struct config_nats cfg; /* to connect again: the password file is read at each connect */
	natsConnection *nc;	/* NULL until the first send, and after it closed for good */
	jsCtx *js;
	char host[256]; /* the sensor's own, for a finding that names none */
};

static void nats_disconnect(struct nats_output *n)
{
	if (n->js)
		natslib.js_destroy(n->js);
	if (n->nc)
		natslib.connection_destroy(n->nc);
	n->js = NULL;
	n->nc = NULL;
}

/*
 * Connects on the delivery thread at the first send, so that a start or a reload never waits
 * for a server, and again when the connection was closed for good. libnats reconnects by
 * itself after a server or the network fails, but gives up after servers refuse the
 * credentials; those may have been fixed since (the password file is read again here).
 */
static int nats_connect(struct nats_output *n, char *error, size_t size)
{
	char detail[256];
	jsOptions jo;
	natsStatus s;
	int err;

	if (n->nc && natslib.connection_is_closed(n->nc)) {
		const char *why = NULL;
		char escaped[256];

		natslib.connection_last_error(n->nc, &why);
		log_escape(why && *why ? why : "no reason given", escaped, sizeof(escaped));
		log_warn("outputs.nats: the connection was closed (%s): connecting again", escaped);
		nats_disconnect(n);
	}
	if (n->nc)
		return 0;
	err = natslib_connect(&n->nc, &n->cfg, NULL, 0, "outputs.nats", true, NATS_CONNECT_WAIT_MS,
			      error, size);
	if (err)
		return err;
	natslib.js_options_init(&jo);
	jo.Wait = NATS_ACK_WAIT_MS;
	s = natslib.jetstream(&n->js, n->nc, &jo);
	if (s != NATS_OK) {
		natslib_error(detail, sizeof(detail), s);
		snprintf(error, size, "JetStream: %s", detail);
		nats_disconnect(n);
		return -ENOMEM;
	}
	return 0;
}

static void nats_send(struct output *out, const struct output_finding *f,
		      const volatile int *stopping, struct output_result *res)
{
	struct nats_output *n = (struct nats_output *)out;
	char subject[FLEET_SUBJECT_MAX], detail[256], error[300];
	jsPubOptions po;
	jsPubAck *ack = NULL;
	jsErrCode jerr = 0;
	natsStatus s;

	if (*stopping) {
		output_result_set(res, OUTPUT_RETRY, "stopping");
		return;
	}
	if (nats_connect(n, error, sizeof(error)) < 0) {
		output_result_set(res, OUTPUT_RETRY, error);
		return;
	}
	/*
	 * Not connected: the finding waits in the store. Publishing now would only copy it into
	 * libnats's reconnect buffer, in memory, once per retry.
	 */
	if (natslib.connection_status(n->nc) != NATS_CONN_STATUS_CONNECTED) {
		const char *why = NULL;

		/* The last attempt's reason (a certificate, the credentials) helps whoever reads it */
		natslib.connection_last_error(n->nc, &why);
		snprintf(error, sizeof(error), "no NATS server reachable%s%.200s%s",
			 why && *why ? " (" : "", why && *why ? why : "", why && *why ? ")" : "");
		output_result_set(res, OUTPUT_RETRY, error);
		return;
	}
	if (fleet_subject(subject, sizeof(subject), n->cfg.subject_prefix,
			  f->host && *f->host ? f->host : n->host, f->severity) < 0) {
		output_result_set(res, OUTPUT_FAILED, "no valid subject for this finding");
		return;
	}
	natslib.js_pub_options_init(&po);
	po.MsgId = f->id;
	po.ExpectStream = n->cfg.stream;
	po.MaxWait = NATS_ACK_WAIT_MS;
	s = natslib.js_publish(&ack, n->js, subject, f->json, (int)f->len, &po, &jerr);
	natslib.js_pub_ack_destroy(ack);
	if (s == NATS_OK) {
		output_result_set(res, OUTPUT_SENT, NULL);
		return;
	}
	natslib_error(detail, sizeof(detail), s);
	if (jerr)
		snprintf(error, sizeof(error), "JetStream error %d on %.120s: %.120s", (int)jerr,
			 subject, detail);
	else
		snprintf(error, sizeof(error), "publish on %.120s: %.120s", subject, detail);
	/*
	 * Larger than the servers or the stream take: it never will be taken, and retrying it
	 * would hold every later finding behind it. Anything else (no stream yet, a leader being
	 * elected, a full stream) may pass later.
	 */
	output_result_set(res,
			  s == NATS_MAX_PAYLOAD || jerr == JSStreamMessageExceedsMaximumErr
			      ? OUTPUT_FAILED
			      : OUTPUT_RETRY,
			  error);
}

static void nats_free(struct output *out)
{
	struct nats_output *n = (struct nats_output *)out;

	if (!n)
		return;
	nats_disconnect(n);
	free(n);
}

static const struct output_ops nats_ops = {
	.name = "nats",
	.send = nats_send,
	.reopen = NULL,
	.free = nats_free,
};

/* Two configurations with the same settings keep one connection across a reload */
static void settings_digest(struct nats_output *n, const struct config_nats *cfg)
{
	char all[CONFIG_NATS_SERVERS_MAX * 520 + 4 * 4200], hash[65];
	size_t off = 0;

	/* NUL-separated fields: no choice of values makes two settings look the same */
	for (size_t i = 0; i < cfg->n_servers; i++)
		off +=
		    (size_t)snprintf(all + off, sizeof(all) - off, "server=%s", cfg->servers[i]) +
		    1;
	off += (size_t)snprintf(all + off, sizeof(all) - off, "prefix=%s", cfg->subject_prefix) + 1;
	off += (size_t)snprintf(all + off, sizeof(all) - off, "stream=%s", cfg->stream) + 1;
	off += (size_t)snprintf(all + off, sizeof(all) - off, "creds=%s", cfg->creds_file) + 1;
	off += (size_t)snprintf(all + off, sizeof(all) - off, "user=%s", cfg->user) + 1;
	off +=
	    (size_t)snprintf(all + off, sizeof(all) - off, "password=%s", cfg->password_file) + 1;
	off += (size_t)snprintf(all + off, sizeof(all) - off, "ca=%s", cfg->ca_file) + 1;
	off += (size_t)snprintf(all + off, sizeof(all) - off, "inbox=%s", cfg->inbox_prefix) + 1;
	hash_sha256_hex(all, off, hash);
	snprintf(n->out.settings, sizeof(n->out.settings), "servers=%zu stream=%.64s sha256=%s",
		 cfg->n_servers, cfg->stream, hash);
}

int nats_output_new(struct output **ret, const struct config_nats *cfg, const char *host,
		    char *error, size_t size)
{
	struct nats_output *n;
	const char *why;
	int err;

	*ret = NULL;
	/* What can be known without a server fails the start or the reload, not the first send */
	err = natslib_load(&why);
	if (err) {
		snprintf(error, size, "outputs.nats: %s", why);
		return err;
	}
	err = natslib_check(cfg, NULL, 0, error, size);
	if (err) {
		char text[300];

		snprintf(text, sizeof(text), "%s", error);
		snprintf(error, size, "outputs.nats: %s", text);
		return err;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(error, size, "outputs.nats: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	n->out.ops = &nats_ops;
	n->cfg = *cfg;
	snprintf(n->host, sizeof(n->host), "%s", host);
	settings_digest(n, cfg);
	*ret = &n->out;
	return 0;
}

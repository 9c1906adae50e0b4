// SPDX-License-Identifier: Apache-2.0
#include "outputs/nats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/natslib.h"
#include "fleet/subject.h"
#include "util/hash.h"

/*
 * How long a publish waits for JetStream's acknowledgement. An R3 stream answers in
 * milliseconds; a longer wait (a leader election after a server died) is answered RETRY and
 * the finding published again, which JetStream drops as a duplicate if the first one landed.
 * Short enough for a stop to be quick (output.h asks for about a second).
 */
#define NATS_ACK_WAIT_MS     1000
#define NATS_CONNECT_WAIT_MS 2000

struct nats_output {
	struct output out; /* first: the delivery thread only knows this */
	natsConnection *nc;
	jsCtx *js;
	char prefix[128];
	char stream[64];
	char host[256]; /* the sensor's own, for a finding that names none */
	char name[300]; /* "sowatch <host>": what the servers and the log lines show */
};

static void nats_send(struct output *out, const struct output_finding *f,
		      const volatile int *stopping, struct output_result *res)
{
	struct nats_output *n = (struct nats_output *)out;
	char subject[FLEET_SUBJECT_MAX], detail[256], error[300];
	jsPubOptions po;
	jsPubAck *ack = NULL;
	jsErrCode jerr = 0;
	natsStatus s;

	/*
	 * Not connected: the finding waits in the store. Publishing now would only copy it into
	 * libnats's reconnect buffer, in memory, once per retry.
	 */
	if (natslib.connection_status(n->nc) != NATS_CONN_STATUS_CONNECTED) {
		output_result_set(res, OUTPUT_RETRY, "no NATS server reachable");
		return;
	}
	if (fleet_subject(subject, sizeof(subject), n->prefix,
			  f->host && *f->host ? f->host : n->host, f->severity) < 0) {
		output_result_set(res, OUTPUT_FAILED, "no valid subject for this finding");
		return;
	}
	natslib.js_pub_options_init(&po);
	po.MsgId = f->id;
	po.ExpectStream = n->stream;
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
	/* Larger than the servers take: it never will be taken */
	output_result_set(res, s == NATS_MAX_PAYLOAD ? OUTPUT_FAILED : OUTPUT_RETRY, error);
}

static void nats_free(struct output *out)
{
	struct nats_output *n = (struct nats_output *)out;

	if (!n)
		return;
	if (n->js)
		natslib.js_destroy(n->js);
	if (n->nc)
		natslib.connection_destroy(n->nc);
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
	jsOptions jo;
	natsStatus s;
	int err;

	*ret = NULL;
	n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(error, size, "outputs.nats: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	n->out.ops = &nats_ops;
	snprintf(n->prefix, sizeof(n->prefix), "%s", cfg->subject_prefix);
	snprintf(n->stream, sizeof(n->stream), "%s", cfg->stream);
	snprintf(n->host, sizeof(n->host), "%s", host);
	settings_digest(n, cfg);
	err =
	    natslib_connect(&n->nc, cfg, NULL, 0, n->name, true, NATS_CONNECT_WAIT_MS, error, size);
	if (err)
		goto err_free;
	natslib.js_options_init(&jo);
	jo.Wait = NATS_ACK_WAIT_MS;
	s = natslib.jetstream(&n->js, n->nc, &jo);
	if (s != NATS_OK) {
		char detail[256];

		natslib_error(detail, sizeof(detail), s);
		snprintf(error, size, "outputs.nats: JetStream: %s", detail);
		err = -ENOMEM;
		goto err_free;
	}
	*ret = &n->out;
	return 0;

err_free:
	nats_free(&n->out);
	return err;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * sowatch collect: the fleet's central store. A durable pull consumer of the JetStream stream
 * that nodes publish to (outputs.nats): each message is checked (fleet/finding_check.h),
 * stored in a store of the same schema as a node's, keyed by the finding id, and acknowledged
 * only once the transaction that holds it is committed. A message that is not a finding of
 * the host its subject names, or whose finding id the store holds for another host, is
 * refused for good (terminated), logged and counted.
 */
#include "cli/collect.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/nats_args.h"
#include "config.h"
#include "fleet/finding_check.h"
#include "fleet/natslib.h"
#include "keeper.h"
#include "outputs/delivery.h"
#include "outputs/http.h"
#include "outputs/outputs.h"
#include "store/store.h"
#include "util/log.h"

#define COLLECT_DEFAULT_DB	   "/var/lib/sowatch/collect.db"
#define COLLECT_BATCH		   256
#define COLLECT_FETCH_WAIT_NS	   1000000000LL /* a fetch returns after 1 s if nothing comes */
#define COLLECT_ACK_WAIT_NS	   (30LL * 1000000000) /* unacknowledged this long: sent again */
#define COLLECT_CONNECT_MS	   2000
#define COLLECT_RETRY_DELAY_MS	   5000 /* a batch the store refused comes again after this */
#define COLLECT_REOPEN_DELAY_MS	   5000 /* a connection libnats gave up: made anew after this */
#define COLLECT_ERRORS_RESUBSCRIBE 5	/* fetch errors in a row before subscribing again */
#define REFUSALS_LOGGED		   20 /* then one line per 1,000, so a flood cannot fill the log */
/*
 * A fetch ends at COLLECT_BATCH messages or at this many bytes, whichever comes first. A batch
 * is held whole until its transaction is committed and it is acknowledged, so this is what
 * bounds the collector's memory: by count alone, 256 messages of a server's max_payload (up to
 * 64 MiB) could be gigabytes. 8 MiB still holds a full batch of ordinary findings (a few KiB
 * each), so that only large messages make batches shorter.
 */
#define COLLECT_FETCH_MAX_BYTES (8LL << 20)

#define COLLECT_DRAIN_MS 3000 /* at a stop, how long the outputs may finish */

static volatile sig_atomic_t stop_requested;

/*
 * The outputs the collector sends what it stores on to (outputs.webhook, syslog, scc of its
 * configuration: credentials for them need only be on the collector), through the same outbox
 * as a node's. The keeper writes their answers through a connection of its own.
 */
struct forward {
	struct store *keeper_store;
	struct keeper *keeper;
	struct delivery *delivery;
	const char *names[OUTPUTS_MAX];
	size_t n;
};

struct collect_stats {
	uint64_t received, stored, repeated, refused, unstored;
};

static const char usage[] =
    "Usage: sowatch collect [--nats URL[,URL...]] [--db PATH] [--durable NAME] [--config PATH]\n"
    "                       [--stream NAME] [--subject-prefix PREFIX]\n"
    "\n"
    "Collects the findings that sowatch nodes publish to NATS JetStream (outputs.nats) into\n"
    "one store, of the same schema as a node's: sowatch findings list --db PATH then lists\n"
    "every node's findings, with their host. Runs until SIGINT or SIGTERM, then prints a\n"
    "summary line. Several collectors may read one stream, each with its own --durable and\n"
    "store.\n"
    "\n"
    "What it stores it sends on to the outputs its configuration sets (outputs.webhook,\n"
    "outputs.syslog, outputs.scc), through the store's outbox as a node does: credentials\n"
    "for Security Command Center can stay on the collector.\n"
    "\n"
    "Options:\n"
    "  --nats URLS        The servers, nats://HOST:PORT or tls://HOST:PORT, comma-separated\n"
    "                     (default: collect.servers of the configuration). Credentials and\n"
    "                     ca_file come from the configuration's collect section.\n"
    "  --db PATH          The central store (created if missing; default " COLLECT_DEFAULT_DB ").\n"
    "  --durable NAME     The durable consumer: where this collector resumes (default\n"
    "                     collect.durable, else sowatch-collect).\n"
    "  --config PATH      The configuration file (default /etc/sowatch/sowatch.yaml if present).\n"
    "  --stream NAME      The stream (default collect.stream, else SOWATCH).\n"
    "  --subject-prefix PREFIX\n"
    "                     The nodes' subject prefix (default collect.subject_prefix, else\n"
    "                     sowatch.findings).\n"
    "  -h, --help         This text.\n"
    "\n"
    "Exit status: 0 after a stop by signal, 1 on an error (store, configuration), 2 bad usage.\n";

static void on_signal(int sig)
{
	stop_requested = 1;
}

/* A message is refused: logged (the first ones, then one in 1,000) and terminated for good */
static void refuse(natsMsg *msg, const char *why, struct collect_stats *st)
{
	st->refused++;
	if (st->refused <= REFUSALS_LOGGED || st->refused % 1000 == 0) {
		char subject[256];

		log_escape(natslib.msg_subject(msg), subject, sizeof(subject));
		log_warn("collect: refused a message on %s: %s (%" PRIu64 " refused so far)",
			 subject, why, st->refused);
	}
	natslib.msg_term(msg, NULL);
}

struct host_check {
	const char *id, *host; /* the message's */
	char *why;
	size_t size;
};

/* store_get()'s callback: 0 when the stored row is the message's host's, else 1 and why */
static int stored_host_is(const struct store_row *row, void *ctx)
{
	struct host_check *c = ctx;

	if (row->host && !strcmp(row->host, c->host))
		return 0;
	snprintf(c->why, c->size, "finding %s is %.100s's in the store, not %.100s's", c->id,
		 row->host ? row->host : "", c->host);
	return 1;
}

/*
 * A finding whose id the store holds already (store_insert() said 1): 1 when the stored one
 * is the same host's (this one came again), -EEXIST with why when it is another host's (two
 * hosts cannot have one finding: one of them is lying, and the first keeps its row), else
 * the store's error. The row may be one of this batch, not committed yet: the same
 * connection sees it.
 */
static int check_repeated(struct store *s, const struct store_finding *f, char *why, size_t size)
{
	struct host_check c = { .id = f->id, .host = f->host, .why = why, .size = size };
	int err = store_get(s, f->id, stored_host_is, &c);

	if (err == 0)
		return 1;
	if (err == 1)
		return -EEXIST;
	/* The store could not say: a store failure (never -EINVAL, that refuses the message) */
	return err == -EINVAL || err == -ENOENT ? -EIO : err;
}

/* A delivery row for each output that sends findings on: 0, or -errno */
static int forward_rows(struct store *s, const struct forward *fw, const char *id)
{
	int err = 0;

	for (size_t i = 0; i < fw->n && err >= 0; i++)
		err = store_outbox_add(s, &(struct store_delivery){ .finding_id = id,
								    .output = fw->names[i],
								    .state = STORE_PENDING });
	return err < 0 ? err : 0;
}

/*
 * Stores the findings of one batch in one transaction and acknowledges them once it is
 * committed. If the store fails (locked, full, broken) or memory runs out, none is
 * acknowledged: every message of the batch but those refused comes again after
 * COLLECT_RETRY_DELAY_MS, and a finding stored meanwhile is simply found again. Each
 * message is parsed, stored and its parsed JSON freed before the next: a parsed message costs
 * many times its size, so only the batch's messages themselves are held at once.
 */
static void collect_batch(struct store *s, const struct forward *fw, natsMsgList *list,
			  const char *prefix, struct collect_stats *st)
{
	natsMsg *accepted[COLLECT_BATCH];
	int result[COLLECT_BATCH];
	size_t n = 0, unread = 0;
	char why[512];
	int err = 0, i;
	bool begun = false;

	for (i = 0; i < list->Count && n < COLLECT_BATCH && !err; i++) {
		natsMsg *m = list->Msgs[i];
		struct fleet_finding found;
		int rc;

		st->received++;
		rc = fleet_finding_parse(&found, natslib.msg_data(m),
					 (size_t)natslib.msg_data_length(m), natslib.msg_subject(m),
					 prefix, why, sizeof(why));
		if (rc == -EINVAL) {
			refuse(m, why, st);
			continue;
		}
		/* Out of memory (the only other answer): nothing says it is not a finding */
		err = rc;
		if (!err && !begun) {
			err = store_begin(s);
			begun = !err;
		}
		result[n] = err ? 0 : store_insert(s, &found.row);
		if (result[n] == 1)
			result[n] = check_repeated(s, &found.row, why, sizeof(why));
		if (result[n] == -EEXIST) {
			fleet_finding_release(&found);
			refuse(m, why, st);
			continue;
		}
		/* The store's own checks refuse that message alone (below); others stop all */
		if (result[n] < 0 && result[n] != -EINVAL)
			err = result[n];
		if (result[n] >= 0 && !err)
			err = forward_rows(s, fw, found.row.id);
		if (!rc)
			fleet_finding_release(&found);
		accepted[n++] = m;
	}
	/*
	 * Stopped by an error: the messages not read yet come again after the same pause, not
	 * only once the server's acknowledgement wait (30 s) has passed.
	 */
	for (; i < list->Count; i++) {
		st->received++;
		st->unstored++;
		natslib.msg_nak_with_delay(list->Msgs[i], COLLECT_RETRY_DELAY_MS, NULL);
		unread++;
	}
	/* Begun, even when every message was then refused: no transaction is left open */
	if (begun && !err)
		err = store_commit(s);
	else if (begun)
		store_rollback(s);
	for (size_t j = 0; j < n; j++) {
		if (err) {
			/* Again after a pause: at once, a full disk would make a hot loop */
			natslib.msg_nak_with_delay(accepted[j], COLLECT_RETRY_DELAY_MS, NULL);
			st->unstored++;
		} else if (result[j] == -EINVAL) {
			refuse(accepted[j], "the store refused it (invalid JSON or fields)", st);
		} else {
			natslib.msg_ack(accepted[j], NULL);
			if (result[j] == 1)
				st->repeated++;
			else
				st->stored++;
		}
	}
	if (err)
		log_error("collect: cannot store %zu findings now (%s): they will come again",
			  n + unread, strerror(-err));
	else if (fw->delivery && n)
		delivery_wake(fw->delivery);
}

static int forward_start(struct forward *fw, struct store *store, const struct config *cfg)
{
	struct output *outs[OUTPUTS_MAX];
	const char *why = NULL;
	char error[1024];
	size_t n = 0;
	int err;

	/* Before any thread: OpenSSL never to read openssl.cnf, the environment safe for libcurl */
	err = http_global_init();
	if (err) {
		log_error("collect: cannot set up HTTP for the outputs: %s", strerror(-err));
		return err;
	}
	err = outputs_from_config(cfg, NULL, store, outs, &n, error, sizeof(error));
	if (err) {
		log_error("collect: %s", error);
		return err;
	}
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		fw->names[i] = outs[i]->ops->name;
	err = store_open_sibling(&fw->keeper_store, store, &why);
	if (!err)
		err = keeper_new(&fw->keeper, fw->keeper_store);
	if (!err)
		err = delivery_new(&fw->delivery, store, fw->keeper);
	if (err) {
		log_error("collect: cannot start the outputs: %s", why ? why : strerror(-err));
		for (size_t i = 0; i < n; i++)
			outs[i]->ops->free(outs[i]);
		return err;
	}
	fw->n = n;
	delivery_set_outputs(fw->delivery, outs, n);
	for (size_t i = 0; i < n; i++)
		log_info("collect: findings stored are sent on to output %s", fw->names[i]);
	return 0;
}

/* What the outputs owe is kept in the store: the next start sends it */
static void forward_stop(struct forward *fw)
{
	uint64_t left = 0;

	if (fw->delivery) {
		left = delivery_drain(fw->delivery, COLLECT_DRAIN_MS);
		delivery_stop(fw->delivery);
		if (left)
			log_info("collect: %" PRIu64
				 " deliveries wait in the store for the next start",
				 left);
	}
	keeper_free(fw->keeper);
	delivery_free(fw->delivery);
	store_close(fw->keeper_store);
}

/*
 * Up to COLLECT_BATCH messages, at most COLLECT_FETCH_MAX_BYTES of them. NATS_OK with messages,
 * NATS_TIMEOUT when none came, else an error. A message larger than that limit never fits a
 * fetch: the server sends nothing and says 409 "Message Size Exceeds MaxBytes" (libnats 3.4
 * returns that as NATS_ERR). That message is fetched alone, without a byte limit, to be
 * refused for its size, so that it cannot stop the stream. (A new request each time: libnats
 * changes the one it is given.)
 */
static natsStatus fetch(natsMsgList *list, natsSubscription *sub)
{
	jsFetchRequest req = {
		.Batch = COLLECT_BATCH,
		.MaxBytes = COLLECT_FETCH_MAX_BYTES,
		.Expires = COLLECT_FETCH_WAIT_NS,
	};
	natsStatus s = natslib.fetch_request(list, sub, &req);
	const char *detail;

	if (s != NATS_ERR)
		return s;
	detail = natslib.last_error(NULL);
	if (!detail || !strstr(detail, "Exceeds MaxBytes"))
		return s;
	req = (jsFetchRequest){ .Batch = 1, .Expires = COLLECT_FETCH_WAIT_NS };
	return natslib.fetch_request(list, sub, &req);
}

/* The pull subscription, made once a server answers; NULL while none does */
static natsSubscription *subscribe(jsCtx *js, const char *stream, const char *subject,
				   const char *durable)
{
	static bool told;
	char detail[256];
	natsSubscription *sub = NULL;
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus s;

	natslib.js_sub_options_init(&so);
	so.Stream = stream;
	so.Config.AckPolicy = js_AckExplicit;
	so.Config.AckWait = COLLECT_ACK_WAIT_NS;
	so.Config.MaxAckPending = 4 * COLLECT_BATCH;
	s = natslib.js_pull_subscribe(&sub, js, subject, durable, NULL, &so, &jerr);
	if (s == NATS_OK) {
		log_info("collect: reading stream %s (%s) as durable consumer %s", stream, subject,
			 durable);
		told = false;
		return sub;
	}
	if (!told) {
		natslib_error(detail, sizeof(detail), s);
		log_warn(
		    "collect: cannot read stream %s as %s yet: %s%s; trying again every second",
		    stream, durable, detail,
		    jerr == JSStreamNotFoundErr ? " (create it with sowatch nats-init)" : "");
		told = true;
	}
	return NULL;
}

/* The connection to the servers and what depends on it; all NULL while there is none */
struct link {
	natsConnection *nc;
	jsCtx *js;
	natsSubscription *sub;
};

static void link_close(struct link *l)
{
	if (l->sub)
		natslib.subscription_destroy(l->sub);
	if (l->js)
		natslib.js_destroy(l->js);
	if (l->nc)
		natslib.connection_destroy(l->nc);
	*l = (struct link){ 0 };
}

/*
 * Connects in the background (libnats goes on trying every server of the list) and makes the
 * JetStream context; 0, or -errno with one line in error. The password file is read again.
 */
static int link_open(struct link *l, const struct nats_args *a, char *error, size_t size)
{
	char detail[256];
	jsOptions jo;
	natsStatus s;
	int err;

	err = natslib_connect(&l->nc, a->section, a->urls, a->n_urls, "collect", true,
			      COLLECT_CONNECT_MS, error, size);
	if (err)
		return err;
	natslib.js_options_init(&jo);
	s = natslib.jetstream(&l->js, l->nc, &jo);
	if (s != NATS_OK) {
		natslib_error(detail, sizeof(detail), s);
		snprintf(error, size, "cannot use JetStream: %s", detail);
		link_close(l);
		return -EIO;
	}
	return 0;
}

/* Sleeps ms, or less if a stop is asked for meanwhile */
static void pause_ms(int ms)
{
	for (; ms > 0 && !stop_requested; ms -= 200)
		usleep(200 * 1000);
}

/*
 * libnats gave the connection up for good: the servers refused its credentials twice in a row,
 * say, and it does not try again by itself. Says why, then connects anew after a pause, as
 * many times as it takes; a password rotated meanwhile is read again.
 */
static void link_reopen(struct link *l, const struct nats_args *a)
{
	const char *last = NULL;
	char why[512];

	if (l->nc) {
		natsStatus s = natslib.connection_last_error(l->nc, &last);

		snprintf(why, sizeof(why), "%s", last && *last ? last : natslib.status_text(s));
		log_error(
		    "collect: the connection to NATS is closed (%s): connecting again in %d s", why,
		    COLLECT_REOPEN_DELAY_MS / 1000);
	}
	link_close(l);
	pause_ms(COLLECT_REOPEN_DELAY_MS);
	if (stop_requested)
		return;
	if (link_open(l, a, why, sizeof(why)) < 0)
		log_error("collect: %s: trying again in %d s", why, COLLECT_REOPEN_DELAY_MS / 1000);
}

static void collect_loop(struct store *store, const struct forward *fw, struct link *l,
			 const struct nats_args *a, const char *durable, struct collect_stats *st)
{
	int errors = 0;

	while (!stop_requested) {
		natsMsgList list = { 0 };
		natsStatus s;

		if (!l->nc || natslib.connection_is_closed(l->nc)) {
			link_reopen(l, a);
			errors = 0;
			continue;
		}
		/* While no server is up, a pull request would only wait in libnats's buffer */
		if (natslib.connection_status(l->nc) != NATS_CONN_STATUS_CONNECTED) {
			usleep(200 * 1000);
			continue;
		}
		if (!l->sub) {
			l->sub = subscribe(l->js, a->stream, a->subject, durable);
			if (!l->sub) {
				sleep(1);
				continue;
			}
		}
		s = fetch(&list, l->sub);
		if (s == NATS_OK || s == NATS_TIMEOUT) {
			errors = 0;
			if (s == NATS_OK)
				collect_batch(store, fw, &list, a->prefix, st);
		} else if (++errors >= COLLECT_ERRORS_RESUBSCRIBE) {
			char detail[256];

			/* The consumer was deleted, or the subscription broke: make it again */
			natslib_error(detail, sizeof(detail), s);
			log_warn(
			    "collect: reading stream %s failed %d times (%s): subscribing again",
			    a->stream, errors, detail);
			natslib.subscription_destroy(l->sub);
			l->sub = NULL;
			errors = 0;
		} else {
			usleep(200 * 1000);
		}
		natslib.msg_list_destroy(&list);
	}
}

int cmd_collect(int argc, char **argv)
{
	static const struct option longopts[] = {
		NATS_ARGS_LONGOPTS,
		{ "db", required_argument, NULL, 'b' },
		{ "durable", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	struct nats_args a = { .command = "collect" };
	const char *db = NULL, *durable = NULL, *error = NULL;
	char text[512];
	struct sigaction sa = { .sa_handler = on_signal };
	struct collect_stats st = { 0 };
	struct store *store = NULL;
	struct forward fw = { 0 };
	struct link link = { 0 };
	int c, status;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (nats_args_option(&a, c, optarg))
			continue;
		switch (c) {
		case 'b':
			db = optarg;
			break;
		case 'u':
			durable = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return nats_args_usage_error(&a, "bad option");
		}
	}
	if (durable) {
		status = nats_args_check(&a, "--durable", durable, check_nats_name);
		if (status >= 0)
			return status;
	}
	status = nats_args_resolve(&a, argc, argv, false);
	if (status >= 0)
		goto out;
	status = 1;
	db = db ? db : COLLECT_DEFAULT_DB;
	durable = durable			       ? durable
		  : a.section && a.section->durable[0] ? a.section->durable
						       : CONFIG_NATS_DURABLE;

	if (store_open_mode(&store, db, STORE_CREATE, &error) < 0) {
		log_error("%s", error);
		goto out;
	}
	if (forward_start(&fw, store, &a.cfg) < 0)
		goto out;
	if (link_open(&link, &a, text, sizeof(text)) < 0) {
		log_error("collect: %s", text);
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A reload or a log rotation meant for `run` on the same host must not end a collector. */
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	log_info("collect: ready: storing into %s", db);
	collect_loop(store, &fw, &link, &a, durable, &st);
	log_info("collect: stopping: %" PRIu64 " messages received, %" PRIu64 " findings stored, "
		 "%" PRIu64 " already stored, %" PRIu64 " refused, %" PRIu64 " to come again",
		 st.received, st.stored, st.repeated, st.refused, st.unstored);
	status = 0;
out:
	link_close(&link);
	forward_stop(&fw);
	store_close(store);
	nats_args_free(&a);
	return status;
}

// SPDX-License-Identifier: Apache-2.0
#include "fleet/natslib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "util/dynlib.h"
#include "util/log.h"
#include "util/safe_path.h"
#include "util/secret_file.h"

#define NATS_RECONNECT_WAIT_MS 500
/* A server that stops answering (a partition) is left after 2 unanswered pings 10 s apart */
#define NATS_PING_INTERVAL_MS 10000
#define NATS_MAX_PINGS_OUT    2

struct natslib natslib;

#define S(field, symbol)                                                                           \
	{                                                                                          \
#symbol, (void **)&natslib.field                                                   \
	}

static const struct dynlib_symbol natslib_symbols[] = {
	S(status_text, natsStatus_GetText),
	S(last_error, nats_GetLastError),
	S(options_create, natsOptions_Create),
	S(options_destroy, natsOptions_Destroy),
	S(options_set_servers, natsOptions_SetServers),
	S(options_set_timeout, natsOptions_SetTimeout),
	S(options_set_name, natsOptions_SetName),
	S(options_set_secure, natsOptions_SetSecure),
	S(options_load_ca, natsOptions_LoadCATrustedCertificates),
	S(options_set_user_info, natsOptions_SetUserInfo),
	S(options_set_creds, natsOptions_SetUserCredentialsFromFiles),
	S(options_set_max_reconnect, natsOptions_SetMaxReconnect),
	S(options_set_ping_interval, natsOptions_SetPingInterval),
	S(options_set_max_pings_out, natsOptions_SetMaxPingsOut),
	S(options_set_inbox_prefix, natsOptions_SetCustomInboxPrefix),
	S(options_set_ignore_discovered_servers, natsOptions_SetIgnoreDiscoveredServers),
	S(options_set_reconnect_wait, natsOptions_SetReconnectWait),
	S(options_set_retry_on_failed_connect, natsOptions_SetRetryOnFailedConnect),
	S(options_set_error_handler, natsOptions_SetErrorHandler),
	S(options_set_disconnected_cb, natsOptions_SetDisconnectedCB),
	S(options_set_reconnected_cb, natsOptions_SetReconnectedCB),
	S(options_set_closed_cb, natsOptions_SetClosedCB),
	S(connect, natsConnection_Connect),
	S(connection_status, natsConnection_Status),
	S(connection_is_closed, natsConnection_IsClosed),
	S(connected_url, natsConnection_GetConnectedUrl),
	S(connection_destroy, natsConnection_Destroy),
	S(connection_last_error, natsConnection_GetLastError),
	S(jetstream, natsConnection_JetStream),
	S(js_destroy, jsCtx_Destroy),
	S(js_options_init, jsOptions_Init),
	S(js_pub_options_init, jsPubOptions_Init),
	S(js_publish, js_Publish),
	S(js_pub_ack_destroy, jsPubAck_Destroy),
	S(js_stream_config_init, jsStreamConfig_Init),
	S(js_add_stream, js_AddStream),
	S(js_update_stream, js_UpdateStream),
	S(js_stream_info, js_GetStreamInfo),
	S(js_stream_info_destroy, jsStreamInfo_Destroy),
	S(js_sub_options_init, jsSubOptions_Init),
	S(js_pull_subscribe, js_PullSubscribe),
	S(fetch, natsSubscription_Fetch),
	S(fetch_request, natsSubscription_FetchRequest),
	S(subscription_destroy, natsSubscription_Destroy),
	S(msg_list_destroy, natsMsgList_Destroy),
	S(msg_subject, natsMsg_GetSubject),
	S(msg_data, natsMsg_GetData),
	S(msg_data_length, natsMsg_GetDataLength),
	S(msg_ack, natsMsg_Ack),
	S(msg_nak_with_delay, natsMsg_NakWithDelay),
	S(msg_term, natsMsg_Term),
	{ NULL, NULL },
};

static struct dynlib natslib_lib = {
	.soname = "libnats.so.3.4",
	.package = "libnats3.4",
	.symbols = natslib_symbols,
};

int natslib_load(const char **ret_error)
{
	return dynlib_use(&natslib_lib, ret_error);
}

void natslib_error(char *out, size_t size, natsStatus s)
{
	natsStatus last = NATS_OK;
	const char *detail = natslib.last_error(&last), *text = natslib.status_text(s);

	/* libnats prefixes its detail with where it was raised: "(conn.c:2088): " */
	if (detail && detail[0] == '(' && strstr(detail, "): "))
		detail = strstr(detail, "): ") + 3;
	if (detail && *detail && strcmp(detail, text) != 0)
		snprintf(out, size, "%s (%s)", text, detail);
	else
		snprintf(out, size, "%s", text);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
	/* Called by the close at a stop too: nothing to tell then */
	if (natslib.connection_is_closed(nc))
		return;
	log_warn("NATS (%s): disconnected; reconnecting to any server of the list",
		 (const char *)closure);
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	char url[256] = "";

	natslib.connected_url(nc, url, sizeof(url));
	log_info("NATS (%s): connected to %s", (const char *)closure, url);
}

/* Errors that arrive apart from a call: a permissions violation, a slow consumer */
static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
	const char *detail = NULL;
	char escaped[512];

	/* The server's own words ("Permissions Violation for Publish to ..."), if it said any */
	natslib.connection_last_error(nc, &detail);
	log_escape(detail ? detail : "", escaped, sizeof(escaped));
	log_warn("NATS (%s): %s%s%s%s", (const char *)closure, natslib.status_text(err),
		 *escaped ? " (" : "", escaped, *escaped ? ")" : "");
}

static bool wants_tls(const struct config_nats *cfg, const char *const *urls, size_t n)
{
	if (cfg && cfg->ca_file[0])
		return true;
	for (size_t i = 0; i < n; i++)
		if (strncmp(urls[i], "tls://", 6) == 0)
			return true;
	return false;
}

/*
 * nats://127.0.0.1:4222, nats://[::1]:4222, nats://localhost: the password stays on this
 * machine. The host must be one of these exactly (127.evil.example is a name, not an address).
 */
static bool is_loopback_url(const char *url)
{
	const char *host = strstr(url, "://");
	char name[64];
	struct in_addr v4;
	size_t len;

	host = host ? host + 3 : url;
	if (*host == '[')
		return strncmp(host, "[::1]", 5) == 0 && (host[5] == '\0' || strchr(":/", host[5]));
	len = strcspn(host, ":/");
	if (len >= sizeof(name))
		return false;
	memcpy(name, host, len);
	name[len] = '\0';
	if (strcmp(name, "localhost") == 0)
		return true;
	return inet_pton(AF_INET, name, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

int natslib_check(const struct config_nats *cfg, const char *const *urls, size_t n, char *error,
		  size_t size)
{
	const char *servers[CONFIG_NATS_SERVERS_MAX];

	if (n == 0 && cfg) {
		for (n = 0; n < cfg->n_servers && n < CONFIG_NATS_SERVERS_MAX; n++)
			servers[n] = cfg->servers[n];
		urls = servers;
	}
	if (!cfg || !cfg->user[0] || wants_tls(cfg, urls, n))
		return 0;
	/*
	 * NATS sends a user's password as it is in its CONNECT line: over nats:// anyone on the
	 * path reads it. A creds_file is safe there (the server checks a signature, no secret is
	 * sent), and so is this machine's loopback.
	 */
	for (size_t i = 0; i < n; i++) {
		if (!is_loopback_url(urls[i])) {
			snprintf(
			    error, size,
			    "a password would cross the network in clear to %.200s: use tls:// "
			    "servers (or a creds_file)",
			    urls[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/* What the servers show for this client (their connz page, their logs): "sowatch collect on node-a" */
static const char *client_name(char *out, size_t size, const char *name)
{
	char host[256] = "";

	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	snprintf(out, size, "sowatch %s%s%s", name, *host ? " on " : "", host);
	return out;
}

int natslib_connect(natsConnection **ret, const struct config_nats *cfg, const char *const *urls,
		    size_t n, const char *name, bool background, int timeout_ms, char *error,
		    size_t size)
{
	const char *servers[CONFIG_NATS_SERVERS_MAX];
	char password[SECRET_FILE_MAX + 2], client[300], ca_file[PATH_MAX], creds_file[PATH_MAX];
	struct safe_path sp;
	natsOptions *opts = NULL;
	natsStatus s;
	const char *why;
	int err;

	*ret = NULL;
	err = natslib_load(&why);
	if (err) {
		snprintf(error, size, "%s", why);
		return err;
	}
	if (n == 0 && cfg) {
		for (n = 0; n < cfg->n_servers && n < CONFIG_NATS_SERVERS_MAX; n++)
			servers[n] = cfg->servers[n];
		urls = servers;
	}
	if (n == 0) {
		snprintf(error, size, "no NATS server given");
		return -EINVAL;
	}
	err = natslib_check(cfg, urls, n, error, size);
	if (err)
		return err;
	/* Paths only root can change, links resolved: libnats rereads creds at each connection */
	if (cfg && cfg->ca_file[0])
		err = safe_path_resolve_file(&sp, cfg->ca_file, "the NATS ca_file", ca_file);
	if (!err && cfg && cfg->creds_file[0])
		err =
		    safe_path_resolve_file(&sp, cfg->creds_file, "the NATS creds_file", creds_file);
	if (err) {
		snprintf(error, size, "%s", sp.error);
		return err;
	}
	password[0] = '\0';
	if (cfg && cfg->password_file[0]) {
		err = secret_file_read(cfg->password_file, "the NATS password file", "\"\\",
				       password, sizeof(password), error, size);
		if (err)
			return err;
	}
	s = natslib.options_create(&opts);
	if (s == NATS_OK)
		s = natslib.options_set_servers(opts, (const char **)urls, (int)n);
	if (s == NATS_OK)
		s = natslib.options_set_name(opts, client_name(client, sizeof(client), name));
	if (s == NATS_OK)
		s = natslib.options_set_timeout(opts, timeout_ms);
	if (s == NATS_OK && wants_tls(cfg, urls, n))
		s = natslib.options_set_secure(opts, true);
	if (s == NATS_OK && cfg && cfg->ca_file[0])
		s = natslib.options_load_ca(opts, ca_file);
	if (s == NATS_OK && cfg && cfg->creds_file[0])
		s = natslib.options_set_creds(opts, creds_file, NULL);
	if (s == NATS_OK && cfg && cfg->user[0])
		s = natslib.options_set_user_info(opts, cfg->user, password);
	/*
	 * The servers tell a client of their cluster's other members, and libnats would reconnect
	 * to them with the same password: over nats:// only the servers listed (all on loopback,
	 * natslib_check() said) may have it.
	 */
	if (s == NATS_OK && cfg && cfg->user[0] && !wants_tls(cfg, urls, n))
		s = natslib.options_set_ignore_discovered_servers(opts, true);
	if (s == NATS_OK && cfg && cfg->inbox_prefix[0])
		s = natslib.options_set_inbox_prefix(opts, cfg->inbox_prefix);
	/* Reconnect for ever, to any server of the list: the store holds what waits meanwhile */
	if (s == NATS_OK)
		s = natslib.options_set_max_reconnect(opts, -1);
	if (s == NATS_OK)
		s = natslib.options_set_reconnect_wait(opts, NATS_RECONNECT_WAIT_MS);
	if (s == NATS_OK)
		s = natslib.options_set_ping_interval(opts, NATS_PING_INTERVAL_MS);
	if (s == NATS_OK)
		s = natslib.options_set_max_pings_out(opts, NATS_MAX_PINGS_OUT);
	if (s == NATS_OK && background)
		s = natslib.options_set_retry_on_failed_connect(opts, true, on_reconnected,
								(void *)name);
	if (s == NATS_OK)
		s = natslib.options_set_disconnected_cb(opts, on_disconnected, (void *)name);
	if (s == NATS_OK)
		s = natslib.options_set_reconnected_cb(opts, on_reconnected, (void *)name);
	if (s == NATS_OK)
		s = natslib.options_set_error_handler(opts, on_async_error, (void *)name);
	explicit_bzero(password, sizeof(password));
	if (s == NATS_OK) {
		s = natslib.connect(ret, opts);
		/* In the background, "not yet" is success: it goes on trying */
		if (s == NATS_NOT_YET_CONNECTED && background)
			s = NATS_OK;
	}
	if (s != NATS_OK) {
		char detail[256];

		natslib_error(detail, sizeof(detail), s);
		snprintf(error, size, "cannot connect to NATS (%s%s): %s", urls[0],
			 n > 1 ? ", ..." : "", detail);
		natslib.connection_destroy(*ret);
		*ret = NULL;
	}
	natslib.options_destroy(opts);
	return s == NATS_OK ? 0 : -ECONNREFUSED;
}

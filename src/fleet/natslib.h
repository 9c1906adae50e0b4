/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libnats (the NATS C client), loaded when a NATS output, `sowatch collect` or `sowatch
 * nats-init` first needs it (util/dynlib.h says why it is not linked), and the connection
 * settings all three share.
 */
#ifndef SOWATCH_NATSLIB_H
#define SOWATCH_NATSLIB_H

#include <stdbool.h>
#include <stddef.h>

#include <nats/nats.h>

struct config_nats;

/* The functions sowatch calls, each with the type of its declaration in nats.h */
struct natslib {
	__typeof__(natsStatus_GetText) *status_text;
	__typeof__(nats_GetLastError) *last_error;
	__typeof__(natsOptions_Create) *options_create;
	__typeof__(natsOptions_Destroy) *options_destroy;
	__typeof__(natsOptions_SetServers) *options_set_servers;
	__typeof__(natsOptions_SetTimeout) *options_set_timeout;
	__typeof__(natsOptions_SetName) *options_set_name;
	__typeof__(natsOptions_SetSecure) *options_set_secure;
	__typeof__(natsOptions_LoadCATrustedCertificates) *options_load_ca;
	__typeof__(natsOptions_SetUserInfo) *options_set_user_info;
	__typeof__(natsOptions_SetUserCredentialsFromFiles) *options_set_creds;
	__typeof__(natsOptions_SetMaxReconnect) *options_set_max_reconnect;
	__typeof__(natsOptions_SetPingInterval) *options_set_ping_interval;
	__typeof__(natsOptions_SetMaxPingsOut) *options_set_max_pings_out;
	__typeof__(natsOptions_SetCustomInboxPrefix) *options_set_inbox_prefix;
	__typeof__(natsOptions_SetIgnoreDiscoveredServers) *options_set_ignore_discovered_servers;
	__typeof__(natsOptions_SetReconnectWait) *options_set_reconnect_wait;
	__typeof__(natsOptions_SetRetryOnFailedConnect) *options_set_retry_on_failed_connect;
	__typeof__(natsOptions_SetErrorHandler) *options_set_error_handler;
	__typeof__(natsOptions_SetDisconnectedCB) *options_set_disconnected_cb;
	__typeof__(natsOptions_SetReconnectedCB) *options_set_reconnected_cb;
	__typeof__(natsOptions_SetClosedCB) *options_set_closed_cb;
	__typeof__(natsConnection_Connect) *connect;
	__typeof__(natsConnection_Status) *connection_status;
	__typeof__(natsConnection_IsClosed) *connection_is_closed;
	__typeof__(natsConnection_GetConnectedUrl) *connected_url;
	__typeof__(natsConnection_Destroy) *connection_destroy;
	__typeof__(natsConnection_GetLastError) *connection_last_error;
	__typeof__(natsConnection_JetStream) *jetstream;
	__typeof__(jsCtx_Destroy) *js_destroy;
	__typeof__(jsOptions_Init) *js_options_init;
	__typeof__(jsPubOptions_Init) *js_pub_options_init;
	__typeof__(js_Publish) *js_publish;
	__typeof__(jsPubAck_Destroy) *js_pub_ack_destroy;
	__typeof__(jsStreamConfig_Init) *js_stream_config_init;
	__typeof__(js_AddStream) *js_add_stream;
	__typeof__(js_UpdateStream) *js_update_stream;
	__typeof__(js_GetStreamInfo) *js_stream_info;
	__typeof__(jsStreamInfo_Destroy) *js_stream_info_destroy;
	__typeof__(jsSubOptions_Init) *js_sub_options_init;
	__typeof__(js_PullSubscribe) *js_pull_subscribe;
	__typeof__(natsSubscription_Fetch) *fetch;
	__typeof__(natsSubscription_FetchRequest) *fetch_request;
	__typeof__(natsSubscription_Destroy) *subscription_destroy;
	__typeof__(natsMsgList_Destroy) *msg_list_destroy;
	__typeof__(natsMsg_GetSubject) *msg_subject;
	__typeof__(natsMsg_GetData) *msg_data;
	__typeof__(natsMsg_GetDataLength) *msg_data_length;
	__typeof__(natsMsg_Ack) *msg_ack;
	__typeof__(natsMsg_NakWithDelay) *msg_nak_with_delay;
	__typeof__(natsMsg_Term) *msg_term;
};

extern struct natslib natslib;

/* Loads libnats once (thread-safe). 0, or -ENOENT with *ret_error naming what is missing. */
int natslib_load(const char **ret_error);

/*
 * A connection to the servers of cfg (or of urls, n of them, when n > 0: --nats), with its
 * credentials: creds_file, or user and the password read from password_file; TLS for tls://
 * servers or when ca_file is set, verified against the system's CAs and those of ca_file:
 * libnats loads the system's default paths, then adds ca_file (SSL_CTX_load_verify_locations),
 * so ca_file adds CAs and never replaces them. libnats as Debian builds it (upstream's default,
 * NATS_BUILD_TLS_FORCE_HOST_VERIFY) also checks that each server's certificate names the host of
 * its URL (tests/e2e/test_fleet_e2e.py's FleetTLS checks the CA and the name). ca_file and
 * creds_file must be root's alone, directories included (util/safe_path.h): libnats is given
 * their resolved paths and reads the creds_file again at each connection.
 *  - background: never waits for a server. The connection (re)connects in the background,
 *    to any server of the list, for ever; natsConnection_Status() tells when it is up. For an
 *    output, whose findings wait in the store meanwhile.
 *  - otherwise: tries every server once, up to timeout_ms each, and fails if none answers.
 * name is the client name the servers show and the log lines say: a string literal
 * ("outputs.nats", "collect"), since libnats may still call back with it after the
 * connection is destroyed.
 * 0 or -errno with one line in error.
 */
int natslib_connect(natsConnection **ret, const struct config_nats *cfg, const char *const *urls,
		    size_t n, const char *name, bool background, int timeout_ms, char *error,
		    size_t size);

/*
 * Settings that must not be used: a password over plain nats:// to another machine. Checked
 * by natslib_connect; an output checks at start too, to fail then rather than at first send.
 * cfg, urls, n: as for natslib_connect. 0 or -EINVAL with one line in error.
 */
int natslib_check(const struct config_nats *cfg, const char *const *urls, size_t n, char *error,
		  size_t size);

/* Why the last call failed: libnats's own text for s, and its last error's detail if any. */
void natslib_error(char *out, size_t size, natsStatus s);

#endif

// SPDX-License-Identifier: Apache-2.0
#include "outputs/webhook.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "outputs/http.h"

#include "util/hash.h"
#include "util/safe_path.h"
#include "util/secret_file.h"

#define WEBHOOK_BODY_SHOWN	       120 /* bytes of a refusal's body put in the error */
#define WEBHOOK_CONNECT_TIMEOUT_MAX_MS 5000

struct webhook_output {
	struct output out; /* first: the delivery thread only knows this */
	CURL *curl;	   /* one handle, reused: its connection is kept alive */
	/* Content-Type, Expect, Authorization, the extra headers: the same for every finding */
	struct curl_slist *headers;
	char *authorization; /* the Authorization line in headers, wiped before it is freed */
	char url[2048];
	char ca_file[PATH_MAX]; /* resolved: curl reads it again at each new connection */
	int timeout_ms;
	char curl_error[CURL_ERROR_SIZE];
	/* The answer to the request under way */
	const volatile int *stopping;
	char body[WEBHOOK_BODY_SHOWN];
	size_t body_len;
	int64_t retry_after_ms;
};

/* The headers sowatch sets itself: an extra header may not replace or repeat them. */
static bool header_reserved(const char *name)
{
	static const char *const reserved[] = {
		"Authorization", "Content-Type", "Content-Length",    "Expect",
		"Host",		 "Connection",	 "Transfer-Encoding", "X-Sowatch-Finding-Id",
	};

	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcasecmp(name, reserved[i]) == 0)
			return true;
	return false;
}

/* RFC 9110's token characters, for a header name */
static bool header_name_valid(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return false;
	return true;
}

/* A header value: visible ASCII, spaces and tabs; no line break to smuggle a header in */
static bool header_value_valid(const char *s)
{
	for (; *s; s++)
		if ((*s < 0x20 && *s != '\t') || *s == 0x7f)
			return false;
	return true;
}

static int check_headers(const struct config_webhook *cfg, char *error, size_t esize)
{
	char shown[128];

	for (size_t i = 0; i < cfg->n_headers; i++) {
		const struct config_header *h = &cfg->headers[i];

		http_printable(shown, sizeof(shown), h->name, strlen(h->name));
		if (!header_name_valid(h->name)) {
			snprintf(error, esize, "outputs.webhook: invalid header name '%s'", shown);
			return -EINVAL;
		}
		if (header_reserved(h->name)) {
			snprintf(error, esize,
				 "outputs.webhook: header %s is set by sowatch itself", shown);
			return -EINVAL;
		}
		if (!header_value_valid(h->value)) {
			snprintf(
			    error, esize,
			    "outputs.webhook: header %s: its value has a line break or a control "
			    "character",
			    shown);
			return -EINVAL;
		}
	}
	return 0;
}

static bool url_scheme_valid(const char *url)
{
	return strncasecmp(url, "https://", 8) == 0 || strncasecmp(url, "http://", 7) == 0;
}

/*
 * The URL as it may be shown: without a password (https://user:secret@host/ would otherwise
 * end up in logs), printable, at most size bytes.
 */
static void url_shown(char *out, size_t size, const char *url)
{
	const char *scheme_end = strstr(url, "://");
	const char *rest = scheme_end ? scheme_end + 3 : url;
	size_t host_len = strcspn(rest, "/?#");
	const char *at = memrchr(rest, '@', host_len);
	char tmp[2048 + 16];

	if (at)
		snprintf(tmp, sizeof(tmp), "%.*s***@%s", (int)(rest - url), url, at + 1);
	else
		snprintf(tmp, sizeof(tmp), "%s", url);
	http_printable(out, size, tmp, strlen(tmp));
}

/*
 * Two webhook outputs are the same when every setting and the token are: a digest of them all
 * (the token only through its own SHA-256), after the URL a person can recognise.
 */
static void settings_digest(struct webhook_output *w, const struct config_webhook *cfg,
			    const char *token)
{
	char token_hash[65] = "-", all_hash[65], shown[256];
	size_t size = 4096 + strlen(cfg->url) + strlen(w->ca_file) + strlen(cfg->bearer_token_file);
	char *all;
	size_t off = 0;

	for (size_t i = 0; i < cfg->n_headers; i++)
		size += strlen(cfg->headers[i].name) + strlen(cfg->headers[i].value) + 4;
	if (token)
		hash_sha256_hex(token, strlen(token), token_hash);
	all = malloc(size);
	if (!all) {
		/* Unique, so never taken for another output's settings */
		snprintf(w->out.settings, sizeof(w->out.settings), "webhook %p", (void *)w);
		return;
	}
	/* NUL-separated fields: no choice of values makes two settings look the same */
	off += (size_t)snprintf(all + off, size - off, "url=%s", cfg->url) + 1;
	off += (size_t)snprintf(all + off, size - off, "ca_file=%s", w->ca_file) + 1;
	off += (size_t)snprintf(all + off, size - off, "token_file=%s", cfg->bearer_token_file) + 1;
	off += (size_t)snprintf(all + off, size - off, "token_sha256=%s", token_hash) + 1;
	off += (size_t)snprintf(all + off, size - off, "timeout_ms=%d", cfg->timeout_ms) + 1;
	for (size_t i = 0; i < cfg->n_headers; i++)
		off += (size_t)snprintf(all + off, size - off, "header=%s: %s",
					cfg->headers[i].name, cfg->headers[i].value) +
		       1;
	hash_sha256_hex(all, off, all_hash);
	explicit_bzero(all, off);
	free(all);
	url_shown(shown, sizeof(shown), cfg->url);
	snprintf(w->out.settings, sizeof(w->out.settings),
		 "POST %s timeout %d ms settings sha256:%s", shown, cfg->timeout_ms, all_hash);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct webhook_output *w = arg;
	size_t n = size * nmemb, room = sizeof(w->body) - w->body_len;

	memcpy(w->body + w->body_len, data, n < room ? n : room);
	w->body_len += n < room ? n : room;
	return n;
}

static int setup_handle(struct webhook_output *w)
{
	const struct http_handle_opts o = {
		.ca_file = w->ca_file,
		.timeout_ms = w->timeout_ms,
		.connect_timeout_ms = w->timeout_ms < WEBHOOK_CONNECT_TIMEOUT_MAX_MS
					  ? w->timeout_ms
					  : WEBHOOK_CONNECT_TIMEOUT_MAX_MS,
		.error_buffer = w->curl_error,
		.on_body = on_body,
		.ctx = w,
		.retry_after_ms = &w->retry_after_ms,
		.stopping = &w->stopping,
	};
	bool ok = http_handle_setup(w->curl, &o) == 0;

	ok &= libcurl.easy_setopt(w->curl, CURLOPT_URL, w->url) == CURLE_OK;
	ok &= libcurl.easy_setopt(w->curl, CURLOPT_POST, 1L) == CURLE_OK;
	return ok ? 0 : -ENOTSUP;
}

static void webhook_send(struct output *out, const struct output_finding *f,
			 const volatile int *stopping, struct output_result *res)
{
	struct webhook_output *w = (struct webhook_output *)out;
	char id_header[320], shown[4 * WEBHOOK_BODY_SHOWN + 1], error[sizeof(res->error)];
	/* The finding's own header, in front of the headers every request carries */
	struct curl_slist id_node = { .data = id_header, .next = w->headers };
	long status = 0;
	CURLcode rc;

	snprintf(id_header, sizeof(id_header), "X-Sowatch-Finding-Id: %s", f->id);
	w->stopping = stopping;
	w->body_len = 0;
	w->retry_after_ms = -1;
	w->curl_error[0] = '\0';
	libcurl.easy_setopt(w->curl, CURLOPT_HTTPHEADER, &id_node);
	libcurl.easy_setopt(w->curl, CURLOPT_POSTFIELDS, f->json);
	libcurl.easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)f->len);
	rc = libcurl.easy_perform(w->curl);
	/* The list lives on this stack: nothing may point at it after this call */
	libcurl.easy_setopt(w->curl, CURLOPT_HTTPHEADER, w->headers);
	libcurl.easy_setopt(w->curl, CURLOPT_POSTFIELDS, NULL);
	w->stopping = NULL;

	if (rc != CURLE_OK) {
		if (rc == CURLE_ABORTED_BY_CALLBACK)
			snprintf(error, sizeof(error), "stopping");
		else
			snprintf(error, sizeof(error), "%s",
				 w->curl_error[0] ? w->curl_error : libcurl.easy_strerror(rc));
		output_result_set(res, OUTPUT_RETRY, error);
		return;
	}
	libcurl.easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300) {
		output_result_set(res, OUTPUT_SENT, NULL);
		return;
	}
	http_printable(shown, sizeof(shown), w->body, w->body_len);
	snprintf(error, sizeof(error), "HTTP %ld%s%.200s", status, w->body_len ? ": " : "", shown);
	if (http_status_retryable(status)) {
		output_result_set(res, OUTPUT_RETRY, error);
		res->retry_after_ms = w->retry_after_ms;
	} else {
		output_result_set(res, OUTPUT_FAILED, error);
	}
}

static void webhook_free(struct output *out)
{
	struct webhook_output *w = (struct webhook_output *)out;

	if (!w)
		return;
	libcurl.easy_cleanup(w->curl);
	if (w->authorization)
		explicit_bzero(w->authorization, strlen(w->authorization));
	libcurl.slist_free_all(w->headers);
	free(w);
}

static const struct output_ops webhook_ops = {
	.name = "webhook",
	.send = webhook_send,
	.reopen = NULL,
	.free = webhook_free,
};

/* Appends line to w->headers; returns the copy curl made, or NULL */
static char *header_add(struct webhook_output *w, const char *line)
{
	struct curl_slist *l = libcurl.slist_append(w->headers, line);
	struct curl_slist *last;

	if (!l)
		return NULL;
	w->headers = l;
	for (last = l; last->next; last = last->next)
		;
	return last->data;
}

static int build_headers(struct webhook_output *w, const struct config_webhook *cfg,
			 const char *token)
{
	/* Without "Expect:" curl would wait up to a second for 100 Continue on larger bodies */
	if (!header_add(w, "Content-Type: application/json") || !header_add(w, "Expect:"))
		return -ENOMEM;
	if (token) {
		size_t len = strlen(token) + sizeof("Authorization: Bearer ");
		char *line = malloc(len);

		if (!line)
			return -ENOMEM;
		snprintf(line, len, "Authorization: Bearer %s", token);
		w->authorization = header_add(w, line);
		explicit_bzero(line, len);
		free(line);
		if (!w->authorization)
			return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_headers; i++) {
		size_t len = strlen(cfg->headers[i].name) + strlen(cfg->headers[i].value) + 3;
		char *line = malloc(len);
		char *added;

		if (!line)
			return -ENOMEM;
		snprintf(line, len, "%s: %s", cfg->headers[i].name, cfg->headers[i].value);
		added = header_add(w, line);
		free(line);
		if (!added)
			return -ENOMEM;
	}
	return 0;
}

int webhook_output_new(struct output **ret, const struct config_webhook *cfg, char *error,
		       size_t size)
{
	char token[SECRET_FILE_MAX + 2];
	struct webhook_output *w;
	bool has_token = cfg->bearer_token_file[0] != '\0';
	const char *why;
	int err;

	*ret = NULL;
	if (!url_scheme_valid(cfg->url)) {
		char shown[256];

		url_shown(shown, sizeof(shown), cfg->url);
		snprintf(error, size, "outputs.webhook: url %s is neither https:// nor http://",
			 shown);
		return -EINVAL;
	}
	if (cfg->timeout_ms <= 0) {
		snprintf(error, size, "outputs.webhook: timeout_ms must be positive");
		return -EINVAL;
	}
	err = check_headers(cfg, error, size);
	if (err)
		return err;
	if (http_use_libcurl(&why) < 0) {
		snprintf(error, size, "outputs.webhook: %s", why);
		return -ENOTSUP;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(error, size, "outputs.webhook: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	w->out.ops = &webhook_ops;
	w->timeout_ms = cfg->timeout_ms;
	snprintf(w->url, sizeof(w->url), "%s", cfg->url);
	if (cfg->ca_file[0]) {
		err = http_check_ca_file(cfg->ca_file, "the webhook's ca_file", w->ca_file, error,
					 size);
		if (err)
			goto err_free;
	}
	if (has_token) {
		err = secret_file_read(cfg->bearer_token_file, "the webhook's bearer token file",
				       NULL, token, sizeof(token), error, size);
		if (err)
			goto err_free;
	}
	err = build_headers(w, cfg, has_token ? token : NULL);
	if (err) {
		snprintf(error, size, "outputs.webhook: %s", strerror(-err));
		goto err_wipe_token;
	}
	w->curl = libcurl.easy_init();
	if (!w->curl || setup_handle(w) < 0) {
		snprintf(error, size,
			 "outputs.webhook: libcurl cannot be set up as required "
			 "(https, TLS verification, timeouts)");
		err = -ENOTSUP;
		goto err_wipe_token;
	}
	settings_digest(w, cfg, has_token ? token : NULL);
	explicit_bzero(token, sizeof(token));
	*ret = &w->out;
	return 0;

err_wipe_token:
	explicit_bzero(token, sizeof(token));
err_free:
	webhook_free(&w->out);
	return err;
}

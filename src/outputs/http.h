/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the outputs that speak HTTP (webhook, scc) share: libcurl, loaded when the first of them
 * is configured (util/dynlib.h says why it is not linked), the check of a ca_file, and the
 * reading of an answer's Retry-After. Each output keeps its own handle and requests.
 */
#ifndef SOWATCH_OUTPUTS_HTTP_H
#define SOWATCH_OUTPUTS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

/*
 * libcurl's functions, once http_use_libcurl() succeeded. Each has the type of its declaration
 * in curl.h. Calls through these bypass curl.h's compile-time checks of curl_easy_setopt()'s
 * argument types: every long option is given a long, every size a curl_off_t.
 */
struct libcurl_api {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_global_cleanup) *global_cleanup;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
	__typeof__(curl_getdate) *getdate;
};
extern struct libcurl_api libcurl;

/*
 * Once, in main(), before any thread starts: OpenSSL told never to read openssl.cnf, and the
 * environment cleaned for the libcurl that the first HTTP output loads (see http.c for why).
 * 0 or -errno. The cleanup undoes libcurl's global state, if it was loaded.
 */
int http_global_init(void);
void http_global_cleanup(void);

/* Loads libcurl (the first call) and fills `libcurl`. 0, or -ENOTSUP and why (static text). */
int http_use_libcurl(const char **ret_why);

/*
 * A ca_file replaces the system's CAs: a file someone else could change would let them add a
 * CA and read what is sent. Symbolic links are resolved into resolved (PATH_MAX bytes), then
 * the file and every directory to it must be root's (or sowatch's user's) alone. `what` names
 * it in messages. 0, or -errno and one line in error.
 */
int http_check_ca_file(const char *path, const char *what, char *resolved, char *error,
		       size_t esize);

/* How an output's libcurl handle is set up: what differs between outputs */
struct http_handle_opts {
	const char *ca_file; /* resolved (http_check_ca_file()); "": the system's CAs */
	long timeout_ms, connect_timeout_ms;
	char *error_buffer; /* CURL_ERROR_SIZE bytes */
	curl_write_callback on_body;
	void *ctx; /* on_body's */
	/* Where the answer's Retry-After goes, in ms (http_retry_after_ms()); -1: none */
	int64_t *retry_after_ms;
	/* Where the output keeps the stop flag of the send under way (NULL between sends) */
	const volatile int *const *stopping;
};

/*
 * Sets up c: http and https only, no redirect followed, TLS always verified, the timeouts, TCP
 * keep-alive, the body's callback, the answer's Retry-After (delta-seconds or an HTTP-date,
 * RFC 9110 10.2.3, at most an hour), and a progress check that gives up within about a second once
 * the send's stop flag is set. 0, or -ENOTSUP when libcurl refuses one of these (built
 * without it): never a default taken instead.
 */
int http_handle_setup(CURL *c, const struct http_handle_opts *o);

/* n bytes of s into out (size bytes), anything not printable ASCII (and '\') as \xNN. */
void http_printable(char *out, size_t size, const char *s, size_t n);

/* 408 Request Timeout, 425 Too Early, 429 Too Many Requests and 5xx: the receiver may take it
 * later. Any other refusal (400, 401, 403, 404, 413...) would be the same the next time. */
static inline int http_status_retryable(long status)
{
	return status == 408 || status == 425 || status == 429 || (status >= 500 && status < 600);
}

#endif

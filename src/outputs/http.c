// SPDX-License-Identifier: Apache-2.0
#include "outputs/http.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/dynlib.h"
#include "util/safe_path.h"

#define HTTP_RETRY_AFTER_MAX_MS 3600000LL /* a receiver may ask for at most an hour */

struct libcurl_api libcurl;

/*
 * sowatch runs as root and its libcrypto never reads openssl.cnf: an openssl.cnf that loads an
 * engine or a provider is the very attack sowatch reports, and a sensor that read it would run
 * the attacker's module as root. libcurl's OpenSSL backend asks OpenSSL to load its
 * configuration (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG)) in curl_global_init(). OpenSSL
 * loads its configuration at most once per process, whichever call comes first: initialising
 * libcrypto and libssl with OPENSSL_INIT_NO_LOAD_CONFIG before libcurl does makes libcurl's
 * request a no-op. libssl's own initialisation hands its flags to OPENSSL_init_crypto(), where
 * the once-only configuration step lives, so libcrypto's call is enough (and keeps sowatch
 * from linking libssl itself). tests/unit/test_webhook.c checks this under an OPENSSL_CONF of
 * its own.
 */
int http_global_init(void)
{
	if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1)
		return -EIO;
	/*
	 * Debian's libcurl opens $SSLKEYLOGFILE in curl_global_init() and appends every TLS
	 * session's secrets to it: as root, to whatever path the environment names. A sensor's
	 * findings are not to be readable by whoever could set its environment. Removed here,
	 * before any thread runs (unsetenv() is not thread-safe), for a libcurl loaded later.
	 */
	unsetenv("SSLKEYLOGFILE");
	return 0;
}

/* Thread-safe since libcurl 7.84 (Debian 12 has 7.88): a reload may run it with lanes up */
static const char *libcurl_setup(void)
{
	return libcurl.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? NULL
								    : "curl_global_init() failed";
}

#define LIBCURL_SYMBOL(f)                                                                          \
	{                                                                                          \
		"curl_" #f, (void **)&libcurl.f                                                    \
	}

static const struct dynlib_symbol libcurl_symbols[] = {
	LIBCURL_SYMBOL(global_init),  LIBCURL_SYMBOL(global_cleanup),
	LIBCURL_SYMBOL(easy_init),    LIBCURL_SYMBOL(easy_setopt),
	LIBCURL_SYMBOL(easy_perform), LIBCURL_SYMBOL(easy_getinfo),
	LIBCURL_SYMBOL(easy_cleanup), LIBCURL_SYMBOL(easy_strerror),
	LIBCURL_SYMBOL(slist_append), LIBCURL_SYMBOL(slist_free_all),
	LIBCURL_SYMBOL(getdate),      { NULL, NULL },
};

static struct dynlib libcurl_lib = {
	.soname = "libcurl.so.4",
	.package = "libcurl4",
	.symbols = libcurl_symbols,
	.setup = libcurl_setup,
};

void http_global_cleanup(void)
{
	if (libcurl_lib.ready)
		libcurl.global_cleanup();
}

int http_use_libcurl(const char **ret_why)
{
	return dynlib_use(&libcurl_lib, ret_why) < 0 ? -ENOTSUP : 0;
}

/* Writes n bytes of s to out (size bytes) with anything not printable ASCII as \xNN. */
void http_printable(char *out, size_t size, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
	}
	if (size)
		out[o < size ? o : size - 1] = '\0';
}

/*
 * ca_file replaces the system's CAs: a file someone else could change would let them add a CA
 * and read the findings. Symbolic links (as in /etc/ssl/certs) are resolved first, then the
 * file and every directory to it must be root's (or sowatch's user's) alone; curl is given the
 * resolved path, so what it reads at each new connection is what was checked.
 */
int http_check_ca_file(const char *path, const char *what, char *resolved, char *error,
		       size_t esize)
{
	struct safe_path sp;
	int fd;

	if (!realpath(path, resolved)) {
		int err = -errno;

		snprintf(error, esize, "cannot use %s %s: %s", what, path, strerror(errno));
		return err;
	}
	fd = safe_path_open(&sp, resolved, what, 0);
	if (fd == 0)
		fd = safe_path_open_file(&sp, O_RDONLY, 0);
	if (fd < 0)
		snprintf(error, esize, "%s", sp.error);
	else
		close(fd);
	safe_path_close(&sp);
	return fd < 0 ? fd : 0;
}

/* Retry-After's value in ms: delta-seconds or an HTTP-date (RFC 9110 10.2.3); -1 when neither */
static int64_t http_retry_after_ms(const char *value)
{
	char *end;
	long long secs;

	while (*value == ' ' || *value == '\t')
		value++;
	if (isdigit((unsigned char)*value)) {
		errno = 0;
		secs = strtoll(value, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		if (*end)
			return -1;
		if (errno == ERANGE || secs > HTTP_RETRY_AFTER_MAX_MS / 1000)
			return HTTP_RETRY_AFTER_MAX_MS;
		return secs * 1000;
	} else {
		char date[128];
		time_t when, now = time(NULL);

		snprintf(date, sizeof(date), "%.*s", (int)strcspn(value, "\r\n"), value);
		when = libcurl.getdate(date, NULL);
		if (when == -1)
			return -1;
		if (when <= now)
			return 0;
		if (when - now > HTTP_RETRY_AFTER_MAX_MS / 1000)
			return HTTP_RETRY_AFTER_MAX_MS;
		return (int64_t)(when - now) * 1000;
	}
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	static const char name[] = "retry-after:";
	int64_t *retry_after_ms = arg;
	size_t n = size * nmemb;
	char value[256];

	/* A new status line (after a 100 Continue): what came before was not the answer */
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		*retry_after_ms = -1;
		return n;
	}
	if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		size_t len = n - (sizeof(name) - 1);

		if (len >= sizeof(value))
			len = sizeof(value) - 1;
		memcpy(value, data + sizeof(name) - 1, len);
		value[len] = '\0';
		*retry_after_ms = http_retry_after_ms(value);
	}
	return n;
}

/* Called about once a second even when nothing moves: a stop is seen within a second */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	const volatile int *const *stopping = arg;

	return *stopping && **stopping ? 1 : 0;
}

int http_handle_setup(CURL *c, const struct http_handle_opts *o)
{
	bool ok = true;

	ok &= libcurl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
	ok &= libcurl.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK;
	ok &= libcurl.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
	ok &= libcurl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok &= libcurl.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
	ok &= libcurl.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
	if (o->ca_file && o->ca_file[0])
		ok &= libcurl.easy_setopt(c, CURLOPT_CAINFO, o->ca_file) == CURLE_OK;
	ok &= libcurl.easy_setopt(c, CURLOPT_TIMEOUT_MS, o->timeout_ms) == CURLE_OK;
	ok &= libcurl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms) == CURLE_OK;
	ok &= libcurl.easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
	ok &= libcurl.easy_setopt(c, CURLOPT_USERAGENT, "sowatch/" SOWATCH_VERSION) == CURLE_OK;
	ok &= libcurl.easy_setopt(c, CURLOPT_ERRORBUFFER, o->error_buffer) == CURLE_OK;
	ok &= libcurl.easy_setopt(c, CURLOPT_WRITEFUNCTION, o->on_body) == CURLE_OK;
	ok &= libcurl.easy_setopt(c, CURLOPT_WRITEDATA, o->ctx) == CURLE_OK;
	ok &= libcurl.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK;
	ok &= libcurl.easy_setopt(c, CURLOPT_HEADERDATA, (void *)o->retry_after_ms) == CURLE_OK;
	ok &= libcurl.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress) == CURLE_OK;
	ok &= libcurl.easy_setopt(c, CURLOPT_XFERINFODATA, (void *)o->stopping) == CURLE_OK;
	ok &= libcurl.easy_setopt(c, CURLOPT_NOPROGRESS, 0L) == CURLE_OK;
	return ok ? 0 : -ENOTSUP;
}

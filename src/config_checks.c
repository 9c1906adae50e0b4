// SPDX-License-Identifier: Apache-2.0
/*
 * Checks of single configuration values: is this URL, address, file or name good? Apart from
 * the YAML walk (config.c), which only finds the values and reports what these say.
 */
#include "config_checks.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/safe_path.h"
#include "util/secret_file.h"

/* resource.project and resource.source become segments of finding.name */
const char *check_name_segment(const char *value, char *why, size_t size)
{
	return value[0] && !strchr(value, '/') ? NULL : "must be non-empty and hold no '/':";
}

static bool is_digits(const char *s, size_t max)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n <= max && s[n] == '\0';
}

/* A whole number in [min, max], written in decimal digits only ("+5", "0x10", "1e3": no) */
bool whole_number(const char *s, int min, int max, int *ret)
{
	long n;

	if (!is_digits(s, 9))
		return false;
	n = strtol(s, NULL, 10);
	if (n < min || n > max)
		return false;
	*ret = (int)n;
	return true;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A DNS name: labels of letters, digits, '-' and '_', 1 to 63 bytes, 253 in all */
static bool is_host_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 253)
		return false;
	while (*s) {
		size_t n = 0;

		while (is_alnum(s[n]) || s[n] == '-' || s[n] == '_')
			n++;
		if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
			return false;
		s += n;
		if (*s == '.')
			s++;
		else if (*s)
			return false;
	}
	return true;
}

/* The last label of a name is all digits: then it is meant as an IPv4 address */
static bool looks_numeric(const char *host)
{
	const char *dot = strrchr(host, '.');

	return is_digits(dot ? dot + 1 : host, 253);
}

/*
 * HOST[:PORT], HOST an IPv4 address, an [IPv6] address or (names) a DNS name, else only
 * localhost. False with the reason in why.
 */
static bool host_port_valid(const char *s, bool names, bool need_port, char *why, size_t size)
{
	char host[256];
	const char *port;
	size_t len;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		struct in6_addr a6;

		len = close ? (size_t)(close - s - 1) : 0;
		if (!close || len >= sizeof(host)) {
			snprintf(why, size, "an IPv6 address needs its closing ']'");
			return false;
		}
		memcpy(host, s + 1, len);
		host[len] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1) {
			snprintf(why, size, "not an IPv6 address between [ and ]");
			return false;
		}
		port = close + 1;
	} else {
		const char *colon = strrchr(s, ':');
		struct in_addr a4;
		bool ipv4;

		len = colon ? (size_t)(colon - s) : strlen(s);
		if (memchr(s, ':', len)) {
			snprintf(why, size, "an IPv6 address goes between [ and ], as [::1]:PORT");
			return false;
		}
		if (len == 0 || len >= sizeof(host)) {
			snprintf(why, size, len ? "host name too long" : "no host");
			return false;
		}
		memcpy(host, s, len);
		host[len] = '\0';
		ipv4 = inet_pton(AF_INET, host, &a4) == 1;
		if (!ipv4 && (!names || looks_numeric(host)) && strcmp(host, "localhost") != 0) {
			snprintf(why, size,
				 names ? "not an IPv4 address"
				       : "expected an IPv4 address, [IPv6] or "
					 "localhost for the host");
			return false;
		}
		if (!ipv4 && names && !is_host_name(host)) {
			snprintf(why, size, "not a host name");
			return false;
		}
		port = s + len;
	}
	if (port[0] == '\0' && !need_port)
		return true;
	if (port[0] != ':') {
		snprintf(why, size,
			 port[0] ? "expected ':PORT' after the host" : "no port (HOST:PORT)");
		return false;
	}
	if (!is_digits(port + 1, 5) || atoi(port + 1) < 1 || atoi(port + 1) > 65535) {
		snprintf(why, size, "the port must be a number from 1 to 65535");
		return false;
	}
	return true;
}

/*
 * outputs.webhook.url: http:// or https://, a host. Nothing that could split a request line
 * or a log line (CR, LF, spaces, control bytes), nor raw non-ASCII bytes.
 */
const char *check_url(const char *url, char *why, size_t size)
{
	const char *authority, *end, *at;
	char host_port[512];
	size_t len;

	for (const unsigned char *c = (const unsigned char *)url; *c; c++)
		if (*c <= ' ' || *c >= 0x7f)
			return "must hold no spaces, control bytes or non-ASCII bytes "
			       "(percent-encode "
			       "them):";
	if (strncasecmp(url, "https://", 8) == 0)
		authority = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		authority = url + 7;
	else
		return "expected an http:// or https:// URL for";
	end = authority + strcspn(authority, "/?#");
	at = memrchr(authority, '@', end - authority);
	if (at)
		authority = at + 1;
	len = end - authority;
	if (len >= sizeof(host_port)) {
		snprintf(why, size, "host name too long");
		return "not a valid URL for";
	}
	memcpy(host_port, authority, len);
	host_port[len] = '\0';
	return host_port_valid(host_port, true, false, why, size) ? NULL : "not a valid URL for";
}

/* outputs.scc.endpoint and token_uri: https only, they carry the credentials */
const char *check_https_url(const char *url, char *why, size_t size)
{
	const char *problem = check_url(url, why, size);

	if (problem)
		return problem;
	if (strncmp(url, "https://", 8) != 0) {
		snprintf(why, size, "the credentials it carries are never sent in clear");
		return "expected an https:// URL for";
	}
	if (strchr(url + 8, '@')) {
		snprintf(why, size, "no user or password in the URL");
		return "not a valid URL for";
	}
	return NULL;
}

/* ---- Security Command Center: outputs.scc ------------------------------------------------ */

const char *check_scc_number(const char *value, char *why, size_t size)
{
	if (!is_digits(value, 20)) {
		snprintf(why, size, "the numeric id (1 to 20 digits), as 123456789012");
		return "not a number for";
	}
	return NULL;
}

const char *check_scc_source(const char *value, char *why, size_t size)
{
	if (strcmp(value, CONFIG_SCC_CREATE) == 0)
		return NULL;
	if (check_scc_number(value, why, size)) {
		snprintf(why, size, "the numeric source id (1 to 20 digits), or %s",
			 CONFIG_SCC_CREATE);
		return "not a source for";
	}
	return NULL;
}

/* A location of SCC's data residency (global, eu, us, sa...): lowercase letters, digits, '-' */
const char *check_scc_location(const char *value, char *why, size_t size)
{
	size_t n = strlen(value);

	if (n == 0 || n > 63 || strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789-") != n) {
		snprintf(why, size, "1 to 63 lowercase letters, digits and '-', as global");
		return "not a location for";
	}
	return NULL;
}

/* A service account's key file (a secret, as creds_file), or "metadata" */
const char *check_scc_credentials(const char *value, char *why, size_t size)
{
	if (strcmp(value, CONFIG_SCC_METADATA) == 0)
		return NULL;
	if (value[0] != '/') {
		snprintf(why, size, "an absolute path to a key file, or %s", CONFIG_SCC_METADATA);
		return "cannot use";
	}
	return check_creds_file(value, why, size);
}

/* outputs.syslog.address */
const char *check_syslog_address(const char *address, char *why, size_t size)
{
	if (strncmp(address, "unix://", 7) == 0) {
		const char *path = address + 7;

		if (path[0] != '/')
			snprintf(why, size,
				 "the socket's path must be absolute, as unix:///dev/log");
		else if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			snprintf(why, size, "a socket's path has at most %zu bytes",
				 sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		else
			return NULL;
		return "not a valid address for";
	}
	if (strncmp(address, "udp://", 6) == 0 || strncmp(address, "tcp://", 6) == 0)
		return host_port_valid(address + 6, true, true, why, size)
			   ? NULL
			   : "not a valid address for";
	snprintf(why, size, "expected unix:///PATH, udp://HOST:PORT or tcp://HOST:PORT");
	return "not a valid address for";
}

/* metrics.listen: an address of this machine, so no names but localhost */
const char *check_listen(const char *value, char *why, size_t size)
{
	return host_port_valid(value, false, true, why, size) ? NULL : "not a valid address for";
}

/*
 * Opens path, which must be a regular file and not empty; -1 with the reason in why.
 * Never blocks (a FIFO is refused, not waited on).
 */
static int open_regular(const char *path, struct stat *st, char *why, size_t size)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(why, size, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, st))
		snprintf(why, size, "%s: %s", path, strerror(errno));
	else if (!S_ISREG(st->st_mode))
		snprintf(why, size, "%s: not a regular file", path);
	else if (st->st_size == 0)
		snprintf(why, size, "%s: empty", path);
	else
		return fd;
	close(fd);
	return -1;
}

/*
 * A file a library opens again at each connection (a CA file, NATS credentials): whoever can
 * change it, or a directory on its way, could add a CA or swap the credentials. So, as the
 * outputs check it at start (util/safe_path.h): the file, symbolic links resolved, and every
 * directory to it root's (or sowatch's user's) alone.
 */
static const char *check_file_owners(const char *path, char *why, size_t size)
{
	char resolved[PATH_MAX];
	struct safe_path sp;
	int err = safe_path_resolve_file(&sp, path, "the file", resolved);

	if (!err)
		return NULL;
	snprintf(why, size, "%s: %s", path, sp.reason);
	return err == -EPERM ? "refusing" : "cannot use";
}

/* ca_file: checked when the file is loaded, so that a reload checks it too */
const char *check_ca_file(const char *path, char *why, size_t size)
{
	struct stat st;
	int fd = open_regular(path, &st, why, size);

	if (fd < 0)
		return "cannot use";
	close(fd);
	return check_file_owners(path, why, size);
}

#define MAX_SECRET_BYTES SECRET_FILE_MAX

/*
 * Opens a file that holds a secret, which only its owner may read or change; else -1 with the
 * reason in why. The rest as open_regular().
 */
static int open_secret(const char *path, struct stat *st, char *why, size_t size)
{
	int fd = open_regular(path, st, why, size);

	if (fd < 0)
		return -1;
	if (st->st_mode & 077) {
		snprintf(why, size,
			 "%s: readable or writable by group or others (mode %04o): chmod 600 it",
			 path, (unsigned)(st->st_mode & 07777));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A secret file of one line (open_secret()). The secret, called `noun` in messages, is the
 * file's text without trailing white space; it must be non-empty and hold no spaces or
 * control bytes, nor a byte of `refused` (NULL: none). It is read here only to be checked.
 */
static const char *check_secret_line(const char *path, const char *noun, const char *refused,
				     char *why, size_t size)
{
	char text[MAX_SECRET_BYTES + 1];
	struct stat st;
	ssize_t n;
	size_t len;
	int fd = open_secret(path, &st, why, size), err;

	if (fd < 0)
		return "cannot use";
	do
		n = read(fd, text, sizeof(text));
	while (n < 0 && errno == EINTR);
	err = errno; /* before close() may change it */
	close(fd);
	len = n > 0 ? (size_t)n : 0;
	while (len && strchr(" \t\r\n", text[len - 1]))
		len--;
	if (n < 0)
		snprintf(why, size, "%s: %s", path, strerror(err));
	else if (n > MAX_SECRET_BYTES)
		snprintf(why, size, "%s: larger than %d bytes", path, MAX_SECRET_BYTES);
	else if (len == 0)
		snprintf(why, size, "%s: empty", path);
	else
		why[0] = '\0';
	for (size_t i = 0; i < len && !why[0]; i++) {
		if ((unsigned char)text[i] <= ' ' || text[i] == 0x7f)
			snprintf(why, size, "%s: the %s holds a space or a control byte", path,
				 noun);
		else if (refused && strchr(refused, text[i]))
			snprintf(why, size,
				 "%s: the %s holds '%c', which NATS clients send unescaped", path,
				 noun, text[i]);
	}
	explicit_bzero(text, sizeof(text));
	return why[0] ? "cannot use" : NULL;
}

/*
 * outputs.webhook.bearer_token_file: a secret, so only its owner may read or change it. The
 * token must hold no spaces or control bytes: it goes into a header line.
 */
const char *check_token_file(const char *path, char *why, size_t size)
{
	return check_secret_line(path, "token", NULL, why, size);
}

/* ---- NATS: outputs.nats and collect ------------------------------------------------------ */

/*
 * One of servers: nats://HOST:PORT or tls://HOST:PORT, HOST as for a webhook. The scheme is
 * lowercase only: the output chooses TLS by it, and a "TLS://" taken for plain text would
 * send findings in the clear. A user or password in the URL is refused so that no secret
 * sits in the configuration, which is often readable by more people than a 0600 file.
 */
const char *check_nats_server(const char *url, char *why, size_t size)
{
	const char *authority;

	/* "servers: nats://a:4222, nats://b:4222" is one YAML text: say how to make it a list */
	if (strchr(url, ',')) {
		snprintf(why, size,
			 "one server per item of a list, as [nats://a:4222, nats://b:4222]");
		return "not a valid server for";
	}
	if (strchr(url, '@')) {
		snprintf(why, size,
			 "no user or password in the URL: give user and password_file, or "
			 "creds_file, so that no secret sits in the configuration");
		return "not a valid server for";
	}
	for (const unsigned char *c = (const unsigned char *)url; *c; c++)
		if (*c <= ' ' || *c >= 0x7f)
			return "must hold no spaces, control bytes or non-ASCII bytes:";
	if (strncmp(url, "nats://", 7) == 0)
		authority = url + 7;
	else if (strncmp(url, "tls://", 6) == 0)
		authority = url + 6;
	else
		return "expected a nats:// or tls:// URL (lowercase) for";
	if (authority[strcspn(authority, "/?#")]) {
		snprintf(why, size, "nothing may follow HOST:PORT");
		return "not a valid server for";
	}
	return host_port_valid(authority, true, true, why, size) ? NULL : "not a valid server for";
}

/* NATS subject tokens and JetStream names: the characters every NATS tool takes as they are */
#define NATS_NAME_CHARS		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
#define NATS_SUBJECT_PREFIX_MAX 100
#define NATS_NAME_MAX		32

/*
 * subject_prefix: a finding's subject is <prefix>.<host>.<severity>, so the prefix is whole
 * tokens, and no wildcard: a node publishes to a subject, never to a pattern. At most 100
 * bytes, to leave room for the host within a subject.
 */
const char *check_nats_subject_prefix(const char *prefix, char *why, size_t size)
{
	const char *what = "not a valid NATS subject prefix for";
	size_t len = strlen(prefix);

	if (len > NATS_SUBJECT_PREFIX_MAX) {
		snprintf(why, size, "at most %d bytes", NATS_SUBJECT_PREFIX_MAX);
		return what;
	}
	if (strpbrk(prefix, "*>")) {
		snprintf(why, size, "'*' and '>' are wildcards: findings go to one subject");
		return what;
	}
	for (const char *token = prefix;; token++) {
		size_t n = strspn(token, NATS_NAME_CHARS);

		if (n == 0 && (*token == '.' || *token == '\0')) {
			snprintf(why, size, "an empty token (a dot at either end, or two dots)");
			return what;
		}
		token += n;
		if (*token == '\0')
			return NULL;
		if (*token != '.') {
			snprintf(why, size,
				 "tokens of letters, digits, '_' and '-', separated by dots");
			return what;
		}
	}
}

/*
 * stream and durable: JetStream uses these names in its API subjects and its files, so
 * letters, digits, '_' and '-' only (no '.', '*', '>', '/', spaces).
 */
const char *check_nats_name(const char *name, char *why, size_t size)
{
	size_t len = strlen(name);

	if (len >= 1 && len <= NATS_NAME_MAX && strspn(name, NATS_NAME_CHARS) == len)
		return NULL;
	snprintf(why, size, "1 to %d letters, digits, '_' or '-'", NATS_NAME_MAX);
	return "not a valid name for";
}

/*
 * user: printable ASCII without spaces. The NATS C client writes the user and the password
 * into its CONNECT line's JSON as they are, unescaped, so '"' and '\' would break that line:
 * they are refused too.
 */
const char *check_nats_user(const char *user, char *why, size_t size)
{
	if (!user[0])
		return "expected a non-empty text value for";
	for (const char *c = user; *c; c++)
		if (*c <= ' ' || *c >= 0x7f || *c == '"' || *c == '\\') {
			snprintf(
			    why, size,
			    "printable ASCII only, without spaces, control bytes, '\"' or '\\'");
			return "not a valid NATS user for";
		}
	return NULL;
}

/* password_file: one line, as the webhook's token, and without '"' or '\' (see above) */
const char *check_password_file(const char *path, char *why, size_t size)
{
	return check_secret_line(path, "password", "\"\\", why, size);
}

/*
 * creds_file: a NATS credentials file (a user JWT and its NKey seed, on several lines),
 * a secret as the token file is. Its text is the NATS client's to read.
 */
const char *check_creds_file(const char *path, char *why, size_t size)
{
	struct stat st;
	int fd = open_secret(path, &st, why, size);

	if (fd < 0)
		return "cannot use";
	close(fd);
	return check_file_owners(path, why, size);
}

/* ---- Webhook headers --------------------------------------------------------------------- */

/*
 * Headers sowatch sets itself, or that would change how the body is framed: a user's copy
 * would be sent besides ours, or instead.
 */
static const char *const reserved_headers[] = { "Authorization",	"Content-Type",
						"Content-Length",	"Transfer-Encoding",
						"X-Sowatch-Finding-Id", NULL };

/* RFC 9110's token: letters, digits and !#$%&'*+-.^_`|~ */
static bool is_http_token(const char *s)
{
	if (!s[0])
		return false;
	for (; *s; s++)
		if (!is_alnum(*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return false;
	return true;
}

bool has_control_byte(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return true;
	return false;
}

/* The header's name is refused, or given twice (names are case-insensitive): what is wrong */
const char *header_name_problem(const struct config_webhook *wh, const char *header)
{
	if (!is_http_token(header))
		return "not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only):";
	for (size_t i = 0; reserved_headers[i]; i++)
		if (strcasecmp(header, reserved_headers[i]) == 0)
			return "sowatch sets this header itself:";
	for (size_t i = 0; i < wh->n_headers; i++)
		if (strcasecmp(header, wh->headers[i].name) == 0)
			return "key given twice:";
	return NULL;
}

bool is_sha256_hex(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == 64 && s[n] == '\0';
}

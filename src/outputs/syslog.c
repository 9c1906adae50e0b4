// SPDX-License-Identifier: Apache-2.0
#include "outputs/syslog.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* No send() waits longer than this on a receiver, connecting included. */
#define SYSLOG_TIMEOUT_MS 5000
/* ... and it looks at *stopping at least this often. */
#define SYSLOG_SLICE_MS 1000
/* tcp://[HOST]:PORT with the longest host name, 255; unix:// with the longest sun_path, 107 */
#define SYSLOG_ADDRESS_MAX 272
/* res->error takes 255 of it; the room is for the compiler's sake */
#define SYSLOG_ERROR_MAX 512
/* RFC 5424 6.2.4: HOSTNAME is at most 255 printable US-ASCII characters. */
#define SYSLOG_HOSTNAME_MAX 255

enum syslog_transport {
	SYSLOG_UNIX,
	SYSLOG_UDP,
	SYSLOG_TCP,
};

struct syslog_output {
	struct output base; /* first: the delivery thread knows only this */
	enum syslog_transport transport;
	int facility_code;
	char address[SYSLOG_ADDRESS_MAX + 1];
	struct sockaddr_un sun; /* SYSLOG_UNIX */
	char host[256];		/* SYSLOG_UDP, SYSLOG_TCP: a name or an address, no brackets */
	char port[6];
	int fd;		  /* -1: not connected; send() connects */
	bool stream;	  /* fd is a stream socket: messages are octet-counted (RFC 6587) */
	bool unix_stream; /* the unix socket refused a datagram socket (EPROTOTYPE) */
};

/* ---------------------------------------------------------------------------------------------
 * The message (RFC 5424)
 */

int syslog_severity(const char *severity)
{
	static const struct {
		const char *name;
		int code;
	} map[] = {
		{ "CRITICAL", 2 }, /* crit */
		{ "HIGH", 3 },	   /* err */
		{ "MEDIUM", 4 },   /* warning */
		{ "LOW", 5 },	   /* notice */
	};

	for (size_t i = 0; severity && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(severity, map[i].name) == 0)
			return map[i].code;
	return 6; /* info */
}

/* RFC 3339 in UTC with microseconds (RFC 5424 allows six fraction digits), or NILVALUE. */
static int add_timestamp(struct strbuf *out, int64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;

	if (ns <= 0 || !gmtime_r(&sec, &tm) || tm.tm_year + 1900 > 9999)
		return strbuf_addc(out, '-');
	return strbuf_addf(out, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
			   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			   (int)(ns % 1000000000 / 1000));
}

/* Printable US-ASCII only (33..126), at most 255 of them; NILVALUE when there is none. */
static int add_hostname(struct strbuf *out, const char *hostname)
{
	size_t n = hostname ? strnlen(hostname, SYSLOG_HOSTNAME_MAX) : 0;

	if (n == 0)
		return strbuf_addc(out, '-');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)hostname[i];

		if (strbuf_addc(out, c >= 33 && c <= 126 ? (char)c : '_'))
			return -ENOMEM;
	}
	return 0;
}

/* RFC 5424 6.3.3: in a PARAM-VALUE, '"', '\' and ']' are escaped with a backslash. */
static int add_param_value(struct strbuf *out, const char *value)
{
	for (const char *p = value ? value : ""; *p; p++) {
		if ((*p == '"' || *p == '\\' || *p == ']') && strbuf_addc(out, '\\'))
			return -ENOMEM;
		if (strbuf_addc(out, *p))
			return -ENOMEM;
	}
	return 0;
}

static bool is_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

int syslog_format(struct strbuf *out, int facility_code, const char *hostname, int pid,
		  const struct output_finding *f)
{
	int err;

	err = strbuf_addf(out, "<%d>1 ", facility_code * 8 + syslog_severity(f->severity));
	err = err ?: add_timestamp(out, f->event_time_ns);
	err = err ?: strbuf_addc(out, ' ');
	err = err ?: add_hostname(out, hostname);
	if (pid > 0)
		err = err ?: strbuf_addf(out, " sowatch %d finding [" SYSLOG_SD_ID " id=\"", pid);
	else
		err = err ?: strbuf_adds(out, " sowatch - finding [" SYSLOG_SD_ID " id=\"");
	err = err ?: add_param_value(out, f->id);
	err = err ?: strbuf_adds(out, "\"] ");
	/*
	 * The JSON writer (util/json.c) escapes control characters, but copies valid UTF-8
	 * sequences as they are: a path or an argument can make the line non-ASCII. RFC 5424 6.4
	 * wants UTF-8 in MSG to start with a BOM; plain ASCII needs none, and most lines are.
	 */
	if (!is_ascii(f->json, f->len))
		err = err ?: strbuf_add(out, "\xef\xbb\xbf", 3);
	err = err ?: strbuf_add(out, f->json, f->len);
	return err;
}

/* ---------------------------------------------------------------------------------------------
 * The address
 */

static int parse_host_port(struct syslog_output *s, const char *hostport, char *error, size_t size)
{
	const char *host = hostport, *host_end, *port;
	char *end;
	unsigned long n;

	if (*hostport == '[') {
		host = hostport + 1;
		host_end = strchr(host, ']');
		if (!host_end || host_end[1] != ':') {
			snprintf(error, size, "syslog address %s: expected [IPV6]:PORT",
				 s->address);
			return -EINVAL;
		}
		port = host_end + 2;
	} else {
		host_end = strrchr(hostport, ':');
		if (!host_end) {
			snprintf(error, size, "syslog address %s: no port (HOST:PORT)", s->address);
			return -EINVAL;
		}
		if (memchr(hostport, ':', (size_t)(host_end - hostport))) {
			snprintf(error, size, "syslog address %s: an IPv6 address goes in brackets",
				 s->address);
			return -EINVAL;
		}
		port = host_end + 1;
	}
	if (host_end == host || (size_t)(host_end - host) >= sizeof(s->host)) {
		snprintf(error, size, "syslog address %s: no host, or a host too long", s->address);
		return -EINVAL;
	}
	errno = 0;
	n = strtoul(port, &end, 10);
	if (port[0] < '0' || port[0] > '9' || *end || errno || n == 0 || n > 65535) {
		snprintf(error, size, "syslog address %s: the port must be 1 to 65535", s->address);
		return -EINVAL;
	}
	memcpy(s->host, host, (size_t)(host_end - host));
	s->host[host_end - host] = '\0';
	snprintf(s->port, sizeof(s->port), "%lu", n);
	return 0;
}

static int parse_address(struct syslog_output *s, char *error, size_t size)
{
	const char *a = s->address;

	if (strncmp(a, "unix://", 7) == 0) {
		const char *path = a + 7;

		if (path[0] != '/' || strlen(path) >= sizeof(s->sun.sun_path)) {
			snprintf(error, size,
				 "syslog address %s: unix:// takes an absolute path of at most "
				 "%zu bytes (unix:///dev/log)",
				 a, sizeof(s->sun.sun_path) - 1);
			return -EINVAL;
		}
		s->transport = SYSLOG_UNIX;
		s->sun.sun_family = AF_UNIX;
		strcpy(s->sun.sun_path, path);
		return 0;
	}
	if (strncmp(a, "udp://", 6) == 0)
		s->transport = SYSLOG_UDP;
	else if (strncmp(a, "tcp://", 6) == 0)
		s->transport = SYSLOG_TCP;
	else {
		snprintf(error, size,
			 "syslog address %s: expected unix:///PATH, udp://HOST:PORT or "
			 "tcp://HOST:PORT",
			 a);
		return -EINVAL;
	}
	return parse_host_port(s, a + 6, error, size);
}

/* ---------------------------------------------------------------------------------------------
 * The socket
 */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Waits until fd has one of events, until deadline (now_ms()), a second at a time so that
 * *stopping is seen soon. 0 (ready, or in error: the next call on fd says which), -ETIMEDOUT,
 * -ECANCELED (stopping) or -errno.
 */
static int wait_fd(int fd, short events, int64_t deadline, const volatile int *stopping)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline - now_ms();
		int n;

		if (stopping && *stopping)
			return -ECANCELED;
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)(left < SYSLOG_SLICE_MS ? left : SYSLOG_SLICE_MS));
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			return 0;
	}
}

/* A non-blocking socket connected to addr, or -errno. */
static int connect_one(int family, int type, const struct sockaddr *addr, socklen_t len,
		       int64_t deadline, const volatile int *stopping)
{
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (connect(fd, addr, len) < 0) {
		err = -errno;
		if (err == -EINPROGRESS) {
			socklen_t optlen = sizeof(err);
			int soerr = 0;

			err = wait_fd(fd, POLLOUT, deadline, stopping);
			if (err == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &optlen) < 0)
				err = -errno;
			else if (err == 0)
				err = -soerr;
		}
	}
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static void close_socket(struct syslog_output *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static const char *error_name(int err)
{
	if (err == -ETIMEDOUT)
		return "no answer within 5 s";
	if (err == -ECANCELED)
		return "sowatch is stopping";
	return strerror(-err);
}

static int connect_unix(struct syslog_output *s, int64_t deadline, const volatile int *stopping)
{
	socklen_t len =
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(s->sun.sun_path) + 1);
	int fd;

	/*
	 * rsyslog's imuxsock and journald's /dev/log are datagram sockets; some syslog daemons
	 * listen on a stream socket there instead, which a datagram connect() tells by EPROTOTYPE.
	 */
	for (int attempt = 0; attempt < 2; attempt++) {
		fd = connect_one(AF_UNIX, s->unix_stream ? SOCK_STREAM : SOCK_DGRAM,
				 (const struct sockaddr *)&s->sun, len, deadline, stopping);
		if (fd != -EPROTOTYPE)
			break;
		s->unix_stream = !s->unix_stream;
	}
	if (fd >= 0)
		s->stream = s->unix_stream;
	return fd;
}

/*
 * Resolves the host on each connection (getaddrinfo cannot be given a timeout: a name whose DNS
 * server does not answer can hold send() past SYSLOG_TIMEOUT_MS, by resolv.conf's timeouts; an
 * address never waits on it) and connects to the first address that answers.
 */
static int connect_inet(struct syslog_output *s, int64_t deadline, const volatile int *stopping,
			char *error, size_t size)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = s->transport == SYSLOG_TCP ? SOCK_STREAM : SOCK_DGRAM,
		.ai_flags = AI_NUMERICSERV,
	};
	struct addrinfo *list, *ai;
	int fd = -EHOSTUNREACH, gai;

	gai = getaddrinfo(s->host, s->port, &hints, &list);
	if (gai) {
		snprintf(error, size, "syslog receiver %s: cannot resolve the host: %s", s->address,
			 gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		return -EHOSTUNREACH;
	}
	for (ai = list; ai; ai = ai->ai_next) {
		fd = connect_one(ai->ai_family, ai->ai_socktype, ai->ai_addr, ai->ai_addrlen,
				 deadline, stopping);
		if (fd >= 0 || fd == -ECANCELED || fd == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(list);
	if (fd >= 0)
		s->stream = s->transport == SYSLOG_TCP;
	else
		snprintf(error, size, "syslog receiver %s: cannot connect: %s", s->address,
			 error_name(fd));
	return fd;
}

/*
 * A stream the receiver has closed (or reset) still takes a send() or two into the local buffer,
 * and the message would be lost without a word: rsyslog never writes to a syslog connection, so
 * anything readable on it (end of file, an error) means it is gone.
 */
static bool stream_broken(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };

	return poll(&p, 1, 0) != 0;
}

/* Sends the whole frame on a stream, or closes the connection and answers why. */
static void send_stream(struct syslog_output *s, const char *frame, size_t len, int64_t deadline,
			const volatile int *stopping, struct output_result *res)
{
	size_t done = 0;
	char error[SYSLOG_ERROR_MAX];

	while (done < len) {
		ssize_t n = send(s->fd, frame + done, len - done, MSG_NOSIGNAL);
		int err;

		if (n >= 0) {
			done += (size_t)n;
			continue;
		}
		err = -errno;
		if (err == -EINTR)
			continue;
		if (err == -EAGAIN || err == -EWOULDBLOCK)
			err = wait_fd(s->fd, POLLOUT, deadline, stopping);
		if (err == 0)
			continue;
		/*
		 * Broken mid-message: the receiver drops an octet-counted frame it did not get
		 * whole (rsyslog: "Incomplete frame at end of stream ... ignoring extra data"), so
		 * the next send() reconnects and sends all of it again.
		 */
		close_socket(s);
		snprintf(error, sizeof(error), "syslog receiver %s: sent %zu of %zu bytes: %s",
			 s->address, done, len, error_name(err));
		output_result_set(res, OUTPUT_RETRY, error);
		return;
	}
	output_result_set(res, OUTPUT_SENT, NULL);
}

static void send_datagram(struct syslog_output *s, const char *msg, size_t len, int64_t deadline,
			  const volatile int *stopping, struct output_result *res)
{
	char error[SYSLOG_ERROR_MAX];

	for (;;) {
		ssize_t n = send(s->fd, msg, len, MSG_NOSIGNAL);
		int err;

		if (n >= 0) {
			output_result_set(res, OUTPUT_SENT, NULL);
			return;
		}
		err = -errno;
		if (err == -EINTR)
			continue;
		/* A local receiver's queue is full, or the interface's: wait for room. */
		if (err == -EAGAIN || err == -EWOULDBLOCK || err == -ENOBUFS)
			err = wait_fd(s->fd, POLLOUT, deadline, stopping);
		if (err == 0)
			continue;
		if (err == -EMSGSIZE) {
			snprintf(error, sizeof(error),
				 "syslog receiver %s: a message of %zu bytes does not fit in a "
				 "datagram (use tcp://)",
				 s->address, len);
			output_result_set(res, OUTPUT_FAILED, error);
			return;
		}
		/* The receiver went away (ECONNREFUSED: restarted, or an ICMP port unreachable). */
		close_socket(s);
		snprintf(error, sizeof(error), "syslog receiver %s: %s", s->address,
			 error_name(err));
		output_result_set(res, OUTPUT_RETRY, error);
		return;
	}
}

static void syslog_send(struct output *out, const struct output_finding *f,
			const volatile int *stopping, struct output_result *res)
{
	struct syslog_output *s = (struct syslog_output *)out;
	int64_t deadline = now_ms() + SYSLOG_TIMEOUT_MS;
	char hostname[SYSLOG_HOSTNAME_MAX + 1] = "";
	struct strbuf msg = STRBUF_INIT, frame = STRBUF_INIT;
	char error[SYSLOG_ERROR_MAX];

	/* The host can be renamed while sowatch runs; gethostname() is one cheap uname(). */
	if (gethostname(hostname, sizeof(hostname)) < 0)
		hostname[0] = '\0';
	hostname[sizeof(hostname) - 1] = '\0';
	if (syslog_format(&msg, s->facility_code, hostname, (int)getpid(), f)) {
		output_result_set(res, OUTPUT_RETRY, "syslog: out of memory");
		goto out;
	}
	if (s->fd >= 0 && s->stream && stream_broken(s->fd))
		close_socket(s);
	if (s->fd < 0) {
		int fd;

		if (s->transport == SYSLOG_UNIX) {
			fd = connect_unix(s, deadline, stopping);
			if (fd < 0)
				snprintf(error, sizeof(error),
					 "syslog receiver %s: cannot connect: %s", s->address,
					 error_name(fd));
		} else {
			fd = connect_inet(s, deadline, stopping, error, sizeof(error));
		}
		if (fd < 0) {
			output_result_set(res, OUTPUT_RETRY, error);
			goto out;
		}
		s->fd = fd;
	}
	if (s->stream) {
		/* RFC 6587 3.4.1 octet counting: "MSG-LEN SP SYSLOG-MSG", no trailer. */
		if (strbuf_addf(&frame, "%zu ", msg.len) || strbuf_add(&frame, msg.buf, msg.len)) {
			output_result_set(res, OUTPUT_RETRY, "syslog: out of memory");
			goto out;
		}
		send_stream(s, frame.buf, frame.len, deadline, stopping, res);
	} else {
		send_datagram(s, msg.buf, msg.len, deadline, stopping, res);
	}
out:
	strbuf_release(&frame);
	strbuf_release(&msg);
}

/* Log rotation has nothing to reopen here; a new connection is cheap and finds a new daemon. */
static void syslog_reopen(struct output *out)
{
	close_socket((struct syslog_output *)out);
}

static void syslog_free(struct output *out)
{
	struct syslog_output *s = (struct syslog_output *)out;

	if (!s)
		return;
	close_socket(s);
	free(s);
}

static const struct output_ops syslog_ops = {
	.name = "syslog",
	.send = syslog_send,
	.reopen = syslog_reopen,
	.free = syslog_free,
};

int syslog_output_new(struct output **ret, const struct config_syslog *cfg, char *error,
		      size_t size)
{
	struct syslog_output *s;
	int err;

	*ret = NULL;
	if (strnlen(cfg->address, sizeof(cfg->address)) > SYSLOG_ADDRESS_MAX ||
	    strnlen(cfg->facility, sizeof(cfg->facility)) >= sizeof(cfg->facility)) {
		snprintf(error, size, "syslog address %.64s...: too long", cfg->address);
		return -EINVAL;
	}
	if (cfg->facility_code < 0 || cfg->facility_code > 23) {
		snprintf(error, size, "syslog facility %s: code %d is not 0 to 23", cfg->facility,
			 cfg->facility_code);
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(error, size, "syslog: out of memory");
		return -ENOMEM;
	}
	s->base.ops = &syslog_ops;
	s->fd = -1;
	s->facility_code = cfg->facility_code;
	strcpy(s->address, cfg->address);
	err = parse_address(s, error, size);
	if (err) {
		free(s);
		return err;
	}
	/* A valid address is at most about 270 bytes (a host name is 255 at most) */
	snprintf(s->base.settings, sizeof(s->base.settings), "address=%.400s facility=%s(%d)",
		 cfg->address, cfg->facility, cfg->facility_code);
	for (char *p = s->base.settings; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			*p = '?';
	*ret = &s->base;
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
#include "sources/gvisor.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "proc/sandbox_root.h"
#include "sources/gvisor_decode.h"
#include "util/log.h"
#include "util/safe_path.h"

#define BATCH_PER_CONN	256 /* messages read from one sandbox before the others get a turn */
#define MALFORMED_CLOSE 32  /* a peer sending mostly garbage is closed after this many */
#define LOG_INTERVAL_NS (10 * 1000000000ull)
#define EPOLL_BATCH	64

enum conn_state { CONN_HANDSHAKE, CONN_RUNNING };

/* One sandbox. */
struct conn {
	int fd;
	enum conn_state state;
	bool dead; /* closed; freed once the current epoll batch is done */
	pid_t peer_pid;
	uint64_t id;
	uint64_t handshake_deadline_ns; /* CLOCK_MONOTONIC */
	struct gvisor_decoder *dec;
	uint64_t received, malformed;
	uint64_t drops_logged; /* dropped_by_gvisor when last logged */
	uint64_t last_drop_log_ns, last_behind_log_ns;
	char name[160];
	/* What the runsc that connected was told, read at the handshake (it may exit later): its
	 * state directory (--root), where its containers' roots are found, and its cwd. */
	char runsc_state_dir[PATH_MAX];
	char runsc_cwd[PATH_MAX];
	struct conn *prev, *next;
};

struct gvisor_source {
	int listen_fd, epoll_fd, timer_fd;
	char *path;
	ino_t sock_ino;
	event_handler_fn on_event;
	void *ctx;
	uint8_t *buf; /* one message */
	struct conn *conns;
	size_t nconns;
	uint64_t next_id;
	struct gvisor_stats stats;	  /* the server's own counters */
	struct gvisor_decoder_stats gone; /* decoders of closed connections, summed */
	bool enforce_mode;		  /* enforce mode is on (it cannot act on sandboxes) */
};

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void decoder_stats_add(struct gvisor_decoder_stats *sum,
			      const struct gvisor_decoder_stats *s)
{
	sum->messages += s->messages;
	sum->malformed += s->malformed;
	sum->unknown_type += s->unknown_type;
	sum->no_context += s->no_context;
	sum->dropped_by_gvisor += s->dropped_by_gvisor;
	sum->procs_evicted += s->procs_evicted;
	sum->fds_evicted += s->fds_evicted;
	sum->maps_untracked += s->maps_untracked;
}

/* "<container id> (pid N)", the container once a message named it */
static const char *conn_name(struct conn *c)
{
	const char *ctr = c->dec ? gvisor_decoder_container(c->dec) : "";

	snprintf(c->name, sizeof(c->name), "%s (pid %d)", ctr[0] ? ctr : "?", (int)c->peer_pid);
	return c->name;
}

/*
 * A pid space per connection: gVisor's pids are the sandbox's own. Bit 63 keeps these apart
 * from the host's (0) and from any kernel namespace inode number.
 */
static uint64_t conn_ns(const struct conn *c)
{
	uint64_t parts[3] = { (uint64_t)c->peer_pid, clock_ns(CLOCK_REALTIME), c->id };
	const uint8_t *p = (const uint8_t *)parts;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < sizeof(parts); i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h | (1ull << 63);
}

/* At most once per LOG_INTERVAL_NS, unless `last` (the connection ends: say it now). */
static void log_drops(struct conn *c, uint64_t now, bool last)
{
	uint64_t dropped = gvisor_decoder_stats(c->dec)->dropped_by_gvisor;

	if (dropped == c->drops_logged || (!last && now - c->last_drop_log_ns < LOG_INTERVAL_NS))
		return;
	log_warn("gvisor: sandbox %s could not send %llu points (%llu in all): its socket was "
		 "full, or a point was bigger than the socket's buffer",
		 conn_name(c), (unsigned long long)(dropped - c->drops_logged),
		 (unsigned long long)dropped);
	c->drops_logged = dropped;
	c->last_drop_log_ns = now;
}

static void conn_close(struct gvisor_source *src, struct conn *c, bool rejected)
{
	if (c->dead)
		return;
	c->dead = true;
	epoll_ctl(src->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	if (c->state == CONN_RUNNING)
		src->stats.disconnected++;
	if (rejected)
		src->stats.rejected++;
	if (c->dec) {
		log_drops(c, clock_ns(CLOCK_MONOTONIC), true);
		/* The sandbox's processes go with its connection: gVisor never reconnects. */
		struct event ev = { .kind = EVENT_NS_GONE, .source = "gvisor", .ns = conn_ns(c) };

		src->on_event(&ev, src->ctx);
		decoder_stats_add(&src->gone, gvisor_decoder_stats(c->dec));
		gvisor_decoder_free(c->dec);
		c->dec = NULL;
	}
}

static void conns_reap(struct gvisor_source *src)
{
	struct conn *c = src->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (!c->dead)
			continue;
		if (c->prev)
			c->prev->next = c->next;
		else
			src->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		src->nconns--;
		free(c);
	}
}

/* Wake up for the earliest handshake deadline, or never. */
static void timer_rearm(struct gvisor_source *src)
{
	struct itimerspec its = { 0 };
	uint64_t first = 0;

	for (struct conn *c = src->conns; c; c = c->next)
		if (!c->dead && c->state == CONN_HANDSHAKE &&
		    (!first || c->handshake_deadline_ns < first))
			first = c->handshake_deadline_ns;
	its.it_value.tv_sec = first / 1000000000ull;
	its.it_value.tv_nsec = first % 1000000000ull;
	if (timerfd_settime(src->timer_fd, TFD_TIMER_ABSTIME, &its, NULL))
		log_warn("gvisor: cannot arm the handshake timer: %s", strerror(errno));
}

static void handshake_timeouts(struct gvisor_source *src)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC), expirations;

	if (read(src->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_debug("gvisor: reading the timer: %s", strerror(errno));
	for (struct conn *c = src->conns; c; c = c->next) {
		if (c->dead || c->state != CONN_HANDSHAKE || c->handshake_deadline_ns > now)
			continue;
		log_warn("gvisor: peer pid %d sent no handshake within %d s: closed",
			 (int)c->peer_pid, GVISOR_HANDSHAKE_TIMEOUT_S);
		conn_close(src, c, true);
	}
	timer_rearm(src);
}

static void accept_one(struct gvisor_source *src, int fd)
{
	struct epoll_event ee = { .events = EPOLLIN };
	struct ucred cred = { 0 };
	socklen_t len = sizeof(cred);
	struct conn *c;

	if (src->nconns >= GVISOR_MAX_SANDBOXES) {
		log_warn("gvisor: %d sandboxes connected already: refusing another",
			 GVISOR_MAX_SANDBOXES);
		src->stats.rejected++;
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		src->stats.rejected++;
		close(fd);
		return;
	}
	getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
	c->fd = fd;
	c->peer_pid = cred.pid;
	c->id = ++src->next_id;
	c->handshake_deadline_ns =
	    clock_ns(CLOCK_MONOTONIC) + GVISOR_HANDSHAKE_TIMEOUT_S * 1000000000ull;
	ee.data.ptr = c;
	if (epoll_ctl(src->epoll_fd, EPOLL_CTL_ADD, fd, &ee)) {
		log_warn("gvisor: cannot watch a new connection: %s", strerror(errno));
		src->stats.rejected++;
		close(fd);
		free(c);
		return;
	}
	c->next = src->conns;
	if (src->conns)
		src->conns->prev = c;
	src->conns = c;
	src->nconns++;
	log_debug("gvisor: connection from pid %d (uid %d)", (int)cred.pid, (int)cred.uid);
}

static void accept_all(struct gvisor_source *src)
{
	for (;;) {
		int fd = accept4(src->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				log_warn("gvisor: accept: %s", strerror(errno));
			break;
		}
		accept_one(src, fd);
	}
	timer_rearm(src);
}

/* gvisor_root_fn: a container's root, from runsc's state (see proc/sandbox_root.h). */
static bool container_root(const char *container_id, char *ret, size_t size, void *ctx)
{
	struct conn *c = ctx;
	const char *const dirs[] = { c->runsc_state_dir, NULL };
	int r = sandbox_root_find(container_id, dirs, c->runsc_cwd, ret, size);

	if (r == 0 && strcmp(ret, "/") != 0)
		log_info("gvisor: container %s (pid %d): its files are read under %s", container_id,
			 (int)c->peer_pid, ret);
	else if (r == -ENOENT)
		log_debug("gvisor: container %s (pid %d): no runsc state names it: its paths are "
			  "read on the host",
			  container_id, (int)c->peer_pid);
	else if (r)
		log_warn("gvisor: container %s (pid %d): runsc's state gives no usable root (%s): "
			 "its paths are read on the host",
			 container_id, (int)c->peer_pid, strerror(-r));
	return r == 0;
}

/* The sandbox speaks first: its Handshake, then it waits for ours. */
static void handshake(struct gvisor_source *src, struct conn *c)
{
	uint8_t out[64];
	uint32_t version;
	ssize_t n;
	int len;

	n = recv(c->fd, src->buf, GVISOR_HANDSHAKE_MAX + 1, MSG_TRUNC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		log_info("gvisor: peer pid %d went away before its handshake", (int)c->peer_pid);
		conn_close(src, c, false);
		return;
	}
	if (n > GVISOR_HANDSHAKE_MAX || gvisor_decode_handshake(src->buf, n, &version)) {
		log_warn("gvisor: peer pid %d sent a malformed handshake (%zd bytes): closed",
			 (int)c->peer_pid, n);
		conn_close(src, c, true);
		return;
	}
	if (version < GVISOR_WIRE_VERSION) {
		log_warn("gvisor: peer pid %d speaks version %u, sowatch needs %d: closed",
			 (int)c->peer_pid, version, GVISOR_WIRE_VERSION);
		conn_close(src, c, true);
		return;
	}
	len = gvisor_encode_handshake(out, sizeof(out));
	c->dec = gvisor_decoder_new(conn_ns(c), src->on_event, src->ctx);
	if (c->dec) {
		gvisor_decoder_set_root_fn(c->dec, container_root, c);
		gvisor_decoder_set_enforce_mode(c->dec, src->enforce_mode);
	}
	/* While runsc is still there: `runsc create` exits once the sandbox exists. */
	if (c->peer_pid > 0 &&
	    sandbox_runsc_dirs_of_pid(c->peer_pid, c->runsc_state_dir, sizeof(c->runsc_state_dir),
				      c->runsc_cwd, sizeof(c->runsc_cwd)))
		log_debug("gvisor: cannot read what runsc (pid %d) was told", (int)c->peer_pid);
	if (len < 0 || !c->dec || send(c->fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT) != len) {
		log_warn("gvisor: cannot answer the handshake of pid %d: %s", (int)c->peer_pid,
			 c->dec ? strerror(errno) : "out of memory");
		conn_close(src, c, true);
		return;
	}
	c->state = CONN_RUNNING;
	src->stats.connected++;
	if (version > GVISOR_WIRE_VERSION)
		log_info("gvisor: sandbox (pid %d) speaks version %u; sowatch reads version %d's "
			 "fields",
			 (int)c->peer_pid, version, GVISOR_WIRE_VERSION);
	log_info("gvisor: sandbox connected (pid %d)", (int)c->peer_pid);
	timer_rearm(src);
}

/* Returns messages decoded. */
static int read_messages(struct gvisor_source *src, struct conn *c)
{
	uint64_t now;
	int handled = 0, i;

	for (i = 0; i < BATCH_PER_CONN; i++) {
		ssize_t n = recv(c->fd, src->buf, GVISOR_MESSAGE_MAX, MSG_TRUNC | MSG_DONTWAIT);
		int err;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			if (n < 0)
				log_warn("gvisor: reading from sandbox %s: %s", conn_name(c),
					 strerror(errno));
			log_info("gvisor: sandbox %s disconnected after %llu messages",
				 conn_name(c), (unsigned long long)c->received);
			conn_close(src, c, false);
			return handled;
		}
		c->received++;
		if ((size_t)n > GVISOR_MESSAGE_MAX) {
			log_warn("gvisor: sandbox %s sent a %zd-byte message (limit %u): closed",
				 conn_name(c), n, GVISOR_MESSAGE_MAX);
			src->stats.oversized++;
			src->stats.malformed++;
			conn_close(src, c, true);
			return handled;
		}
		err = gvisor_decode_message(c->dec, src->buf, n);
		if (err == 0)
			handled++;
		if (err == -EBADMSG && c->malformed++ == 0)
			log_warn("gvisor: sandbox %s sent a malformed message (%zd bytes)",
				 conn_name(c), n);
		if (err == -ENOMEM)
			log_warn("gvisor: out of memory decoding a message of sandbox %s",
				 conn_name(c));
		if (c->malformed >= MALFORMED_CLOSE && c->malformed * 2 > c->received) {
			log_warn(
			    "gvisor: sandbox %s sends mostly malformed messages (%llu of %llu): "
			    "closed",
			    conn_name(c), (unsigned long long)c->malformed,
			    (unsigned long long)c->received);
			conn_close(src, c, true);
			return handled;
		}
	}
	now = clock_ns(CLOCK_MONOTONIC);
	log_drops(c, now, false);
	if (i == BATCH_PER_CONN && now - c->last_behind_log_ns >= LOG_INTERVAL_NS) {
		log_debug("gvisor: sandbox %s has more queued: reading it in turns", conn_name(c));
		c->last_behind_log_ns = now;
	}
	return handled;
}

int gvisor_source_poll(struct gvisor_source *src, int timeout_ms)
{
	struct epoll_event events[EPOLL_BATCH];
	int n, handled = 0;

	n = epoll_wait(src->epoll_fd, events, EPOLL_BATCH, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		void *tag = events[i].data.ptr;
		struct conn *c = tag;

		if (tag == &src->listen_fd) {
			accept_all(src);
		} else if (tag == &src->timer_fd) {
			handshake_timeouts(src);
		} else if (!c->dead && c->state == CONN_HANDSHAKE) {
			handshake(src, c);
		} else if (!c->dead) {
			handled += read_messages(src, c);
		}
	}
	conns_reap(src);
	return handled;
}

/*
 * The socket's directory, checked (util/safe_path.h), made 0700 if missing, and writable by
 * nobody else even with the sticky bit: sandboxes find the socket by name, so whoever could
 * put a name there could pose as sowatch. Then what is at the socket's name: nothing, or a
 * socket of ours (whatever its mode) left by a sowatch that died, which is removed. A live
 * one (another sowatch) is refused with -EADDRINUSE; a link, a file, or anyone else's socket
 * with -EPERM, and left where it is. sp->path is then the socket's path without symbolic
 * links.
 */
static int socket_path_prepare(struct safe_path *sp, const char *socket_path,
			       const char **ret_error)
{
	static char error[PATH_MAX + 256];
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	bool stale = false;
	int fd, err, live;

	err = safe_path_open(sp, socket_path, "the gVisor socket",
			     SAFE_PATH_MKDIR | SAFE_PATH_PRIVATE_DIR);
	if (!err) {
		err = safe_path_check_entry(sp, sp->name, S_IFSOCK, NULL);
		stale = err == 0;
		if (err == -ENOENT)
			err = 0;
	}
	if (err) {
		snprintf(error, sizeof(error), "%s", sp->error);
		*ret_error = error;
		return err;
	}
	if (strlen(sp->path) >= sizeof(addr.sun_path)) {
		*ret_error =
		    "the gVisor socket path is too long for a Unix socket (107 bytes at most)";
		return -ENAMETOOLONG;
	}
	if (!stale)
		return 0;
	strcpy(addr.sun_path, sp->path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*ret_error = "cannot create the gVisor socket";
		return -errno;
	}
	live = connect(fd, (const struct sockaddr *)&addr, sizeof(addr)) == 0;
	close(fd);
	if (live) {
		*ret_error = "another process listens on the gVisor socket";
		return -EADDRINUSE;
	}
	if (unlinkat(sp->dir_fd, sp->name, 0) && errno != ENOENT) {
		*ret_error = "cannot remove the stale gVisor socket";
		return -errno;
	}
	return 0;
}

static int epoll_add(int epfd, int fd, void *tag)
{
	struct epoll_event ee = { .events = EPOLLIN, .data.ptr = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ee) ? -errno : 0;
}

void gvisor_source_set_enforce_mode(struct gvisor_source *src, bool on)
{
	src->enforce_mode = on;
}

int gvisor_source_open(struct gvisor_source **ret, const char *socket_path,
		       event_handler_fn on_event, void *ctx, const char **ret_error)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct gvisor_source *src;
	struct safe_path sp;
	struct stat st;
	mode_t old_umask;
	int err;

	*ret = NULL;
	err = socket_path_prepare(&sp, socket_path, ret_error);
	if (!err)
		strcpy(addr.sun_path, sp.path);
	safe_path_close(&sp);
	if (err)
		return err;
	src = calloc(1, sizeof(*src));
	if (!src) {
		*ret_error = "out of memory";
		return -ENOMEM;
	}
	src->listen_fd = src->epoll_fd = src->timer_fd = -1;
	src->on_event = on_event;
	src->ctx = ctx;
	src->path = strdup(addr.sun_path);
	src->buf = malloc(GVISOR_MESSAGE_MAX);
	if (!src->path || !src->buf) {
		*ret_error = "out of memory";
		err = -ENOMEM;
		goto err_close;
	}
	src->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	src->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	src->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (src->listen_fd < 0 || src->epoll_fd < 0 || src->timer_fd < 0) {
		err = -errno;
		*ret_error = "cannot create the gVisor socket";
		goto err_close;
	}
	old_umask = umask(0177); /* the socket is born 0600: no window where others can connect */
	err = bind(src->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) ? -errno : 0;
	umask(old_umask);
	if (!err && (chmod(src->path, 0600) || stat(src->path, &st)))
		err = -errno;
	if (!err && listen(src->listen_fd, SOMAXCONN))
		err = -errno;
	if (err) {
		*ret_error = "cannot listen on the gVisor socket";
		goto err_close;
	}
	src->sock_ino = st.st_ino;
	err = epoll_add(src->epoll_fd, src->listen_fd, &src->listen_fd);
	if (!err)
		err = epoll_add(src->epoll_fd, src->timer_fd, &src->timer_fd);
	if (err) {
		*ret_error = "cannot watch the gVisor socket";
		goto err_close;
	}
	log_info("gvisor: listening on %s", socket_path);
	*ret = src;
	return 0;
err_close:
	gvisor_source_close(src);
	return err;
}

int gvisor_source_fd(const struct gvisor_source *src)
{
	return src->epoll_fd;
}

void gvisor_source_stats(const struct gvisor_source *src, struct gvisor_stats *ret)
{
	struct gvisor_decoder_stats d = src->gone;

	*ret = src->stats;
	ret->active = 0;
	for (const struct conn *c = src->conns; c; c = c->next) {
		if (c->dead)
			continue;
		ret->active++;
		if (c->dec)
			decoder_stats_add(&d, gvisor_decoder_stats(c->dec));
	}
	ret->messages = d.messages;
	ret->dropped_by_gvisor = d.dropped_by_gvisor;
	ret->malformed += d.malformed;
	ret->unknown_type = d.unknown_type;
	ret->no_context = d.no_context;
	ret->procs_evicted = d.procs_evicted;
	ret->fds_evicted = d.fds_evicted;
	ret->maps_untracked = d.maps_untracked;
}

void gvisor_source_metrics(const struct gvisor_source *src, struct metrics_snapshot *s)
{
	uint64_t sandboxes = 0, dropped = src->gone.dropped_by_gvisor;

	for (const struct conn *c = src->conns; c; c = c->next) {
		if (c->dead)
			continue;
		if (c->state == CONN_RUNNING)
			sandboxes++;
		if (c->dec)
			dropped += gvisor_decoder_stats(c->dec)->dropped_by_gvisor;
	}
	s->gvisor = true;
	s->gvisor_sandboxes = sandboxes;
	s->gvisor_dropped_points = dropped;
}

void gvisor_source_close(struct gvisor_source *src)
{
	struct stat st;

	if (!src)
		return;
	for (struct conn *c = src->conns; c; c = c->next)
		conn_close(src, c, false);
	conns_reap(src);
	if (src->listen_fd >= 0) {
		close(src->listen_fd);
		/* Only our own socket: another sowatch may have taken the path over since */
		if (src->sock_ino && lstat(src->path, &st) == 0 && st.st_ino == src->sock_ino)
			unlink(src->path);
	}
	if (src->epoll_fd >= 0)
		close(src->epoll_fd);
	if (src->timer_fd >= 0)
		close(src->timer_fd);
	free(src->path);
	free(src->buf);
	free(src);
}

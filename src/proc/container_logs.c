// SPDX-License-Identifier: Apache-2.0
#include "proc/container_logs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "util/rfc3339.h"

/* Bytes read from a file at a time. */
#define READ_BUF (64 * 1024)
/* A file's modification time may lag the time in its last line by this much (clock ticks) */
#define MTIME_SLACK_NS (2LL * 1000000000)
/* A CRI record's time, stream and tag are in its first this many bytes, or it is no record. */
#define CRI_HEADER_MAX 128
/*
 * A Docker record up to this size is held and parsed whole by jansson. Docker splits lines at
 * 16 KiB, at most 96 KiB once escaped (six bytes, \u0001, for a control byte), so only a record
 * no Docker writes is longer: that one is decoded as it goes by (struct json_log), not held.
 */
#define DOCKER_RECORD_MAX (128 * 1024)
/* What may follow the "log" value of such a record: "stream", "attrs", "time". */
#define DOCKER_TAIL_MAX 4096

enum { STDOUT, STDERR, N_STREAMS };
static const char *const stream_names[N_STREAMS] = { "stdout", "stderr" };

/*
 * A line of one stream being put together from its parts (CRI's P records, Docker's records
 * without a final newline): its first max_line bytes are kept, all of them counted.
 */
struct pending {
	struct strbuf text;
	size_t full_len;
	int64_t time_ns; /* of the first part: when the line began to be written */
	bool open;
};

/*
 * The "log" string of a Docker record too long to hold, decoded byte by byte. Docker writes
 * its keys in one order, {"log":"...","stream":"...",["attrs":{...},]"time":"..."}, so the text
 * comes first: it goes to text (max_line bytes kept, all counted), and what follows it, small,
 * is held in tail and parsed by jansson. Escapes are decoded as jansson decodes them and
 * refused where it refuses them (a lone surrogate, a raw control byte); a record of another
 * shape is unparsed. Unlike jansson, raw bytes are not checked for UTF-8: they are text.
 */
enum json_log_state { JL_PREFIX, JL_STRING, JL_ESCAPE, JL_HEX, JL_TAIL, JL_BAD };

struct json_log {
	enum json_log_state state;
	size_t matched; /* JL_PREFIX: bytes of it seen */
	uint32_t hex;	/* JL_HEX: the \uXXXX value so far... */
	int n_hex;	/* ...from this many digits */
	uint32_t high;	/* a high surrogate waiting for its low half; 0: none */
	int last;	/* the last byte decoded (a final '\n' ends the line, it is not text) */
	struct pending text;
	struct strbuf tail; /* {"log":"" and what followed the string */
};

static const char docker_prefix[] = "{\"log\":\"";

struct parser {
	enum container_log_format format;
	int64_t from_ns, to_ns;
	size_t max_line;
	size_t file_max; /* of each file, only the last this many bytes are read */
	container_log_fn fn;
	void *ctx;
	struct container_log_stats *stats;
	int ret; /* fn's non-zero return, or -errno: stop */

	/* The record being read, which may come in many chunks */
	struct strbuf rec; /* CRI: its header; Docker: the record (up to DOCKER_RECORD_MAX) */
	bool in_record;	   /* some of it was seen */
	bool skip;	   /* the rest of it is not read (unparsed, or cut at a file's start) */
	int spaces;	   /* CRI: spaces seen in the header */
	int cri_stream;	   /* CRI: -1 until the header is parsed */
	bool cri_partial;
	bool long_record; /* Docker: beyond DOCKER_RECORD_MAX, decoded by jl */
	struct json_log jl;

	struct pending pend[N_STREAMS];
};

/* ---- Lines ---- */

/*
 * n, less the bytes of a UTF-8 sequence that s[0..n) ends in the middle of: a line cut at
 * max_line does not end in half a character. Looks at the last three bytes only; invalid
 * UTF-8 is left as it is.
 */
static size_t utf8_trim(const char *s, size_t n)
{
	for (size_t back = 1; back <= 3 && back <= n; back++) {
		unsigned char c = s[n - back];
		size_t need;

		if ((c & 0xc0) == 0x80)
			continue;
		need = c >= 0xf8 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		return need > back ? n - back : n;
	}
	return n;
}

/* Adds a part of full bytes, of which n are at s, to pd: at most max_line kept in all. */
static void pending_add(struct parser *p, struct pending *pd, const char *s, size_t n, size_t full)
{
	size_t room = pd->text.len < p->max_line ? p->max_line - pd->text.len : 0;

	pd->full_len += full;
	if (n > room)
		n = room;
	if (n && strbuf_add(&pd->text, s, n) && !p->ret)
		p->ret = -ENOMEM;
}

static void pending_open(struct pending *pd, int64_t time_ns)
{
	if (pd->open)
		return;
	pd->open = true;
	pd->time_ns = time_ns;
}

static void pending_reset(struct pending *pd)
{
	pd->text.len = 0;
	if (pd->text.buf)
		pd->text.buf[0] = '\0';
	pd->full_len = 0;
	pd->open = false;
}

/* The line of stream s is complete: to the callback when it is in the window. */
static void pending_emit(struct parser *p, int s)
{
	struct pending *pd = &p->pend[s];
	struct container_log_line line = { 0 };
	int r;

	if (!pd->open || p->ret)
		return;
	if (pd->time_ns >= p->from_ns && pd->time_ns <= p->to_ns) {
		line.time_ns = pd->time_ns;
		line.stream = stream_names[s];
		line.full_len = pd->full_len;
		line.cut = pd->full_len > pd->text.len;
		line.len = line.cut ? utf8_trim(strbuf_str(&pd->text), pd->text.len) : pd->text.len;
		if (pd->text.buf)
			pd->text.buf[line.len] = '\0';
		line.text = strbuf_str(&pd->text);
		p->stats->lines++;
		r = p->fn(&line, p->ctx);
		if (r)
			p->ret = r;
	}
	pending_reset(pd);
}

/* ---- CRI ---- */

/* A time as the runtimes write it, n bytes (not NUL-terminated): ns, or 0 when not one. */
static int64_t parse_time(const char *s, size_t n)
{
	char t[48];

	if (n >= sizeof(t) || memchr(s, '\0', n))
		return 0;
	memcpy(t, s, n);
	t[n] = '\0';
	return rfc3339_parse(t);
}

static int stream_of(const char *s, size_t n)
{
	for (int i = 0; i < N_STREAMS; i++)
		if (n == strlen(stream_names[i]) && !memcmp(s, stream_names[i], n))
			return i;
	return -1;
}

static void record_unparsed(struct parser *p)
{
	p->stats->unparsed++;
	p->skip = true;
}

/* The header held in rec, "<time> <stream> <tag>", is complete: the record's text follows. */
static void cri_start(struct parser *p)
{
	const char *h = strbuf_str(&p->rec), *sp1, *sp2;
	size_t n = p->rec.len;
	int64_t t;
	int s;

	sp1 = memchr(h, ' ', n);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', n - (sp1 + 1 - h)) : NULL;
	if (!sp2 || sp2 + 1 == h + n) {
		record_unparsed(p);
		return;
	}
	t = parse_time(h, sp1 - h);
	s = stream_of(sp1 + 1, sp2 - sp1 - 1);
	/* Older podman writes tags with fields after the F or P ("F:..."): only its first byte
	   says which. */
	if (!t || s < 0 || (sp2[1] != 'F' && sp2[1] != 'P')) {
		record_unparsed(p);
		return;
	}
	p->cri_stream = s;
	p->cri_partial = sp2[1] == 'P';
	pending_open(&p->pend[s], t);
}

static void cri_chunk(struct parser *p, const char *s, size_t n)
{
	/* The header, byte by byte, up to the space after the tag: short, and bounded. */
	while (n && p->cri_stream < 0 && !p->skip) {
		char c = *s++;

		n--;
		if (c == ' ' && p->spaces == 2) {
			cri_start(p);
			break;
		}
		if (c == ' ')
			p->spaces++;
		if (p->rec.len == CRI_HEADER_MAX)
			record_unparsed(p);
		else if (strbuf_addc(&p->rec, c))
			p->ret = -ENOMEM;
	}
	if (n && p->cri_stream >= 0 && !p->skip)
		pending_add(p, &p->pend[p->cri_stream], s, n, n);
}

static void cri_end(struct parser *p)
{
	/* "<time> <stream> F" and the newline: an empty line, written without the last space */
	if (p->cri_stream < 0 && !p->skip) {
		if (p->spaces == 2)
			cri_start(p);
		else
			record_unparsed(p);
	}
	if (!p->skip && !p->cri_partial)
		pending_emit(p, p->cri_stream);
}

/* ---- Docker json-file ---- */

static void json_log_reset(struct json_log *jl)
{
	jl->state = JL_PREFIX;
	jl->matched = 0;
	jl->high = 0;
	jl->last = -1;
	pending_reset(&jl->text);
	jl->tail.len = 0;
}

/* Decoded bytes, n > 0 */
static void json_log_out(struct parser *p, const char *s, size_t n)
{
	pending_add(p, &p->jl.text, s, n, n);
	p->jl.last = (unsigned char)s[n - 1];
}

/* A \uXXXX escape's value; surrogate pairs joined as jansson joins them. */
static void json_log_unicode(struct parser *p, uint32_t v)
{
	static const unsigned char lead[] = { 0, 0, 0xc0, 0xe0, 0xf0 };
	struct json_log *jl = &p->jl;
	char u[4];
	int n;

	jl->state = JL_STRING;
	if (v >= 0xd800 && v <= 0xdbff) {
		if (jl->high)
			jl->state = JL_BAD;
		jl->high = v;
		return;
	}
	if (v >= 0xdc00 && v <= 0xdfff) {
		if (!jl->high) {
			jl->state = JL_BAD;
			return;
		}
		v = 0x10000 + ((jl->high - 0xd800) << 10) + (v - 0xdc00);
		jl->high = 0;
	} else if (jl->high) {
		jl->state = JL_BAD;
		return;
	}
	/* UTF-8: six bits a continuation byte, from the end; the rest in the lead byte */
	n = v < 0x80 ? 1 : v < 0x800 ? 2 : v < 0x10000 ? 3 : 4;
	for (int i = n - 1; i > 0; i--, v >>= 6)
		u[i] = (char)(0x80 | (v & 0x3f));
	u[0] = (char)(lead[n] | v);
	json_log_out(p, u, n);
}

static void json_log_escape(struct parser *p, char c)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	struct json_log *jl = &p->jl;
	const char *e = c ? strchr(from, c) : NULL;

	jl->state = JL_STRING;
	if (c == 'u') {
		jl->state = JL_HEX;
		jl->hex = 0;
		jl->n_hex = 0;
	} else if (!e || jl->high) {
		/* unknown escape, or a high surrogate followed by anything but \u */
		jl->state = JL_BAD;
	} else {
		json_log_out(p, &to[e - from], 1);
	}
}

/* Plain bytes of the string up to its end or next escape, in one go. */
static size_t json_log_run(struct parser *p, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] != '"' && s[i] != '\\' && (unsigned char)s[i] >= 0x20)
		i++;
	if (i && p->jl.high) {
		p->jl.state = JL_BAD;
		return n;
	}
	if (i)
		json_log_out(p, s, i);
	return i;
}

static void json_log_feed(struct parser *p, const char *s, size_t n)
{
	struct json_log *jl = &p->jl;

	while (n && !p->ret) {
		unsigned char c = *s;
		size_t used = 1;

		switch (jl->state) {
		case JL_PREFIX:
			if (c != (unsigned char)docker_prefix[jl->matched])
				jl->state = JL_BAD;
			else if (++jl->matched == sizeof(docker_prefix) - 1)
				jl->state = JL_STRING;
			break;
		case JL_STRING:
			if (c == '"' && !jl->high) {
				jl->state = JL_TAIL;
				jl->tail.len = 0;
				if (strbuf_adds(&jl->tail, "{\"log\":\"\""))
					p->ret = -ENOMEM;
			} else if (c == '\\') {
				jl->state = JL_ESCAPE;
			} else if (c < 0x20 || c == '"') {
				jl->state = JL_BAD;
			} else {
				used = json_log_run(p, s, n);
			}
			break;
		case JL_ESCAPE:
			json_log_escape(p, (char)c);
			break;
		case JL_HEX:
			if (!isxdigit(c)) {
				jl->state = JL_BAD;
				break;
			}
			jl->hex = jl->hex << 4 | (isdigit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
			if (++jl->n_hex == 4)
				json_log_unicode(p, jl->hex);
			break;
		case JL_TAIL:
			used = n;
			if (jl->tail.len + n > DOCKER_TAIL_MAX)
				jl->state = JL_BAD;
			else if (strbuf_add(&jl->tail, s, n))
				p->ret = -ENOMEM;
			break;
		case JL_BAD:
			return;
		}
		s += used;
		n -= used;
	}
}

static void docker_chunk(struct parser *p, const char *s, size_t n)
{
	if (p->skip)
		return;
	if (!p->long_record) {
		if (p->rec.len + n <= DOCKER_RECORD_MAX) {
			if (strbuf_add(&p->rec, s, n))
				p->ret = -ENOMEM;
			return;
		}
		/* Too long to hold: decode what was held, then the rest as it comes. */
		p->long_record = true;
		json_log_reset(&p->jl);
		json_log_feed(p, p->rec.buf, p->rec.len);
		p->rec.len = 0;
	}
	json_log_feed(p, s, n);
}

/*
 * The end of a record: parsed whole by jansson, or when it was too long to hold, its tail
 * behind an empty log ({"log":"",...}), its text decoded on the way.
 */
static void docker_end(struct parser *p)
{
	struct json_log *jl = &p->jl;
	const struct strbuf *json = p->long_record ? &jl->tail : &p->rec;
	const json_t *log, *stream, *time;
	size_t n, full;
	json_error_t err;
	json_t *j = NULL;
	const char *s;
	int64_t t = 0;
	int st = -1;
	bool nl;

	if (p->skip)
		return;
	/*
	 * ALLOW_NUL: what a container writes may hold NULs, which Docker writes as \u0000, and
	 * they are text like any other byte. REJECT_DUPLICATES: Docker writes each key once, and
	 * a record that has two "log" or "time" has no one meaning.
	 */
	if (!p->long_record || jl->state == JL_TAIL)
		j = json_loadb(strbuf_str(json), json->len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES,
			       &err);
	log = json_object_get(j, "log");
	stream = json_object_get(j, "stream");
	time = json_object_get(j, "time");
	if (json_is_string(stream))
		st = stream_of(json_string_value(stream), json_string_length(stream));
	if (json_is_string(time))
		t = parse_time(json_string_value(time), json_string_length(time));
	if (!json_is_string(log) || st < 0 || !t) {
		json_decref(j);
		record_unparsed(p);
		return;
	}
	/* The log's final newline ends the line: it is not text (kept, or already cut off). */
	if (p->long_record) {
		s = strbuf_str(&jl->text.text);
		n = jl->text.text.len;
		full = jl->text.full_len;
		nl = jl->last == '\n';
		n -= nl && n == full;
	} else {
		s = json_string_value(log);
		n = full = json_string_length(log);
		nl = n && s[n - 1] == '\n';
		n -= nl;
	}
	pending_open(&p->pend[st], t);
	pending_add(p, &p->pend[st], s, n, full - nl);
	json_decref(j);
	if (nl)
		pending_emit(p, st);
}

/* ---- Records ---- */

static void record_end(struct parser *p)
{
	if (!p->ret) {
		if (p->format == CONTAINER_LOG_CRI)
			cri_end(p);
		else
			docker_end(p);
	}
	p->rec.len = 0;
	p->in_record = false;
	p->skip = false;
	p->spaces = 0;
	p->cri_stream = -1;
	p->cri_partial = false;
	p->long_record = false;
}

/* Bytes of the input, in order, cut anywhere: records end at newlines. */
static void parser_feed(struct parser *p, const char *buf, size_t len)
{
	while (len && !p->ret) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) : len;

		if (n) {
			p->in_record = true;
			if (p->format == CONTAINER_LOG_CRI)
				cri_chunk(p, buf, n);
			else
				docker_chunk(p, buf, n);
		}
		if (nl) {
			record_end(p);
			n++;
		}
		buf += n;
		len -= n;
	}
}

/* A file's last record may lack its newline (the runtime was writing it): read as it is. */
static void parser_file_end(struct parser *p)
{
	if (p->in_record)
		record_end(p);
}

/* The end of the input: a line still waiting for its last part is given as it is. */
static int parser_finish(struct parser *p)
{
	int first = p->pend[STDERR].open && p->pend[STDERR].time_ns < p->pend[STDOUT].time_ns;

	if (!p->pend[STDOUT].open)
		first = STDERR;
	pending_emit(p, first);
	pending_emit(p, !first);
	return p->ret;
}

static void parser_init(struct parser *p, enum container_log_format format, int64_t from_ns,
			int64_t to_ns, size_t max_line, container_log_fn fn, void *ctx,
			struct container_log_stats *stats)
{
	*p = (struct parser){ .format = format,
			      .from_ns = from_ns,
			      .to_ns = to_ns,
			      .max_line = max_line,
			      .file_max = CONTAINER_LOG_FILE_MAX,
			      .fn = fn,
			      .ctx = ctx,
			      .stats = stats,
			      .cri_stream = -1 };
	json_log_reset(&p->jl);
}

static void parser_free(struct parser *p)
{
	strbuf_release(&p->rec);
	strbuf_release(&p->jl.text.text);
	strbuf_release(&p->jl.tail);
	for (int i = 0; i < N_STREAMS; i++)
		strbuf_release(&p->pend[i].text);
}

/* ---- Files ---- */

void container_log_stats_free(struct container_log_stats *stats)
{
	if (!stats)
		return;
	for (size_t i = 0; i < stats->n_files; i++)
		free(stats->files[i]);
	free(stats->files);
	memset(stats, 0, sizeof(*stats));
}

static int stats_add_file(struct container_log_stats *stats, const char *path)
{
	char **files = realloc(stats->files, (stats->n_files + 1) * sizeof(*files));

	if (!files)
		return -ENOMEM;
	stats->files = files;
	files[stats->n_files] = strdup(path);
	if (!files[stats->n_files])
		return -ENOMEM;
	stats->n_files++;
	return 0;
}

/*
 * path, opened so that nothing but a regular file is read: not through a symlink (-ELOOP),
 * and a FIFO or device, opened without waiting for a writer, is refused (-EINVAL).
 */
static int log_open(const char *path, struct stat *ret_st)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (fstat(fd, ret_st) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	if (!S_ISREG(ret_st->st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* The file open at fd, its last p->file_max bytes at most. */
static int log_read_fd(struct parser *p, int fd, const struct stat *st, const char *path, char *buf)
{
	size_t left = p->file_max;
	int r;

	r = stats_add_file(p->stats, path);
	if (r)
		return r;
	if ((uint64_t)st->st_size > p->file_max) {
		off_t start = st->st_size - (off_t)p->file_max;
		char c;

		p->stats->truncated_files++;
		/* The first record is the end of one cut in two, unless a newline is just before. */
		if (pread(fd, &c, 1, start - 1) != 1 || c != '\n') {
			p->in_record = true;
			p->skip = true;
		}
		if (lseek(fd, start, SEEK_SET) < 0)
			return -errno;
	}
	/* Bounded by left, not by the end: the live file may grow while it is read. */
	while (left && !p->ret) {
		ssize_t n = read(fd, buf, left < READ_BUF ? left : READ_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		parser_feed(p, buf, n);
		left -= n;
	}
	parser_file_end(p);
	return 0;
}

struct rotation {
	char name[NAME_MAX + 1];
	int64_t key; /* larger: newer */
};

/*
 * Whether s (n bytes: what follows "<name>." with any ".gz" taken off) names a rotation in the
 * format's scheme, and its key: Docker numbers them (.1 the newest), the kubelet stamps them
 * with the time of the rotation (YYYYMMDD-hhmmss).
 */
static bool rotation_key(enum container_log_format format, const char *s, size_t n,
			 int64_t *ret_key)
{
	bool docker = format == CONTAINER_LOG_DOCKER_JSON;
	int64_t key = 0;

	if (docker ? n == 0 || n > 9 || s[0] == '0' : n != 15 || s[8] != '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!docker && i == 8)
			continue;
		if (!isdigit((unsigned char)s[i]))
			return false;
		key = key * 10 + (s[i] - '0');
	}
	*ret_key = docker ? -key : key;
	return true;
}

/*
 * The rotations of base in dir, newest first, at most max of them in rot (older ones
 * counted in skipped_files, compressed ones in skipped_compressed): the number found.
 */
static size_t list_rotations(const char *dir, const char *base, enum container_log_format format,
			     struct rotation *rot, size_t max, struct container_log_stats *stats)
{
	size_t blen = strlen(base), n = 0;
	struct dirent *de;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return 0; /* the named file alone; opening it says why if it cannot be read */
	while ((de = readdir(d))) {
		const char *suffix;
		struct rotation r;
		size_t slen, i;
		bool gz;

		if (strncmp(de->d_name, base, blen) || de->d_name[blen] != '.')
			continue;
		suffix = de->d_name + blen + 1;
		slen = strlen(suffix);
		gz = slen > 3 && !strcmp(suffix + slen - 3, ".gz");
		if (!rotation_key(format, suffix, slen - (gz ? 3 : 0), &r.key))
			continue;
		if (gz) {
			stats->skipped_compressed++;
			continue;
		}
		snprintf(r.name, sizeof(r.name), "%s", de->d_name);
		/* Kept newest first, max of them: an old one past the end is left out. */
		for (i = 0; i < n && r.key < rot[i].key; i++)
			;
		if (n == max)
			stats->skipped_files++;
		if (i == max)
			continue;
		if (n < max)
			n++;
		memmove(&rot[i + 1], &rot[i], (n - 1 - i) * sizeof(*rot));
		rot[i] = r;
	}
	closedir(d);
	return n;
}

/*
 * A file last written before from_ns holds none of the lines from then on: a line's time is
 * taken when it is written, and a rotation is a rename. Such a file is not read at all.
 */
static bool modified_before(const struct stat *st, int64_t from_ns)
{
	return from_ns > INT64_MIN + MTIME_SLACK_NS &&
	       (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec <
		   from_ns - MTIME_SLACK_NS;
}

/* path and its rotations, oldest first, into p */
static int log_read_path(struct parser *p, const char *path)
{
	struct rotation rot[CONTAINER_LOG_FILES_MAX - 1];
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	char dir[PATH_MAX], *buf;
	struct stat st;
	size_t n = 0;
	int fd, r = 0;

	/* The named file first: when it cannot be read, neither are its rotations. */
	fd = log_open(path, &st);
	if (fd < 0)
		return fd;
	/* Last written before the window: nor it, nor its older rotations, hold any of it */
	if (modified_before(&st, p->from_ns)) {
		close(fd);
		return 0;
	}
	buf = malloc(READ_BUF);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	/* path up to its last component, "/" included: "/var/log/pods/.../c/" */
	snprintf(dir, sizeof(dir), "%.*s", (int)(base - path), path);
	if (*base)
		n = list_rotations(*dir ? dir : ".", base, p->format, rot,
				   CONTAINER_LOG_FILES_MAX - 1, p->stats);
	for (size_t i = n; i-- > 0 && !p->ret && !r;) {
		char sibling[PATH_MAX];
		struct stat sst;
		int sfd;

		if (snprintf(sibling, sizeof(sibling), "%s%s", dir, rot[i].name) >=
		    (int)sizeof(sibling)) {
			p->stats->skipped_files++;
			continue;
		}
		sfd = log_open(sibling, &sst);
		/* -ENOENT: rotated away (or deleted) since it was listed */
		if (sfd < 0 && sfd != -ENOENT)
			p->stats->skipped_files++;
		if (sfd < 0)
			continue;
		if (modified_before(&sst, p->from_ns)) {
			close(sfd);
			continue;
		}
		r = log_read_fd(p, sfd, &sst, sibling, buf);
		close(sfd);
	}
	if (!r && !p->ret)
		r = log_read_fd(p, fd, &st, path, buf);
	close(fd);
	free(buf);
	return r;
}

/* The walk over path and its rotations, or when path is NULL over buf */
static int walk(const char *path, const char *buf, size_t len, enum container_log_format format,
		int64_t from_ns, int64_t to_ns, size_t max_line, size_t file_max,
		container_log_fn fn, void *ctx, struct container_log_stats *stats)
{
	struct parser p;
	int r = 0;

	parser_init(&p, format, from_ns, to_ns, max_line, fn, ctx, stats);
	p.file_max = file_max;
	if (path) {
		r = log_read_path(&p, path);
	} else {
		parser_feed(&p, buf, len);
		parser_file_end(&p);
	}
	if (!r)
		r = parser_finish(&p);
	parser_free(&p);
	return r;
}

int container_log_read(const char *path, enum container_log_format format, int64_t from_ns,
		       int64_t to_ns, size_t max_line, container_log_fn fn, void *ctx,
		       struct container_log_stats *stats)
{
	return walk(path, NULL, 0, format, from_ns, to_ns, max_line, CONTAINER_LOG_FILE_MAX, fn,
		    ctx, stats);
}

int container_log_read_buffer(const char *buf, size_t len, enum container_log_format format,
			      int64_t from_ns, int64_t to_ns, size_t max_line, container_log_fn fn,
			      void *ctx, struct container_log_stats *stats)
{
	return walk(NULL, buf, len, format, from_ns, to_ns, max_line, CONTAINER_LOG_FILE_MAX, fn,
		    ctx, stats);
}

/* ---- The kept copy ---- */

struct keep {
	struct strbuf buf; /* CRI records, each ending in its only newline */
	size_t max_bytes;
	size_t line_max; /* a record's text, the cut marker included, is at most this long */
	size_t dropped;
};

/* Drops the oldest records until at most limit bytes are left. */
static void keep_trim(struct keep *k, size_t limit)
{
	const char *b = k->buf.buf, *end;

	if (k->buf.len <= limit)
		return;
	/* the end of the record holding the byte that must go last; every record ends in \n */
	end = memchr(b + (k->buf.len - limit) - 1, '\n', limit + 1);
	end++;
	for (const char *nl = b; nl < end; nl++) {
		nl = memchr(nl, '\n', end - nl);
		k->dropped++;
	}
	k->buf.len -= end - b;
	memmove(k->buf.buf, end, k->buf.len);
	k->buf.buf[k->buf.len] = '\0';
}

/* ns -> "2026-12-03T18:18:29.019559560Z": RFC3339Nano, as containerd writes it, in UTC */
static void format_time_ns(int64_t ns, char out[48])
{
	time_t sec = ns / 1000000000;
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(out, 48, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 48 - n, ".%09dZ", (int)(ns % 1000000000));
}

static int keep_line(const struct container_log_line *line, void *ctx)
{
	struct keep *k = ctx;
	char ts[48], marker[64] = "";
	size_t head, mlen = 0, n = line->len;
	const char *s = line->text, *end;
	int r;

	format_time_ns(line->time_ns, ts);
	head = strlen(ts) + 1 + strlen(line->stream) + 3;
	/* One record must fit max_bytes on its own: the text is cut further when it would not. */
	if (line->cut || head + n + 1 > k->max_bytes) {
		/* as long as the marker can get, whatever the final cut */
		mlen = snprintf(marker, sizeof(marker), " [... %zu bytes cut]", line->full_len);
		if (head + mlen + 1 > k->max_bytes) {
			k->dropped++;
			return 0;
		}
		if (head + n + mlen + 1 > k->max_bytes)
			n = utf8_trim(s, k->max_bytes - head - mlen - 1);
		/*
		 * The marker within line_max too: a kept copy kept again (several files' copies
		 * put together) then holds its lines as they are, and their counts stay true.
		 */
		if (n + mlen > k->line_max)
			n = utf8_trim(s, k->line_max > mlen ? k->line_max - mlen : 0);
		mlen = snprintf(marker, sizeof(marker), " [... %zu bytes cut]", line->full_len - n);
	}
	r = strbuf_addf(&k->buf, "%s %s F ", ts, line->stream);
	/* A text is one line: a newline in it (no runtime writes one) would make two records. */
	for (end = s + n; !r && s < end;) {
		const char *nl = memchr(s, '\n', end - s);
		size_t run = nl ? (size_t)(nl - s) : (size_t)(end - s);

		r = strbuf_add(&k->buf, s, run);
		if (!r && nl)
			r = strbuf_addc(&k->buf, ' ');
		s += run + !!nl;
	}
	if (!r)
		r = strbuf_add(&k->buf, marker, mlen);
	if (!r)
		r = strbuf_addc(&k->buf, '\n');
	if (r)
		return r;
	/* Trimmed now and then, not at every line: memory stays within twice max_bytes. */
	if (k->buf.len > 2 * k->max_bytes)
		keep_trim(k, k->max_bytes);
	return 0;
}

/* The kept copy of path's lines, or when path is NULL of buf's */
static int keep_from(const char *path, const char *buf, size_t len,
		     enum container_log_format format, int64_t from_ns, int64_t to_ns,
		     size_t max_bytes, struct strbuf *out, struct container_log_stats *stats)
{
	size_t line_max =
	    max_bytes < CONTAINER_LOG_KEEP_LINE_MAX ? max_bytes : CONTAINER_LOG_KEEP_LINE_MAX;
	struct keep k = { STRBUF_INIT, max_bytes, line_max, 0 };
	int r;

	/* No text longer than CONTAINER_LOG_KEEP_LINE_MAX is kept: none is held longer either. */
	r = walk(path, buf, len, format, from_ns, to_ns, line_max, CONTAINER_LOG_KEEP_READ_MAX,
		 keep_line, &k, stats);
	/* On error the buffer may end in half a record: it is not trimmed, only dropped. */
	if (!r)
		keep_trim(&k, max_bytes);
	stats->dropped += k.dropped;
	if (!r && k.buf.len)
		r = strbuf_add(out, k.buf.buf, k.buf.len);
	strbuf_release(&k.buf);
	return r;
}

int container_log_keep(const char *path, enum container_log_format format, int64_t from_ns,
		       int64_t to_ns, size_t max_bytes, struct strbuf *out,
		       struct container_log_stats *stats)
{
	return keep_from(path, NULL, 0, format, from_ns, to_ns, max_bytes, out, stats);
}

int container_log_keep_buffer(const char *buf, size_t len, enum container_log_format format,
			      int64_t from_ns, int64_t to_ns, size_t max_bytes, struct strbuf *out,
			      struct container_log_stats *stats)
{
	return keep_from(NULL, buf, len, format, from_ns, to_ns, max_bytes, out, stats);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * OpenSSL configuration files as libcrypto reads them (crypto/conf/conf_def.c): sections,
 * name = value lines, quoting and escapes, $var expansion, .include of files and directories,
 * .pragma. What the result loads is openssl_config_eval.c's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "detectors/openssl_config_int.h"

#include "proc/procfile.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
	const unsigned char *s = p;

	while (n--) {
		h ^= *s++;
		h *= 1099511628211ULL;
	}
	return h;
}

static uint64_t sec_key(const char *name)
{
	return fnv(name, strlen(name), 14695981039346656037ULL);
}

static uint64_t val_key(uint32_t section, const char *name)
{
	return fnv(name, strlen(name), fnv(&section, sizeof(section), 14695981039346656037ULL));
}

static int hash_grow(struct cfg_hash *h, struct cfg *c, bool values)
{
	size_t ncap = h->cap ? h->cap * 2 : 64, i;
	uint32_t *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (i = 0; i < h->cap; i++) {
		uint32_t idx = h->slots[i];
		uint64_t k;
		size_t j;

		if (!idx)
			continue;
		k = values ? val_key(c->ent[idx - 1].section, c->ent[idx - 1].name)
			   : sec_key(c->sec[idx - 1].name);
		for (j = k & (ncap - 1); ns[j]; j = (j + 1) & (ncap - 1))
			;
		ns[j] = idx;
	}
	free(h->slots);
	h->slots = ns;
	h->cap = ncap;
	return 0;
}

uint32_t cfg_find_section(const struct cfg *c, const char *name)
{
	size_t j;

	if (!c->sec_hash.cap)
		return NO_IDX;
	for (j = sec_key(name) & (c->sec_hash.cap - 1); c->sec_hash.slots[j];
	     j = (j + 1) & (c->sec_hash.cap - 1)) {
		uint32_t idx = c->sec_hash.slots[j] - 1;

		if (!strcmp(c->sec[idx].name, name))
			return idx;
	}
	return NO_IDX;
}

static int intern_section(struct cfg *c, const char *name, size_t len, uint32_t *id)
{
	struct cfg_section *s;
	char *n;
	size_t j;

	n = strndup(name, len);
	if (!n)
		return -ENOMEM;
	*id = cfg_find_section(c, n);
	if (*id != NO_IDX) {
		free(n);
		return 0;
	}
	if (c->nsec >= UINT32_MAX - 1 ||
	    ((c->sec_hash.used + 1) * 2 > c->sec_hash.cap && hash_grow(&c->sec_hash, c, false)))
		goto nomem;
	if (c->nsec == c->capsec) {
		size_t cap = c->capsec ? c->capsec * 2 : 16;

		s = realloc(c->sec, cap * sizeof(*s));
		if (!s)
			goto nomem;
		c->sec = s;
		c->capsec = cap;
	}
	s = &c->sec[c->nsec];
	s->name = n;
	s->first = s->last = NO_IDX;
	for (j = sec_key(n) & (c->sec_hash.cap - 1); c->sec_hash.slots[j];
	     j = (j + 1) & (c->sec_hash.cap - 1))
		;
	c->sec_hash.slots[j] = (uint32_t)c->nsec + 1;
	c->sec_hash.used++;
	*id = (uint32_t)c->nsec++;
	return 0;
nomem:
	free(n);
	return -ENOMEM;
}

static const struct cfg_entry *find_value_in(const struct cfg *c, uint32_t section,
					     const char *name)
{
	size_t j;

	if (!c->val_hash.cap || section == NO_IDX)
		return NULL;
	for (j = val_key(section, name) & (c->val_hash.cap - 1); c->val_hash.slots[j];
	     j = (j + 1) & (c->val_hash.cap - 1)) {
		const struct cfg_entry *e = &c->ent[c->val_hash.slots[j] - 1];

		if (e->section == section && !strcmp(e->name, name))
			return e;
	}
	return NULL;
}

/* ENV:: is the process's environment, which we do not have. */
const char *cfg_get_string(const struct cfg *c, const char *section, const char *name)
{
	const struct cfg_entry *e = NULL;

	if (section)
		e = find_value_in(c, cfg_find_section(c, section), name);
	if (!e)
		e = find_value_in(c, cfg_find_section(c, "default"), name);
	return e ? e->value : NULL;
}

/* Takes ownership of name and value. */
static int add_value(struct cfg *c, uint32_t section, char *name, char *value)
{
	struct cfg_entry *e;
	size_t j;

	if (c->nent >= CONF_MAX_ENTRIES) {
		c->truncated = true;
		free(name);
		free(value);
		return 0;
	}
	if (((c->val_hash.used + 1) * 2 > c->val_hash.cap && hash_grow(&c->val_hash, c, true)))
		goto nomem;
	if (c->nent == c->capent) {
		size_t cap = c->capent ? c->capent * 2 : 64;

		e = realloc(c->ent, cap * sizeof(*e));
		if (!e)
			goto nomem;
		c->ent = e;
		c->capent = cap;
	}
	e = &c->ent[c->nent];
	e->section = section;
	e->next = NO_IDX;
	e->name = name;
	e->value = value;
	if (c->sec[section].last == NO_IDX)
		c->sec[section].first = (uint32_t)c->nent;
	else
		c->ent[c->sec[section].last].next = (uint32_t)c->nent;
	c->sec[section].last = (uint32_t)c->nent;

	for (j = val_key(section, name) & (c->val_hash.cap - 1); c->val_hash.slots[j];
	     j = (j + 1) & (c->val_hash.cap - 1)) {
		const struct cfg_entry *o = &c->ent[c->val_hash.slots[j] - 1];

		if (o->section == section && !strcmp(o->name, name))
			break;
	}
	if (!c->val_hash.slots[j])
		c->val_hash.used++;
	c->val_hash.slots[j] = (uint32_t)c->nent + 1;
	c->nent++;
	return 0;
nomem:
	free(name);
	free(value);
	return -ENOMEM;
}

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* IS_ALNUM in conf_def.h */
static bool is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_';
}

/* IS_ALNUM_PUNCT: the characters of a name */
static bool is_name_char(char ch)
{
	return is_alnum(ch) || (ch && strchr("!.%&*+,/;?@^~|-", ch));
}

static bool is_quote(char ch)
{
	return ch == '"' || ch == '\'';
}

static char *skip_ws(char *p)
{
	while (is_ws(*p))
		p++;
	return p;
}

static void trim_end(char *s)
{
	size_t n = strlen(s);

	while (n && is_ws(s[n - 1]))
		s[--n] = '\0';
}

/*
 * conf_def.c str_copy: quotes, backslash escapes and $var / ${sect::var} / $(var) expansion.
 * A variable we cannot resolve (ENV::, or undefined: OpenSSL would reject the whole file) is
 * kept literally so the value still shows what was written.
 */
static int str_copy(struct cfg *c, const char *section, const char *from, char **res)
{
	struct strbuf sb = STRBUF_INIT;
	int err = 0;

	while (*from && !err && sb.len < CONF_MAX_VALUE) {
		if (is_quote(*from)) {
			char q = *from++;

			while (*from && *from != q && !err) {
				if (*from == '\\') {
					from++;
					if (!*from)
						break;
				}
				err = strbuf_addc(&sb, *from++);
			}
			if (*from == q)
				from++;
		} else if (*from == '\\') {
			char ch;

			from++;
			ch = *from;
			if (!ch)
				break;
			from++;
			if (ch == 'r')
				ch = '\r';
			else if (ch == 'n')
				ch = '\n';
			else if (ch == 'b')
				ch = '\b';
			else if (ch == 't')
				ch = '\t';
			err = strbuf_addc(&sb, ch);
		} else if (*from == '$' && (!c->dollarid || from[1] == '{' || from[1] == '(')) {
			const char *s = from + 1, *np, *e, *sect = section, *val;
			char q = 0, *sname = NULL, *vname;
			size_t vlen;

			if (*s == '{')
				q = '}';
			else if (*s == '(')
				q = ')';
			if (q)
				s++;
			np = e = s;
			while (is_alnum(*e) || (c->dollarid && *e == '$'))
				e++;
			if (e[0] == ':' && e[1] == ':') {
				sname = strndup(np, (size_t)(e - np));
				if (!sname) {
					err = -ENOMEM;
					break;
				}
				sect = sname;
				e += 2;
				np = e;
				while (is_alnum(*e) || (c->dollarid && *e == '$'))
					e++;
			}
			vname = strndup(np, (size_t)(e - np));
			if (!vname) {
				free(sname);
				err = -ENOMEM;
				break;
			}
			if (q && *e == q)
				e++;
			val = cfg_get_string(c, sect, vname);
			free(vname);
			free(sname);
			vlen = val ? strlen(val) : 0;
			if (val && vlen > c->expand_budget)
				c->truncated = true;
			if (val && vlen <= c->expand_budget) {
				c->expand_budget -= vlen;
				err = strbuf_add(&sb, val, vlen);
			} else {
				err = strbuf_add(&sb, from, (size_t)(e - from));
			}
			from = e;
		} else {
			err = strbuf_addc(&sb, *from++);
		}
	}
	if (err) {
		strbuf_release(&sb);
		return err;
	}
	if (sb.len > CONF_MAX_VALUE) {
		sb.len = CONF_MAX_VALUE;
		sb.buf[sb.len] = '\0';
	}
	*res = strbuf_detach(&sb);
	return *res ? 0 : -ENOMEM;
}

/* clear_comments: '#' outside quotes ends the line. */
static void clear_comment(char *p)
{
	while (*p) {
		if (is_quote(*p)) {
			char q = *p++;

			while (*p && *p != q) {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
			if (*p)
				p++;
		} else if (*p == '\\') {
			p++;
			if (*p)
				p++;
		} else if (*p == '#') {
			*p = '\0';
			return;
		} else {
			p++;
		}
	}
}

static int parse_buf(struct cfg *c, const char *path, char *buf, size_t len);

/* A configuration file as the process reads it: never sowatch's own (see proc_view_open()). */
static int open_in_root(struct cfg *c, const char *path)
{
	bool in_root = c->root && *c->root;
	int fd;

	if (in_root && c->rootfd < 0) {
		errno = ENOENT; /* the process is gone */
		return -1;
	}
	fd = proc_view_open(in_root ? c->rootfd : AT_FDCWD, path, in_root);
	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return fd;
}

static bool conf_ext(const char *n)
{
	size_t l = strlen(n);

	return (l > 5 && !strcasecmp(n + l - 5, ".conf")) ||
	       (l > 4 && !strcasecmp(n + l - 4, ".cnf"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_path(struct cfg *c, const char *path, bool from_dir);

static int load_dir(struct cfg *c, const char *path, int fd)
{
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	int err = 0;
	DIR *d;

	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) && n < 4 * CONF_MAX_FILES) {
		char *s;

		if (!conf_ext(de->d_name))
			continue;
		if (n == cap) {
			char **nn;

			cap = cap ? cap * 2 : 16;
			nn = realloc(names, cap * sizeof(*nn));
			if (!nn) {
				err = -ENOMEM;
				break;
			}
			names = nn;
		}
		s = strdup(de->d_name);
		if (!s) {
			err = -ENOMEM;
			break;
		}
		names[n++] = s;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n && !err && !cfg_full(c); i++) {
		struct strbuf sb = STRBUF_INIT;
		size_t pl = strlen(path);

		if (strbuf_add(&sb, path, pl) ||
		    (pl && path[pl - 1] != '/' && strbuf_addc(&sb, '/')) ||
		    strbuf_adds(&sb, names[i])) {
			err = -ENOMEM;
		} else {
			err = load_path(c, sb.buf, true);
		}
		strbuf_release(&sb);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return err;
}

/*
 * Reads one file (or a directory of *.cnf / *.conf) into the config. Files found in an included
 * directory are reported here, only when they are files: the directory itself already was.
 */
static int load_path(struct cfg *c, const char *path, bool from_dir)
{
	struct stat st;
	size_t i, len = 0;
	char *buf;
	int fd, err;

	if (c->depth > CONF_MAX_DEPTH || c->files >= CONF_MAX_FILES) {
		c->truncated = true;
		return 0;
	}
	fd = open_in_root(c, path);
	if (fd < 0)
		return errno == ENOMEM ? -ENOMEM : 0;
	if (fstat(fd, &st)) {
		close(fd);
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		/* The top-level file and entries of an included directory must be files. */
		if (from_dir || !c->depth) {
			close(fd);
			return 0;
		}
		return load_dir(c, path, fd);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	for (i = 0; i < c->depth; i++) {
		if (c->stack[i].dev == st.st_dev && c->stack[i].ino == st.st_ino) {
			close(fd);
			return 0;
		}
	}
	if (from_dir) {
		err = modreq_add(c->out, MODULE_UNKNOWN, MODREF_CONFIG, path, ".include");
		if (err) {
			close(fd);
			return err;
		}
	}
	c->files++;
	buf = malloc(CONF_MAX_FILE_BYTES + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (len < CONF_MAX_FILE_BYTES) {
		ssize_t r = read(fd, buf + len, CONF_MAX_FILE_BYTES - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	if (st.st_size > (off_t)CONF_MAX_FILE_BYTES)
		c->truncated = true;
	c->stack[c->depth].dev = st.st_dev;
	c->stack[c->depth].ino = st.st_ino;
	c->depth++;
	err = parse_buf(c, path, buf, len);
	c->depth--;
	free(buf);
	return err;
}

static int join_path(struct strbuf *sb, const char *dir, size_t dlen, const char *rel)
{
	if (strbuf_add(sb, dir, dlen))
		return -ENOMEM;
	if (dlen && dir[dlen - 1] != '/' && strbuf_addc(sb, '/'))
		return -ENOMEM;
	return strbuf_adds(sb, rel);
}

static int do_include(struct cfg *c, const char *cur_path, const char *inc)
{
	struct strbuf sb = STRBUF_INIT;
	const char *dir = NULL;
	size_t dlen = 0;
	int err;

	if (!*inc || cfg_full(c))
		return 0;
	if (inc[0] != '/') {
		if (c->conf_include_dir && *c->conf_include_dir)
			dir = c->conf_include_dir;
		else if (c->includedir && *c->includedir)
			dir = c->includedir;
		else if (c->cwd && *c->cwd)
			dir = c->cwd;
		if (dir) {
			dlen = strlen(dir);
		} else {
			const char *slash = strrchr(cur_path, '/');

			dir = cur_path;
			dlen = slash ? (size_t)(slash - cur_path) + (slash == cur_path) : 0;
		}
	}
	err = dlen ? join_path(&sb, dir, dlen, inc) : strbuf_adds(&sb, inc);
	if (!err)
		err = modreq_add(c->out, MODULE_UNKNOWN, MODREF_CONFIG, sb.buf, ".include");
	if (!err)
		err = load_path(c, sb.buf, false);
	strbuf_release(&sb);
	return err;
}

static void do_pragma(struct cfg *c, char *p)
{
	char *colon = strchr(p, ':'), *val;

	if (!colon)
		return;
	*colon = '\0';
	trim_end(p);
	val = skip_ws(colon + 1);
	trim_end(val);
	if (!strcmp(p, "dollarid")) {
		if (!strcmp(val, "on") || !strcmp(val, "true"))
			c->dollarid = true;
		else if (!strcmp(val, "off") || !strcmp(val, "false"))
			c->dollarid = false;
	} else if (!strcmp(p, "includedir")) {
		char *d = strdup(val);

		if (d) {
			free(c->includedir);
			c->includedir = d;
		} else {
			c->err = -ENOMEM;
		}
	}
}

static int parse_line(struct cfg *c, const char *path, char *line)
{
	char *p, *name, *end, *psect = NULL, *value;
	uint32_t sid;
	int err;

	clear_comment(line);
	p = skip_ws(line);
	if (!*p)
		return 0;
	if (*p == '[') {
		char *close;

		p = skip_ws(p + 1);
		close = strchr(p, ']');
		if (!close)
			return 0; /* OpenSSL rejects the file; keep what we can */
		*close = '\0';
		trim_end(p);
		return intern_section(c, p, strlen(p), &c->cur);
	}
	name = p;
	end = p;
	while (is_name_char(*end))
		end++;
	if (end[0] == ':' && end[1] == ':') {
		*end = '\0';
		psect = name;
		end += 2;
		name = end;
		while (is_name_char(*end))
			end++;
	}
	p = skip_ws(end);
	if (!strncmp(name, ".include", 8) && (p != name + 8 || *p == '=')) {
		char *inc;

		if (*p == '=')
			p = skip_ws(p + 1);
		trim_end(p);
		err = str_copy(c, psect ? psect : c->sec[c->cur].name, p, &inc);
		if (err)
			return err;
		err = do_include(c, path, inc);
		free(inc);
		return err;
	}
	if (!strncmp(name, ".pragma", 7) && (p != name + 7 || *p == '=')) {
		if (*p == '=')
			p = skip_ws(p + 1);
		do_pragma(c, p);
		return c->err;
	}
	if (*p != '=' || end == name)
		return 0;
	if (c->nent >= CONF_MAX_ENTRIES) {
		c->truncated = true;
		return 0;
	}
	*end = '\0';
	p = skip_ws(p + 1);
	trim_end(p);
	if (psect) {
		err = intern_section(c, psect, strlen(psect), &sid);
		if (err)
			return err;
	} else {
		sid = c->cur;
	}
	err = str_copy(c, c->sec[sid].name, p, &value);
	if (err)
		return err;
	name = strdup(name);
	if (!name) {
		free(value);
		return -ENOMEM;
	}
	return add_value(c, sid, name, value);
}

/* Splits into logical lines: NUL ends a physical line's content, an odd run of '\' continues it. */
static int parse_buf(struct cfg *c, const char *path, char *buf, size_t len)
{
	struct strbuf line = STRBUF_INIT;
	size_t pos = 0;
	int err = 0;

	while (pos < len && !err) {
		char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len, l, bs = 0;

		buf[end] = '\0';
		l = strlen(buf + pos);
		while (l && buf[pos + l - 1] == '\r')
			l--;
		while (bs < l && buf[pos + l - 1 - bs] == '\\')
			bs++;
		if (bs & 1) {
			err = strbuf_add(&line, buf + pos, l - 1);
			pos = end + 1;
			if (pos < len)
				continue;
		} else {
			err = strbuf_add(&line, buf + pos, l);
			pos = end + 1;
		}
		if (!err && line.buf)
			err = parse_line(c, path, line.buf);
		line.len = 0;
		if (line.buf)
			line.buf[0] = '\0';
	}
	if (!err && line.len)
		err = parse_line(c, path, line.buf);
	strbuf_release(&line);
	return err;
}

static void cfg_free(struct cfg *c)
{
	size_t i;

	for (i = 0; i < c->nent; i++) {
		free(c->ent[i].name);
		free(c->ent[i].value);
	}
	for (i = 0; i < c->nsec; i++)
		free(c->sec[i].name);
	free(c->ent);
	free(c->sec);
	free(c->sec_hash.slots);
	free(c->val_hash.slots);
	free(c->includedir);
	free(c->memo);
	if (c->rootfd >= 0)
		close(c->rootfd);
}

int openssl_config_parse_app(const char *root, const char *path, const char *conf_include_dir,
			     const char *cwd, const char *appname, bool default_section,
			     struct module_requests *out)
{
	struct strbuf full = STRBUF_INIT;
	struct cfg c;
	int err;

	if (!path || !*path || !out)
		return 0;
	memset(&c, 0, sizeof(c));
	c.rootfd = -1;
	c.root = root;
	c.conf_include_dir = conf_include_dir;
	c.cwd = cwd;
	c.appname = appname;
	c.default_section = default_section;
	c.out = out;
	c.expand_budget = CONF_EXPAND_BUDGET;
	c.eval_budget = CONF_EVAL_BUDGET;
	c.report_limit = out->n + CONF_MAX_REPORTS;
	if (root && *root)
		c.rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	err = intern_section(&c, "default", 7, &c.cur);
	if (!err && path[0] != '/' && cwd && *cwd)
		err = join_path(&full, cwd, strlen(cwd), path);
	if (!err)
		err = load_path(&c, full.buf ? full.buf : path, false);
	if (!err)
		err = c.err;
	if (!err)
		err = cfg_eval(&c);
	/* A file that hits a limit is hostile: say so rather than end the list quietly. */
	if (!err && (c.truncated || cfg_full(&c)))
		err =
		    modreq_add(out, MODULE_UNKNOWN, MODREF_CONFIG, path, "config: limits exceeded");
	strbuf_release(&full);
	cfg_free(&c);
	return err;
}

int openssl_config_parse_ex(const char *root, const char *path, const char *conf_include_dir,
			    const char *cwd, struct module_requests *out)
{
	return openssl_config_parse_app(root, path, conf_include_dir, cwd, NULL, false, out);
}

int openssl_config_parse(const char *root, const char *path, const char *conf_include_dir,
			 struct module_requests *out)
{
	return openssl_config_parse_ex(root, path, conf_include_dir, NULL, out);
}

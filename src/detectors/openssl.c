// SPDX-License-Identifier: Apache-2.0
#include "detectors/openssl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detectors/openssl_args.h"
#include "detectors/openssl_binaries.h"
#include "detectors/node_args.h"
#include "detectors/openssl_config.h"
#include "proc/procfile.h"
#include "util/json.h"
#include "util/log.h"
#include "util/path.h"

#define MAX_NAMED_ATTEMPTS 1024 /* per process, for names never mapped; mappings always count */

struct openssl_detector {
	struct detector_env env;
	struct openssl_binaries binaries;
};

/* One module a process asked for, or mapped: the unit of a finding. */
struct module_attempt {
	char *requested;    /* the name as given; NULL when only its mapping was seen */
	char *path;	    /* resolved as the process sees it; NULL when it could not be */
	const char *origin; /* where the request came from ("-engine", "DSO_load", ...) */
	const char *source; /* the event source that saw it first */
	enum module_kind kind;
	unsigned layers;
	uint64_t time_ns;
	bool trusted;
	const char *trust_reason;
	/* Killed by enforce mode although this policy trusted the file: why it did */
	const char *trusted_by_detector;
	bool mapped;
	bool reported;
	bool have_id;
	uint64_t dev, ino;
};

/*
 * Kept only for processes that can matter: OpenSSL binaries, and programs whose libcrypto
 * called DSO_load(). Everything else execs and exits without costing more than a lookup.
 */
struct ossl_state {
	bool is_openssl;
	/*
	 * Where the process's paths are read from here: "/proc/PID/root" (proc_root), a gVisor
	 * sandbox's root as the host sees it (the process's sandbox_root, which lives as long
	 * as this state), or "" for the host's own view.
	 */
	const char *root;
	char proc_root[64];
	uint32_t host_pid; /* 0: not a host process (a sandbox's) */
	bool container;	   /* it belongs to a container: for trust, once its root is gone */
	struct module_attempt *attempts;
	size_t n_attempts, cap_attempts;
	/* The DSO_load() call in flight (index + 1, 0 for none) and its thread: its first
	 * mapping is the module, and a failed call is reported when it returns. */
	size_t loading;
	uint32_t loading_tid;
	/* Run as `ld.so PROGRAM`: the loader maps the program itself, which is no module */
	char *loaded_program;
};

static void write_properties(struct jw_writer *j, const struct finding *f)
{
	jw_key(j, "detectionLayers");
	jw_array_begin(j);
	if (f->layers & LAYER_INTENT)
		jw_string(j, "intent");
	if (f->layers & LAYER_LIBRARY)
		jw_string(j, "library");
	if (f->layers & LAYER_EFFECT)
		jw_string(j, "effect");
	jw_array_end(j);
	jw_kv_string(j, "moduleKind", f->module.kind);
	jw_kv_string(j, "modulePath", f->module.file.path ? f->module.file.path : "");
	if (f->module.requested)
		jw_kv_string(j, "requestedModule", f->module.requested);
	if (f->module.origin)
		jw_kv_string(j, "requestOrigin", f->module.origin);
	jw_kv_bool(j, "loaded", f->module.loaded);
	jw_kv_bool(j, "moduleDeleted", f->module.file.deleted);
	jw_kv_bool(j, "moduleMemfd", f->module.file.memfd);
	jw_kv_bool(j, "modulePathTruncated", f->module.file.path_truncated);
	jw_kv_string(j, "trustReason", f->trust_reason);
}

const struct finding_kind openssl_finding_kind = {
	.category = "Execution: Suspicious OpenSSL Shared Object Loaded",
	.description =
	    "OpenSSL was made to load a shared object that is not one of the system's own "
	    "engines or providers. Loading runs the object's constructor inside the process "
	    "straight away, before OpenSSL checks whether it is a valid module, so whoever "
	    "controls the file runs code under the identity of a trusted, signed program. "
	    "Production workloads rarely load engines or providers from outside OpenSSL's module "
	    "directories: treat this as possible malicious code execution (MITRE ATT&CK T1129, "
	    "Shared Modules) until shown otherwise.",
	.next_steps =
	    "1. Read the summary: the program binary (processes[0].binary.path), the arguments "
	    "it was started with (processes[0].args), and the module (processes[0].libraries[0]: "
	    "path and SHA-256; sourceProperties.loaded says whether its code was mapped). "
	    "2. Check the parent processes (processes[1..]) to learn what started it. "
	    "3. List other findings of the same container around the same time: together they "
	    "tell an attack from a mistake. "
	    "4. Review the container's settings (image, privileges, mounts) and its logs. "
	    "5. Look up the module's hash in threat intelligence, keep a copy of the file, and "
	    "if the load was not expected, isolate the workload and rotate the credentials it "
	    "could reach.",
	.write_properties = write_properties,
};

static const char *const kind_names[] = {
	[MODULE_ENGINE] = "engine",
	[MODULE_PROVIDER] = "provider",
	[MODULE_UNKNOWN] = "unknown",
	[MODULE_PKCS11] = "pkcs11-module",
};

/* -------------------------------------------------------------------------------------------
 * Per-process state
 */

static void attempt_release(struct module_attempt *a)
{
	free(a->requested);
	free(a->path);
}

static void state_free(void *state)
{
	struct ossl_state *st = state;

	for (size_t i = 0; st && i < st->n_attempts; i++)
		attempt_release(&st->attempts[i]);
	if (st) {
		free(st->attempts);
		free(st->loaded_program);
	}
	free(st);
}

static struct ossl_state *state_get(struct proc *p)
{
	return p->detector_state[DETECTOR_OPENSSL];
}

static struct ossl_state *state_new(struct proc *p, bool is_openssl)
{
	struct ossl_state *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->is_openssl = is_openssl;
	/*
	 * A sandbox's files are read in its root as the host sees it (see hash_sandboxed_exe()),
	 * and those of a process in the host's mount namespace as they are: it need not be alive.
	 */
	st->root = proc_host_root();
	if (p->host_pid && !p->host_mount_ns) {
		snprintf(st->proc_root, sizeof(st->proc_root), "/proc/%u/root", p->host_pid);
		st->root = st->proc_root;
	} else if (!p->host_pid && proc_root_is_own(p->sandbox_root)) {
		st->root = p->sandbox_root;
	}
	st->host_pid = p->host_pid;
	st->container = p->container_id[0];
	p->detector_state[DETECTOR_OPENSSL] = st;
	p->detector_free[DETECTOR_OPENSSL] = state_free;
	return st;
}

/* The process's working directory as it saw it at exec, or as /proc says now. */
static void proc_workdir(const struct proc *p, char *out, size_t size)
{
	if (p->cwd)
		snprintf(out, size, "%s", p->cwd);
	else
		proc_cwd(p->host_pid, out, size);
}

static struct module_attempt *attempt_at(struct ossl_state *st, size_t index_plus_one)
{
	return index_plus_one ? &st->attempts[index_plus_one - 1] : NULL;
}

static struct module_attempt *attempt_find(struct ossl_state *st, const char *path, uint64_t dev,
					   uint64_t ino)
{
	for (size_t i = 0; i < st->n_attempts; i++) {
		struct module_attempt *a = &st->attempts[i];

		if ((path && a->path && strcmp(a->path, path) == 0) ||
		    (a->have_id && ino && a->dev == dev && a->ino == ino))
			return a;
	}
	return NULL;
}

/*
 * What OpenSSL was asked to load as an engine or provider must come from its own module
 * directories; only what such a module pulls in may come from the system's library
 * directories. (LD_PRELOAD and the like name libraries, not modules.)
 */
static enum trust_role attempt_role(const struct module_attempt *a)
{
	/* A PKCS#11 module is the pkcs11 engine's to load, and lives with the system's libraries. */
	if (a && !(a->layers & LAYER_LIBRARY) && a->kind == MODULE_PKCS11)
		return ROLE_DEPENDENCY;
	if (a && ((a->layers & LAYER_LIBRARY) || a->kind != MODULE_UNKNOWN))
		return ROLE_MODULE;
	return ROLE_DEPENDENCY;
}

/* Decide trust for a module asked for by name, before (or without) any mapping. */
static void attempt_judge(struct openssl_detector *d, struct ossl_state *st,
			  struct module_attempt *a)
{
	struct file_ref ref = { .path = a->path };
	struct stat sb;
	int fd;

	if (!a->path) {
		/* A bare name for dlopen()'s own search: only its mapping can tell. */
		a->trusted = true;
		a->trust_reason = "resolved by the dynamic loader's search path";
		return;
	}
	/* As the process would open it (never sowatch's own /proc/self) */
	fd = proc_file_open_rooted(st->host_pid, st->root, &ref, 0, 0, false, &sb);
	if (fd >= 0) {
		close(fd);
		ref.dev = sb.st_dev;
		ref.ino = sb.st_ino;
		ref.uid = sb.st_uid;
		ref.mode = sb.st_mode;
		ref.ctime_ns = stat_ctime_ns(&sb);
		a->have_id = true;
		a->dev = sb.st_dev;
		a->ino = sb.st_ino;
	} else {
		/* Missing: judge the place alone. Nothing can load from a trusted place that
		 * holds no such file. */
		ref.uid = 0;
		ref.mode = 0644;
	}
	a->trusted =
	    trust_decide_view(d->env.trust, &ref, attempt_role(a),
			      &(struct trust_view){ .root = st->root, .container = st->container },
			      &a->trust_reason) != TRUST_CUSTOM;
}

/* A new attempt, or NULL when out of memory or past the limit for names never mapped. */
static struct module_attempt *attempt_new(struct ossl_state *st, const char *requested,
					  const char *path, bool for_mapping)
{
	struct module_attempt *a;

	if (st->n_attempts == st->cap_attempts) {
		size_t cap = st->cap_attempts ? 2 * st->cap_attempts : 4;
		struct module_attempt *grown;

		if (!for_mapping && st->n_attempts >= MAX_NAMED_ATTEMPTS)
			return NULL;
		grown = realloc(st->attempts, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		st->attempts = grown;
		st->cap_attempts = cap;
	}
	a = &st->attempts[st->n_attempts];
	memset(a, 0, sizeof(*a));
	a->requested = requested ? strdup(requested) : NULL;
	a->path = path && path[0] ? strdup(path) : NULL;
	if ((requested && !a->requested) || (path && path[0] && !a->path)) {
		attempt_release(a);
		return NULL;
	}
	st->n_attempts++;
	return a;
}

/* Record a request (intent or library layer), merged with an earlier one for the same file. */
static struct module_attempt *attempt_request(struct openssl_detector *d, struct ossl_state *st,
					      const char *requested, const char *path,
					      const char *origin, enum module_kind kind,
					      unsigned layer, const struct event *ev)
{
	struct module_attempt *a = path[0] ? attempt_find(st, path, 0, 0) : NULL;

	for (size_t i = 0; !a && !path[0] && requested && i < st->n_attempts; i++)
		if (!st->attempts[i].path && st->attempts[i].requested &&
		    strcmp(st->attempts[i].requested, requested) == 0)
			a = &st->attempts[i];
	if (a) {
		enum trust_role before = attempt_role(a);

		a->layers |= layer;
		if (a->kind == MODULE_UNKNOWN)
			a->kind = kind;
		if (attempt_role(a) != before && !a->mapped)
			attempt_judge(d, st, a);
		return a;
	}
	a = attempt_new(st, requested, path, false);
	if (!a)
		return NULL;
	a->origin = origin;
	a->kind = kind;
	a->layers = layer;
	a->time_ns = ev->time_ns;
	a->source = ev->source;
	attempt_judge(d, st, a);
	if (a->path && a->trusted && !a->have_id) {
		/* No such file, in a place we trust: nothing to load, nothing to keep (padding
		 * names must not crowd out the one that matters). A bare name stays: its first
		 * mapping tells what it was. */
		attempt_release(a);
		st->n_attempts--;
		return NULL;
	}
	return a;
}

/* -------------------------------------------------------------------------------------------
 * Intent: what the command line, environment and configuration ask for
 */

static void resolve_in(const char *dir, const char *name, const char *suffix, char *out,
		       size_t size)
{
	char file[PATH_MAX];

	out[0] = '\0';
	if (!dir || dir[0] != '/' ||
	    (size_t)snprintf(file, sizeof(file), "%s%s", name, suffix) >= sizeof(file) ||
	    path_join(dir, file, out, size))
		out[0] = '\0';
}

/* Where OpenSSL would look for the module a request names, as the process sees it. */
static void request_resolve(struct openssl_detector *d, const struct proc *p, const char *cwd,
			    const struct module_request *r, const char *provider_dir, char *out,
			    size_t size)
{
	const char *engines_dir = proc_getenv(p, "OPENSSL_ENGINES");
	const char *modules_dir = proc_getenv(p, "OPENSSL_MODULES");

	if (!modules_dir)
		modules_dir = d->env.trust->modules_dir;
	out[0] = '\0';
	if (r->ref == MODREF_PATH) {
		resolve_in(r->kind == MODULE_PROVIDER ? (provider_dir ? provider_dir : modules_dir)
						      : cwd,
			   r->value, "", out, size);
	} else if (r->ref == MODREF_NAME && r->kind == MODULE_ENGINE) {
		resolve_in(engines_dir ? engines_dir : d->env.trust->engines_dir, r->value, ".so",
			   out, size);
	} else if (r->ref == MODREF_NAME && r->kind == MODULE_PROVIDER) {
		resolve_in(provider_dir ? provider_dir : modules_dir, r->value, ".so", out, size);
	}
}

static void intent_add_requests(struct openssl_detector *d, struct proc *p, struct ossl_state *st,
				const char *cwd, const struct module_requests *reqs,
				const struct event *ev)
{
	const char *provider_dir = NULL;
	char path[PATH_MAX], own[PATH_MAX];

	for (size_t i = 0; i < reqs->n; i++)
		if (reqs->items[i].ref == MODREF_DIR && reqs->items[i].kind == MODULE_PROVIDER &&
		    strcmp(reqs->items[i].origin, "-provider-path") == 0)
			provider_dir = reqs->items[i].value;

	for (size_t i = 0; i < reqs->n; i++) {
		const struct module_request *r = &reqs->items[i];

		if ((r->ref != MODREF_PATH && r->ref != MODREF_NAME) || !r->value[0])
			continue; /* a flag such as -engine_impl names nothing by itself */
		request_resolve(d, p, cwd, r, provider_dir, path, sizeof(path));
		/* /proc/self/fd/N: that process's fd, read through the host's /proc */
		if (path[0] && p->host_pid &&
		    proc_path_resolve(p->host_pid, ev->pid, "/", path, own, sizeof(own)) == 0)
			snprintf(path, sizeof(path), "%s", own);
		if (path[0])
			attempt_request(d, st, r->value, path, r->origin, r->kind, LAYER_INTENT,
					ev);
	}
}

/*
 * Follow every configuration file the process will read, as it sees them: those named in reqs
 * (-config, OPENSSL_CONF), else the system's own openssl.cnf. appname: the section the program
 * starts from (node's), NULL for OpenSSL's own way.
 */
static void intent_add_config(struct openssl_detector *d, struct proc *p, struct ossl_state *st,
			      const char *cwd, const struct module_requests *reqs,
			      const char *appname, const struct event *ev)
{
	struct module_requests from_config = { 0 };
	const char *include_dir = proc_getenv(p, "OPENSSL_CONF_INCLUDE");
	bool named = false;
	char path[PATH_MAX];

	for (size_t i = 0; i < reqs->n; i++) {
		const struct module_request *r = &reqs->items[i];

		if (r->ref != MODREF_CONFIG || strcmp(r->origin, "OPENSSL_CONF_INCLUDE") == 0)
			continue;
		named = true;
		if (path_join(cwd[0] ? cwd : "/", r->value, path, sizeof(path)) == 0)
			openssl_config_parse_app(st->root, path, include_dir, cwd, appname, false,
						 &from_config);
	}
	if (!named) {
		/* No -config, no OPENSSL_CONF: the system's own openssl.cnf is read. */
		char sysconf[PATH_MAX + 16];

		snprintf(sysconf, sizeof(sysconf), "%s/openssl.cnf", d->env.trust->openssl_dir);
		openssl_config_parse_app(st->root, sysconf, include_dir, cwd, appname, false,
					 &from_config);
	}
	intent_add_requests(d, p, st, cwd, &from_config, ev);
	module_requests_free(&from_config);
}

/*
 * Node.js reads one configuration file (--openssl-config, else OPENSSL_CONF, else OpenSSL's
 * default, taken as the system's), from its own section (nodejs_conf unless
 * --openssl-shared-config), and --openssl-legacy-provider loads the legacy provider.
 */
static void intent_add_node(struct openssl_detector *d, struct proc *p, struct ossl_state *st,
			    const char *cwd, const struct event *ev)
{
	struct node_openssl_opts o;
	struct module_requests reqs = { 0 };

	if (node_openssl_options((const char *const *)p->argv, p->argc, (const char *const *)p->env,
				 p->envc, &o))
		return;
	if (o.config_file)
		modreq_add(&reqs, MODULE_UNKNOWN, MODREF_CONFIG, o.config_file,
			   o.config_from_option ? "--openssl-config" : "OPENSSL_CONF");
	if (o.legacy_provider)
		modreq_add_provider(&reqs, "legacy", "--openssl-legacy-provider");
	intent_add_requests(d, p, st, cwd, &reqs, ev);
	intent_add_config(d, p, st, cwd, &reqs, o.appname, ev);
	module_requests_free(&reqs);
	node_openssl_opts_free(&o);
}

/* Any program linked with libcrypto reads OPENSSL_CONF and the like when it loads its config. */
static bool env_steers_openssl(const struct proc *p)
{
	return proc_getenv(p, "OPENSSL_CONF") || proc_getenv(p, "OPENSSL_CONF_INCLUDE") ||
	       proc_getenv(p, "OPENSSL_ENGINES") || proc_getenv(p, "OPENSSL_MODULES") ||
	       proc_getenv(p, "PKCS11_MODULE_PATH");
}

static void on_exec(struct openssl_detector *d, struct proc *p, const struct event *ev)
{
	struct module_requests reqs = { 0 };
	struct ossl_state *st;
	char cwd[PATH_MAX], program_path[PATH_MAX] = "";
	size_t program = 0;
	bool openssl = openssl_binaries_identify(&d->binaries, p);
	bool loader = !openssl && openssl_binaries_is_loader(p->exe.path);
	bool steered = !openssl && env_steers_openssl(p);
	/* A program with OpenSSL linked in (node) reads its configuration like any other. */
	bool linked = !openssl && ev->exec.carries_openssl;

	/* Most execs on a host stop here: not OpenSSL, not run through the loader, no OpenSSL
	 * inside, no OpenSSL variables in the environment. */
	if (!openssl && !loader && !steered && !linked)
		return;
	proc_workdir(p, cwd, sizeof(cwd));
	if (loader)
		openssl = (program = openssl_binaries_run_by_loader(
			       &d->binaries, p, cwd, program_path, sizeof(program_path))) != 0;
	if (!openssl && !steered && !linked)
		return;
	st = state_new(p, openssl);
	if (!st)
		return;
	if (program_path[0])
		st->loaded_program = strdup(program_path);
	/* Another program's arguments are not OpenSSL's: only its environment is read. */
	if (st->is_openssl)
		openssl_args_parse((const char *const *)p->argv + program, p->argc - program,
				   &reqs);
	openssl_env_parse((const char *const *)p->env, p->envc, &reqs);
	intent_add_requests(d, p, st, cwd, &reqs, ev);
	if (!st->is_openssl && ev->exec.nodejs)
		intent_add_node(d, p, st, cwd, ev);
	else
		intent_add_config(d, p, st, cwd, &reqs, NULL, ev);
	module_requests_free(&reqs);
}

/* -------------------------------------------------------------------------------------------
 * Library and effect
 */

static enum module_kind kind_by_place(const struct openssl_detector *d, const char *path)
{
	if (path_is_under(path, d->env.trust->engines_dir))
		return MODULE_ENGINE;
	if (path_is_under(path, d->env.trust->modules_dir))
		return MODULE_PROVIDER;
	return MODULE_UNKNOWN;
}

/* The state of a process that reached libcrypto's module loading, made on first need. */
static struct ossl_state *state_for_loading(struct openssl_detector *d, struct proc *p)
{
	struct ossl_state *st = state_get(p);

	return st ? st : state_new(p, openssl_binaries_identify(&d->binaries, p));
}

static void on_module_load(struct openssl_detector *d, struct proc *p, const struct event *ev)
{
	struct ossl_state *st = state_for_loading(d, p);
	const char *name = ev->module_load.name;
	struct module_attempt *a;
	char path[PATH_MAX] = "", cwd[PATH_MAX];

	if (!st)
		return;
	/* dlopen() takes a name with a slash as a path (relative to the cwd); others it searches. */
	proc_workdir(p, cwd, sizeof(cwd));
	if (strchr(name, '/') &&
	    proc_path_resolve(p->host_pid, ev->tid, cwd, name, path, sizeof(path)))
		path[0] = '\0';
	a = attempt_request(d, st, name, path, "DSO_load", kind_by_place(d, path), LAYER_LIBRARY,
			    ev);
	st->loading = a ? (size_t)(a - st->attempts) + 1 : 0;
	st->loading_tid = ev->tid;
}

/* Enforce mode killed at this mapping for OpenSSL's doing (not for an added library) */
static bool killed_for_module(const struct event *ev)
{
	return ev->map.kill.killed && !ev->map.kill.added_library;
}

static void report(struct openssl_detector *d, struct proc *p, struct module_attempt *a,
		   const struct file_ref *file, const struct event *map_ev)
{
	struct finding f = {
		.kind = &openssl_finding_kind,
		.severity = map_ev ? "CRITICAL" : "HIGH",
		.event_time_ns = map_ev ? map_ev->time_ns : a->time_ns,
		.sensor = map_ev ? map_ev->source : a->source,
		.proc = p,
		.layers = a->layers,
		.trust_reason = a->trust_reason,
	};
	struct file_ref attempted = { .path = a->path, .dev = a->dev, .ino = a->ino };

	if (!file)
		file = &attempted;
	f.module.file = *file;
	f.module.requested = a->requested;
	f.module.kind = kind_names[a->kind];
	f.module.origin = a->origin;
	f.module.loaded = map_ev != NULL;
	if (map_ev && killed_for_module(map_ev)) {
		f.enforcement = map_ev->map.kill;
		f.trusted_by_detector = a->trusted_by_detector;
	} else if (map_ev) {
		f.enforcement.not_possible = map_ev->map.kill.not_possible;
	}
	f.module.locatable = a->have_id || map_ev;
	if (map_ev) {
		f.module.vm_start = map_ev->map.start;
		f.module.vm_end = map_ev->map.end;
	}
	a->reported = true;
	d->env.report(&f, d->env.ctx);
}

/*
 * Which attempt a mapping belongs to: the first mapping a DSO_load() call makes is the module
 * it was asked for (dlopen maps the object before its dependencies), whatever name it had;
 * otherwise the attempt for the same file, if any.
 */
static struct module_attempt *attempt_of_mapping(struct ossl_state *st, const struct event *ev)
{
	const struct file_ref *file = &ev->map.file;
	struct module_attempt *loading = attempt_at(st, st->loading);

	if (ev->map.in_module_load && loading && st->loading_tid == ev->tid && !loading->mapped)
		return loading;
	return attempt_find(st, file->path, file->dev, file->ino);
}

/* "/proc/self/fd/N", "/proc/PID/fd/N", "/dev/fd/N": a name for whatever file that fd holds */
static bool names_an_fd(const char *path)
{
	const char *rest;

	if (!path)
		return false;
	if (strncmp(path, "/dev/fd/", 8) == 0)
		return true;
	if (strncmp(path, "/proc/", 6) != 0 || !(rest = strchr(path + 6, '/')))
		return false;
	return strncmp(rest, "/fd/", 4) == 0;
}

/*
 * A module asked for through an fd name that could not be opened from here (a sandbox's
 * /proc/self/fd/N; a process gone before its fd was looked at): the first custom mapping that
 * no other request explains is what it named.
 */
static struct module_attempt *attempt_named_by_fd(struct ossl_state *st)
{
	for (size_t i = 0; i < st->n_attempts; i++) {
		struct module_attempt *a = &st->attempts[i];

		if (!a->mapped && !a->have_id && names_an_fd(a->path))
			return a;
	}
	return NULL;
}

/*
 * gVisor names a mapped file by path only, without owner, mode or identity. In a sandbox with
 * a root of its own the file is there to look at: the trust policy then judges its real owner
 * and mode, and its findings hash that very file. Returns file, or seen filled in.
 */
static const struct file_ref *sandbox_file_seen(const struct proc *p, const struct file_ref *file,
						struct file_ref *seen)
{
	struct stat sb;
	int fd;

	if (p->host_pid || file->ino || file->memfd || !proc_root_is_own(p->sandbox_root))
		return file;
	fd = proc_file_open_rooted(0, p->sandbox_root, file, 0, 0, false, &sb);
	if (fd < 0)
		return file;
	close(fd);
	*seen = *file;
	seen->dev = sb.st_dev;
	seen->ino = seen->real_ino = sb.st_ino;
	seen->real_dev = sb.st_dev;
	seen->uid = sb.st_uid;
	seen->mode = sb.st_mode;
	seen->size = sb.st_size;
	return seen;
}

static void on_map(struct openssl_detector *d, struct proc *p, const struct event *ev)
{
	struct file_ref seen;
	const struct file_ref *file = sandbox_file_seen(p, &ev->map.file, &seen);
	struct module_attempt *a, unstored = { 0 };
	struct ossl_state *st = state_get(p);
	struct trust_view view;
	const char *reason, *trusted_by_detector = NULL;
	/* Inside DSO_load, or inside an engine's or provider's call (what it loads itself) */
	bool openssls_doing = ev->map.in_module_load || ev->map.in_openssl_call;
	bool killed = killed_for_module(ev);

	if (!st && !openssls_doing && !openssl_binaries_identify(&d->binaries, p))
		return; /* a program's own libraries: not OpenSSL's doing */
	if (!st)
		st = state_for_loading(d, p);
	if (!st)
		return;
	/* Another program's mappings count when they are what its OpenSSL config asked for. */
	if (!openssls_doing && !st->is_openssl && !attempt_of_mapping(st, ev))
		return;
	/* A kill is always told; otherwise the program's own executable is never a module, nor
	 * the program ld.so was asked to run. */
	if (!killed && file->ino && file->dev == p->exe.dev && file->ino == p->exe.ino)
		return;
	if (!killed && st->loaded_program && file->path &&
	    strcmp(file->path, st->loaded_program) == 0)
		return;

	a = attempt_of_mapping(st, ev);
	view = (struct trust_view){
		.root = st->root,
		.container = p->container_id[0],
		/* The eBPF source answers `added` for every mapping it flags in_container */
		.layers_known = ev->map.in_container && file->ino,
		.added = ev->map.added,
	};
	if (trust_decide_view(d->env.trust, file, attempt_role(a), &view, &reason) !=
	    TRUST_CUSTOM) {
		if (!killed) {
			if (a) {
				a->mapped = true;
				a->trusted = true;
			}
			return;
		}
		/* The kernel's judgement was stricter, and it acted: report it, and why ours
		 * differed. */
		trusted_by_detector = reason;
		reason = ev->map.kill.reason;
	}
	if (!a)
		a = attempt_named_by_fd(st);
	if (!a) {
		a = attempt_new(st, NULL, file->path, true);
		if (a) {
			a->kind = kind_by_place(d, file->path ? file->path : "");
			a->time_ns = ev->time_ns;
			a->source = ev->source;
			/* Named nowhere: say why the mapping counted. */
			if (ev->map.in_openssl_call && !ev->map.in_module_load)
				a->origin = "engine or provider call";
		} else {
			a = &unstored; /* out of memory: report all the same */
		}
	}
	a->mapped = true;
	if (a->reported && !killed)
		return;
	a->layers |= LAYER_EFFECT;
	a->trusted = false;
	a->trust_reason = reason;
	a->trusted_by_detector = trusted_by_detector;
	a->have_id = true;
	a->dev = file->dev;
	a->ino = file->ino;
	report(d, p, a, file, ev);
}

/*
 * Asked for, not trusted, not reported yet. What only another program's environment asked
 * for counts once it is mapped: most programs never load OpenSSL's configuration at all.
 */
static bool attempt_unreported(const struct ossl_state *st, const struct module_attempt *a)
{
	return !a->trusted && !a->reported && a->path &&
	       (st->is_openssl || (a->layers & LAYER_LIBRARY));
}

/* libcrypto gave up on a module it never mapped: report the attempt now. */
static void on_module_load_done(struct openssl_detector *d, struct proc *p, const struct event *ev)
{
	struct ossl_state *st = state_get(p);
	struct module_attempt *a = st ? attempt_at(st, st->loading) : NULL;

	if (!a || st->loading_tid != ev->tid)
		return;
	st->loading = 0;
	if (!ev->module_load_done.ok && attempt_unreported(st, a))
		report(d, p, a, NULL, NULL);
}

/* Asked for, never mapped: an attempt, reported once the process is gone (or we stop). */
void openssl_detector_flush(struct openssl_detector *d, struct proc *p)
{
	struct ossl_state *st = state_get(p);

	for (size_t i = 0; st && i < st->n_attempts; i++)
		if (attempt_unreported(st, &st->attempts[i]))
			report(d, p, &st->attempts[i], NULL, NULL);
}

void openssl_detector_on_event(struct openssl_detector *d, struct proc *p, const struct event *ev)
{
	switch (ev->kind) {
	case EVENT_EXEC:
		on_exec(d, p, ev);
		break;
	case EVENT_MODULE_LOAD:
		on_module_load(d, p, ev);
		break;
	case EVENT_MAP:
		on_map(d, p, ev);
		break;
	case EVENT_MODULE_LOAD_DONE:
		on_module_load_done(d, p, ev);
		break;
	case EVENT_EXIT:
		openssl_detector_flush(d, p);
		break;
	case EVENT_NS_GONE:	     /* handled by the pipeline, per process */
	case EVENT_LIBCRYPTO_MAPPED: /* handled by the eBPF source */
	case EVENT_DROPPED:	     /* handled by the pipeline */
	case EVENT_FORK:
		break;
	}
}

int openssl_detector_new(struct openssl_detector **ret, const struct detector_env *env)
{
	struct openssl_detector *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->env = *env;
	openssl_binaries_init(&d->binaries, &d->env);
	*ret = d;
	return 0;
}

int openssl_detector_add_binary(struct openssl_detector *d, const char *path)
{
	return openssl_binaries_add(&d->binaries, path);
}

int openssl_detector_add_default_binaries(struct openssl_detector *d)
{
	return openssl_binaries_add_defaults(&d->binaries);
}

void openssl_detector_free(struct openssl_detector *d)
{
	free(d);
}

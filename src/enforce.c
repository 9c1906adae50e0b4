// SPDX-License-Identifier: Apache-2.0
#include "enforce.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proc/procfile.h"
#include "util/log.h"

#define MAX_MODULES 1024 /* the kernel map's size */

static void trust_dir(const char *dir, const struct stat *st, bool modules, void *ctx)
{
	if (ebpf_source_trust_dir(ctx, st->st_dev, st->st_ino, modules))
		log_warn("cannot trust %s in the kernel: loads from it will be killed", dir);
}

struct module_ids {
	struct ebpf_file_id ids[MAX_MODULES];
	size_t n;
};

static void add_module(const char *path, const struct stat *st, void *ctx)
{
	struct module_ids *m = ctx;

	if (m->n == MAX_MODULES) {
		log_warn("more than %d verified modules: %s and later ones will be killed in "
			 "enforce mode",
			 MAX_MODULES, path);
		return;
	}
	m->ids[m->n++] = (struct ebpf_file_id){
		.dev = st->st_dev,
		.ino = st->st_ino,
		.ctime_ns = stat_ctime_ns(st),
	};
}

static void load_modules(struct enforce_lists *el)
{
	struct module_ids *m = calloc(1, sizeof(*m));
	int err;

	if (!m) {
		log_error("cannot list the verified modules: out of memory (the ones listed "
			  "before stay)");
		return;
	}
	trust_policy_for_each_module(el->tp, add_module, m);
	err = ebpf_source_trust_modules(el->src, m->ids, m->n);
	if (err)
		log_error("cannot list all verified modules in the kernel (%s): loads of the "
			  "others will be killed",
			  strerror(-err));
	log_info("enforce mode: %zu module files of ENGINESDIR and MODULESDIR are verified as "
		 "installed, the only modules that may load",
		 m->n);
	el->modules = m->n;
	free(m);
}

int enforce_lists_load(struct enforce_lists *el, struct ebpf_source *src,
		       const struct trust_policy *tp)
{
	int n, err;

	*el = (struct enforce_lists){ .src = src, .tp = tp };
	n = trust_policy_for_each_dir(tp, 2, trust_dir, src);
	err = ebpf_source_freeze_trust(src);
	if (err) {
		log_error("cannot freeze the trusted directories: %s", strerror(-err));
		return err;
	}
	trust_policy_modules_changed(tp, &el->stamp);
	load_modules(el);
	ebpf_source_enforce_ready(src);
	return n;
}

void enforce_lists_refresh(struct enforce_lists *el)
{
	if (el->src && trust_policy_modules_changed(el->tp, &el->stamp))
		load_modules(el);
}

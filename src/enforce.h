/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Enforce mode's lists in the kernel, made from the trust policy so that the kernel's quick
 * judgement is never more lenient than the policy's: the trusted directories (frozen once
 * listed) and the verified module files of ENGINESDIR and MODULESDIR (kept up to date as
 * packages are installed, upgraded and removed).
 */
#ifndef SOWATCH_ENFORCE_H
#define SOWATCH_ENFORCE_H

#include "detectors/trust.h"
#include "sources/ebpf.h"

struct enforce_lists {
	struct ebpf_source *src;
	const struct trust_policy *tp;
	struct trust_modules_stamp stamp;
	size_t modules; /* verified module files in the kernel now */
};

/*
 * Lists the trusted directories (frozen) and the verified modules. Returns how many
 * directories were listed, or -errno (logged).
 */
int enforce_lists_load(struct enforce_lists *el, struct ebpf_source *src,
		       const struct trust_policy *tp);

/* Verifies the modules again when ENGINESDIR, MODULESDIR or the package database changed. */
void enforce_lists_refresh(struct enforce_lists *el);

#endif

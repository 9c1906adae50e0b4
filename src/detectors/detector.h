/* SPDX-License-Identifier: Apache-2.0 */
/* What every detector is given: the process table, the trust policy, a way to report. */
#ifndef SOWATCH_DETECTOR_H
#define SOWATCH_DETECTOR_H

#include <stdint.h>

#include "detectors/trust.h"
#include "findings/finding.h"
#include "proc/proctable.h"

struct detector_env {
	struct proctable *pt;
	const struct trust_policy *trust;
	/* A finding is complete: the callee stores and emits it before returning. */
	void (*report)(const struct finding *f, void *ctx);
	/*
	 * Ask the sources to watch more closely (optional): every process of this executable,
	 * or this process from now on.
	 */
	void (*watch_exe)(uint64_t dev, uint64_t ino, void *ctx);
	void (*watch_process)(uint32_t pid, void *ctx);
	void *ctx;
};

#endif

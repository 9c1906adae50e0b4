/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "Execution: Added Library Loaded" detector (Security Command Center's category,
 * severity LOW): a process in a container maps a shared library that did not come with the
 * container's image: it lives in the writable layer of the overlay root, in memory (tmpfs,
 * memfd), was deleted, or was changed after the container started. The kernel side decides
 * which mappings qualify (sw_added_reason); this detector names them, once per process and
 * file.
 */
#ifndef SOWATCH_DETECTORS_ADDED_LIBRARY_H
#define SOWATCH_DETECTORS_ADDED_LIBRARY_H

#include "detectors/detector.h"

struct added_library_detector;

extern const struct finding_kind added_library_finding_kind;

int added_library_detector_new(struct added_library_detector **ret, const struct detector_env *env);
void added_library_detector_on_event(struct added_library_detector *d, struct proc *p,
				     const struct event *ev);
void added_library_detector_free(struct added_library_detector *d);

#endif

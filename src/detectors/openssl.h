/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "Suspicious OpenSSL Shared Object Loaded" detector. Three layers, merged into one
 * finding per (process, module):
 *
 *   intent   the exec of an OpenSSL binary (known by its file or hash, never by its name)
 *            whose arguments, environment or configuration name a module; any other
 *            program's OpenSSL environment, and the configuration of one that has OpenSSL
 *            linked in (node's as node reads it);
 *   library  OpenSSL's DSO_load() was called, in any program;
 *   effect   a file was mapped executable while OpenSSL was loading a module or inside one of
 *            its engine and provider calls, or in an OpenSSL binary after start, or it is a
 *            file the intent layer named.
 *
 * A custom module whose code was mapped gives a CRITICAL finding at once; one that was asked
 * for but never mapped gives a HIGH finding, marked not loaded, when the process exits.
 */
#ifndef SOWATCH_DETECTORS_OPENSSL_H
#define SOWATCH_DETECTORS_OPENSSL_H

#include "detectors/detector.h"

struct openssl_detector;

extern const struct finding_kind openssl_finding_kind;

int openssl_detector_new(struct openssl_detector **ret, const struct detector_env *env);
/* Learn an OpenSSL binary by path (its identity and hash); -errno when unreadable. */
int openssl_detector_add_binary(struct openssl_detector *d, const char *path);
/* The binaries every host has in the usual places. Returns how many were found. */
int openssl_detector_add_default_binaries(struct openssl_detector *d);
void openssl_detector_on_event(struct openssl_detector *d, struct proc *p, const struct event *ev);
/* Report what process p asked for and never loaded, as if it exited (sowatch is stopping). */
void openssl_detector_flush(struct openssl_detector *d, struct proc *p);
void openssl_detector_free(struct openssl_detector *d);

#endif

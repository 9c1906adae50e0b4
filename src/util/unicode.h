/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What text is safe to show: the one place that decodes UTF-8 and says which code points a
 * terminal acts on. The CLI's output (cli/findings_print.c) and every log line (util/log.c)
 * escape what these say, each in its own notation.
 */
#ifndef SOWATCH_UNICODE_H
#define SOWATCH_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Length of the well-formed UTF-8 sequence at s (n bytes, n >= 1) and its code point, or 0
 * if there is none there (a stray continuation byte, an overlong form, a surrogate, a cut).
 */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *ret_cp);

/*
 * Code points a terminal acts on or that change how a line reads: C1 controls (U+0080 to
 * U+009F), bidi overrides, isolates and marks (U+202A to U+202E, U+2066 to U+2069, ...) and
 * invisible format characters.
 */
bool unicode_unsafe(uint32_t cp);

#endif

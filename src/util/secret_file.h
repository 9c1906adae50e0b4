/* SPDX-License-Identifier: Apache-2.0 */
#ifndef SOWATCH_SECRET_FILE_H
#define SOWATCH_SECRET_FILE_H

#include <stddef.h>

/*
 * Reads a secret (a bearer token, a password): a regular file only root (or sowatch's user) can
 * change, through directories only they can change (util/safe_path.h), that its group and
 * others cannot read either. Trailing white space (a newline left by an editor) is dropped;
 * what remains must be printable ASCII without spaces, so that it cannot end a header or a
 * protocol line early. `what` names the file in messages ("the webhook's bearer token file").
 * 0, or -errno with one line in error; on failure the secret buffer is wiped.
 */
int secret_file_read(const char *path, const char *what, char *secret, size_t size, char *error,
		     size_t esize);

#endif

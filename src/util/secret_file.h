/* SPDX-License-Identifier: Apache-2.0 */
#ifndef SOWATCH_SECRET_FILE_H
#define SOWATCH_SECRET_FILE_H

#include <stddef.h>

/* The longest secret: a buffer of SECRET_FILE_MAX + 2 bytes holds it and tells a longer one */
#define SECRET_FILE_MAX 4096

/*
 * Reads a secret (a bearer token, a password): a regular file only root (or sowatch's user) can
 * change, through directories only they can change (util/safe_path.h), that its group and
 * others cannot read either. Trailing white space (a newline left by an editor) is dropped;
 * what remains must be printable ASCII without spaces, so that it cannot end a header or a
 * protocol line early; nor a byte of `refused` (NULL: none). `what` names the file in messages
 * ("the webhook's bearer token file"). 0, or -errno with one line in error; on failure the
 * secret buffer is wiped. The configuration's checks (config_checks.c) apply the same rules at
 * start and reload, so that a file accepted there is not refused here at the first use.
 */
int secret_file_read(const char *path, const char *what, const char *refused, char *secret,
		     size_t size, char *error, size_t esize);
/*
 * The same checks of the file, and its whole content as it is (a key file in JSON), NUL
 * terminated, its length in *ret_len. A file of size - 1 bytes or more is refused.
 */
int secret_file_read_all(const char *path, const char *what, char *secret, size_t size,
			 size_t *ret_len, char *error, size_t esize);

#endif

// SPDX-License-Identifier: Apache-2.0
#include "util/hostname.h"

#include <stdio.h>
#include <unistd.h>

void host_name(char *buf, size_t size)
{
	if (!size)
		return;
	/* gethostname() may leave a name that filled the buffer unterminated */
	buf[size - 1] = '\0';
	if (size < 2 || gethostname(buf, size - 1) || !buf[0])
		snprintf(buf, size, "localhost");
}

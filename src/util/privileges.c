// SPDX-License-Identifier: Apache-2.0
#include "util/privileges.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The highest capability this kernel knows; the bounding set has one bit per capability. */
static int cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last;
}

static bool kept(int cap, const int *keep, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] == cap)
			return true;
	return false;
}

int privileges_keep_only(const int *keep, size_t n)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };
	int last = cap_last();

	/*
	 * The bounding set first: dropping from it needs CAP_SETPCAP, which goes next. What is
	 * not in it already is left alone, so a container started with only the kept
	 * capabilities needs no CAP_SETPCAP at all.
	 */
	for (int cap = 0; cap <= last; cap++)
		if (!kept(cap, keep, n) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) > 0 &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
			return -errno;
	for (size_t i = 0; i < n; i++) {
		data[CAP_TO_INDEX(keep[i])].effective |= CAP_TO_MASK(keep[i]);
		data[CAP_TO_INDEX(keep[i])].permitted |= CAP_TO_MASK(keep[i]);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return -errno;
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return 0;
}

bool privileges_effective(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };

	return syscall(SYS_capget, &hdr, data) == 0 &&
	       (data[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap));
}

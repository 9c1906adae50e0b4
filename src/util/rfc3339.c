// SPDX-License-Identifier: Apache-2.0
#include "util/rfc3339.h"

#include <ctype.h>
#include <stdio.h>
#include <time.h>

void rfc3339(uint64_t ns, char out[40])
{
	time_t sec = ns / 1000000000;
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 40 - n, ".%06uZ", (unsigned)((ns % 1000000000) / 1000));
}

int64_t rfc3339_parse(const char *s)
{
	struct tm tm = { 0 };
	int64_t frac = 0, sec;
	int digits = 0, off = 0;
	time_t t;
	int n = 0;

	if (!s ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 19)
		return 0;
	if (tm.tm_year < 1970 || tm.tm_year > 2261 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60 || tm.tm_hour < 0 || tm.tm_min < 0 || tm.tm_sec < 0)
		return 0;
	s += n;
	if (*s == '.') {
		for (s++; isdigit((unsigned char)*s); s++)
			if (digits++ < 9)
				frac = frac * 10 + (*s - '0');
		if (!digits)
			return 0;
		for (; digits < 9; digits++)
			frac *= 10;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int h, m;

		if (!isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]) || s[3] != ':' ||
		    !isdigit((unsigned char)s[4]) || !isdigit((unsigned char)s[5]))
			return 0;
		h = (s[1] - '0') * 10 + (s[2] - '0');
		m = (s[4] - '0') * 10 + (s[5] - '0');
		if (h > 23 || m > 59)
			return 0;
		off = (h * 60 + m) * 60 * (*s == '-' ? -1 : 1);
		s += 6;
	} else {
		return 0;
	}
	if (*s)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return 0;
	sec = (int64_t)t - off;
	if (sec <= 0 || sec > INT64_MAX / 1000000000 - 1)
		return 0;
	return sec * 1000000000 + frac;
}

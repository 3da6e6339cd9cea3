/*
 * utf8.h: the one check of UTF-8 that lincheck's page writer
 * (visualize.c) and its tool's history readers (tools/histories.c) share.
 * Header-only and internal: not part of liblincheck's API.
 */
#ifndef RAFTLAB_LINCHECK_UTF8_H
#define RAFTLAB_LINCHECK_UTF8_H

#include <stddef.h>

/* The length of the well-formed UTF-8 sequence at p (of at most left
 * bytes), or 0 if there is none there (RFC 3629). */
static inline size_t utf8_length(const unsigned char *p, size_t left)
{
	unsigned c = p[0], len, min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000;
	else
		return 0;
	if (left < len)
		return 0;
	unsigned cp = c & (0x7f >> len);
	for (unsigned k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

#endif

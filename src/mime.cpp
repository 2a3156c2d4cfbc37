/*
 * mime.cpp: extension -> Content-Type table for the audio formats streamd serves.
 */
#include <string.h>
#include <strings.h>

#include "mime.h"
#include "streamd.h"

static const struct {
	const char *ext;
	const char *type;
} mime_table[] = {
	{ "aac",  "audio/aac" },
	{ "flac", "audio/flac" },
	{ "m4a",  "audio/mp4" },
	{ "mp3",  "audio/mpeg" },
	{ "oga",  "audio/ogg" },
	{ "ogg",  "audio/ogg" },
	{ "opus", "audio/ogg" },     /* Ogg Opus files (RFC 7845) */
	{ "wav",  "audio/wav" },
	{ "weba", "audio/webm" },
	{ "webm", "audio/webm" },
};

const char *
mime_type(const char *path, size_t len)
{
	size_t i, extlen;
	const char *dot = NULL, *p;

	for (p = path + len; p > path; p--) {
		if (p[-1] == '.') {
			dot = p;
			break;
		}
		if (p[-1] == '/')
			break;
	}
	if (dot == NULL || dot - 1 == path || dot[-2] == '/')
		return NULL;               /* no extension, or a dot-file */
	extlen = (size_t)(path + len - dot);
	for (i = 0; i < NITEMS(mime_table); i++)
		if (strlen(mime_table[i].ext) == extlen &&
		    strncasecmp(dot, mime_table[i].ext, extlen) == 0)
			return mime_table[i].type;
	return NULL;
}

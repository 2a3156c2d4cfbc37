/*
 * httpdate.h: HTTP-date (RFC 9110, section 5.6.7): IMF-fixdate out, all three forms in.
 */
#ifndef STREAMD_HTTPDATE_H
#define STREAMD_HTTPDATE_H

#include <time.h>

#define HTTPDATE_LEN 30         /* "Sun, 06 Nov 1994 08:49:37 GMT" + NUL */

void httpdate_format(time_t t, char out[HTTPDATE_LEN]);
/* IMF-fixdate, obsolete RFC 850 and asctime forms; -1 if not a date. */
int  httpdate_parse(const char *s, time_t *out);
/* Seconds since the epoch of a proleptic Gregorian UTC date and time. */
long long httpdate_civil(long long year, int month, int day, int hour, int min, int sec);

#endif

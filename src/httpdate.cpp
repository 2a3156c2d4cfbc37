/*
 * httpdate.cpp: format and parse HTTP-dates without locale or timezone dependence.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "httpdate.h"

static const char *const wdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static void
two(char *p, int v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

void
httpdate_format(time_t t, char out[HTTPDATE_LEN])
{
	struct tm tm;

	int year;

	gmtime_r(&t, &tm);
	year = (tm.tm_year + 1900) % 10000;
	memcpy(out, wdays[tm.tm_wday], 3);
	out[3] = ',';
	out[4] = ' ';
	two(out + 5, tm.tm_mday);
	out[7] = ' ';
	memcpy(out + 8, months[tm.tm_mon], 3);
	out[11] = ' ';
	two(out + 12, year / 100);
	two(out + 14, year % 100);
	out[16] = ' ';
	two(out + 17, tm.tm_hour);
	out[19] = ':';
	two(out + 20, tm.tm_min);
	out[22] = ':';
	two(out + 23, tm.tm_sec);
	memcpy(out + 25, " GMT", 5);
}

static int
month_index(const char *s)
{
	int i;

	for (i = 0; i < 12; i++)
		if (strncmp(s, months[i], 3) == 0)
			return i;
	return -1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static long long
days_from_civil(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
read_num(const char **p, int digits, int *out)
{
	int v = 0, i;

	for (i = 0; i < digits; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += digits;
	*out = v;
	return 0;
}

static int
read_time(const char **p, int *h, int *mi, int *s)
{
	if (read_num(p, 2, h) == -1 || **p != ':')
		return -1;
	(*p)++;
	if (read_num(p, 2, mi) == -1 || **p != ':')
		return -1;
	(*p)++;
	return read_num(p, 2, s);
}

int
httpdate_parse(const char *s, time_t *out)
{
	const char *p = s, *comma;
	int day, mon, year, h, mi, sec;

	while (*p == ' ')
		p++;
	comma = strchr(p, ',');
	if (comma != NULL && comma - p == 3) {
		/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
		p = comma + 1;
		if (*p++ != ' ' || read_num(&p, 2, &day) == -1 || *p++ != ' ')
			return -1;
		if ((mon = month_index(p)) == -1)
			return -1;
		p += 3;
		if (*p++ != ' ' || read_num(&p, 4, &year) == -1 || *p++ != ' ')
			return -1;
		if (read_time(&p, &h, &mi, &sec) == -1 || strncmp(p, " GMT", 4) != 0)
			return -1;
		p += 4;
	} else if (comma != NULL) {
		/* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
		int yy;
		p = comma + 1;
		if (*p++ != ' ' || read_num(&p, 2, &day) == -1 || *p++ != '-')
			return -1;
		if ((mon = month_index(p)) == -1)
			return -1;
		p += 3;
		if (*p++ != '-' || read_num(&p, 2, &yy) == -1 || *p++ != ' ')
			return -1;
		year = yy < 70 ? 2000 + yy : 1900 + yy;
		if (read_time(&p, &h, &mi, &sec) == -1 || strncmp(p, " GMT", 4) != 0)
			return -1;
		p += 4;
	} else {
		/* asctime: Sun Nov  6 08:49:37 1994 */
		if (strlen(p) < 24 || p[3] != ' ')
			return -1;
		p += 4;
		if ((mon = month_index(p)) == -1)
			return -1;
		p += 3;
		if (*p++ != ' ')
			return -1;
		if (*p == ' ')
			p++, day = 0;
		if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1])) {
			if (read_num(&p, 2, &day) == -1)
				return -1;
		} else if (read_num(&p, 1, &day) == -1) {
			return -1;
		}
		if (*p++ != ' ' || read_time(&p, &h, &mi, &sec) == -1 || *p++ != ' ' ||
		    read_num(&p, 4, &year) == -1)
			return -1;
	}
	while (*p == ' ')
		p++;
	if (*p != '\0')
		return -1;
	if (day < 1 || day > 31 || h > 23 || mi > 59 || sec > 60 || year < 1970)
		return -1;
	*out = (time_t)httpdate_civil(year, mon + 1, day, h, mi, sec);
	return 0;
}

long long
httpdate_civil(long long year, int month, int day, int hour, int min, int sec)
{
	return days_from_civil(year, month, day) * 86400LL + hour * 3600LL + min * 60LL + sec;
}

/*
 * jwt_bench.cpp: JWT validations per second (jwt.h), one key configured.
 *
 *   build/jwt_bench hs SECRET TOKEN [n]      HS256 with jwt_secret
 *   build/jwt_bench pem PUBKEY.pem TOKEN [n] RS/PS/ES/EdDSA with jwt_public_key
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "jwt.h"

int
main(int argc, char **argv)
{
	struct conf c;
	struct jwt_keys *k;
	struct jwt_claims cl;
	struct timespec a, b;
	char err[256], why[160];
	long n, i, ok = 0;
	double secs;

	if (argc < 4) {
		fprintf(stderr, "usage: jwt_bench hs|pem KEY TOKEN [n]\n");
		return 1;
	}
	n = argc > 4 ? atol(argv[4]) : 200000;
	memset(&c, 0, sizeof(c));
	c.jwt_leeway = 30000;
	c.jwt_max_size = 8192;
	if (strcmp(argv[1], "hs") == 0) {
		c.jwt_secret = (unsigned char *)argv[2];
		c.jwt_secret_len = strlen(argv[2]);
	} else {
		c.jwt_public_key = argv[2];
	}
	if ((k = jwt_keys_load(&c, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++)
		ok += jwt_verify(k, argv[3], strlen(argv[3]), (int64_t)time(NULL), JWT_USE_ACCESS,
		    &cl, why, sizeof(why)) == JWT_OK;
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	if (ok != n) {
		fprintf(stderr, "only %ld of %ld tokens validated: %s\n", ok, n, why);
		return 1;
	}
	printf("%.0f\n", (double)n / secs);
	jwt_keys_free(k);
	return 0;
}

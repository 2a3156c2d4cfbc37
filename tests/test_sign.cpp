/* test_sign.cpp: HMAC-SHA256 (RFC 4231 vectors) and signed-URL checks (sign.h). */
#include "cmocka_inc.h"
#include <stdio.h>
#include <string.h>

#include "sign.h"
#include "util.h"

static void
hex_of(const unsigned char *mac, char out[65])
{
	hex_encode(mac, 32, out);
}

static void
rfc4231(void **state)
{
	struct sign_key k;
	unsigned char mac[32], key[131];
	char hex[65];

	(void)state;
	/* Test case 1 */
	memset(key, 0x0b, 20);
	assert_int_equal(sign_key_init(&k, key, 20), 0);
	assert_int_equal(sign_hmac(&k, "Hi There", 8, NULL, 0, NULL, 0, mac), 0);
	hex_of(mac, hex);
	assert_string_equal(hex,
	    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	sign_key_free(&k);
	/* Test case 2: "Jefe"; message split over parts gives the same MAC */
	assert_int_equal(sign_key_init(&k, (const unsigned char *)"Jefe", 4), 0);
	assert_int_equal(sign_hmac(&k, "what do ya want ", 16, "for ", 4, "nothing?", 8, mac), 0);
	hex_of(mac, hex);
	assert_string_equal(hex,
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	sign_key_free(&k);
	/* Test case 6: a key longer than the block is hashed first */
	memset(key, 0xaa, 131);
	assert_int_equal(sign_key_init(&k, key, 131), 0);
	assert_int_equal(sign_hmac(&k, "Test Using Larger Than Block-Size Key - Hash Key First",
	    54, NULL, 0, NULL, 0, mac), 0);
	hex_of(mac, hex);
	assert_string_equal(hex,
	    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	sign_key_free(&k);
}

static const char KEY[] = "0123456789abcdef0123456789abcdef";

static void
check_cases(void **state)
{
	struct sign_key k;
	unsigned char mac[32];
	char sig[65], exp[32];
	const char *path = "subfolder/track 3.mp3";
	int64_t e;

	(void)state;
	assert_int_equal(sign_key_init(&k, (const unsigned char *)KEY, strlen(KEY)), 0);
	assert_int_equal(sign_mac(&k, path, strlen(path), 2000000000, mac), 0);
	hex_encode(mac, 32, sig);
	snprintf(exp, sizeof(exp), "2000000000");
	assert_int_equal(sign_check(&k, path, strlen(path), exp, sig, 1999999999, 0, &e), SIGN_OK);
	assert_int_equal(e, 2000000000);
	/* expired: 410 unless inside the leeway */
	assert_int_equal(sign_check(&k, path, strlen(path), exp, sig, 2000000001, 0, &e),
	    SIGN_EXPIRED);
	assert_int_equal(sign_check(&k, path, strlen(path), exp, sig, 2000000001, 5, &e), SIGN_OK);
	/* uppercase hex is the same MAC */
	for (char *p = sig; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(sign_check(&k, path, strlen(path), exp, sig, 0, 0, &e), SIGN_OK);
	/* other path or expiry: invalid */
	assert_int_equal(sign_check(&k, "other.mp3", 9, exp, sig, 0, 0, &e), SIGN_INVALID);
	assert_int_equal(sign_check(&k, path, strlen(path), "2000000001", sig, 0, 0, &e),
	    SIGN_INVALID);
	assert_int_equal(sign_check(&k, path, strlen(path), "02000000000", sig, 0, 0, &e),
	    SIGN_INVALID);
	/* missing and malformed */
	assert_int_equal(sign_check(&k, path, strlen(path), NULL, NULL, 0, 0, &e), SIGN_MISSING);
	assert_int_equal(sign_check(&k, path, strlen(path), exp, NULL, 0, 0, &e), SIGN_MALFORMED);
	assert_int_equal(sign_check(&k, path, strlen(path), NULL, sig, 0, 0, &e), SIGN_MALFORMED);
	assert_int_equal(sign_check(&k, path, strlen(path), "", sig, 0, 0, &e), SIGN_MALFORMED);
	assert_int_equal(sign_check(&k, path, strlen(path), "-1", sig, 0, 0, &e), SIGN_MALFORMED);
	assert_int_equal(sign_check(&k, path, strlen(path), "12x", sig, 0, 0, &e), SIGN_MALFORMED);
	assert_int_equal(sign_check(&k, path, strlen(path), "1234567890123456789", sig, 0, 0, &e),
	    SIGN_MALFORMED);
	assert_int_equal(sign_check(&k, path, strlen(path), exp, "abc", 0, 0, &e), SIGN_MALFORMED);
	sig[10] = 'z';
	assert_int_equal(sign_check(&k, path, strlen(path), exp, sig, 0, 0, &e), SIGN_MALFORMED);
	sign_key_free(&k);
}

static void
url(void **state)
{
	struct sign_key k;
	char out[512];

	(void)state;
	assert_int_equal(sign_key_init(&k, (const unsigned char *)KEY, strlen(KEY)), 0);
	assert_int_equal(sign_url(&k, "sub/Fr\xc3\xbc" "h Lied.mp3", 18, 1700000000, out,
	    sizeof(out)), 0);
	assert_true(strncmp(out, "/stream/sub/Fr%C3%BCh%20Lied.mp3?expires=1700000000&sig=",
	    56) == 0);
	assert_int_equal(strlen(out), 56 + 64);
	assert_int_equal(sign_url(&k, "a.mp3", 5, 1, out, 20), -1);
	sign_key_free(&k);
	assert_string_equal(sign_result_name(SIGN_EXPIRED), "expired");
}

/* hex_decode against a per-byte reference: every one of the 256 byte values, each place. */
static void
hex_digits(void **state)
{
	unsigned char out[2];
	char in[5];
	int c, pos, want;

	(void)state;
	for (c = 0; c < 256; c++) {
		if (c >= '0' && c <= '9')
			want = c - '0';
		else if (c >= 'a' && c <= 'f')
			want = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			want = c - 'A' + 10;
		else
			want = -1;
		assert_int_equal(hex_value((char)c), want);
		for (pos = 0; pos < 4; pos++) {
			memcpy(in, "a5F0", 5);
			in[pos] = (char)c;
			if (want < 0) {
				assert_int_equal(hex_decode(in, 4, out, 2), -1);
				continue;
			}
			assert_int_equal(hex_decode(in, 4, out, 2), 0);
			assert_int_equal(out[pos / 2] >> (pos % 2 ? 0 : 4) & 15, want);
		}
	}
	assert_int_equal(hex_decode("a5F", 3, out, 2), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc4231),
		cmocka_unit_test(check_cases),
		cmocka_unit_test(url),
		cmocka_unit_test(hex_digits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

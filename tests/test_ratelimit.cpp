/* test_ratelimit.cpp: token buckets and eviction (ratelimit.h) and the revocation set
 * (revoke.h), on a real shared-memory segment (shm.h). */
#include "cmocka_inc.h"
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "ratelimit.h"
#include "revoke.h"
#include "shm.h"

static void *table;
static size_t nentries;

static int
setup(void **state)
{
	size_t regions[SHM_REGION_COUNT];

	struct conf c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.rate_limit_table = 80;                    /* 10 sets of 8 */
	regions[SHM_REGION_RATELIMIT] = ratelimit_shm_size(&c);
	regions[SHM_REGION_REVOKE] = revoke_shm_size();
	if (shm_create(regions) == -1)
		return -1;
	table = shm_region(SHM_REGION_RATELIMIT, NULL);
	ratelimit_shm_init(&c);
	nentries = 80;
	revoke_shm_init();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	shm_destroy();
	return 0;
}

static void
addr(unsigned char a[16], int n)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	a[12] = 10;
	a[14] = (unsigned char)(n >> 8);
	a[15] = (unsigned char)n;
}

static size_t
entries(void)
{
	return nentries;
}

static void
bucket(void **state)
{
	unsigned char a[16];
	int64_t retry, t = 1000000000;
	int rem, i, ok = 0;
	size_t n = entries() / RATELIMIT_SET * RATELIMIT_SET;

	(void)state;
	addr(a, 1);
	/* rate 10/s, burst 5: 6 at once, then one per 100 ms */
	for (i = 0; i < 10; i++)
		ok += ratelimit_take(table, n, a, 0, 10.0, 5, t, &retry, &rem);
	assert_int_equal(ok, 6);
	assert_int_equal(rem, 0);
	assert_true(retry > 0 && retry <= 100000);
	assert_int_equal(ratelimit_take(table, n, a, 0, 10.0, 5, t + 50000, &retry, &rem), 0);
	assert_int_equal(ratelimit_take(table, n, a, 0, 10.0, 5, t + 100000, &retry, &rem), 1);
	/* classes are separate */
	assert_int_equal(ratelimit_take(table, n, a, 1, 10.0, 0, t, &retry, &rem), 1);
	assert_int_equal(ratelimit_take(table, n, a, 1, 10.0, 0, t, &retry, &rem), 0);
	/* a second later the bucket has refilled */
	ok = 0;
	for (i = 0; i < 10; i++)
		ok += ratelimit_take(table, n, a, 0, 10.0, 5, t + 2000000, &retry, &rem);
	assert_int_equal(ok, 6);
}

static void
eviction_keeps_debtors(void **state)
{
	unsigned char a[16], abuser[16];
	int64_t retry, t = 5000000000;
	int rem, i;
	size_t n = entries() / RATELIMIT_SET * RATELIMIT_SET;

	(void)state;
	addr(abuser, 999);
	for (i = 0; i < 20; i++)
		ratelimit_take(table, n, abuser, 0, 1.0, 0, t, &retry, &rem);
	assert_int_equal(ratelimit_take(table, n, abuser, 0, 1.0, 0, t, &retry, &rem), 0);
	/* a flood of one-request clients */
	for (i = 0; i < 5000; i++) {
		addr(a, i);
		ratelimit_take(table, n, a, 0, 1.0, 0, t + i, &retry, &rem);
	}
	assert_int_equal(ratelimit_take(table, n, abuser, 0, 1.0, 0, t + 6000, &retry, &rem), 0);
	/* connection counts */
	addr(a, 7);
	assert_int_equal(ratelimit_conns(table, n, a, 1, 2, t), 1);
	assert_int_equal(ratelimit_conns(table, n, a, 1, 2, t), 1);
	assert_int_equal(ratelimit_conns(table, n, a, 1, 2, t), 0);
	assert_int_equal(ratelimit_conns(table, n, a, -1, 2, t), 1);
	assert_int_equal(ratelimit_conns(table, n, a, 1, 2, t), 1);
}

static void
revocations(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(revoke_add(REVOKE_JTI, "j1", 2000, 1000), 0);
	assert_true(revoke_has(REVOKE_JTI, "j1", 1500));
	assert_false(revoke_has(REVOKE_FAMILY, "j1", 1500));
	assert_false(revoke_has(REVOKE_JTI, "j1", 2001));        /* expired */
	assert_int_equal(revoke_mark_used("r1", 3000, 1000), 0);
	assert_int_equal(revoke_mark_used("r1", 3000, 1000), 1);
	/* another process sees the same set */
	pid = fork();
	if (pid == 0)
		_exit(revoke_mark_used("r2", 3000, 1000) == 0 ? 0 : 1);
	waitpid(pid, &status, 0);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(revoke_mark_used("r2", 3000, 1000), 1);
	/* a lock held by a dead process is released by the reaper */
	pid = fork();
	if (pid == 0) {
		shm_lock(SHM_LOCKS_REVOKE + 3);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	shm_proc_reap(-1, pid);
	shm_lock(SHM_LOCKS_REVOKE + 3);
	shm_unlock(SHM_LOCKS_REVOKE + 3);
	/* purge keeps the live ones */
	assert_int_equal(revoke_add(REVOKE_FAMILY, "f", 5000, 1000), 0);
	assert_true(revoke_purge(2500) >= 2);
	assert_true(revoke_has(REVOKE_FAMILY, "f", 2500));
	assert_true(revoke_has(REVOKE_REFRESH_USED, "r1", 2500));
	assert_false(revoke_has(REVOKE_JTI, "j1", 1500));        /* purged at 2500 */
	assert_int_equal(revoke_add(REVOKE_JTI, "", 5000, 1000), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bucket),
		cmocka_unit_test(eviction_keeps_debtors),
		cmocka_unit_test(revocations),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

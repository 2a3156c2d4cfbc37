/* test_filecache.cpp: the open-file cache (filecache.h): confinement, change detection,
 * the LRU bound. */
#include "cmocka_inc.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filecache.h"

static char root[64], outside[64];

static void
put(const char *dir, const char *name, const char *data)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	fputs(data, f);
	fclose(f);
}

static int
setup(void **state)
{
	char p[256], q[256];

	(void)state;
	snprintf(root, sizeof(root), "/tmp/streamd-fc-XXXXXX");
	snprintf(outside, sizeof(outside), "/tmp/streamd-fco-XXXXXX");
	if (mkdtemp(root) == NULL || mkdtemp(outside) == NULL)
		return -1;
	put(root, "a.mp3", "aaaa");
	put(root, "b.mp3", "bbbbbbbb");
	put(outside, "secret.mp3", "secret");
	snprintf(p, sizeof(p), "%s/secret.mp3", outside);
	snprintf(q, sizeof(q), "%s/out.mp3", root);
	if (symlink(p, q) == -1)
		return -1;
	snprintf(q, sizeof(q), "%s/in.mp3", root);
	if (symlink("a.mp3", q) == -1)
		return -1;
	snprintf(q, sizeof(q), "%s/dir.mp3", root);
	mkdir(q, 0755);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[200];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", root, outside);
	return system(cmd) == 0 ? 0 : -1;
}

static void
lookups(void **state)
{
	struct filecache *fc = filecache_new(root, 2, 60000);
	const struct filecache_file *f;
	int hit;

	(void)state;
	assert_non_null(fc);
	assert_int_equal(filecache_get(fc, "a.mp3", 5, 0, &f, &hit), FILECACHE_OK);
	assert_int_equal(hit, 0);
	assert_int_equal(f->size, 4);
	assert_non_null(f->seg);
	assert_non_null(f->data);                          /* small: kept in memory too */
	assert_memory_equal(f->data->bytes, "aaaa", 4);
	assert_true(filecache_notify_fd(fc) >= 0);
	assert_true(f->etag[0] == '"');
	assert_int_equal(filecache_get(fc, "a.mp3", 5, 1, &f, &hit), FILECACHE_OK);
	assert_int_equal(hit, 1);
	assert_int_equal(filecache_get(fc, "in.mp3", 6, 1, &f, &hit), FILECACHE_OK);
	assert_int_equal(filecache_get(fc, "out.mp3", 7, 1, &f, &hit), FILECACHE_NOT_FOUND);
	assert_int_equal(filecache_get(fc, "dir.mp3", 7, 1, &f, &hit), FILECACHE_NOT_FOUND);
	assert_int_equal(filecache_get(fc, "none.mp3", 8, 1, &f, &hit), FILECACHE_NOT_FOUND);
	assert_int_equal(filecache_get(fc, "b.mp3", 5, 1, &f, &hit), FILECACHE_OK);
	assert_true(filecache_count(fc) <= 2);            /* bounded */
	assert_true(filecache_root_ok(fc));
	filecache_free(fc);
}

static void
changes(void **state)
{
	struct filecache *fc = filecache_new(root, 10, 60000);
	const struct filecache_file *f;
	char etag[64], p[256], q[256];
	int hit;

	(void)state;
	assert_int_equal(filecache_get(fc, "b.mp3", 5, 0, &f, &hit), FILECACHE_OK);
	snprintf(etag, sizeof(etag), "%s", f->etag);
	put(root, "b.mp3", "changed, longer");              /* rewritten in place */
	filecache_notify(fc);                               /* what the worker's loop does */
	assert_int_equal(filecache_get(fc, "b.mp3", 5, 1, &f, &hit), FILECACHE_OK);
	assert_int_equal(hit, 0);
	assert_int_equal(f->size, 15);
	assert_string_not_equal(f->etag, etag);
	put(root, "c.tmp", "replacement");                  /* replaced by rename */
	snprintf(p, sizeof(p), "%s/c.tmp", root);
	snprintf(q, sizeof(q), "%s/b.mp3", root);
	assert_int_equal(rename(p, q), 0);
	filecache_notify(fc);
	assert_int_equal(filecache_get(fc, "b.mp3", 5, 2, &f, &hit), FILECACHE_OK);
	assert_int_equal(f->size, 11);
	unlink(q);                                          /* deleted */
	filecache_notify(fc);
	assert_int_equal(filecache_get(fc, "b.mp3", 5, 3, &f, &hit), FILECACHE_NOT_FOUND);
	filecache_free(fc);
	/* caching off: opened every time */
	fc = filecache_new(root, 0, 0);
	assert_int_equal(filecache_get(fc, "a.mp3", 5, 0, &f, &hit), FILECACHE_OK);
	filecache_release(fc, f);
	assert_int_equal(filecache_get(fc, "a.mp3", 5, 0, &f, &hit), FILECACHE_OK);
	assert_int_equal(hit, 0);
	filecache_release(fc, f);
	filecache_free(fc);
	assert_null(filecache_new("/nonexistent/dir", 1, 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lookups),
		cmocka_unit_test(changes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* cmocka_inc.h: what cmocka.h needs before it, for every unit test. */
#ifndef STREAMD_TEST_CMOCKA_INC_H
#define STREAMD_TEST_CMOCKA_INC_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
extern "C" {
#include <cmocka.h>
}
#endif

/* test_common_base64.c: base64 against RFC 4648's test vectors, strict decoding, and the
 * lenient JSON getters (gb_jstr, gb_jint, gb_jnum, gb_jpath). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/base64.h"
#include "common/json.h"

/* RFC 4648 section 10 */
static const char *const PLAIN[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const CODED[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};

static void test_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(PLAIN) / sizeof(PLAIN[0]); i++) {
        char *enc = gb_base64_encode(PLAIN[i], strlen(PLAIN[i]));
        assert_string_equal(enc, CODED[i]);
        free(enc);
        unsigned char *dec = NULL;
        size_t n = 0;
        assert_int_equal(gb_base64_decode(CODED[i], &dec, &n), GB_OK);
        assert_int_equal(n, strlen(PLAIN[i]));
        assert_memory_equal(dec, PLAIN[i], n);
        free(dec);
    }
    /* binary with every byte value round-trips, '+' and '/' included */
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    char *enc = gb_base64_encode(all, sizeof(all));
    assert_non_null(strchr(enc, '+'));
    assert_non_null(strchr(enc, '/'));
    unsigned char *dec = NULL;
    size_t n = 0;
    assert_int_equal(gb_base64_decode(enc, &dec, &n), GB_OK);
    assert_int_equal(n, 256);
    assert_memory_equal(dec, all, 256);
    free(dec);
    free(enc);
}

static void test_strict(void **state)
{
    (void)state;
    unsigned char *dec = NULL;
    size_t n = 0;
    /* unpadded is accepted */
    assert_int_equal(gb_base64_decode("Zm8", &dec, &n), GB_OK);
    assert_int_equal(n, 2);
    free(dec);
    static const char *const BAD[] = {"Z",      "Zm9vY",     "Zm=9", "Zg=",  "Zg===",   "Zh==",
                                      "Zm9v\n", "Zm9v YmFy", "Zm-_", "====", "Zm8=Zm8="};
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        dec = (unsigned char *)"x";
        assert_int_equal(gb_base64_decode(BAD[i], &dec, &n), GB_ERR_INVALID);
        assert_null(dec);
    }
}

static void test_getters(void **state)
{
    (void)state;
    cJSON *j = cJSON_Parse("{\"workload\":{\"metadata\":{\"id\":\"w-1\",\"n\":3}},"
                           "\"s\":\"x\",\"i\":42,\"f\":2.5,\"big\":1e300,\"t\":true}");
    assert_non_null(j);
    assert_string_equal(gb_jstr(j, "s"), "x");
    assert_null(gb_jstr(j, "i"));
    assert_null(gb_jstr(j, "missing"));
    assert_null(gb_jstr(NULL, "s"));
    assert_int_equal(gb_jint(j, "i", -1), 42);
    assert_int_equal(gb_jint(j, "s", -1), -1);
    assert_int_equal(gb_jint(j, "big", -7), -7);
    assert_true(gb_jnum(j, "f", 0) == 2.5);
    assert_true(gb_jnum(j, "t", 9) == 9);
    assert_string_equal(gb_jstr(gb_jpath(j, "workload.metadata"), "id"), "w-1");
    assert_int_equal(gb_jint(gb_jpath(j, "workload.metadata"), "n", 0), 3);
    assert_null(gb_jpath(j, "workload.nope.id"));
    assert_null(gb_jpath(j, "s.x"));       /* through a string */
    assert_null(gb_jpath(j, "workload.")); /* empty part */
    assert_ptr_equal(gb_jpath(j, "s"), cJSON_GetObjectItem(j, "s"));
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_strict),
        cmocka_unit_test(test_getters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

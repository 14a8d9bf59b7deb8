/* check_status.c - every beaa_status code has its own message: beaa_strerror gives a
 * non-empty, non-generic line for each code from BEAA_OK to BEAA_STATUS_COUNT - 1, no two codes
 * share a message, and values outside the enum get the generic "unknown status code". The API
 * reference (docs/course/10-api.md) lists every code with this message: checked here from the
 * repository root, where the runners run. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/status.h"
#include "tests/test_util.h"

START_TEST(test_every_code_has_a_message)
{
    const char *generic = beaa_strerror((beaa_status)BEAA_STATUS_COUNT);
    ck_assert_str_eq(generic, "unknown status code");
    ck_assert_str_eq(beaa_strerror((beaa_status)(BEAA_STATUS_COUNT + 7)), generic);
    ck_assert_str_eq(beaa_strerror((beaa_status)-1), generic);
    for (int s = 0; s < BEAA_STATUS_COUNT; s++) {
        const char *m = beaa_strerror((beaa_status)s);
        ck_assert_msg(m != NULL && strlen(m) >= 7, "code %d: message too short", s);
        ck_assert_msg(strcmp(m, generic) != 0, "code %d has the generic message", s);
        for (int t = 0; t < s; t++)
            ck_assert_msg(strcmp(m, beaa_strerror((beaa_status)t)) != 0,
                          "codes %d and %d share the message \"%s\"", t, s, m);
    }
}
END_TEST

/* The reference quotes each message verbatim (its status table). */
START_TEST(test_reference_quotes_every_message)
{
    FILE *f = fopen("docs/course/10-api.md", "rb");
    ck_assert_msg(f != NULL, "docs/course/10-api.md not found (run from the repository root)");
    static char doc[1 << 20];
    size_t len = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[len] = '\0';
    for (int s = 0; s < BEAA_STATUS_COUNT; s++) {
        const char *m = beaa_strerror((beaa_status)s);
        ck_assert_msg(strstr(doc, m) != NULL, "the message of code %d (\"%s\") is not in the API "
                      "reference", s, m);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("status");
    TCase *tc = tcase_create("status");
    tcase_add_test(tc, test_every_code_has_a_message);
    tcase_add_test(tc, test_reference_quotes_every_message);
    suite_add_tcase(s, tc);
    return test_run_suite(s, 0);
}

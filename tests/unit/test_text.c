/* util/text.c: the growing buffer the console pages, the mail and the
 * metrics exposition append through. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

Test(text, appends_across_the_first_capacity_and_stays_terminated)
{
    char *data = NULL;
    size_t len = 0, cap = 0;
    char chunk[1000];
    memset(chunk, 'x', sizeof chunk);
    /* 4 x 1000 bytes fit the first 4 KiB with the NUL; the fifth doubles. */
    for (int i = 0; i < 5; i++) {
        cr_assert(sdat_text_append(&data, &len, &cap, chunk, sizeof chunk));
        cr_assert_eq(len, (size_t)(i + 1) * sizeof chunk);
        cr_assert_eq(data[len], '\0');
        cr_assert_eq(cap, i < 4 ? 4096u : 8192u, "after %d chunks: %zu", i + 1, cap);
    }
    cr_assert(sdat_text_append(&data, &len, &cap, "yz", 2));
    cr_assert_str_eq(data + 5000, "yz");
    cr_assert_eq(strspn(data, "x"), 5000u);
    free(data);
}

Test(text, an_append_of_exactly_the_room_left_does_not_grow)
{
    char *data = NULL;
    size_t len = 0, cap = 0;
    char chunk[4095];
    memset(chunk, 'a', sizeof chunk);
    cr_assert(sdat_text_append(&data, &len, &cap, chunk, sizeof chunk));
    cr_assert_eq(cap, 4096u);
    cr_assert(sdat_text_append(&data, &len, &cap, "b", 1));
    cr_assert_eq(cap, 8192u);
    cr_assert_eq(data[4095], 'b');
    cr_assert_eq(data[4096], '\0');
    free(data);
}

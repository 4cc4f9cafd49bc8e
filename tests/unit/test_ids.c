/* Notification and review ids (delivery.md): expected values computed with
 * Python's hashlib, an implementation independent of ours. */
#include <criterion/criterion.h>
#include <string.h>

#include "decide/decide.h"

Test(ids, notification_id_is_sha256_of_nul_joined_parts)
{
    char id[SDAT_ID_LEN + 1];
    sdat_id_notification("da-incident", "derbyshire/DC-1", 1, "c1", "school:112233", NULL, id);
    cr_assert_str_eq(id, "n_5377666764a29686f7c9f3886fb050d4");
}

Test(ids, cpis_access_id_uses_flag_as_discriminator_and_empty_child)
{
    char id[SDAT_ID_LEN + 1];
    sdat_id_notification("cpis-access", "RTG/A-7", 1, "", "la:831:cpis", "FLAG-1", id);
    cr_assert_str_eq(id, "n_837963a26e002abcda56604041bc763f");
}

Test(ids, review_id_has_r_prefix)
{
    char id[SDAT_ID_LEN + 1];
    sdat_id_review("derbyshire/DC-1", 2, "0", id);
    cr_assert_str_eq(id, "r_ff73f5d830828f1e0a8474f5f742ef1f");
}

Test(ids, every_part_changes_the_id)
{
    char base[SDAT_ID_LEN + 1], other[SDAT_ID_LEN + 1];
    sdat_id_notification("da-incident", "f/1", 1, "0", "school:1", "", base);
    sdat_id_notification("da-incident", "f/1", 2, "0", "school:1", "", other);
    cr_assert_str_neq(base, other);
    sdat_id_notification("da-incident", "f/1", 1, "1", "school:1", "", other);
    cr_assert_str_neq(base, other);
    sdat_id_notification("da-incident", "f/1", 1, "0", "school:2", "", other);
    cr_assert_str_neq(base, other);
    /* NUL separators: moving a character across a boundary changes the id. */
    sdat_id_notification("da-incident", "f/1", 1, "", "0school:1", "", other);
    cr_assert_str_neq(base, other);
    cr_assert_eq(strlen(base), SDAT_ID_LEN);
}

Test(ids, register_keys_are_checked_like_the_register_ids)
{
    cr_assert(sdat_id_register_key_valid("T-1", 3));
    cr_assert(sdat_id_register_key_valid("831/C_0042-a", 12));
    char longest[65];
    memset(longest, 'a', sizeof longest);
    cr_assert(sdat_id_register_key_valid(longest, 64));
    cr_assert_not(sdat_id_register_key_valid(longest, 65));
    cr_assert_not(sdat_id_register_key_valid("", 0));
    cr_assert_not(sdat_id_register_key_valid(NULL, 3));
    cr_assert_not(sdat_id_register_key_valid("T-1\n", 4));
    cr_assert_not(sdat_id_register_key_valid("T 1", 3));
    cr_assert_not(sdat_id_register_key_valid("T-1\0x", 5));
    cr_assert_not(sdat_id_register_key_valid("T-\xc3\xa9", 4));
}

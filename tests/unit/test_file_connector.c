/* The file connector against planted links (quality.md S9): a link as the
 * recipient's folder, at the final name, or at the temporary's old
 * predictable name is never written through; a refusal is a retry with
 * its reason; files are 0640 in 0750 folders whatever the umask; the
 * configured directory may itself be an administrator's link. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "outbox/connector.h"

/* The connector's key struct as its table lays it out (one string). */
struct file_conf {
    char *directory;
};

static char dir[64];
static char spool[128], outside[128], secret[160], fake_db[160];
static char conf_dir[160];
static struct file_conf conf;
static const char secret_bytes[] = "the pick-up agent must never see this\n";
static const char db_bytes[] = "SQLite format 3 (a stand-in for sdat.db)\n";

static const char id[] = "n_0123456789abcdef0123456789abcdef";
static const char payload[] = "{\"notification_id\":\"n_0123456789abcdef0123456789abcdef\"}";

static void path_of(char *out, size_t size, const char *a, const char *b)
{
    cr_assert_lt((size_t)snprintf(out, size, "%s/%s", a, b), size);
}

static const struct sdat_connector_ops *file_ops;

static void setup(void)
{
    file_ops = sdat_connector_find("file");
    cr_assert_not_null(file_ops);
    fixture_dir_make(dir, sizeof dir, "file-connector");
    path_of(spool, sizeof spool, dir, "spool");
    path_of(outside, sizeof outside, dir, "outside");
    path_of(secret, sizeof secret, outside, "secret.txt");
    path_of(fake_db, sizeof fake_db, outside, "sdat.db");
    cr_assert_eq(mkdir(spool, 0750), 0);
    cr_assert_eq(mkdir(outside, 0700), 0);
    fixture_write(outside, "secret.txt", "%s", secret_bytes);
    fixture_write(outside, "sdat.db", "%s", db_bytes);
    snprintf(conf_dir, sizeof conf_dir, "%s", spool);
    conf.directory = conf_dir;
}

static void teardown(void)
{
    fixture_dir_remove(dir);
}

TestSuite(file_connector, .init = setup, .fini = teardown);

struct outcome {
    enum sdat_delivery_result result;
    char detail[256];
    int calls;
};

static void on_done(struct sdat_delivery *d, enum sdat_delivery_result result, void *opaque)
{
    struct outcome *o = opaque;
    o->result = result;
    snprintf(o->detail, sizeof o->detail, "%s", d->detail);
    o->calls++;
}

/* One delivery of payload as id to recipient_id. */
static struct outcome deliver(const char *recipient_id)
{
    struct sdat_connector_recipient recipient = {.id = recipient_id, .conf = &conf};
    struct sdat_connector_env env = {0};
    char err[256] = "";
    void *ctx = NULL;
    cr_assert_eq(file_ops->init(&env, &recipient, &ctx, err, sizeof err), 0, "%s", err);
    struct sdat_delivery d = {.notification_id = id,
                              .kind = "da-incident",
                              .recipient_id = recipient_id,
                              .payload = payload,
                              .payload_len = strlen(payload),
                              .attempt = 1};
    struct outcome o = {0};
    cr_assert_eq(file_ops->start(ctx, &d, on_done, &o), 0);
    cr_assert_eq(o.calls, 1, "a synchronous connector reports before start returns");
    file_ops->destroy(ctx);
    return o;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The outside files are as the test wrote them, and outside holds nothing
 * else. */
static void assert_outside_untouched(void)
{
    cr_assert_str_eq(slurp(secret), secret_bytes);
    cr_assert_str_eq(slurp(fake_db), db_bytes);
    DIR *dp = opendir(outside);
    cr_assert_not_null(dp);
    int n = 0;
    for (struct dirent *e; (e = readdir(dp));) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            cr_assert(strcmp(e->d_name, "secret.txt") == 0 || strcmp(e->d_name, "sdat.db") == 0,
                      "written through a link: %s/%s", outside, e->d_name);
            n++;
        }
    }
    closedir(dp);
    cr_assert_eq(n, 2);
}

/* Files in folder other than "." and "..": how many start with a dot. */
static int hidden_files(const char *folder)
{
    DIR *dp = opendir(folder);
    cr_assert_not_null(dp, "%s", folder);
    int n = 0;
    for (struct dirent *e; (e = readdir(dp));) {
        n += e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(dp);
    return n;
}

Test(file_connector, writes_0640_files_in_0750_folders_whatever_the_umask)
{
    mode_t old = umask(077);
    struct outcome o = deliver("la:831:mash");
    umask(old);
    cr_assert_eq(o.result, SDAT_DELIVERY_DONE, "%s", o.detail);
    char folder[192], file[256];
    path_of(folder, sizeof folder, spool, "la_831_mash");
    snprintf(file, sizeof file, "%s/%s.json", folder, id);
    struct stat sb;
    cr_assert_eq(stat(folder, &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0750, "folder mode %o", sb.st_mode & 07777);
    cr_assert_eq(stat(file, &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0640, "file mode %o", sb.st_mode & 07777);
    char want[256];
    snprintf(want, sizeof want, "%s\n", payload);
    cr_assert_str_eq(slurp(file), want);
    cr_assert_eq(hidden_files(folder), 0, "a temporary was left behind");
    /* A repeat delivery rewrites our own file with the same bytes. */
    o = deliver("la:831:mash");
    cr_assert_eq(o.result, SDAT_DELIVERY_DONE, "%s", o.detail);
    cr_assert_str_eq(slurp(file), want);
}

Test(file_connector, a_missing_configured_directory_is_created_with_its_parents)
{
    snprintf(conf_dir, sizeof conf_dir, "%s/a/b/spool", dir);
    struct outcome o = deliver("school:1");
    cr_assert_eq(o.result, SDAT_DELIVERY_DONE, "%s", o.detail);
    char file[256];
    snprintf(file, sizeof file, "%s/school_1/%s.json", conf_dir, id);
    cr_assert_eq(access(file, R_OK), 0, "%s", file);
}

Test(file_connector, the_configured_directory_may_be_an_administrators_link)
{
    char link[160], file[256];
    path_of(link, sizeof link, dir, "spool-link");
    cr_assert_eq(symlink(spool, link), 0);
    snprintf(conf_dir, sizeof conf_dir, "%s", link);
    struct outcome o = deliver("school:1");
    cr_assert_eq(o.result, SDAT_DELIVERY_DONE, "%s", o.detail);
    snprintf(file, sizeof file, "%s/school_1/%s.json", spool, id);
    cr_assert_eq(access(file, R_OK), 0, "%s", file);
}

Test(file_connector, a_recipients_folder_that_is_a_link_is_refused_and_retried)
{
    char folder[192];
    path_of(folder, sizeof folder, spool, "school_1");
    cr_assert_eq(symlink(outside, folder), 0);
    struct outcome o = deliver("school:1");
    cr_assert_eq(o.result, SDAT_DELIVERY_RETRY);
    cr_assert_str_eq(o.detail, "refused: the recipient's folder school_1 is a symbolic link");
    assert_outside_untouched();
    struct stat sb;
    cr_assert_eq(lstat(folder, &sb), 0);
    cr_assert(S_ISLNK(sb.st_mode), "the planted link stays for an administrator to see");
}

Test(file_connector, a_recipients_folder_that_is_a_file_is_refused_and_retried)
{
    fixture_write(spool, "school_1", "not a folder\n");
    struct outcome o = deliver("school:1");
    cr_assert_eq(o.result, SDAT_DELIVERY_RETRY);
    cr_assert_str_eq(o.detail, "refused: the recipient's folder school_1 is not a directory");
}

static void final_name_link_is_refused(const char *target)
{
    char folder[192], file[256], detail[256];
    path_of(folder, sizeof folder, spool, "school_1");
    cr_assert_eq(mkdir(folder, 0750), 0);
    snprintf(file, sizeof file, "%s/%s.json", folder, id);
    cr_assert_eq(symlink(target, file), 0);
    struct stat before, after;
    cr_assert_eq(stat(target, &before), 0);
    struct outcome o = deliver("school:1");
    cr_assert_eq(o.result, SDAT_DELIVERY_RETRY);
    snprintf(detail, sizeof detail, "refused: school_1/%s.json exists and is a symbolic link", id);
    cr_assert_str_eq(o.detail, detail);
    assert_outside_untouched();
    cr_assert_eq(stat(target, &after), 0);
    cr_assert_eq(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    cr_assert_eq(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    cr_assert_eq(lstat(file, &after), 0);
    cr_assert(S_ISLNK(after.st_mode), "the link is neither followed nor replaced");
    cr_assert_eq(hidden_files(folder), 0, "a temporary was left behind");
}

Test(file_connector, a_link_at_the_final_name_to_a_readable_file_is_refused)
{
    final_name_link_is_refused(secret);
}

Test(file_connector, a_link_at_the_final_name_to_a_store_is_refused)
{
    final_name_link_is_refused(fake_db);
}

Test(file_connector, a_directory_at_the_final_name_is_refused)
{
    char folder[192], file[256];
    path_of(folder, sizeof folder, spool, "school_1");
    cr_assert_eq(mkdir(folder, 0750), 0);
    snprintf(file, sizeof file, "%s/%s.json", folder, id);
    cr_assert_eq(mkdir(file, 0700), 0);
    struct outcome o = deliver("school:1");
    cr_assert_eq(o.result, SDAT_DELIVERY_RETRY);
    cr_assert(strstr(o.detail, "exists and is not a regular file"), "%s", o.detail);
}

Test(file_connector, links_at_the_old_temporary_names_are_not_written_through)
{
    /* The temporary used to be .ID.json.tmp, opened O_TRUNC: whoever could
     * write the folder could point it at any file the daemon can write. */
    char folder[192], tmp[256], file[256];
    path_of(folder, sizeof folder, spool, "school_1");
    cr_assert_eq(mkdir(folder, 0750), 0);
    snprintf(tmp, sizeof tmp, "%s/.%s.json.tmp", folder, id);
    cr_assert_eq(symlink(fake_db, tmp), 0);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", folder, id);
    cr_assert_eq(symlink(secret, tmp), 0);
    struct outcome o = deliver("school:1");
    cr_assert_eq(o.result, SDAT_DELIVERY_DONE, "%s", o.detail);
    assert_outside_untouched();
    snprintf(file, sizeof file, "%s/%s.json", folder, id);
    struct stat sb;
    cr_assert_eq(lstat(file, &sb), 0);
    cr_assert(S_ISREG(sb.st_mode));
    cr_assert_eq(hidden_files(folder), 2, "only the two planted links are hidden files");
}

/* The console's sessions and its login rate limit, in memory (console.md
 * "Access": a restart logs everyone out). A session is found by the
 * SHA-256 of its cookie value, compared in constant time; the value itself
 * is not kept. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "console_internal.h"
#include "util/util.h"

#define FAILURE_ADDRS 256

struct slot {
    bool used;
    unsigned char key[SHA256_DIGEST_LENGTH];
    int64_t created_ms, last_ms;
    struct console_session s;
};

struct failures {
    char addr[64];
    int64_t at_ms[CONSOLE_FAILURES_MAX]; /* a ring of the last failures */
    size_t next;
    int64_t last_ms;
};

struct console_state {
    pthread_mutex_t lock;
    struct slot slots[CONSOLE_SESSIONS_MAX];
    struct failures failures[FAILURE_ADDRS];
};

struct console_state *console_state_new(void)
{
    struct console_state *cs = calloc(1, sizeof *cs);
    if (cs) {
        pthread_mutex_init(&cs->lock, NULL);
    }
    return cs;
}

void console_state_free(struct console_state *cs)
{
    if (!cs) {
        return;
    }
    pthread_mutex_destroy(&cs->lock);
    OPENSSL_cleanse(cs, sizeof *cs);
    free(cs);
}

static int random_hex(char *out, size_t bytes)
{
    unsigned char raw[32];
    if (bytes > sizeof raw) {
        return -EINVAL;
    }
    size_t got = 0;
    while (got < bytes) {
        ssize_t n = getrandom(raw + got, bytes - got, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -EIO;
        }
        got += (size_t)n;
    }
    for (size_t i = 0; i < bytes; i++) {
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    }
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

static void cookie_key(const char *cookie, unsigned char key[SHA256_DIGEST_LENGTH])
{
    SHA256((const unsigned char *)cookie, strlen(cookie), key);
}

int console_session_new(struct console_state *cs, const char *name, const char *token_name,
                        unsigned roles, int64_t now_ms, char cookie[65])
{
    struct slot fresh = {.used = true, .created_ms = now_ms, .last_ms = now_ms};
    if (random_hex(cookie, 32) < 0 || random_hex(fresh.s.csrf, 16) < 0) {
        return -EIO;
    }
    snprintf(fresh.s.name, sizeof fresh.s.name, "%s", name);
    snprintf(fresh.s.token_name, sizeof fresh.s.token_name, "%s", token_name);
    fresh.s.roles = roles;
    cookie_key(cookie, fresh.key);
    pthread_mutex_lock(&cs->lock);
    /* A free slot, else an ended one, else the one idle longest. */
    struct slot *slot = NULL;
    for (size_t i = 0; i < CONSOLE_SESSIONS_MAX; i++) {
        struct slot *s = &cs->slots[i];
        if (!s->used) {
            slot = s;
            break;
        }
        if (!slot || s->last_ms < slot->last_ms) {
            slot = s;
        }
    }
    *slot = fresh;
    pthread_mutex_unlock(&cs->lock);
    OPENSSL_cleanse(&fresh, sizeof fresh);
    return 0;
}

/* The slot of cookie (lock held), comparing every slot's key. */
static struct slot *slot_find(struct console_state *cs, const char *cookie)
{
    unsigned char key[SHA256_DIGEST_LENGTH];
    cookie_key(cookie, key);
    struct slot *found = NULL;
    for (size_t i = 0; i < CONSOLE_SESSIONS_MAX; i++) {
        struct slot *s = &cs->slots[i];
        if (CRYPTO_memcmp(key, s->key, sizeof key) == 0 && s->used) {
            found = s;
        }
    }
    return found;
}

int console_session_find(struct console_state *cs, const char *cookie, int64_t now_ms,
                         int64_t idle_ms, struct console_session *ret)
{
    if (!cookie || strlen(cookie) != 64) {
        return -ENOENT;
    }
    int r = -ENOENT;
    pthread_mutex_lock(&cs->lock);
    struct slot *s = slot_find(cs, cookie);
    if (s) {
        if (now_ms - s->last_ms > idle_ms || now_ms - s->created_ms > CONSOLE_ABSOLUTE_MS) {
            OPENSSL_cleanse(s, sizeof *s);
        } else {
            s->last_ms = now_ms;
            *ret = s->s;
            r = 0;
        }
    }
    pthread_mutex_unlock(&cs->lock);
    return r;
}

void console_session_end(struct console_state *cs, const char *cookie)
{
    pthread_mutex_lock(&cs->lock);
    struct slot *s = slot_find(cs, cookie);
    if (s) {
        OPENSSL_cleanse(s, sizeof *s);
    }
    pthread_mutex_unlock(&cs->lock);
}

void console_session_flash(struct console_state *cs, const char *cookie, const char *html)
{
    pthread_mutex_lock(&cs->lock);
    struct slot *s = slot_find(cs, cookie);
    if (s) {
        snprintf(s->s.flash, sizeof s->s.flash, "%s", html);
    }
    pthread_mutex_unlock(&cs->lock);
}

void console_session_take_flash(struct console_state *cs, const char *cookie, char *out,
                                size_t outlen)
{
    out[0] = '\0';
    pthread_mutex_lock(&cs->lock);
    struct slot *s = slot_find(cs, cookie);
    if (s) {
        snprintf(out, outlen, "%s", s->s.flash);
        s->s.flash[0] = '\0';
    }
    pthread_mutex_unlock(&cs->lock);
}

/* ---- the login rate limit ---- */

static struct failures *failures_of(struct console_state *cs, const char *addr, bool create)
{
    struct failures *oldest = NULL;
    for (size_t i = 0; i < FAILURE_ADDRS; i++) {
        struct failures *f = &cs->failures[i];
        if (f->addr[0] && strcmp(f->addr, addr) == 0) {
            return f;
        }
        if (!oldest || f->last_ms < oldest->last_ms) {
            oldest = f;
        }
    }
    if (!create) {
        return NULL;
    }
    *oldest = (struct failures){0};
    snprintf(oldest->addr, sizeof oldest->addr, "%s", addr);
    return oldest;
}

bool console_login_limited(struct console_state *cs, const char *addr, int64_t now_ms)
{
    pthread_mutex_lock(&cs->lock);
    struct failures *f = failures_of(cs, addr, false);
    size_t recent = 0;
    for (size_t i = 0; f && i < CONSOLE_FAILURES_MAX; i++) {
        recent += f->at_ms[i] > 0 && now_ms - f->at_ms[i] < 60000;
    }
    pthread_mutex_unlock(&cs->lock);
    return recent >= CONSOLE_FAILURES_MAX;
}

void console_login_failed(struct console_state *cs, const char *addr, int64_t now_ms)
{
    pthread_mutex_lock(&cs->lock);
    struct failures *f = failures_of(cs, addr, true);
    f->at_ms[f->next] = now_ms;
    f->next = (f->next + 1) % CONSOLE_FAILURES_MAX;
    f->last_ms = now_ms;
    pthread_mutex_unlock(&cs->lock);
}

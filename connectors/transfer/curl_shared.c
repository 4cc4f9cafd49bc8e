#include "curl_shared.h"

#include <errno.h>

int sdat_curl_shared_acquire(struct sdat_curl_shared *s, void (*setup)(CURLM *multi))
{
    if (s->refs == 0) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            return -EIO;
        }
        s->multi = curl_multi_init();
        if (!s->multi) {
            curl_global_cleanup();
            return -ENOMEM;
        }
        if (setup) {
            setup(s->multi);
        }
    }
    s->refs++;
    return 0;
}

void sdat_curl_shared_release(struct sdat_curl_shared *s)
{
    if (s->refs == 0 || --s->refs > 0) {
        return;
    }
    curl_multi_cleanup(s->multi);
    s->multi = NULL;
    curl_global_cleanup();
}

/* make bench, P1's first reference: the rate of a plain jansson parse
 * (json_loadb, flags 0, then json_decref) of the very messages that
 * bench/pipeline.sh produced to the topic, one JSON document per line of
 * FILE. The whole file is read into memory first; the figure is the best of
 * ROUNDS passes, so that a noisy neighbour on the 2-core machine costs a
 * pass, not the figure.
 *
 *   bench_parse FILE      prints "parse: N messages, B bytes each on average, R/s" */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#define ROUNDS 5

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_parse FILE\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "re");
    if (!in) {
        perror(argv[1]);
        return 1;
    }
    char **lines = NULL, *line = NULL;
    size_t *lens = NULL, n = 0, cap = 0, linecap = 0, bytes = 0;
    ssize_t len;
    int rc = 1;
    while ((len = getline(&line, &linecap, in)) > 0) {
        if (line[len - 1] == '\n') {
            line[--len] = '\0';
        }
        if (len == 0) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            char **l2 = realloc(lines, cap * sizeof *lines);
            size_t *n2 = l2 ? realloc(lens, cap * sizeof *lens) : NULL;
            if (l2) {
                lines = l2;
            }
            if (!n2) {
                fprintf(stderr, "bench_parse: out of memory\n");
                goto out;
            }
            lens = n2;
        }
        lines[n] = strdup(line);
        if (!lines[n]) {
            fprintf(stderr, "bench_parse: out of memory\n");
            goto out;
        }
        lens[n] = (size_t)len;
        bytes += (size_t)len;
        n++;
    }
    if (n == 0) {
        fprintf(stderr, "bench_parse: %s holds no messages\n", argv[1]);
        goto out;
    }
    /* Every message must parse, or the reference would time error paths. */
    for (size_t i = 0; i < n; i++) {
        json_error_t jerr;
        json_t *doc = json_loadb(lines[i], lens[i], 0, &jerr);
        if (!doc) {
            fprintf(stderr, "bench_parse: line %zu: %s\n", i + 1, jerr.text);
            goto out;
        }
        json_decref(doc);
    }
    double best = 1e30;
    for (int round = 0; round < ROUNDS; round++) {
        double t0 = now_s();
        for (size_t i = 0; i < n; i++) {
            json_t *doc = json_loadb(lines[i], lens[i], 0, NULL);
            json_decref(doc);
        }
        double t = now_s() - t0;
        best = t < best ? t : best;
    }
    printf("parse: %zu messages, %.0f bytes each on average, %.0f/s (best of %d)\n", n,
           (double)bytes / (double)n, (double)n / best, ROUNDS);
    rc = 0;
out:
    for (size_t i = 0; i < n; i++) {
        free(lines[i]);
    }
    free(lines);
    free(lens);
    free(line);
    fclose(in);
    return rc;
}

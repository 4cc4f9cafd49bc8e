/* The store's types (store.h has its functions), for parts that name a
 * store without using it. */
#ifndef SDAT_STORE_T_H
#define SDAT_STORE_T_H

typedef struct sdat_store sdat_store_t;

enum {
    SDAT_STORE_WRITER = 1,   /* take the exclusive lock; fail with -EBUSY if held */
    SDAT_STORE_READONLY = 2, /* open read-only; no lock */
};

#endif

/* orphan_store.h: the orphan report (workloads named gpb- at a provider that no pod record
 * accounts for) and the orphan checks' schedule, kept in the store so that every broker on
 * one database shows the same report, counts an orphan's grace from when any of them first
 * saw it, and lists a provider for orphans once per period between them, not once per
 * broker (orphan_store.c). */
#ifndef GB_ORPHAN_STORE_H
#define GB_ORPHAN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/db.h"
#include "providers/provider.h"

typedef struct {
    char provider[PROV_NAME_MAX];
    char provider_id[128];
    char name[96];
    char status[24];
    char action[16];                /* "adopted", "deleted" or "" (not settled yet) */
    int64_t first_seen_at, seen_at; /* ms */
} orphan_rec;

/* *taken when this caller gets provider's orphan check: no one took it in the period (ms)
 * before now; it is then due again at now + period, whoever asks. *due_at gets when it is due
 * next either way, so a caller need not ask again before then (a read when it is not due:
 * no write). */
gb_err orphan_check_take(gb_db *db, const char *provider, int64_t now, int64_t period, bool *taken,
                         int64_t *due_at);
/* When the report first showed provider_id at provider (*first 0: it does not show it). */
gb_err orphan_first_seen(gb_db *db, const char *provider, const char *provider_id, int64_t *first);
/* Replaces provider's part of the report with rows (every row's provider is provider), seen
 * at now, in one transaction: a workload the report showed keeps its first_seen_at, one the
 * check no longer found leaves it. */
gb_err orphan_report_put(gb_db *db, const char *provider, const orphan_rec *rows, size_t n,
                         int64_t now);
/* The whole report, by provider and first sighting. */
typedef void (*orphan_each_fn)(void *ud, const orphan_rec *r);
gb_err orphan_report_list(gb_db *db, orphan_each_fn fn, void *ud);

#endif

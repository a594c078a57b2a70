/* sshkey_recent.c: an account's SSH keys answered from memory for a short time
 * (sshkey_list_recent, stores.h). The list is the authenticated read that the API's
 * benchmark measures (bench/api_vs_nginx.sh); on PostgreSQL each read was a round trip whose
 * server side alone cost most of the read's budget (docs/benchmarks.md). Changes are counted
 * three ways, and a list read under another count is never given:
 * - this process's insert or delete counts when it runs and again when it commits;
 * - it also sends a NOTIFY with its COMMIT (PostgreSQL), and every broker's listener
 *   (cli_daemon.c, gb_db_listen) counts it when it arrives, and once after each reconnection;
 * - anything else (an operator's SQL, a listener that is down) waits for max_age_ms. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/store/stores.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/memo.h"
#include "common/str.h"

#define PACKED_MAX (256 * 1024) /* a longer list is read from the store each time */

static uint64_t g_changes;

void sshkey_changed(gb_db *db)
{
    if (gb_memo_changed(db, &g_changes) != GB_OK)
        GB_WARN("store", "an SSH key's change may be answered late from memory (up to "
                         "api.ssh_keys_memory_ms): its transaction has no room for another "
                         "after-commit call");
    if (gb_db_notify(db, SSHKEY_NOTIFY_CHANNEL) != GB_OK)
        GB_WARN("store", "other brokers may answer an SSH key's change late from memory (up "
                         "to api.ssh_keys_memory_ms): its NOTIFY was not queued");
}

void sshkey_changed_elsewhere(void *ud)
{
    (void)ud;
    gb_memo_count(&g_changes);
}

/* The rows, packed: per key its five text fields and created_at in decimal, each ended by a
 * NUL. ok drops to 0 once it would pass PACKED_MAX or memory runs out. */
typedef struct {
    char *buf;
    size_t len, cap;
    int ok;
    sshkey_each fn;
    void *ud;
} packer;

static void pack_str(packer *p, const char *s)
{
    size_t n = strlen(s) + 1;
    if (!p->ok) return;
    if (p->len + n > PACKED_MAX) {
        p->ok = 0;
        return;
    }
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 1024;
        while (cap < p->len + n)
            cap *= 2;
        char *b = realloc(p->buf, cap);
        if (!b) {
            p->ok = 0;
            return;
        }
        p->buf = b;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, s, n);
    p->len += n;
}

static void pack_row(void *ud, const sshkey_rec *r)
{
    packer *p = ud;
    char at[24];
    snprintf(at, sizeof(at), "%" PRId64, r->created_at);
    pack_str(p, r->id);
    pack_str(p, r->account_id);
    pack_str(p, r->name);
    pack_str(p, r->public_key ? r->public_key : "");
    pack_str(p, r->fingerprint);
    pack_str(p, at);
    p->fn(p->ud, r);
}

/* The next NUL-ended field from *at, or NULL past end. */
static const char *field(const char **at, const char *end)
{
    const char *s = *at;
    if (s >= end) return NULL;
    const char *z = memchr(s, '\0', (size_t)(end - s));
    if (!z) return NULL;
    *at = z + 1;
    return s;
}

static void unpack(const char *buf, size_t n, sshkey_each fn, void *ud)
{
    const char *at = buf, *end = buf + n;
    for (;;) {
        const char *id = field(&at, end), *acc = field(&at, end), *name = field(&at, end),
                   *pub = field(&at, end), *fp = field(&at, end), *when = field(&at, end);
        if (!when) return;
        sshkey_rec r;
        /* when is the row's last field: the five before it are there too */
        gb_strlcpy(r.id, id, sizeof(r.id));
        gb_strlcpy(r.account_id, acc, sizeof(r.account_id));
        gb_strlcpy(r.name, name, sizeof(r.name));
        r.public_key = (char *)pub;
        gb_strlcpy(r.fingerprint, fp, sizeof(r.fingerprint));
        r.created_at = strtoll(when, NULL, 10);
        fn(ud, &r);
    }
}

gb_err sshkey_list_recent(gb_db *db, gb_memo *m, int64_t max_age_ms, const char *account_id,
                          sshkey_each fn, void *ud)
{
    char key[GB_MEMO_KEY_MAX];
    if (!m || max_age_ms <= 0 || gb_db_in_txn(db) || !gb_memo_key(key, gb_db_path(db), account_id))
        return sshkey_list(db, account_id, fn, ud);
    uint64_t gen = gb_memo_changes(&g_changes); /* before the read */
    int64_t now = gb_mono_ms();
    void *val = NULL;
    size_t n = 0;
    if (gb_memo_get(m, key, now, max_age_ms, gen, &val, &n)) {
        unpack(val, n, fn, ud);
        free(val);
        return GB_OK;
    }
    packer p = {.ok = 1, .fn = fn, .ud = ud};
    gb_err e = sshkey_list(db, account_id, pack_row, &p);
    if (e == GB_OK && p.ok) gb_memo_put(m, key, now, gen, p.buf ? p.buf : "", p.len);
    free(p.buf);
    return e;
}

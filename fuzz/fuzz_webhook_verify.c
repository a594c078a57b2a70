/* fuzz_webhook_verify.c: Standard Webhooks verification of a delivery: the input is split at
 * NUL bytes into webhook-id, webhook-timestamp, webhook-signature and the body (the rest, may
 * hold NULs), checked with wh_verify against a fixed whsec_ secret and a fixed whpk_ key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webhooks/sign.h"

/* 32-byte secret and an Ed25519 public key; the seeds in fuzz/corpus/fuzz_webhook_verify are
 * signed with them (the matching whsk_ key is not needed here) */
#define FUZZ_SECRET "whsec_eMQDP3CWEzEhDthCRD6AXAV8BkZVCjeAXCCrvw/yaD8="
#define FUZZ_PK "whpk_NxRXurRIbHZpigG5iJ4lLQzbclEG32xHSK3rcmZUJdg="
#define FUZZ_NOW 1700000000

/* Takes the next NUL-terminated field from *p (n bytes left); NULL when there is no NUL. */
static char *field(const uint8_t **p, size_t *n)
{
    const uint8_t *z = memchr(*p, 0, *n);
    if (!z) return NULL;
    size_t len = (size_t)(z - *p);
    char *s = malloc(len + 1);
    if (!s) return NULL;
    memcpy(s, *p, len + 1);
    *p += len + 1;
    *n -= len + 1;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data;
    size_t n = size;
    char *id = field(&p, &n);
    char *ts = id ? field(&p, &n) : NULL;
    char *sig = ts ? field(&p, &n) : NULL;
    if (sig) {
        /* the body is copied so ASan sees reads past its end */
        char *body = malloc(n ? n : 1);
        if (body) {
            memcpy(body, p, n);
            (void)wh_verify(FUZZ_SECRET, id, ts, sig, body, n, FUZZ_NOW, -1);
            (void)wh_verify(FUZZ_PK, id, ts, sig, body, n, FUZZ_NOW, 0);
            (void)wh_verify(FUZZ_SECRET, id, ts, sig, n ? body : NULL, n, FUZZ_NOW, INT64_MAX);
            /* the key itself is outside input too (from the config or the API) */
            (void)wh_verify(id, id, ts, sig, body, n, FUZZ_NOW, -1);
            free(body);
        }
    }
    free(id);
    free(ts);
    free(sig);
    return 0;
}

/* jobs_pod.c: a fine-tuning job's pod and token: removing the pod when the job ends, and the
 * job-scoped token its trainer reports with. */
#include <string.h>

#include "broker/api/auth.h"
#include "broker/api/jobs_api.h"
#include "broker/core/pods.h"
#include "broker/core/registry.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/str.h"

gb_err jobs_remove_pod(app *a, gb_db *db, const char *account_id, const char *pod_id,
                       const char *why)
{
    pod_rec p;
    memset(&p, 0, sizeof(p));
    gb_err e = pod_get(db, account_id, pod_id, &p);
    if (e || p.status == POD_DELETED) {
        pod_rec_clear(&p);
        return e == GB_ERR_NOT_FOUND ? GB_OK : e;
    }
    prov_adapter *ad = registry_get(a, p.provider);
    char err[PROV_ERR_MAX] = "";
    int64_t t0 = gb_mono_ms();
    e = ad ? ad->ops->remove(ad, p.provider_id, err) : GB_ERR_NOT_FOUND;
    if (ad) registry_note(a, ad->name, e, gb_mono_ms() - t0, err);
    if (e && e != GB_ERR_NOT_FOUND) {
        GB_WARN("jobs", "removing pod %s at %s: %s", p.id, p.provider, err);
        pod_rec_clear(&p);
        return e;
    }
    int64_t now = gb_now_ms();
    const char *from = pod_status_name(p.status);
    pod_set_status(&p, POD_DELETED, now);
    e = gb_db_begin(db);
    if (!e) e = pod_update(db, &p);
    if (!e) e = pod_event_add(db, p.id, now, "delete", from, "deleted", why);
    if (!e) e = pod_notify(db, &p, from);
    if (!e)
        e = gb_db_commit(db);
    else
        gb_db_rollback(db);
    pod_rec_clear(&p);
    return e;
}

gb_err jobs_new_token(app *a, gb_db *db, const char *job_id, char out[JOB_TOKEN_MAX])
{
    char rnd[41], hash[VAULT_HASH_HEX];
    gb_random_base62(rnd, 40);
    if (gb_snprintf(out, JOB_TOKEN_MAX, "%s%s", JOB_TOKEN_PREFIX, rnd)) return GB_ERR_INTERNAL;
    gb_memzero(rnd, sizeof(rnd));
    gb_err e = vault_hash_api_key(a->vault, out, hash);
    if (!e) e = job_token_put(db, job_id, hash, gb_now_ms());
    return e;
}

/* sim_volt_pods.c: the Volt simulator's pods: Lium-standard and Targon creates with capacity,
 * price and balance checks, get/list/update/delete, and start/stop with the seed's bodies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_volt_int.h"

static const char *const STATUS[] = {"deploying", "running", "starting",
                                     "stopping",  "stopped", "deleted"};

/* Targon resource names (seed: h200-small, h200-large, b200-small, b200-large; the real
 * service also has medium and xl). */
static const struct {
    const char *name;
    const char *gpu_type;
    int gpus;
} RESOURCES[] = {
    {"h200-small", "H200", 1}, {"h200-medium", "H200", 2}, {"h200-large", "H200", 4},
    {"h200-xl", "H200", 8},    {"b200-small", "B200", 1},  {"b200-medium", "B200", 2},
    {"b200-large", "B200", 4}, {"b200-xl", "B200", 8},
};

static void add_hundredths(cJSON *j, const char *key, int64_t hundredths)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld.%02lld", (long long)(hundredths / 100),
             (long long)(hundredths % 100));
    cJSON_AddRawToObject(j, key, buf);
}

cJSON *sim_volt_pod_json(const sv_state *st, const sv_pod *p, bool full)
{
    const sv_machine *m = &st->machines[p->machine];
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "id", p->id);
    cJSON_AddStringToObject(j, "name", p->name);
    cJSON_AddStringToObject(j, "status", STATUS[p->status]);
    cJSON_AddStringToObject(j, "provider", p->targon ? "targon" : "lium");
    if (p->targon) cJSON_AddStringToObject(j, "resource_name", p->resource_name);
    cJSON_AddStringToObject(j, "gpu_type", p->gpu_type);
    cJSON_AddNumberToObject(j, "gpu_count", p->gpu_count);
    if (full) {
        cJSON_AddNumberToObject(j, "cpu_cores", m->cpu_cores * p->gpu_count / m->gpu_count);
        cJSON_AddNumberToObject(j, "ram_gb", m->ram_gb * p->gpu_count / m->gpu_count);
    }
    gb_json_add_money(j, "cost_per_hour", p->cost_per_hour);
    gb_json_add_str_or_null(j, "ip", p->ip[0] ? p->ip : NULL);
    if (p->ip[0])
        cJSON_AddNumberToObject(j, "ssh_port", 22);
    else
        cJSON_AddNullToObject(j, "ssh_port");
    if (p->targon) {
        cJSON_AddStringToObject(j, "image", p->image);
        cJSON_AddBoolToObject(j, "confidential", 1);
        cJSON_AddStringToObject(j, "attestation", "intel_tdx");
    } else if (full) {
        cJSON_AddStringToObject(j, "machine_id", m->id);
        cJSON_AddStringToObject(j, "template", p->image);
        cJSON_AddStringToObject(j, "template_id", p->template_id);
        cJSON_AddNumberToObject(j, "volume_size_gb", p->volume_size_gb);
    }
    if (full) {
        cJSON *ks = cJSON_AddArrayToObject(j, "ssh_keys");
        for (int i = 0; ks && i < p->nssh; i++)
            cJSON_AddItemToArray(ks, cJSON_CreateString(p->ssh_keys[i]));
        int64_t ms = sim_volt_pod_running_ms(st, p);
        add_hundredths(j, "uptime_hours", (ms * 100 + SV_HOUR_MS / 2) / SV_HOUR_MS);
        gb_json_add_money(j, "total_cost", sim_volt_pod_cost(st, p));
    }
    gb_json_add_time(j, "created_at", p->created_at);
    return j;
}

/* A live (not deleted) pod by id, or NULL after answering 404. */
static sv_pod *live_pod(sv_state *st, const char *id, sim_resp *rs)
{
    for (size_t i = 0; i < st->npods; i++)
        if (st->pods[i].status != SV_DELETED && strcmp(st->pods[i].id, id) == 0)
            return &st->pods[i];
    sim_volt_err(rs, 404, "NOT_FOUND", "Pod not found: %.64s", id);
    return NULL;
}

static void release_gpus(sv_state *st, sv_pod *p)
{
    if (!p->holds_gpus) return;
    st->machines[p->machine].available_gpus += p->gpu_count;
    p->holds_gpus = false;
}

static void stop_billing(sv_state *st, sv_pod *p)
{
    if (!p->running_since) return;
    if (st->now > p->running_since) p->running_ms += st->now - p->running_since;
    p->running_since = 0;
}

static int check_balance(sv_state *st, gb_money cost, sim_resp *rs)
{
    gb_money bal = sim_volt_balance(st);
    if (cost <= bal) return 0;
    char c[32], b[32];
    gb_money_format(cost, c, sizeof(c));
    gb_money_format(bal, b, sizeof(b));
    sim_volt_err(rs, 402, "INSUFFICIENT_BALANCE",
                 "Insufficient balance: the first hour of this pod costs $%s and your balance is "
                 "$%s. Add funds via the billing page.",
                 c, b);
    return -1;
}

/* Reads ssh_key_ids (optional) into ids; -1 after answering 400. */
static int read_key_ids(sv_state *st, const cJSON *body, char ids[][GB_ID_MAX], int *n,
                        sim_resp *rs)
{
    char err[GB_JSON_ERR_MAX];
    const cJSON *arr = NULL;
    gb_err e = gb_json_array(body, "ssh_key_ids", SV_MAX_POD_KEYS, false, &arr, err);
    if (e == GB_ERR_NOT_FOUND) return 1;
    if (e) {
        sim_volt_err(rs, 400, "VALIDATION_ERROR", "%s", err);
        return -1;
    }
    *n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !sim_volt_key_find(st, it->valuestring)) {
            sim_volt_err(rs, 400, "VALIDATION_ERROR", "SSH key '%.64s' not found",
                         cJSON_IsString(it) ? it->valuestring : "(not a string)");
            return -1;
        }
        gb_strlcpy(ids[(*n)++], it->valuestring, GB_ID_MAX);
    }
    return 0;
}

static sv_pod *new_pod(sv_state *st, sim_resp *rs)
{
    if (st->npods >= SV_MAX_PODS) {
        sim_volt_err(rs, 409, "LIMIT_REACHED", "Pod limit reached (%d)", SV_MAX_PODS);
        return NULL;
    }
    if (st->npods == st->cap) {
        size_t nc = st->cap ? st->cap * 2 : 16;
        sv_pod *np = realloc(st->pods, nc * sizeof(*np));
        if (!np) {
            sim_volt_err(rs, 500, "INTERNAL_ERROR", "out of memory");
            return NULL;
        }
        st->pods = np;
        st->cap = nc;
    }
    sv_pod *p = &st->pods[st->npods];
    memset(p, 0, sizeof(*p));
    return p;
}

/* Fills the Targon-specific part of p; -1 after answering. The seed's Targon create carries
 * the cost_per_hour the client agrees to: below the live price (per-GPU price of a Targon
 * machine of that GPU x the resource's GPUs) it is refused with 409 PRICE_CHANGED (prices
 * move in real time); at or above it the pod is made and billed at the live price. */
static int targon_fields(sv_state *st, const cJSON *body, sv_pod *p, sim_resp *rs)
{
    char err[GB_JSON_ERR_MAX];
    const char *res = NULL, *image = NULL;
    gb_money offered = 0;
    if (gb_json_str(body, "resource_name", 1, 31, true, &res, err) ||
        gb_json_str(body, "image", 1, SV_IMAGE_MAX, true, &image, err) ||
        gb_json_money(body, "cost_per_hour", 0, GB_MONEY_MAX, true, &offered, err)) {
        sim_volt_err(rs, 400, "VALIDATION_ERROR", "%s", err);
        return -1;
    }
    size_t r = 0;
    while (r < GB_ARRAY_LEN(RESOURCES) && strcmp(RESOURCES[r].name, res) != 0)
        r++;
    if (r == GB_ARRAY_LEN(RESOURCES)) {
        sim_volt_err(rs, 400, "VALIDATION_ERROR",
                     "Unknown resource_name '%.32s'. Available: h200-small, h200-large, "
                     "b200-small, b200-large",
                     res);
        return -1;
    }
    int best = -1;
    for (size_t i = 0; i < st->nmachines; i++) {
        const sv_machine *m = &st->machines[i];
        if (strcmp(m->provider, "targon") || strcmp(m->gpu_type, RESOURCES[r].gpu_type)) continue;
        if (best < 0 || m->available_gpus > st->machines[best].available_gpus) best = (int)i;
    }
    if (best < 0 || st->machines[best].available_gpus < RESOURCES[r].gpus) {
        sim_volt_err(rs, 409, "NO_CAPACITY",
                     "No capacity for %s right now: %d GPUs needed, %d "
                     "available. Try another resource.",
                     res, RESOURCES[r].gpus, best < 0 ? 0 : st->machines[best].available_gpus);
        return -1;
    }
    gb_money live = st->machines[best].cost_per_gpu_hour * RESOURCES[r].gpus;
    if (offered < live) {
        char o[32], l[32];
        gb_money_format(offered, o, sizeof(o));
        gb_money_format(live, l, sizeof(l));
        sim_volt_err(rs, 409, "PRICE_CHANGED",
                     "cost_per_hour %s is below the current price %s/hour for %s. Prices "
                     "update in real time: check /api/volt/machines and retry.",
                     o, l, res);
        return -1;
    }
    p->targon = true;
    p->machine = best;
    gb_strlcpy(p->resource_name, res, sizeof(p->resource_name));
    gb_strlcpy(p->gpu_type, RESOURCES[r].gpu_type, sizeof(p->gpu_type));
    gb_strlcpy(p->image, image, sizeof(p->image));
    p->gpu_count = RESOURCES[r].gpus;
    p->cost_per_hour = live; /* billed at the live price, never above the offered one */
    return 0;
}

/* Fills the Lium-standard part of p; -1 after answering. machine_id and template_id are
 * required (the seed's create takes a template, not an image); a Targon machine id is refused
 * with 400 (Targon pods are created with "provider":"targon" and a resource_name). */
static int lium_fields(sv_state *st, const cJSON *body, sv_pod *p, sim_resp *rs)
{
    char err[GB_JSON_ERR_MAX];
    const char *mid = NULL, *tid = NULL;
    int64_t count = 1, vol = 50;
    if (gb_json_str(body, "machine_id", 1, 47, true, &mid, err)) goto bad;
    size_t i = 0;
    while (i < st->nmachines && strcmp(st->machines[i].id, mid) != 0)
        i++;
    if (i == st->nmachines) {
        sim_volt_err(rs, 404, "NOT_FOUND", "Machine not found: %.48s", mid);
        return -1;
    }
    const sv_machine *m = &st->machines[i];
    if (strcmp(m->provider, "targon") == 0) {
        sim_volt_err(rs, 400, "VALIDATION_ERROR",
                     "Machine %s is Targon confidential compute: create it with "
                     "\"provider\":\"targon\" and a resource_name",
                     m->id);
        return -1;
    }
    if (gb_json_str(body, "template_id", 1, GB_ID_MAX - 1, true, &tid, err)) {
        if (!cJSON_GetObjectItemCaseSensitive(body, "template_id"))
            gb_snprintf(err, sizeof(err),
                        "field 'template_id' is required (create a template "
                        "for an image with POST /api/volt/templates)");
        goto bad;
    }
    const sv_tpl *t = sim_volt_tpl_find(st, tid);
    if (!t) {
        sim_volt_err(rs, 400, "VALIDATION_ERROR", "Template '%.48s' not found", tid);
        return -1;
    }
    if (gb_json_int(body, "gpu_count", 1, m->gpu_count, false, &count, err) == GB_ERR_INVALID ||
        gb_json_int(body, "volume_size_gb", 1, m->storage_gb, false, &vol, err) == GB_ERR_INVALID)
        goto bad;
    if (m->available_gpus < count) {
        sim_volt_err(rs, 409, "NO_CAPACITY",
                     "Not enough GPUs available on %s: requested %lld, "
                     "available %d.",
                     m->id, (long long)count, m->available_gpus);
        return -1;
    }
    p->machine = (int)i;
    gb_strlcpy(p->gpu_type, m->gpu_type, sizeof(p->gpu_type));
    gb_strlcpy(p->template_id, t->id, sizeof(p->template_id));
    gb_strlcpy(p->image, t->image, sizeof(p->image));
    p->gpu_count = (int)count;
    p->volume_size_gb = (int)vol;
    p->cost_per_hour = m->cost_per_gpu_hour * count;
    return 0;
bad:
    sim_volt_err(rs, 400, "VALIDATION_ERROR", "%s", err);
    return -1;
}

void sim_volt_pods_create(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sv_state *st = state;
    char err[GB_JSON_ERR_MAX];
    cJSON *body = sim_body(s, rq, rs);
    if (!body) return;
    const char *prov = "lium", *name = NULL;
    /* seed 004 "Create a new Lium standard GPU pod" / "Create a Targon confidential compute
     * pod"; ssh_key_ids on Targon too (voltagegpu-cli 1.2.0: cc deploy --ssh-key) */
    static const char *const lium_keys[] = {"provider",    "name",      "machine_id",
                                            "template_id", "gpu_count", "volume_size_gb",
                                            "ssh_key_ids", NULL};
    static const char *const targon_keys[] = {
        "provider", "name", "resource_name", "image", "cost_per_hour", "ssh_key_ids", NULL};
    const char *pv = cJSON_IsObject(body)
                         ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "provider"))
                         : NULL;
    if (sim_volt_only(rs, body, pv && strcmp(pv, "targon") == 0 ? targon_keys : lium_keys))
        goto out;
    if (gb_json_str(body, "provider", 1, 16, false, &prov, err) == GB_ERR_INVALID ||
        gb_json_str(body, "name", 1, SV_NAME_MAX, false, &name, err) == GB_ERR_INVALID) {
        sim_volt_err(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto out;
    }
    if (strcmp(prov, "lium") != 0 && strcmp(prov, "targon") != 0) {
        sim_volt_err(rs, 400, "VALIDATION_ERROR", "provider must be 'lium' or 'targon'");
        goto out;
    }
    sv_pod *p = new_pod(st, rs);
    if (!p || read_key_ids(st, body, p->ssh_keys, &p->nssh, rs) < 0) goto out;
    if (strcmp(prov, "targon") == 0 ? targon_fields(st, body, p, rs) : lium_fields(st, body, p, rs))
        goto out;
    if (check_balance(st, p->cost_per_hour, rs)) goto out;
    gb_id_new(p->targon ? "pod_targon_" : "pod_", p->id, sizeof(p->id));
    if (name)
        gb_strlcpy(p->name, name, sizeof(p->name));
    else
        gb_strlcpy(p->name, p->id, sizeof(p->name));
    p->status = SV_DEPLOYING;
    p->created_at = st->now;
    p->until = st->now + SV_DEPLOY_MS;
    st->machines[p->machine].available_gpus -= p->gpu_count;
    p->holds_gpus = true;
    st->npods++;
    sim_json(rs, 201, sim_volt_pod_json(st, p, true));
out:
    cJSON_Delete(body);
}

void sim_volt_pods_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    (void)rq;
    sv_state *st = state;
    cJSON *j = cJSON_CreateObject();
    cJSON *arr = j ? cJSON_AddArrayToObject(j, "pods") : NULL;
    int n = 0;
    for (size_t i = 0; arr && i < st->npods; i++) {
        if (st->pods[i].status == SV_DELETED) continue;
        cJSON_AddItemToArray(arr, sim_volt_pod_json(st, &st->pods[i], false));
        n++;
    }
    if (j) cJSON_AddNumberToObject(j, "total", n);
    sim_json(rs, 200, j);
}

void sim_volt_pod_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sv_state *st = state;
    /* a deleted pod still answers with status "deleted" */
    for (size_t i = 0; i < st->npods; i++) {
        if (strcmp(st->pods[i].id, rq->params[0]) == 0) {
            sim_json(rs, 200, sim_volt_pod_json(st, &st->pods[i], true));
            return;
        }
    }
    sim_volt_err(rs, 404, "NOT_FOUND", "Pod not found: %.64s", rq->params[0]);
}

void sim_volt_pod_put(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sv_state *st = state;
    char err[GB_JSON_ERR_MAX];
    sv_pod *p = live_pod(st, rq->params[0], rs);
    if (!p) return;
    cJSON *body = sim_body(s, rq, rs);
    if (!body) return;
    static const char *const allowed[] = {"name", "ssh_key_ids", "gpu_count", "volume_size_gb",
                                          NULL};
    if (sim_volt_only(rs, body, allowed)) {
        cJSON_Delete(body);
        return;
    }
    const char *name = NULL;
    int64_t count = 0, vol = 0;
    char ids[SV_MAX_POD_KEYS][GB_ID_MAX];
    int nids = 0;
    const sv_machine *m = &st->machines[p->machine];
    gb_err ec = gb_json_int(body, "gpu_count", 1, m->gpu_count, false, &count, err);
    gb_err ev = ec == GB_ERR_INVALID
                    ? ec
                    : gb_json_int(body, "volume_size_gb", 1, m->storage_gb, false, &vol, err);
    if (ec == GB_ERR_INVALID || ev == GB_ERR_INVALID ||
        gb_json_str(body, "name", 1, SV_NAME_MAX, false, &name, err) == GB_ERR_INVALID) {
        sim_volt_err(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto out;
    }
    if ((ec == GB_OK || ev == GB_OK) && p->status != SV_STOPPED) {
        sim_volt_err(rs, 409, "POD_NOT_STOPPED",
                     "Pod must be stopped to change hardware "
                     "settings (gpu_count, volume_size_gb).");
        goto out;
    }
    if (ec == GB_OK && p->targon) {
        sim_volt_err(rs, 400, "VALIDATION_ERROR",
                     "gpu_count of a Targon pod is set by its resource_name");
        goto out;
    }
    int kr = read_key_ids(st, body, ids, &nids, rs);
    if (kr < 0) goto out;
    if (name) gb_strlcpy(p->name, name, sizeof(p->name));
    if (kr == 0) {
        memcpy(p->ssh_keys, ids, sizeof(ids));
        p->nssh = nids;
    }
    if (ec == GB_OK) {
        p->gpu_count = (int)count;
        p->cost_per_hour = m->cost_per_gpu_hour * count;
    }
    if (ev == GB_OK) p->volume_size_gb = (int)vol;
    cJSON *j = cJSON_CreateObject();
    if (j) {
        cJSON_AddStringToObject(j, "id", p->id);
        cJSON_AddStringToObject(j, "name", p->name);
        cJSON_AddStringToObject(j, "status", STATUS[p->status]);
        cJSON *ks = cJSON_AddArrayToObject(j, "ssh_keys");
        for (int i = 0; ks && i < p->nssh; i++)
            cJSON_AddItemToArray(ks, cJSON_CreateString(p->ssh_keys[i]));
        cJSON_AddStringToObject(j, "message", "Pod updated successfully.");
    }
    sim_json(rs, 200, j);
out:
    cJSON_Delete(body);
}

static void action_reply(sim_resp *rs, const sv_pod *p, const char *message)
{
    cJSON *j = cJSON_CreateObject();
    if (j) {
        cJSON_AddStringToObject(j, "id", p->id);
        cJSON_AddStringToObject(j, "status", STATUS[p->status]);
        cJSON_AddStringToObject(j, "message", message);
    }
    sim_json(rs, 200, j);
}

void sim_volt_pod_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sv_state *st = state;
    sv_pod *p = live_pod(st, rq->params[0], rs);
    if (!p) return;
    stop_billing(st, p);
    release_gpus(st, p);
    st->spent += sim_volt_pod_cost(st, p);
    sim_trainer_stop(st->srv, p->id);
    p->status = SV_DELETED;
    p->ip[0] = '\0';
    action_reply(rs, p, "Pod and all associated resources have been deleted.");
}

void sim_volt_pod_start(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sv_state *st = state;
    sv_pod *p = live_pod(st, rq->params[0], rs);
    if (!p) return;
    if (p->status != SV_STOPPED) {
        if (p->status == SV_STOPPING)
            sim_volt_err(rs, 409, "INVALID_STATE", "Pod is stopping; start it once it is stopped.");
        else
            sim_volt_err(rs, 409, "INVALID_STATE", "Pod is already running (status %s).",
                         STATUS[p->status]);
        return;
    }
    sv_machine *m = &st->machines[p->machine];
    if (m->available_gpus < p->gpu_count) {
        sim_volt_err(rs, 409, "NO_CAPACITY",
                     "Not enough GPUs available on %s to start the pod: "
                     "needs %d, available %d.",
                     m->id, p->gpu_count, m->available_gpus);
        return;
    }
    if (check_balance(st, p->cost_per_hour, rs)) return;
    m->available_gpus -= p->gpu_count;
    p->holds_gpus = true;
    p->status = SV_STARTING;
    p->until = st->now + SV_START_MS;
    action_reply(rs, p, "Pod is starting. This typically takes 15-30 seconds.");
}

void sim_volt_pod_stop(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sv_state *st = state;
    sv_pod *p = live_pod(st, rq->params[0], rs);
    if (!p) return;
    if (p->status == SV_STOPPING || p->status == SV_STOPPED) {
        sim_volt_err(rs, 409, "INVALID_STATE", "Pod is already %s.", STATUS[p->status]);
        return;
    }
    stop_billing(st, p); /* GPU billing pauses; storage is retained */
    release_gpus(st, p);
    p->status = SV_STOPPING;
    p->until = st->now + SV_STOP_MS;
    action_reply(rs, p, "Pod is stopping. Data on /root volume is preserved.");
}

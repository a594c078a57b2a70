/* sim_targon_extra.c: the Targon simulator's secondary endpoints: events, logs (plain text made
 * up from the workload's history), digest verify, volume and SSH key attachments, inventory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_targon_int.h"

#define EVENTS_DEFAULT 50
#define EVENTS_MAX 100
#define LOG_HEARTBEATS_MAX 500
#define ATTACH_MAX 16

static sim_targon_wl *any(sim_server *s, sim_targon_state *st, const sim_req *rq, sim_resp *rs,
                          bool include_deleted)
{
    sim_targon_wl *w =
        sim_targon_wl_find(st, rq->nparams > 0 ? rq->params[0] : NULL, include_deleted);
    if (!w) sim_error(s, rs, 404, "workload not found");
    return w;
}

static bool rental(const sim_targon_wl *w)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(w->spec, "type");
    return cJSON_IsString(t) && strcmp(t->valuestring, "RENTAL") == 0;
}

/* prefix + 1..40 lowercase alphanumerics: the volume uids the simulator knows (it serves no
 * volume endpoints). */
static bool known_uid(const char *uid, const char *prefix)
{
    size_t pl = strlen(prefix), n = uid ? strlen(uid) : 0;
    if (n <= pl || n > pl + 40 || strncmp(uid, prefix, pl) != 0) return false;
    for (size_t i = pl; i < n; i++)
        if (!((uid[i] >= 'a' && uid[i] <= 'z') || (uid[i] >= '0' && uid[i] <= '9'))) return false;
    return true;
}

void sim_targon_events(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_targon_wl *w = any(s, state, rq, rs, true);
    if (!w) return;
    int limit = EVENTS_DEFAULT, offset = 0;
    const char *q_limit = sim_query(rq, "limit"), *q_cursor = sim_query(rq, "cursor");
    if (q_limit && gb_parse_int(q_limit, 1, EVENTS_MAX, &limit)) {
        sim_error(s, rs, 400, "limit must be an integer between 1 and %d", EVENTS_MAX);
        return;
    }
    if (q_cursor && q_cursor[0] && gb_parse_int(q_cursor, 0, SIM_TARGON_MAX_EVENTS, &offset)) {
        sim_error(s, rs, 400, "invalid cursor");
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(j, "items");
    if (!j || !items) {
        cJSON_Delete(j);
        sim_error(s, rs, 500, "out of memory");
        return;
    }
    int n = cJSON_GetArraySize(w->events);
    for (int i = offset; i < n && i < offset + limit; i++)
        cJSON_AddItemToArray(items, cJSON_Duplicate(cJSON_GetArrayItem(w->events, i), 1));
    char next[16] = "";
    if (offset + limit < n) snprintf(next, sizeof(next), "%d", offset + limit);
    cJSON_AddStringToObject(j, "next_cursor", next);
    sim_json(rs, 200, j);
}

typedef struct {
    int64_t at;
    char text[160];
} log_line;

void sim_targon_logs(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_targon_wl *w = any(s, state, rq, rs, true);
    if (!w) return;
    sim_targon_state *st = state;
    int64_t since = 0;
    int tail = -1;
    const char *q_since = sim_query(rq, "since"), *q_tail = sim_query(rq, "tail");
    if (q_since && q_since[0] && gb_time_parse(q_since, &since)) {
        sim_error(s, rs, 400, "since must be an RFC 3339 timestamp");
        return;
    }
    if (q_tail && q_tail[0] && gb_parse_int(q_tail, 0, 100000, &tail)) {
        sim_error(s, rs, 400, "tail must be a non-negative integer");
        return;
    }
    /* follow is accepted and ignored: the simulator answers with what there is now. */
    int64_t now = sim_now(s);
    int64_t end = strcmp(w->status, "deleted") == 0 ? w->updated_ms : now;
    size_t cap = 8 + LOG_HEARTBEATS_MAX, n = 0;
    log_line *lines = calloc(cap, sizeof(*lines));
    gb_buf out = {0};
    if (!lines) goto oom;
    const cJSON *img = cJSON_GetObjectItemCaseSensitive(w->spec, "image");
    const char *image = cJSON_IsString(img) ? img->valuestring : "";
    if (w->deploy_ms) {
        char dg[72];
        sim_targon_digest(image, dg);
        lines[n].at = w->deploy_ms;
        snprintf(lines[n++].text, 160, "Pulling image %.120s", image);
        lines[n].at = w->deploy_ms + 5000;
        snprintf(lines[n++].text, 160, "Pulled image %.80s (%.19s...)", image, dg);
        lines[n].at = w->deploy_ms + 15000;
        snprintf(lines[n++].text, 160, "Starting container main on %s", st->inv[w->res].name);
    }
    if (w->running_ms) {
        lines[n].at = w->running_ms;
        snprintf(lines[n++].text, 160, "Container main started; %d GPU(s) visible",
                 st->inv[w->res].gpu_count);
        for (int64_t t = w->running_ms + 60000; t <= end && n + 1 < cap; t += 60000) {
            lines[n].at = t;
            snprintf(lines[n++].text, 160, "heartbeat: gpu utilization %d%%",
                     (int)(40 + (t / 60000) % 55));
        }
    }
    if (strcmp(w->status, "deleted") == 0 && w->deploy_ms) {
        lines[n].at = w->updated_ms;
        snprintf(lines[n++].text, 160, "Received SIGTERM; container main exiting");
    }
    size_t first = 0, kept = 0;
    for (size_t i = 0; i < n; i++)
        if (lines[i].at <= end + 1 && lines[i].at > since) kept++;
    if (tail >= 0 && kept > (size_t)tail) first = kept - (size_t)tail;
    for (size_t i = 0, k = 0; i < n; i++) {
        if (lines[i].at > end + 1 || lines[i].at <= since) continue;
        if (k++ < first) continue;
        char t[32];
        sim_targon_time(lines[i].at, t);
        if (gb_buf_printf(&out, "%s %s\n", t, lines[i].text)) goto oom;
    }
    free(lines);
    free(rs->body);
    rs->status = 200;
    rs->content_type = "text/plain; charset=utf-8";
    rs->body = out.data ? gb_buf_take(&out) : gb_strdup("");
    return;
oom:
    free(lines);
    gb_buf_free(&out);
    sim_error(s, rs, 500, "out of memory");
}

void sim_targon_verify(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    const char *uid = NULL, *digest = NULL;
    cJSON *b = sim_body(s, rq, rs);
    if (!b) return;
    if (gb_json_str(b, "uid", 1, 64, true, &uid, NULL) ||
        gb_json_str(b, "digest", 1, 160, true, &digest, NULL)) {
        sim_error(s, rs, 400, "missing uid or digest");
        goto done;
    }
    sim_targon_wl *w = sim_targon_wl_find(state, uid, false);
    bool ok = false;
    if (w) {
        char dg[72];
        const cJSON *img = cJSON_GetObjectItemCaseSensitive(w->spec, "image");
        sim_targon_digest(cJSON_IsString(img) ? img->valuestring : "", dg);
        const char *want = gb_str_starts_with(digest, "sha256:") ? digest + 7 : digest;
        ok = strcasecmp(want, dg + 7) == 0;
    }
    cJSON *j = cJSON_CreateObject();
    if (j) cJSON_AddBoolToObject(j, "verified", ok);
    sim_json(rs, 200, j);
done:
    cJSON_Delete(b);
}

static cJSON *find_volume(cJSON *vols, const char *uid)
{
    cJSON *v;
    cJSON_ArrayForEach(v, vols)
    {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(v, "uid");
        if (cJSON_IsString(u) && strcmp(u->valuestring, uid) == 0) return v;
    }
    return NULL;
}

static cJSON *array_of(cJSON *spec, const char *key)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(spec, key);
    if (cJSON_IsArray(a)) return a;
    cJSON_DeleteItemFromObjectCaseSensitive(spec, key);
    return cJSON_AddArrayToObject(spec, key);
}

/* The RENTAL workload of an attach route and the attached thing's uid (the second path
 * parameter); NULL after answering when the workload is missing or not a rental. */
static sim_targon_wl *rental_of(sim_server *s, void *state, const sim_req *rq, sim_resp *rs,
                                const char *what, const char **uid)
{
    sim_targon_wl *w = any(s, state, rq, rs, false);
    if (!w) return NULL;
    *uid = rq->nparams > 1 ? rq->params[1] : "";
    if (!rental(w)) {
        sim_error(s, rs, 400, "%s are only supported on RENTAL workloads", what);
        return NULL;
    }
    return w;
}

void sim_targon_vol_put(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    const char *vol;
    sim_targon_wl *w = rental_of(s, state, rq, rs, "volumes", &vol);
    if (!w) return;
    if (!known_uid(vol, "vol-")) {
        sim_error(s, rs, 404, "volume not found");
        return;
    }
    char err[GB_JSON_ERR_MAX];
    const char *mount = NULL;
    bool ro = false;
    cJSON *b = sim_body(s, rq, rs);
    if (!b) return;
    gb_err e = gb_json_str(b, "mount_path", 1, 1024, true, &mount, err);
    if (!e && mount[0] != '/') {
        snprintf(err, sizeof(err), "field 'mount_path' must be an absolute path");
        e = GB_ERR_INVALID;
    }
    if (!e) e = gb_json_bool(b, "read_only", false, &ro, err);
    if (e && e != GB_ERR_NOT_FOUND) {
        sim_error(s, rs, 400, "%s", err);
        goto done;
    }
    cJSON *vols = array_of(w->spec, "volumes");
    cJSON *v = vols ? find_volume(vols, vol) : NULL;
    if (!v && vols && cJSON_GetArraySize(vols) >= ATTACH_MAX) {
        sim_error(s, rs, 400, "at most %d volumes per workload", ATTACH_MAX);
        goto done;
    }
    if (!v && vols && (v = cJSON_CreateObject())) {
        cJSON_AddStringToObject(v, "uid", vol);
        cJSON_AddItemToArray(vols, v);
    }
    if (!v) {
        sim_error(s, rs, 500, "out of memory");
        goto done;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(v, "mount_path");
    cJSON_DeleteItemFromObjectCaseSensitive(v, "read_only");
    cJSON_AddStringToObject(v, "mount_path", mount);
    cJSON_AddBoolToObject(v, "read_only", ro);
    sim_targon_event(state, w, sim_now(s), "VOLUME_ATTACHED", NULL, "Volume attached");
    cJSON *j = cJSON_CreateObject();
    if (j) {
        cJSON_AddStringToObject(j, "workload_uid", w->uid);
        cJSON_AddStringToObject(j, "uid", vol);
        cJSON_AddStringToObject(j, "mount_path", mount);
        cJSON_AddBoolToObject(j, "read_only", ro);
    }
    sim_json(rs, 200, j);
done:
    cJSON_Delete(b);
}

void sim_targon_vol_del(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    const char *vol;
    sim_targon_wl *w = rental_of(s, state, rq, rs, "volumes", &vol);
    if (!w) return;
    cJSON *vols = cJSON_GetObjectItemCaseSensitive(w->spec, "volumes");
    cJSON *v = find_volume(vols, vol);
    if (!v) {
        sim_error(s, rs, 404, "volume not found on this workload");
        return;
    }
    cJSON_Delete(cJSON_DetachItemViaPointer(vols, v));
    sim_targon_event(state, w, sim_now(s), "VOLUME_DETACHED", NULL, "Volume detached");
    sim_json(rs, 204, NULL);
}

static cJSON *find_key(cJSON *keys, const char *uid)
{
    cJSON *k;
    cJSON_ArrayForEach(k, keys) if (cJSON_IsString(k) && strcmp(k->valuestring, uid) == 0) return k;
    return NULL;
}

void sim_targon_key_put(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    const char *key;
    sim_targon_wl *w = rental_of(s, state, rq, rs, "SSH keys", &key);
    if (!w) return;
    if (!sim_targon_key_find(state, key)) {
        sim_error(s, rs, 404, "SSH key not found");
        return;
    }
    cJSON *keys = array_of(w->spec, "ssh_keys");
    if (!keys) {
        sim_error(s, rs, 500, "out of memory");
        return;
    }
    if (find_key(keys, key)) {
        sim_error(s, rs, 409, "SSH key is already attached to this workload");
        return;
    }
    if (cJSON_GetArraySize(keys) >= ATTACH_MAX) {
        sim_error(s, rs, 400, "at most %d SSH keys per workload", ATTACH_MAX);
        return;
    }
    cJSON_AddItemToArray(keys, cJSON_CreateString(key));
    sim_targon_event(state, w, sim_now(s), "SSH_KEY_ATTACHED", NULL, "SSH key attached");
    cJSON *j = cJSON_CreateObject();
    if (j) {
        cJSON_AddStringToObject(j, "workload_uid", w->uid);
        cJSON_AddStringToObject(j, "ssh_key_uid", key);
    }
    sim_json(rs, 200, j);
}

void sim_targon_key_del(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_targon_wl *w = any(s, state, rq, rs, false);
    if (!w) return;
    const char *key = rq->nparams > 1 ? rq->params[1] : "";
    cJSON *keys = cJSON_GetObjectItemCaseSensitive(w->spec, "ssh_keys");
    cJSON *k = find_key(keys, key);
    if (!k) {
        sim_error(s, rs, 404, "SSH key attachment not found");
        return;
    }
    cJSON_Delete(cJSON_DetachItemViaPointer(keys, k));
    sim_targon_event(state, w, sim_now(s), "SSH_KEY_DETACHED", NULL, "SSH key detached");
    sim_json(rs, 204, NULL);
}

/* GET /tha/v{2,3}/inventory?type&gpu -> [Inventory] (docs.targon.com/api/inventory;
 * libs/go/inventory.go). v2 types: rental, serverless, storage; v3: rental, storage, vm, and
 * serverless is deprecated. Every simulated resource is a rental (v2: serverless too). */
void sim_targon_inventory(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_targon_state *st = state;
    const char *q_type = sim_query(rq, "type"), *q_gpu = sim_query(rq, "gpu");
    int gpu = -1;
    bool none = false;
    if (q_type && q_type[0]) {
        bool v3 = st->api == 3;
        if (v3 && strcasecmp(q_type, "serverless") == 0) {
            sim_error(s, rs, 400, "inventory type serverless has been deprecated");
            return;
        }
        if (strcasecmp(q_type, "rental") && strcasecmp(q_type, "storage") &&
            strcasecmp(q_type, v3 ? "vm" : "serverless")) {
            sim_error(s, rs, 400, "type must be one of rental, storage, %s",
                      v3 ? "vm" : "serverless");
            return;
        }
        none = strcasecmp(q_type, "storage") == 0 || strcasecmp(q_type, "vm") == 0;
    }
    if (q_gpu && q_gpu[0]) {
        if (strcmp(q_gpu, "true") == 0)
            gpu = 1;
        else if (strcmp(q_gpu, "false") == 0)
            gpu = 0;
        else {
            sim_error(s, rs, 400, "gpu must be true or false");
            return;
        }
    }
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && !none && i < st->ninv; i++) {
        if (gpu >= 0 && (st->inv[i].gpu_count > 0) != (gpu == 1)) continue;
        cJSON_AddItemToArray(a, sim_targon_inventory_json(&st->inv[i]));
    }
    if (!a) {
        sim_error(s, rs, 500, "out of memory");
        return;
    }
    sim_json(rs, 200, a);
}

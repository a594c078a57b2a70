/* sim_lium_pods.c: the Lium simulator's pods: renting an executor (POST
 * /executors/{id}/rent), listing, reading, deleting, their logs, and their life on the
 * simulator clock (PENDING -> RUNNING -> RUNNING with SSH; DELETING -> gone). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/str.h"
#include "providers/sim/sim_lium.h"

static int exec_index(const sim_lium_state *st, const char *id)
{
    for (int i = 0; i < SIM_LIUM_NEXEC; i++)
        if (id && strcmp(st->exec[i].spec->id, id) == 0) return i;
    return -1;
}

static sim_lium_pod *pod_find(sim_lium_state *st, const char *id)
{
    for (int i = 0; i < st->npods; i++)
        if (id && strcmp(st->pods[i].id, id) == 0) return &st->pods[i];
    return NULL;
}

static bool pubkey_ok(const char *k)
{
    size_t n = strlen(k);
    if (n < 16 || n > SIM_LIUM_PUBKEY_MAX) return false;
    if (!gb_str_starts_with(k, "ssh-") && !gb_str_starts_with(k, "ecdsa-sha2-") &&
        !gb_str_starts_with(k, "sk-"))
        return false;
    for (const char *p = k; *p; p++)
        if (*p == '\n' || *p == '\r') return false;
    return strchr(k, ' ') != NULL;
}

/* Validates the rent body as Lium's FastAPI model does; 0 or -1 with rs filled (422). */
static int rent_body_ok(const cJSON *b, sim_resp *rs)
{
    /* the rent body Lium.up sends (Datura-ai/lium lium/sdk/client.py) */
    static const char *const allowed[] = {"pod_name",  "template_id",     "dockerfile_content",
                                          "volume_id", "user_public_key", "initial_port_count",
                                          NULL};
    if (sim_lium_only(rs, b, allowed)) return -1;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(b, "pod_name");
    const cJSON *tpl = cJSON_GetObjectItemCaseSensitive(b, "template_id");
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(b, "user_public_key");
    if (!name || cJSON_IsNull(name)) {
        sim_lium_invalid(rs, "pod_name", "field required", "value_error.missing");
    } else if (!cJSON_IsString(name) || !name->valuestring[0]) {
        sim_lium_invalid(rs, "pod_name", "str type expected (non-empty)", "type_error.str");
    } else if (strlen(name->valuestring) > SIM_LIUM_NAME_MAX) {
        sim_lium_invalid(rs, "pod_name", "ensure this value has at most 128 characters",
                         "value_error.any_str.max_length");
    } else if (!tpl || cJSON_IsNull(tpl)) {
        sim_lium_invalid(rs, "template_id", "field required", "value_error.missing");
    } else if (!cJSON_IsString(tpl) || strlen(tpl->valuestring) >= 40) {
        sim_lium_invalid(rs, "template_id", "value is not a valid uuid", "type_error.uuid");
    } else if (!cJSON_IsArray(keys)) {
        sim_lium_invalid(rs, "user_public_key", "value is not a valid list", "type_error.list");
    } else if (cJSON_GetArraySize(keys) < 1 || cJSON_GetArraySize(keys) > SIM_LIUM_MAX_PUBKEYS) {
        sim_lium_invalid(rs, "user_public_key", "ensure this list has 1 to 16 items",
                         "value_error.list.size");
    } else {
        const cJSON *k;
        cJSON_ArrayForEach(k, keys)
        {
            if (!cJSON_IsString(k) || !pubkey_ok(k->valuestring)) {
                sim_lium_invalid(rs, "user_public_key", "not an SSH public key line",
                                 "value_error");
                return -1;
            }
        }
        return 0;
    }
    return -1;
}

void sim_lium_rent(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_lium_state *st = state;
    int ei = exec_index(st, rq->nparams > 0 ? rq->params[0] : NULL);
    if (ei < 0) {
        sim_error(s, rs, 404, "Executor not found");
        return;
    }
    cJSON *b = sim_body(s, rq, rs);
    if (!b) return;
    if (rent_body_ok(b, rs) != 0) goto done;
    const char *tid = cJSON_GetObjectItemCaseSensitive(b, "template_id")->valuestring;
    if (!sim_lium_template_find(st, tid)) {
        sim_error(s, rs, 400, "Template not found");
        goto done;
    }
    if (st->exec[ei].pod_id[0]) {
        sim_error(s, rs, 400, "Executor is not available"); /* = the capacity fault */
        goto done;
    }
    if (st->npods >= SIM_LIUM_MAX_PODS) {
        sim_error(s, rs, 400, "Pod limit reached for this account");
        goto done;
    }
    sim_lium_pod *p = &st->pods[st->npods];
    memset(p, 0, sizeof(*p));
    p->keys = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(b, "user_public_key"), 1);
    if (!p->keys) {
        sim_error(s, rs, 500, "Internal Server Error");
        goto done;
    }
    st->npods++;
    sim_lium_uuid(p->id);
    gb_strlcpy(p->name, cJSON_GetObjectItemCaseSensitive(b, "pod_name")->valuestring,
               sizeof(p->name));
    gb_strlcpy(p->template_id, tid, sizeof(p->template_id));
    p->exec = ei;
    p->created_ms = sim_now(s);
    p->port_base = st->next_port;
    st->next_port = st->next_port >= 59990 ? 40000 : st->next_port + 10;
    gb_strlcpy(st->exec[ei].pod_id, p->id, sizeof(st->exec[ei].pod_id));
    st->exec[ei].rents++;
    sim_json(rs, 200, sim_lium_pod_json(st, p, p->created_ms));
done:
    cJSON_Delete(b);
}

/* ports_mapping: every internal port of the template (22 first) to an external port. */
static void add_ports(cJSON *map, const cJSON *tpl, int base)
{
    char key[16];
    int next = base;
    cJSON_AddNumberToObject(map, "22", next++);
    const cJSON *ports = cJSON_GetObjectItemCaseSensitive(tpl, "internal_ports");
    const cJSON *pt;
    cJSON_ArrayForEach(pt, ports)
    {
        if (!cJSON_IsNumber(pt) || pt->valueint == 22 || next >= base + 10) continue;
        snprintf(key, sizeof(key), "%d", pt->valueint);
        if (!cJSON_GetObjectItemCaseSensitive(map, key)) cJSON_AddNumberToObject(map, key, next++);
    }
}

cJSON *sim_lium_pod_json(const sim_lium_state *st, const sim_lium_pod *p, int64_t now_ms)
{
    const sim_lium_exec_spec *x = st->exec[p->exec].spec;
    const cJSON *tpl = sim_lium_template_find(st, p->template_id);
    int64_t age = now_ms - p->created_ms;
    bool ready = !p->deleting_ms && age >= SIM_LIUM_READY_MS;
    const char *status = p->deleting_ms           ? "DELETING"
                         : age < SIM_LIUM_BOOT_MS ? "PENDING"
                                                  : "RUNNING";
    int64_t updated = p->deleting_ms            ? p->deleting_ms
                      : ready                   ? p->created_ms + SIM_LIUM_READY_MS
                      : age >= SIM_LIUM_BOOT_MS ? p->created_ms + SIM_LIUM_BOOT_MS
                                                : p->created_ms;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", p->id);
    cJSON_AddStringToObject(j, "pod_name", p->name);
    cJSON_AddStringToObject(j, "status", status);
    cJSON *map = cJSON_AddObjectToObject(j, "ports_mapping");
    if (ready) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "ssh root@%s -p %d", x->ip, p->port_base);
        cJSON_AddStringToObject(j, "ssh_connect_cmd", cmd);
        add_ports(map, tpl, p->port_base);
    } else {
        cJSON_AddNullToObject(j, "ssh_connect_cmd");
    }
    /* price: the pod's total per hour (price_per_gpu x the executor's GPUs). */
    cJSON_AddNumberToObject(
        j, "price", (double)(x->price_per_gpu * x->gpu_count) / (double)GB_MONEY_PER_DOLLAR);
    /* Datura-ai/lium-sdk lium/models/pod.py: gpu_count is a string there */
    char count[16];
    snprintf(count, sizeof(count), "%d", x->gpu_count);
    cJSON_AddStringToObject(j, "gpu_name", x->machine_name);
    cJSON_AddStringToObject(j, "gpu_count", count);
    cJSON_AddStringToObject(j, "cpu_name", x->cpu_model);
    cJSON_AddNumberToObject(j, "ram_total", (double)x->ram_gb * 1024.0 * 1024.0);
    cJSON_AddBoolToObject(j, "is_favorite", false);
    sim_lium_time(j, "created_at", p->created_ms);
    sim_lium_time(j, "updated_at", updated);
    cJSON_AddItemToObject(j, "executor", sim_lium_exec_json(st, p->exec));
    if (tpl) {
        cJSON_AddItemToObject(j, "template", cJSON_Duplicate(tpl, 1));
    } else {
        cJSON *t = cJSON_AddObjectToObject(j, "template");
        cJSON_AddStringToObject(t, "id", p->template_id);
    }
    cJSON_AddNullToObject(j, "removal_scheduled_at");
    cJSON_AddNullToObject(j, "jupyter_installation_status");
    cJSON_AddNullToObject(j, "jupyter_url");
    return j;
}

void sim_lium_pods_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)rq;
    sim_lium_state *st = state;
    int64_t now = sim_now(s);
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < st->npods; i++)
        cJSON_AddItemToArray(arr, sim_lium_pod_json(st, &st->pods[i], now));
    sim_json(rs, 200, arr);
}

void sim_lium_pod_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_lium_state *st = state;
    sim_lium_pod *p = pod_find(st, rq->nparams > 0 ? rq->params[0] : NULL);
    if (!p) {
        sim_error(s, rs, 404, "Pod not found");
        return;
    }
    sim_json(rs, 200, sim_lium_pod_json(st, p, sim_now(s)));
}

/* DELETE starts the removal: DELETING now, gone (and the executor free) DELETE_MS later.
 * Deleting a pod that is already DELETING answers the same again. */
void sim_lium_pod_delete(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_lium_state *st = state;
    sim_lium_pod *p = pod_find(st, rq->nparams > 0 ? rq->params[0] : NULL);
    if (!p) {
        sim_error(s, rs, 404, "Pod not found");
        return;
    }
    int64_t now = sim_now(s);
    if (!p->deleting_ms) p->deleting_ms = now ? now : 1;
    sim_json(rs, 200, sim_lium_pod_json(st, p, now));
}

/* One server-sent event "data: {\"log\": \"<timestamp> <msg>\"}" and its blank line. */
static void log_line(gb_buf *out, int64_t at, const char *msg)
{
    char ts[40];
    gb_time_format(at, ts, sizeof(ts));
    cJSON *e = cJSON_CreateObject();
    char text[600];
    snprintf(text, sizeof(text), "%s %s", ts, msg);
    cJSON_AddStringToObject(e, "log", text);
    char *line = cJSON_PrintUnformatted(e);
    if (line) gb_buf_printf(out, "data: %s\n\n", line);
    free(line);
    cJSON_Delete(e);
}

/* Reads tail (1-100000, default 100 as Lium.logs sends) and follow ("true"/"false", default
 * false); -1 after a 422. */
static int logs_query(sim_lium_state *st, const sim_req *rq, int *tail, sim_resp *rs)
{
    const char *t = sim_query(rq, "tail"), *f = sim_query(rq, "follow");
    *tail = 100;
    if (t && gb_parse_int(t, 1, 100000, tail) != 0) {
        sim_lium_invalid(rs, "query.tail", "Input should be a valid integer", "int_parsing");
        return -1;
    }
    if (f && strcmp(f, "true") != 0 && strcmp(f, "false") != 0) {
        sim_lium_invalid(rs, "query.follow", "Input should be a valid boolean", "bool_parsing");
        return -1;
    }
    st->logs_calls++;
    gb_strlcpy(st->logs_tail, t ? t : "", sizeof(st->logs_tail));
    gb_strlcpy(st->logs_follow, f ? f : "", sizeof(st->logs_follow));
    return 0;
}

/* Logs: the last `tail` lines as far as the pod has come, as server-sent events. A following
 * call (follow=true) gets the same lines: the simulator records it but does not stream. */
void sim_lium_pod_logs(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    sim_lium_state *st = state;
    sim_lium_pod *p = pod_find(st, rq->nparams > 0 ? rq->params[0] : NULL);
    int tail;
    if (!p) {
        sim_error(s, rs, 404, "Pod not found");
        return;
    }
    if (logs_query(st, rq, &tail, rs)) return;
    int64_t now = sim_now(s), c = p->created_ms;
    const sim_lium_exec_spec *x = st->exec[p->exec].spec;
    const cJSON *tpl = sim_lium_template_find(st, p->template_id);
    const cJSON *img = cJSON_GetObjectItemCaseSensitive(tpl, "docker_image");
    const cJSON *tag = cJSON_GetObjectItemCaseSensitive(tpl, "docker_image_tag");
    struct {
        int64_t at;
        char msg[256];
    } lines[5];
    int n = 0;
    snprintf(lines[n].msg, sizeof(lines[n].msg), "Pulling image %s:%s",
             cJSON_IsString(img) ? img->valuestring : "unknown",
             cJSON_IsString(tag) ? tag->valuestring : "latest");
    lines[n++].at = c;
    if (now - c >= SIM_LIUM_BOOT_MS / 2) {
        gb_strlcpy(lines[n].msg, "Image pulled", sizeof(lines[n].msg));
        lines[n++].at = c + SIM_LIUM_BOOT_MS / 2;
    }
    if (now - c >= SIM_LIUM_BOOT_MS) {
        snprintf(lines[n].msg, sizeof(lines[n].msg), "Container started with %d x %s", x->gpu_count,
                 x->machine_name);
        lines[n++].at = c + SIM_LIUM_BOOT_MS;
    }
    if (now - c >= SIM_LIUM_READY_MS &&
        (!p->deleting_ms || p->deleting_ms >= c + SIM_LIUM_READY_MS)) {
        gb_strlcpy(lines[n].msg, "sshd: Server listening on 0.0.0.0 port 22.",
                   sizeof(lines[n].msg));
        lines[n++].at = c + SIM_LIUM_READY_MS;
    }
    if (p->deleting_ms) {
        gb_strlcpy(lines[n].msg, "Received stop request, removing container", sizeof(lines[n].msg));
        lines[n++].at = p->deleting_ms;
    }
    gb_buf out = {0};
    for (int i = n > tail ? n - tail : 0; i < n; i++)
        log_line(&out, lines[i].at, lines[i].msg);
    rs->status = 200;
    rs->content_type = "text/event-stream";
    rs->body = gb_buf_take(&out);
    if (!rs->body) rs->body = gb_strdup("");
}

void sim_lium_pods_tick(sim_lium_state *st, int64_t now_ms)
{
    int w = 0;
    for (int i = 0; i < st->npods; i++) {
        sim_lium_pod *p = &st->pods[i];
        if (p->deleting_ms && now_ms - p->deleting_ms >= SIM_LIUM_DELETE_MS) {
            sim_lium_exec *e = &st->exec[p->exec];
            if (strcmp(e->pod_id, p->id) == 0) e->pod_id[0] = '\0';
            cJSON_Delete(p->keys);
            char tid[sizeof(p->template_id)];
            gb_strlcpy(tid, p->template_id, sizeof(tid));
            p->template_id[0] = '\0'; /* no longer a user of it */
            sim_lium_template_release(st, tid);
            continue;
        }
        if (w != i) st->pods[w] = *p;
        w++;
    }
    st->npods = w;
}

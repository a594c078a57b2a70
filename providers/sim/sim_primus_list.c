/* sim_primus_list.c: GET /api/v1/workloads in the Primus simulator: the seed's filters
 * (workspaceId, phase and kind as comma lists, clusterId, userId, fuzzy userName, description
 * and workloadId, since/until on the creation time), sortBy/order (default creation time,
 * newest first; ties broken by creation order so paging is stable) and offset/limit (100). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/str.h"
#include "providers/sim/sim_primus_int.h"

static _Thread_local int sort_key, sort_desc;

static int list_cmp(const void *a, const void *b)
{
    const sp_wl *x = *(const sp_wl *const *)a, *y = *(const sp_wl *const *)b;
    int c = 0;
    switch (sort_key) {
    case 1:
        c = x->priority - y->priority;
        break;
    case 2:
        c = strcmp(x->id, y->id);
        break;
    case 3:
        c = strcmp(x->display_name, y->display_name);
        break;
    case 4:
        c = strcmp(SIM_PRIMUS_PHASES[x->phase], SIM_PRIMUS_PHASES[y->phase]);
        break;
    case 5:
        c = x->started < y->started ? -1 : x->started > y->started;
        break;
    case 6:
        c = x->ended < y->ended ? -1 : x->ended > y->ended;
        break;
    default:
        c = x->created < y->created ? -1 : x->created > y->created;
        break;
    }
    if (!c) c = x->seq < y->seq ? -1 : x->seq > y->seq;
    return sort_desc ? -c : c;
}

/* Is value one of the comma-separated entries of csv (case-insensitive)? */
static bool in_csv(const char *csv, const char *value)
{
    size_t vl = strlen(value);
    for (const char *p = csv; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *t = end;
        while (t > p && t[-1] == ' ')
            t--;
        if ((size_t)(t - p) == vl && strncasecmp(p, value, vl) == 0) return true;
        p = end;
    }
    return false;
}

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, n) == 0) return true;
    return n == 0;
}

static int parse_when(const char *s, int64_t *ms)
{
    char buf[40];
    size_t l = strlen(s);
    if (l < 19 || l > 30) return -1;
    snprintf(buf, sizeof(buf), "%s%s", s, s[l - 1] == 'Z' ? "" : "Z");
    return gb_time_parse(buf, ms);
}

void sim_primus_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    sp_state *st = state;
    static const char *const SORTS[][2] = {
        {"create_time", "creation_time"}, {"priority", "priority"}, {"workload_id", "workloadId"},
        {"display_name", "displayName"},  {"phase", "phase"},       {"start_time", "startTime"},
        {"end_time", "endTime"}};
    const char *q[9];
    static const char *const QN[9] = {"workspaceId", "phase",      "clusterId",
                                      "userId",      "userName",   "kind",
                                      "description", "workloadId", "sortBy"};
    for (int i = 0; i < 9; i++)
        q[i] = sim_query(rq, QN[i]);
    const char *off = sim_query(rq, "offset"), *lim = sim_query(rq, "limit");
    const char *ord = sim_query(rq, "order"), *since = sim_query(rq, "since");
    const char *until = sim_query(rq, "until");
    int64_t offset = 0, limit = 100, t0 = 0, t1 = 0;
    int key = 0;
    const char *bad = NULL;
    if (off && gb_parse_i64(off, 0, INT32_MAX, &offset)) bad = "offset";
    if (lim && gb_parse_i64(lim, 1, 100000, &limit)) bad = "limit";
    if (ord && strcmp(ord, "asc") != 0 && strcmp(ord, "desc") != 0) bad = "order";
    if (since && parse_when(since, &t0)) bad = "since";
    if (until && parse_when(until, &t1)) bad = "until";
    if (q[8]) {
        while (key < (int)GB_ARRAY_LEN(SORTS) && strcmp(q[8], SORTS[key][0]) != 0 &&
               strcmp(q[8], SORTS[key][1]) != 0 && !(key == 0 && strcmp(q[8], "creationTime") == 0))
            key++;
        if (key == (int)GB_ARRAY_LEN(SORTS)) bad = "sortBy";
    }
    if (bad) {
        sim_primus_err(rs, 400, SP_E_BAD_REQUEST, "Bad request. invalid query: %s", bad);
        return;
    }
    sp_wl **m = st->nwls ? malloc(st->nwls * sizeof(*m)) : NULL;
    size_t n = 0;
    if (st->nwls && !m) {
        sim_primus_err(rs, 500, SP_E_INTERNAL, "Internal error. out of memory");
        return;
    }
    for (size_t i = 0; i < st->nwls; i++) {
        const sp_wl *w = st->wls[i];
        if ((q[0] && strcmp(q[0], st->ws[w->ws].id) != 0) ||
            (q[1] && q[1][0] && !in_csv(q[1], SIM_PRIMUS_PHASES[w->phase])) ||
            (q[2] && strcmp(q[2], SP_CLUSTER) != 0) || (q[3] && strcmp(q[3], w->user_id) != 0) ||
            (q[4] && !contains_ci(w->user_name, q[4])) ||
            (q[5] && q[5][0] && !in_csv(q[5], w->kind)) ||
            (q[6] && !contains_ci(w->description, q[6])) || (q[7] && !contains_ci(w->id, q[7])) ||
            (since && w->created < t0) || (until && w->created > t1))
            continue;
        m[n++] = st->wls[i];
    }
    sort_key = key;
    sort_desc = !ord || strcmp(ord, "desc") == 0;
    if (n) qsort(m, n, sizeof(*m), list_cmp);
    cJSON *j = cJSON_CreateObject();
    cJSON *items = cJSON_CreateArray();
    if (j) cJSON_AddNumberToObject(j, "totalCount", (double)n);
    for (size_t i = (size_t)offset; items && i < n && i < (size_t)(offset + limit); i++)
        cJSON_AddItemToArray(items, sim_primus_wl_json(st, m[i], false));
    if (j && items)
        cJSON_AddItemToObject(j, "items", items);
    else
        cJSON_Delete(items);
    free(m);
    sim_json(rs, 200, j);
}

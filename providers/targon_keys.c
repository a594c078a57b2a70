/* targon_keys.c: the Targon adapter's account look-ups: the v3 organization its paths name
 * (settings.org, else the one organization GET /tha/v3/orgs lists, found once and kept) and the
 * SSH keys it attaches (a raw public key is matched to the account's keys or uploaded). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "providers/targon.h"

#define ORG_MAX 64
#define KEY_PAGES 20 /* key list walks stop here (100 a page) */
#define KEY_LINE_MAX 16384
#define KEY_LOOK_PAUSE_MS 1000 /* before the last look for a key whose upload got no answer */

/* Guards the discovered org of every Targon adapter (a->state: char[ORG_MAX + 1]). */
static pthread_mutex_t org_mu = PTHREAD_MUTEX_INITIALIZER;

void prov_targon_state_free(void *state)
{
    free(state);
}

/* GET /tha/v3/orgs answers {items: [{uid, slug, ...}], next_cursor} (targon-sdk libs/go/org.go
 * OrgService.List, List[Org]). The key must see exactly one organization to be the default. */
static gb_err discover_org(prov_adapter *a, char org[ORG_MAX + 1], char *err)
{
    cJSON *j = NULL;
    gb_err e = prov_targon_get_json(a, "/tha/v3/orgs?limit=100", &j, err);
    if (e) return e;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items"), *it;
    int n = cJSON_GetArraySize(items);
    char names[200] = "";
    size_t used = 0;
    cJSON_ArrayForEach(it, items)
    {
        const cJSON *slug = cJSON_GetObjectItemCaseSensitive(it, "slug");
        if (!cJSON_IsString(slug)) continue;
        if (n == 1) gb_strlcpy(org, slug->valuestring, ORG_MAX + 1);
        int w = snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "",
                         slug->valuestring);
        if (w > 0 && (size_t)w < sizeof(names) - used) used += (size_t)w;
    }
    cJSON_Delete(j);
    if (n == 1 && org[0]) return GB_OK;
    snprintf(err, PROV_ERR_MAX,
             "%s: the v3 API is organization-scoped and the API key sees %d organizations%s%s%s; "
             "name one in the provider settings as {\"org\":\"SLUG\"}",
             a->name, n, used ? " (" : "", names, used ? ")" : "");
    return GB_ERR_INVALID;
}

static gb_err org_of(prov_adapter *a, char org[ORG_MAX + 1], char *err)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(a->settings, "org");
    if (cJSON_IsString(o)) {
        gb_strlcpy(org, o->valuestring, ORG_MAX + 1);
        return GB_OK;
    }
    pthread_mutex_lock(&org_mu);
    bool known = a->state && ((char *)a->state)[0];
    if (known) gb_strlcpy(org, a->state, ORG_MAX + 1);
    pthread_mutex_unlock(&org_mu);
    if (known) return GB_OK;
    org[0] = '\0';
    gb_err e = discover_org(a, org, err);
    if (e) return e;
    pthread_mutex_lock(&org_mu);
    if (!a->state) a->state = calloc(1, ORG_MAX + 1);
    if (a->state) gb_strlcpy(a->state, org, ORG_MAX + 1);
    pthread_mutex_unlock(&org_mu);
    return GB_OK;
}

gb_err prov_targon_path(prov_adapter *a, const char *kind, const char *suffix, char *out, char *err)
{
    char org[ORG_MAX + 1] = "";
    int v = prov_targon_version(a->settings, err);
    if (v < 0) return GB_ERR_INVALID;
    if (v == 3) {
        gb_err e = org_of(a, org, err);
        if (e) return e;
    }
    return prov_targon_path_for(v, org, kind, suffix, out, PROV_TARGON_PATH_MAX, err);
}

/* ---- SSH keys ---- */

static bool is_key_uid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n <= 4 || n > 64 || strncmp(s, "shk-", 4) != 0) return false;
    for (size_t i = 4; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

/* The "type base64" part of a public key line (comment dropped) into out; false when the line
 * does not look like an OpenSSH public key. */
static bool key_core(const char *line, char *out, size_t n)
{
    const char *p = line ? line : "";
    while (*p == ' ' || *p == '\t')
        p++;
    size_t t = strcspn(p, " \t");
    const char *d = p + t;
    while (*d == ' ' || *d == '\t')
        d++;
    size_t k = strcspn(d, " \t\r\n");
    if (t < 7 || t > 64 || k < 16 || t + 1 + k >= n) return false;
    for (size_t i = 0; i < t; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '@' || c == '.'))
            return false;
    }
    for (size_t i = 0; i < k; i++) {
        char c = d[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '='))
            return false;
    }
    snprintf(out, n, "%.*s %.*s", (int)t, p, (int)k, d);
    return true;
}

/* Looks for a key with the same core among the account's keys (GET .../ssh-keys, a List of
 * {uid, name, public_key_raw, created_at, updated_at}: targon-sdk libs/go/ssh_key.go). */
static gb_err find_key(prov_adapter *a, const char *core, char uid[65], char *err)
{
    char base[PROV_TARGON_PATH_MAX], path[PROV_TARGON_PATH_MAX + 440], cursor[400] = "";
    uid[0] = '\0';
    gb_err e = prov_targon_path(a, "ssh-keys", "", base, err);
    for (int page = 0; !e && page < KEY_PAGES; page++) {
        snprintf(path, sizeof(path), "%s?limit=100%s%s", base, cursor[0] ? "&cursor=" : "", cursor);
        cJSON *j = NULL;
        if ((e = prov_targon_get_json(a, path, &j, err))) break;
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items"), *it;
        cJSON_ArrayForEach(it, items)
        {
            const cJSON *raw = cJSON_GetObjectItemCaseSensitive(it, "public_key_raw");
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "uid");
            char have[KEY_LINE_MAX];
            if (cJSON_IsString(raw) && cJSON_IsString(id) && is_key_uid(id->valuestring) &&
                key_core(raw->valuestring, have, sizeof(have)) && strcmp(have, core) == 0) {
                gb_strlcpy(uid, id->valuestring, 65);
                break;
            }
        }
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(j, "next_cursor");
        bool more = !uid[0] && cJSON_IsString(next) && next->valuestring[0] &&
                    strlen(next->valuestring) < 128 && cJSON_GetArraySize(items) > 0;
        if (more) prov_targon_query_escape(next->valuestring, cursor, sizeof(cursor));
        cJSON_Delete(j);
        if (!more) break;
    }
    return e;
}

/* POST .../ssh-keys {name, ssh_key} -> the SSH key object (targon-sdk libs/go/ssh_key.go
 * SSHKeyService.Create; docs.targon.com/api/ssh-keys). */
static gb_err upload_key(prov_adapter *a, const char *line, const char *core, char uid[65],
                         char *err)
{
    char path[PROV_TARGON_PATH_MAX], name[40];
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = core; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    snprintf(name, sizeof(name), "gpubroker-%012llx", (unsigned long long)(h >> 16));
    gb_err e = prov_targon_path(a, "ssh-keys", "", path, err);
    if (e) return e;
    cJSON *b = cJSON_CreateObject();
    if (!b || !cJSON_AddStringToObject(b, "name", name) ||
        !cJSON_AddStringToObject(b, "ssh_key", line)) {
        cJSON_Delete(b);
        return GB_ERR_NOMEM;
    }
    cJSON *j = NULL;
    e = prov_call(a, "POST", path, b, false, &j, NULL, err);
    cJSON_Delete(b);
    if (e) return e;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "uid");
    if (cJSON_IsString(id) && is_key_uid(id->valuestring))
        gb_strlcpy(uid, id->valuestring, 65);
    else {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: SSH key without uid", a->name);
        e = GB_ERR_PROVIDER;
    }
    cJSON_Delete(j);
    return e;
}

/* An upload that got no answer (timeout, connection lost) may have stored the key at Targon:
 * it is looked for among the account's keys, once more after a pause for a request still in
 * flight, so the caller's create goes on with it; e is returned when it is not there. */
static gb_err look_after_upload(prov_adapter *a, const char *core, char uid[65], gb_err e,
                                char *err)
{
    char ferr[PROV_ERR_MAX];
    for (int look = 0; look < 2; look++) {
        if (look) prov_sleep(a, KEY_LOOK_PAUSE_MS);
        if (find_key(a, core, uid, ferr) == GB_OK && uid[0]) return GB_OK;
    }
    size_t l = strlen(err);
    if (l < PROV_ERR_MAX - 1)
        snprintf(err + l, PROV_ERR_MAX - l, "; the key was not found at %s afterwards", a->name);
    return e;
}

gb_err prov_targon_key_uids(prov_adapter *a, const char *const *lines, int n, cJSON *uids,
                            char *err)
{
    for (int i = 0; i < n; i++) {
        const char *line = lines[i];
        char uid[65] = "", core[KEY_LINE_MAX];
        gb_err e = GB_OK;
        if (is_key_uid(line)) {
            gb_strlcpy(uid, line, sizeof(uid));
        } else if (!line || strlen(line) >= KEY_LINE_MAX || !key_core(line, core, sizeof(core))) {
            snprintf(err, PROV_ERR_MAX,
                     "%s: ssh key %d is neither a Targon key uid (shk-...) nor an OpenSSH public "
                     "key line",
                     a->name, i);
            return GB_ERR_INVALID;
        } else if (!(e = find_key(a, core, uid, err)) && !uid[0]) {
            e = upload_key(a, line, core, uid, err);
            if (e == GB_ERR_HTTP || e == GB_ERR_TIMEOUT)
                e = look_after_upload(a, core, uid, e, err);
        }
        if (e) return e;
        const cJSON *have;
        bool dup = false;
        cJSON_ArrayForEach(have, uids) dup = dup || strcmp(have->valuestring, uid) == 0;
        if (!dup && !cJSON_AddItemToArray(uids, cJSON_CreateString(uid))) return GB_ERR_NOMEM;
    }
    return GB_OK;
}

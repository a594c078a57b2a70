/* lium_template.c: Lium starts pods from templates, so the adapter turns a request's image,
 * env and ports into a one-time template of the pod's own (Lium deletes it with the pod), made
 * with POST /templates or found again by its name after an earlier try. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/str.h"
#include "providers/lium.h"

#define IMAGE_MAX 400
#define REPO_MAX 255
#define TAG_MAX 128
#define DIGEST_MAX 100
#define ENV_MAX 64
#define PORTS_MAX 16

typedef struct {
    char repo[REPO_MAX + 1];
    char tag[TAG_MAX + 1];
    char digest[DIGEST_MAX + 1];
    cJSON *env; /* {"NAME": "value"} */
    const prov_create_req *req;
} tpl_want;

/* "repo[:tag][@digest]" -> parts; Lium keeps docker_image and docker_image_tag apart. */
static gb_err split_image(const char *image, tpl_want *w, char *err)
{
    size_t n = image ? strlen(image) : 0;
    if (n == 0 || n > IMAGE_MAX) goto bad;
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)image[i]) || iscntrl((unsigned char)image[i])) goto bad;
    char buf[IMAGE_MAX + 1];
    gb_strlcpy(buf, image, sizeof(buf));
    char *at = strchr(buf, '@');
    if (at) {
        *at = '\0';
        if (strlen(at + 1) > DIGEST_MAX) goto bad;
        gb_strlcpy(w->digest, at + 1, sizeof(w->digest));
    }
    char *slash = strrchr(buf, '/');
    char *colon = strrchr(buf, ':');
    gb_strlcpy(w->tag, "latest", sizeof(w->tag));
    if (colon && (!slash || colon > slash)) {
        *colon = '\0';
        if (!colon[1] || strlen(colon + 1) > TAG_MAX) goto bad;
        gb_strlcpy(w->tag, colon + 1, sizeof(w->tag));
    }
    if (!buf[0] || strlen(buf) > REPO_MAX) goto bad;
    gb_strlcpy(w->repo, buf, sizeof(w->repo));
    return GB_OK;
bad:
    snprintf(err, PROV_ERR_MAX, "image: expected repository[:tag][@digest], at most %d characters",
             IMAGE_MAX);
    return GB_ERR_INVALID;
}

static gb_err env_object(const prov_create_req *req, cJSON **out, char *err)
{
    *out = NULL;
    if (req->nenv < 0 || req->nenv > ENV_MAX) {
        snprintf(err, PROV_ERR_MAX, "env: at most %d entries", ENV_MAX);
        return GB_ERR_INVALID;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o) return GB_ERR_NOMEM;
    for (int i = 0; i < req->nenv; i++) {
        const char *e = req->env[i];
        const char *eq = e ? strchr(e, '=') : NULL;
        bool ok = eq && eq > e && eq - e <= 128 && strlen(eq + 1) <= 4096 &&
                  (isalpha((unsigned char)e[0]) || e[0] == '_');
        for (const char *p = e; ok && p < eq; p++)
            if (!isalnum((unsigned char)*p) && *p != '_') ok = false;
        if (!ok) {
            snprintf(err, PROV_ERR_MAX, "env[%d]: expected NAME=value", i);
            cJSON_Delete(o);
            return GB_ERR_INVALID;
        }
        char name[129];
        gb_strlcpy(name, e, (size_t)(eq - e) + 1);
        cJSON_DeleteItemFromObjectCaseSensitive(o, name); /* the last one wins */
        if (!cJSON_AddStringToObject(o, name, eq + 1)) {
            cJSON_Delete(o);
            return GB_ERR_NOMEM;
        }
    }
    *out = o;
    return GB_OK;
}

/* gb_jstr with a default. */
static const char *str_or(const cJSON *o, const char *key, const char *def)
{
    const char *v = gb_jstr(o, key);
    return v ? v : def;
}

void prov_lium_template_name(const char *pod_name, char *out, size_t n)
{
    gb_snprintf(out, n < 129 ? n : 129, "gpubroker-%s", pod_name ? pod_name : "");
}

/* Our template from an earlier try of this create: named after the pod, with our image. */
static gb_err find_template(prov_adapter *a, const tpl_want *w, char *tid, char *err)
{
    cJSON *j = NULL;
    gb_err e = prov_call(a, "GET", "/templates", NULL, true, &j, NULL, err);
    if (e) return e;
    const cJSON *items = prov_lium_list_items(j, "templates");
    char name[129];
    prov_lium_template_name(w->req->name, name, sizeof(name));
    e = GB_ERR_NOT_FOUND;
    const cJSON *t;
    int n = 0;
    cJSON_ArrayForEach(t, items)
    {
        if (++n > PROV_LIUM_MAX_ITEMS) break;
        const char *id = str_or(t, "id", NULL);
        if (prov_lium_id_ok(id) && strcmp(str_or(t, "name", ""), name) == 0 &&
            strcmp(str_or(t, "docker_image", ""), w->repo) == 0 &&
            strcmp(str_or(t, "docker_image_tag", "latest"), w->tag) == 0 &&
            !gb_str_ieq(str_or(t, "status", ""), "VERIFY_FAILED")) {
            gb_strlcpy(tid, id, PROV_LIUM_ID_MAX + 1);
            e = GB_OK;
            break;
        }
    }
    if (!items) {
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: GET /templates is no list",
                 a->name);
        e = GB_ERR_PROVIDER;
    }
    cJSON_Delete(j);
    return e;
}

/* The body Lium.create_template sends (Datura-ai/lium lium/sdk/client.py), with
 * one_time_template: Lium deletes the template when its pod is removed. */
static cJSON *template_body(const tpl_want *w)
{
    cJSON *b = cJSON_CreateObject();
    char name[129];
    prov_lium_template_name(w->req->name, name, sizeof(name));
    cJSON_AddStringToObject(b, "name", name);
    cJSON_AddStringToObject(b, "docker_image", w->repo);
    cJSON_AddStringToObject(b, "docker_image_digest", w->digest);
    cJSON_AddStringToObject(b, "docker_image_tag", w->tag);
    cJSON *ports = cJSON_AddArrayToObject(b, "internal_ports");
    cJSON_AddItemToArray(ports, cJSON_CreateNumber(22));
    for (int i = 0; i < w->req->nports; i++)
        if (w->req->ports[i] != 22)
            cJSON_AddItemToArray(ports, cJSON_CreateNumber(w->req->ports[i]));
    cJSON_AddStringToObject(b, "startup_commands", "");
    cJSON_AddStringToObject(b, "category", "UBUNTU");
    cJSON_AddBoolToObject(b, "container_start_immediately", true);
    cJSON_AddStringToObject(b, "description", "created by gpubroker for one pod");
    cJSON_AddStringToObject(b, "entrypoint", "");
    cJSON_AddItemToObject(b, "environment", cJSON_Duplicate(w->env, 1));
    cJSON_AddBoolToObject(b, "is_private", true);
    cJSON_AddBoolToObject(b, "one_time_template", true);
    cJSON_AddStringToObject(b, "readme", name);
    cJSON *vols = cJSON_AddArrayToObject(b, "volumes");
    cJSON_AddItemToArray(vols, cJSON_CreateString("/workspace"));
    return b;
}

void prov_lium_template_delete(prov_adapter *a, const char *tid)
{
    char path[128], err[PROV_ERR_MAX];
    if (!prov_lium_id_ok(tid)) return;
    snprintf(path, sizeof(path), "/templates/%s", tid);
    (void)prov_call(a, "DELETE", path, NULL, true, NULL, NULL, err);
}

void prov_lium_template_abandoned(prov_adapter *a, const char *pod_name)
{
    char name[129], err[PROV_ERR_MAX];
    cJSON *j = NULL;
    prov_lium_template_name(pod_name, name, sizeof(name));
    if (prov_call(a, "GET", "/templates", NULL, true, &j, NULL, err)) return;
    const cJSON *t;
    int n = 0;
    cJSON_ArrayForEach(t, prov_lium_list_items(j, "templates"))
    {
        if (++n > PROV_LIUM_MAX_ITEMS) break;
        const char *id = str_or(t, "id", NULL);
        if (prov_lium_id_ok(id) && strcmp(str_or(t, "name", ""), name) == 0)
            prov_lium_template_delete(a, id);
    }
    cJSON_Delete(j);
}

gb_err prov_lium_ensure_template(prov_adapter *a, const prov_create_req *req, char *tid, char *err)
{
    tpl_want w;
    memset(&w, 0, sizeof(w));
    w.req = req;
    cJSON *body = NULL, *j = NULL;
    gb_err e = split_image(req->image, &w, err);
    if (e) return e;
    if (req->nports < 0 || req->nports > PORTS_MAX) {
        snprintf(err, PROV_ERR_MAX, "ports: at most %d", PORTS_MAX);
        return GB_ERR_INVALID;
    }
    for (int i = 0; i < req->nports; i++) {
        if (req->ports[i] < 1 || req->ports[i] > 65535) {
            snprintf(err, PROV_ERR_MAX, "ports[%d]: must be 1-65535", i);
            return GB_ERR_INVALID;
        }
    }
    if ((e = env_object(req, &w.env, err)) != GB_OK) return e;
    e = find_template(a, &w, tid, err);
    if (e != GB_ERR_NOT_FOUND) goto done;
    body = template_body(&w);
    if (!body) {
        e = GB_ERR_NOMEM;
        goto done;
    }
    long status = 0;
    e = prov_call(a, "POST", "/templates", body, false, &j, &status, err);
    if (e == GB_OK) {
        const char *id = str_or(j, "id", NULL);
        if (prov_lium_id_ok(id)) {
            gb_strlcpy(tid, id, PROV_LIUM_ID_MAX + 1);
            goto done;
        }
        e = GB_ERR_PROVIDER;
        snprintf(err, PROV_ERR_MAX, "malformed response from %s: template without an id", a->name);
    }
    /* An answer that never came (or was cut) may hide a created template: look again. */
    if (e == GB_ERR_HTTP || e == GB_ERR_TIMEOUT || status >= 500 ||
        (status >= 200 && status < 300)) {
        char err2[PROV_ERR_MAX];
        if (find_template(a, &w, tid, err2) == GB_OK) e = GB_OK;
    }
done:
    cJSON_Delete(j);
    cJSON_Delete(body);
    cJSON_Delete(w.env);
    return e;
}

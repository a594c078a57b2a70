/* api_templates.c: /api/volt/templates: system templates (read-only) and the account's own. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api/handlers.h"
#include "broker/store/stores.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/str.h"

#define MAX_PORTS 64
#define MAX_ENV 128
#define ENV_VALUE_MAX 4096

/* The stored JSON, or an empty one of its type (ports [] and env_vars {}, never null: one
 * type per field). */
static cJSON *parsed_or_empty(const char *text, bool object)
{
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    if (j) return j;
    return object ? cJSON_CreateObject() : cJSON_CreateArray();
}

static cJSON *tpl_json(const template_rec *r, int full)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", r->id);
    cJSON_AddStringToObject(o, "name", r->name);
    cJSON_AddStringToObject(o, "image", r->image);
    cJSON_AddStringToObject(o, "category", r->category);
    cJSON_AddBoolToObject(o, "is_system", r->is_system);
    cJSON_AddStringToObject(o, "description", r->description);
    if (full)
        gb_json_add_str_or_null(o, "docker_credential_id",
                                r->docker_credential_id[0] ? r->docker_credential_id : NULL);
    cJSON_AddItemToObject(o, "ports", parsed_or_empty(r->ports_json, false));
    if (full) cJSON_AddItemToObject(o, "env_vars", parsed_or_empty(r->env_json, true));
    gb_json_add_time(o, "created_at", r->created_at);
    return o;
}

static void add_tpl(void *ud, const template_rec *r)
{
    cJSON_AddItemToArray(ud, tpl_json(r, 0));
}

void h_templates_list(api_req *rq, api_resp *rs)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "templates");
    api_list(rs, o, arr, template_list(rq->db, rq->account_id, add_tpl, arr), "templates");
}

static int env_name_ok(const char *k)
{
    if (!k || !*k || strlen(k) > 256 || isdigit((unsigned char)k[0])) return 0;
    for (const char *p = k; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_') return 0;
    return 1;
}

/* Validates ports (array of 1..65535) and env_vars (object of strings) when present and
 * stores their canonical JSON text in rec. */
static int take_ports_env(const cJSON *body, template_rec *r, char *err)
{
    const cJSON *ports = NULL;
    gb_err e = gb_json_array(body, "ports", MAX_PORTS, false, &ports, err);
    if (e == GB_ERR_INVALID) return -1;
    if (!e) {
        const cJSON *p;
        cJSON_ArrayForEach(p, ports)
        {
            if (!cJSON_IsNumber(p) || p->valuedouble != (double)(int)p->valuedouble ||
                p->valueint < 1 || p->valueint > 65535) {
                gb_snprintf(err, GB_JSON_ERR_MAX,
                            "field 'ports' must hold port numbers from 1 to 65535");
                return -1;
            }
        }
        free(r->ports_json);
        r->ports_json = gb_json_print(ports);
    }
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(body, "env_vars");
    if (env && !cJSON_IsNull(env)) {
        if (!cJSON_IsObject(env) || cJSON_GetArraySize(env) > MAX_ENV) {
            gb_snprintf(err, GB_JSON_ERR_MAX,
                        "field 'env_vars' must be an object of at most %d string values", MAX_ENV);
            return -1;
        }
        const cJSON *v;
        cJSON_ArrayForEach(v, env)
        {
            if (!env_name_ok(v->string)) {
                gb_snprintf(err, GB_JSON_ERR_MAX,
                            "field 'env_vars': names are letters, digits and _, not starting "
                            "with a digit");
                return -1;
            }
            if (!cJSON_IsString(v) || strlen(v->valuestring) > ENV_VALUE_MAX) {
                gb_snprintf(err, GB_JSON_ERR_MAX,
                            "field 'env_vars': values must be strings of at most %d characters",
                            ENV_VALUE_MAX);
                return -1;
            }
        }
        free(r->env_json);
        r->env_json = gb_json_print(env);
    }
    return 0;
}

/* Applies the fields present in body to r. On create, name and image are required. */
static int take_fields(api_req *rq, const cJSON *body, template_rec *r, int create, char *err)
{
    static const char *const allowed[] = {
        "name",  "image",    "category", "description", "docker_credential_id",
        "ports", "env_vars", NULL};
    const char *s = NULL;
    gb_err e;
    if (gb_json_only_keys(body, allowed, err)) return -1;
#define TAKE(key, field, minl, maxl, req)                                                          \
    do {                                                                                           \
        e = gb_json_str(body, key, minl, maxl, req, &s, err);                                      \
        if (e == GB_ERR_INVALID) return -1;                                                        \
        if (!e) gb_strlcpy(r->field, s, sizeof(r->field));                                         \
    } while (0)
    TAKE("name", name, 1, NAME_MAX_LEN, create);
    TAKE("image", image, 1, sizeof(r->image) - 1, create);
    TAKE("category", category, 1, sizeof(r->category) - 1, false);
    TAKE("description", description, 0, sizeof(r->description) - 1, false);
#undef TAKE
    e = gb_json_str(body, "docker_credential_id", 1, GB_ID_MAX - 1, false, &s, err);
    if (e == GB_ERR_INVALID) return -1;
    if (!e) {
        cred_rec c;
        if (cred_get(rq->db, rq->account_id, s, &c) != GB_OK) {
            gb_snprintf(err, GB_JSON_ERR_MAX,
                        "field 'docker_credential_id': no docker credential '%.48s' on this "
                        "account",
                        s);
            return -1;
        }
        gb_strlcpy(r->docker_credential_id, s, sizeof(r->docker_credential_id));
    } else {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(body, "docker_credential_id");
        if (f && cJSON_IsNull(f)) r->docker_credential_id[0] = '\0';
    }
    if (strchr(r->image, ' ')) {
        gb_snprintf(err, GB_JSON_ERR_MAX,
                    "field 'image' must be an image reference without spaces");
        return -1;
    }
    return take_ports_env(body, r, err);
}

typedef struct {
    template_rec rec;
    int64_t max; /* limits.max_list_items: templates of its own an account may have */
} tpl_add;

/* The room check, the insert and, for an Idempotency-Key, the record that it was made
 * (idem.c): one transaction. */
static gb_err insert_template(gb_db *db, void *ud)
{
    const tpl_add *t = ud;
    gb_err e = account_room(db, t->rec.account_id, template_count, t->max);
    if (!e) e = template_insert(db, &t->rec);
    return e ? e : gb_db_made(db, t->rec.id);
}

void h_templates_create(api_req *rq, api_resp *rs)
{
    char err[GB_JSON_ERR_MAX];
    tpl_add add;
    memset(&add, 0, sizeof(add));
    template_rec *r = &add.rec;
    add.max = rq->app->cfg.max_list_items;
    cJSON *body = api_body_object(rq, rs);
    if (!body) return;
    gb_strlcpy(r->category, "custom", sizeof(r->category));
    if (take_fields(rq, body, r, 1, err)) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto done;
    }
    gb_id_new("tpl_", r->id, sizeof(r->id));
    gb_strlcpy(r->account_id, rq->account_id, sizeof(r->account_id));
    r->created_at = r->updated_at = gb_now_ms();
    gb_err e = gb_db_txn(rq->db, insert_template, &add);
    if (e)
        api_owned_error(rs, e, add.max, "templates", "template");
    else
        api_json(rs, 201, tpl_json(r, 0));
done:
    template_rec_clear(r);
    cJSON_Delete(body);
}

void h_templates_get(api_req *rq, api_resp *rs)
{
    template_rec r;
    memset(&r, 0, sizeof(r));
    gb_err e = template_get(rq->db, rq->account_id, rq->params[0], &r);
    if (e)
        api_error_from(rs, e, "template");
    else
        api_json(rs, 200, tpl_json(&r, 1));
    template_rec_clear(&r);
}

void h_templates_update(api_req *rq, api_resp *rs)
{
    char err[GB_JSON_ERR_MAX];
    template_rec r;
    memset(&r, 0, sizeof(r));
    cJSON *body = NULL;
    gb_err e = template_get(rq->db, rq->account_id, rq->params[0], &r);
    if (e) {
        api_error_from(rs, e, "template");
        goto done;
    }
    if (r.is_system) {
        api_error(rs, 403, "FORBIDDEN", "System templates are read-only");
        goto done;
    }
    if (!(body = api_body_object(rq, rs))) goto done;
    if (take_fields(rq, body, &r, 0, err)) {
        api_error(rs, 400, "VALIDATION_ERROR", "%s", err);
        goto done;
    }
    r.updated_at = gb_now_ms();
    if ((e = template_update(rq->db, &r))) {
        api_error_from(rs, e, "template");
        goto done;
    }
    cJSON *o = tpl_json(&r, 0);
    cJSON_AddStringToObject(o, "message", "Template updated. Existing pods are not affected.");
    api_json(rs, 200, o);
done:
    template_rec_clear(&r);
    cJSON_Delete(body);
}

void h_templates_delete(api_req *rq, api_resp *rs)
{
    template_rec r;
    memset(&r, 0, sizeof(r));
    gb_err e = template_get(rq->db, rq->account_id, rq->params[0], &r);
    if (!e && r.is_system)
        api_error(rs, 403, "FORBIDDEN", "System templates cannot be deleted");
    else if (!e && (e = template_delete(rq->db, rq->account_id, rq->params[0])) == GB_OK)
        api_deleted(rs, rq->params[0],
                    "Template deleted. Existing pods using this template are not affected.");
    if (e) api_error_from(rs, e, "template");
    template_rec_clear(&r);
}

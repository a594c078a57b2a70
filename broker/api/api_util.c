/* api_util.c: building replies: JSON bodies, Volt-format errors, extra headers, and the
 * bounded parsing of request bodies. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker/api/api.h"
#include "common/json.h"
#include "common/log.h"
#include "common/str.h"
#include "gpu/gpu.h"

void api_add_header(api_resp *rs, const char *name, const char *value)
{
    for (int i = 0; i < rs->nheaders; i++) {
        if (strcmp(rs->hname[i], name) == 0) {
            gb_strlcpy(rs->hval[i], value, sizeof(rs->hval[i]));
            return;
        }
    }
    if (rs->nheaders >= API_MAX_HEADERS) return;
    rs->hname[rs->nheaders] = name;
    gb_strlcpy(rs->hval[rs->nheaders], value, sizeof(rs->hval[0]));
    rs->nheaders++;
}

/* A parameter name worth echoing: a short identifier, never a value pasted in its place. */
static int param_like(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
              (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
            return 0;
    return n > 0 && n <= 24;
}

int api_query_only(api_req *rq, api_resp *rs, const char *const *allowed)
{
    const char *bad = api_query_unknown(rq, allowed);
    if (!bad) return 0;
    gb_buf list = {0};
    for (const char *const *a = allowed; *a; a++)
        gb_buf_printf(&list, "%s%s", a == allowed ? "" : ", ", *a);
    if (param_like(bad))
        api_error(rs, 400, "VALIDATION_ERROR", "unknown query parameter '%s' (allowed: %s)", bad,
                  list.data ? list.data : "none");
    else
        api_error(rs, 400, "VALIDATION_ERROR", "unknown query parameter (allowed: %s)",
                  list.data ? list.data : "none");
    gb_buf_free(&list);
    return -1;
}

void api_text(api_resp *rs, int status, const char *content_type, char *body)
{
    free(rs->body);
    rs->status = status;
    rs->content_type = content_type;
    rs->body = body;
}

void api_json(api_resp *rs, int status, cJSON *body)
{
    char *text = body ? gb_json_print(body) : NULL;
    cJSON_Delete(body);
    if (!text) {
        api_error(rs, 500, "INTERNAL_ERROR", "Internal server error");
        return;
    }
    api_text(rs, status, "application/json", text);
}

void api_error(api_resp *rs, int status, const char *code, const char *fmt, ...)
{
    char msg[GB_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* never cut mid-word: a message too long here, or one that filled a module's gb_errmsg to
     * the last byte (cut there by snprintf), ends after a whole word with " ..." */
    if (n < 0)
        gb_strlcpy(msg, "error", sizeof(msg));
    else if ((size_t)n >= sizeof(msg) - 1)
        gb_words_fit(msg, sizeof(msg));
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o && cJSON_AddTrueToObject(o, "error") && cJSON_AddNumberToObject(o, "status", status) &&
        cJSON_AddStringToObject(o, "message", msg) && cJSON_AddStringToObject(o, "code", code) &&
        (!gb_request_id() || cJSON_AddStringToObject(o, "request_id", gb_request_id())))
        text = gb_json_print(o);
    cJSON_Delete(o);
    if (!text)
        text = gb_strdup("{\"error\":true,\"status\":500,\"message\":\"out of memory\","
                         "\"code\":\"INTERNAL_ERROR\"}");
    api_text(rs, status, "application/json", text);
}

void api_error_from(api_resp *rs, gb_err e, const char *what)
{
    const gb_err_http *h = gb_err_to_http(e); /* the default answer, from GB_ERRORS */
    if (h->status >= 500) GB_ERROR("api", "%s: %s", what, gb_strerror(e));
    api_error(rs, h->status, h->code, h->message, what);
}

void api_owned_error(api_resp *rs, gb_err e, int64_t max, const char *plural, const char *what)
{
    if (e == GB_ERR_LIMIT)
        api_error(rs, 409, "LIMIT_REACHED",
                  "An account may have at most %lld %s (limits.max_list_items); remove one first",
                  (long long)max, plural);
    else
        api_error_from(rs, e, what);
}

cJSON *api_body_object(api_req *rq, api_resp *rs)
{
    char err[GB_JSON_ERR_MAX];
    cJSON *j = NULL;
    gb_err e = gb_json_parse(rq->body, rq->body_len, rq->app->cfg.max_json_depth, &j, err);
    if (e == GB_ERR_LIMIT) {
        api_error(rs, 413, "PAYLOAD_TOO_LARGE", "%s", err);
        return NULL;
    }
    if (e) {
        api_error(rs, 400, "INVALID_JSON", "%s", err);
        return NULL;
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        api_error(rs, 400, "INVALID_JSON", "request body must be a JSON object");
        return NULL;
    }
    return j;
}

bool api_is_json_type(const char *ct)
{
    static const char JSON[] = "application/json";
    if (!ct) return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, JSON, sizeof(JSON) - 1) != 0) return false;
    ct += sizeof(JSON) - 1;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

void api_deleted(api_resp *rs, const char *id, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddTrueToObject(o, "deleted");
        cJSON_AddStringToObject(o, "message", message);
    }
    api_json(rs, 200, o);
}

void api_list(api_resp *rs, cJSON *o, const cJSON *arr, gb_err e, const char *what)
{
    if (e) {
        cJSON_Delete(o);
        api_error_from(rs, e, what);
        return;
    }
    cJSON_AddNumberToObject(o, "total", cJSON_GetArraySize(arr));
    api_json(rs, 200, o);
}

void api_add_gpu_type(cJSON *o, const char *normalized)
{
    cJSON_AddStringToObject(o, "gpu_type", gpu_volt_name(normalized));
    cJSON_AddStringToObject(o, "gpu_type_normalized", normalized ? normalized : "");
}

/* cli_util.c: the CLI's HTTP calls to the daemon and its table/JSON output. */
#include "broker/cli/cli_util.h"

#include "providers/provider.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/api/idem.h"
#include "common/http_client.h"
#include "common/ids.h"
#include "common/str.h"

int cli_is_help(const char *arg)
{
    return arg && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0);
}

int cli_help(const char *text)
{
    fputs(text, stdout);
    return CLI_OK;
}

const char *cli_platforms(void)
{
    static char list[256];
    if (!list[0]) {
        size_t n = 0;
        for (const char *const *k = prov_kinds(); *k && n + 32 < sizeof(list); k++)
            n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "", *k);
    }
    return list;
}

int cli_help_platforms(const char *text)
{
    for (const char *p = text; *p; p++) {
        if (p[0] == '%' && p[1] == 'P') {
            fputs(cli_platforms(), stdout);
            p++;
        } else {
            fputc(*p, stdout);
        }
    }
    return CLI_OK;
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_ERR_USAGE;
}

char *cli_read_stdin(size_t max)
{
    gb_buf b = {0};
    char chunk[4096];
    ssize_t n;
    while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) > 0) {
        if (b.len + (size_t)n > max || gb_buf_append(&b, chunk, (size_t)n)) {
            if (b.data) gb_memzero(b.data, b.len);
            gb_buf_free(&b);
            return NULL;
        }
    }
    if (n < 0) {
        gb_buf_free(&b);
        return NULL;
    }
    char *s = gb_buf_take(&b);
    size_t l = s ? strlen(s) : 0;
    if (l && s[l - 1] == '\n') s[--l] = '\0';
    if (l && s[l - 1] == '\r') s[--l] = '\0';
    return s;
}

int cli_call(const char *method, const char *path, const cJSON *body, cJSON **out)
{
    return cli_call_err(method, path, body, out, NULL);
}

int cli_call_err(const char *method, const char *path, const cJSON *body, cJSON **out,
                 cJSON **err_body)
{
    *out = NULL;
    if (err_body) *err_body = NULL;
    const char *base = getenv("GPUBROKER_URL");
    const char *key = getenv("GPUBROKER_API_KEY");
    if (!base || !*base) base = "http://127.0.0.1:8080";
    if (!key || !*key) {
        fprintf(stderr, "error: GPUBROKER_API_KEY is not set (run `gpubroker init` or "
                        "`gpubroker sandbox` to get one)\n");
        return CLI_ERR_USAGE;
    }
    char *url = gb_asprintf("%s%s", base, path);
    char *auth = gb_asprintf("X-API-Key: %s", key);
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    int rc = CLI_ERR_CONN;
    if (!url || !auth || (body && !text)) goto done;
    /* a create or charge carries a fresh Idempotency-Key, so retrying it is safe (idem.c) */
    char idem[64] = "", rnd[33];
    int safe = idem_covers(method, path);
    if (safe) {
        gb_random_base62(rnd, 32);
        snprintf(idem, sizeof(idem), "Idempotency-Key: cli-%s", rnd);
    }
    const char *hdrs[] = {auth,
                          "Content-Type: application/json",
                          "Accept: application/json",
                          "User-Agent: gpubroker-cli/" GPUBROKER_VERSION,
                          safe ? idem : NULL,
                          NULL};
    gb_http_req req = {.method = method,
                       .url = url,
                       .headers = hdrs,
                       .body = text,
                       .body_len = text ? strlen(text) : 0,
                       .timeout_ms = 120000};
    gb_http_policy pol = {
        .max_retries = safe ? 2 : -1, .max_retry_after_ms = 5000, .timeout_ms = 120000};
    gb_http_resp resp;
    gb_errmsg err = "";
    if (gb_http_do_retry(&req, &pol, safe, &resp, err, NULL) != GB_OK) {
        fprintf(stderr, "error: cannot reach gpubroker at %s: %s\n", base, err);
        goto done;
    }
    cJSON *j = cJSON_ParseWithLength(resp.body, resp.body_len);
    if (resp.status >= 200 && resp.status < 300) {
        if (!j) {
            fprintf(stderr, "error: the server's answer is not JSON (HTTP %ld)\n", resp.status);
        } else {
            *out = j;
            j = NULL;
            rc = CLI_OK;
        }
    } else {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "code");
        fprintf(stderr, "error: %s (HTTP %ld%s%s)\n",
                cJSON_IsString(m) ? m->valuestring : "request failed", resp.status,
                cJSON_IsString(c) ? " " : "", cJSON_IsString(c) ? c->valuestring : "");
        rc = CLI_ERR_API;
        if (err_body) {
            *err_body = j;
            j = NULL;
        }
    }
    cJSON_Delete(j);
    gb_http_resp_free(&resp);
done:
    if (auth) gb_memzero(auth, strlen(auth));
    free(auth);
    free(url);
    free(text);
    return rc;
}

#define CELL_MAX 120

static void cell(const cJSON *o, const cli_col *c, char *buf, size_t n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, c->key);
    buf[0] = '\0';
    if (!v || cJSON_IsNull(v)) {
        gb_strlcpy(buf, "-", n);
        return;
    }
    switch (c->kind) {
    case COL_STR:
    case COL_TIME:
        gb_strlcpy(buf, cJSON_IsString(v) ? v->valuestring : "?", n);
        break;
    case COL_NUM:
        snprintf(buf, n, "%g", v->valuedouble);
        break;
    case COL_MONEY:
        snprintf(buf, n, "$%.2f", v->valuedouble);
        break;
    case COL_MICROS: {
        long long m = (long long)v->valuedouble, a = m < 0 ? -m : m;
        char frac[8];
        snprintf(frac, sizeof(frac), "%06lld", a % 1000000);
        for (int i = 5; i > 1 && frac[i] == '0'; i--)
            frac[i] = '\0';
        snprintf(buf, n, "%s$%lld.%s", m < 0 ? "-" : "", a / 1000000, frac);
        break;
    }
    case COL_BOOL:
        gb_strlcpy(buf, cJSON_IsTrue(v) ? "yes" : "no", n);
        break;
    case COL_LIST: {
        size_t off = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, v)
        {
            char one[64];
            if (cJSON_IsString(it))
                gb_strlcpy(one, it->valuestring, sizeof(one));
            else
                snprintf(one, sizeof(one), "%g", it->valuedouble);
            if (gb_snprintf(buf + off, n - off, "%s%s", off ? "," : "", one)) break;
            off = strlen(buf);
        }
        if (!buf[0]) gb_strlcpy(buf, "-", n);
        break;
    }
    }
}

void cli_table(FILE *f, const cJSON *arr, const cli_col *cols, int ncols)
{
    int rows = cJSON_GetArraySize(arr);
    if (rows == 0) {
        fputs("(none)\n", f);
        return;
    }
    size_t width[16] = {0};
    int shown[16] = {0}, last = -1;
    char buf[CELL_MAX];
    if (ncols > 16) ncols = 16;
    const cJSON *o;
    /* A column no row has (e.g. a field only a create answer carries) is left out. */
    for (int c = 0; c < ncols; c++) {
        width[c] = strlen(cols[c].header);
        cJSON_ArrayForEach(o, arr) if (cJSON_GetObjectItemCaseSensitive(o, cols[c].key)) shown[c] =
            1;
        if (shown[c]) last = c;
    }
    cJSON_ArrayForEach(o, arr) for (int c = 0; c < ncols; c++)
    {
        cell(o, &cols[c], buf, sizeof(buf));
        if (strlen(buf) > width[c]) width[c] = strlen(buf);
    }
    for (int c = 0; c < ncols; c++)
        if (shown[c])
            fprintf(f, "%-*s%s", c == last ? 0 : (int)width[c], cols[c].header,
                    c == last ? "\n" : "  ");
    cJSON_ArrayForEach(o, arr) for (int c = 0; c < ncols; c++)
    {
        if (!shown[c]) continue;
        cell(o, &cols[c], buf, sizeof(buf));
        fprintf(f, "%-*s%s", c == last ? 0 : (int)width[c], buf, c == last ? "\n" : "  ");
    }
}

void cli_fields(FILE *f, const cJSON *obj, const cli_col *cols, int ncols)
{
    char buf[256];
    for (int c = 0; c < ncols; c++) {
        if (!cJSON_GetObjectItemCaseSensitive(obj, cols[c].key)) continue;
        cell(obj, &cols[c], buf, sizeof(buf));
        fprintf(f, "%-14s %s\n", cols[c].header, buf);
    }
}

void cli_print_json(FILE *f, const cJSON *j)
{
    char *t = cJSON_PrintUnformatted(j);
    if (t) {
        fputs(t, f);
        fputc('\n', f);
        free(t);
    }
}

cli_opt *cli_opt_get(cli_opt *opts, int nopts, const char *name)
{
    for (int i = 0; i < nopts; i++)
        if (strcmp(opts[i].name, name) == 0) return &opts[i];
    return NULL;
}

int cli_parse(int argc, char **argv, cli_opt *opts, int nopts, const char **pos, int maxpos,
              int *npos, int *help)
{
    *npos = 0;
    *help = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            *help = 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (*npos >= maxpos) return cli_usage_error("unexpected argument '%s'", a);
            pos[(*npos)++] = a;
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        cli_opt *o = NULL;
        for (int k = 0; k < nopts; k++)
            if (strlen(opts[k].name) == nl && strncmp(opts[k].name, name, nl) == 0) o = &opts[k];
        if (!o) return cli_usage_error("unknown option '--%.*s' (see --help)", (int)nl, name);
        o->set = 1;
        if (!o->has_arg) {
            if (eq) return cli_usage_error("option '--%s' takes no value", o->name);
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) return cli_usage_error("option '--%s' needs a value", o->name);
        o->val = v;
        if (o->nvals >= CLI_MAX_MULTI) return cli_usage_error("too many '--%s' options", o->name);
        o->vals[o->nvals++] = v;
    }
    return CLI_OK;
}

char *cli_url_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    gb_buf b = {0};
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~' || *p == ':' || *p == ',') {
            gb_buf_append(&b, p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            gb_buf_append(&b, e, 3);
        }
    }
    return gb_buf_take(&b);
}

int cli_guard_args(cli_opt *opts, int nopts, cJSON *body)
{
    cli_opt *d = cli_opt_get(opts, nopts, "max-duration");
    cli_opt *c = cli_opt_get(opts, nopts, "max-cost");
    if (d && d->set) {
        size_t len = strlen(d->val);
        int64_t unit = 1, n = 0;
        char num[16];
        char last = len ? d->val[len - 1] : '\0';
        if (last == 's' || last == 'm' || last == 'h' || last == 'd') {
            unit = last == 's' ? 1 : last == 'm' ? 60 : last == 'h' ? 3600 : 86400;
            len--;
        }
        if (len == 0 || len >= sizeof(num) ||
            (gb_strlcpy(num, d->val, len + 1), gb_parse_i64(num, 1, 31622400, &n)) ||
            n * unit < 60 || n * unit > 31622400)
            return cli_usage_error("--max-duration %s: give seconds or 90m, 2h, 1d (1 minute to "
                                   "366 days)",
                                   d->val);
        cJSON_AddNumberToObject(body, "max_duration", (double)(n * unit));
    }
    if (c && c->set) cJSON_AddStringToObject(body, "max_cost", c->val);
    return CLI_OK;
}

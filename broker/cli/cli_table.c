/* cli_table.c: the CLI's tables and "key: value" listings: cells from JSON, columns aligned,
 * and on a terminal the widest columns (never the ids) cut with an ellipsis until the table
 * fits (--wide and output to a pipe or file show everything). */
#include "broker/cli/cli_table.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "broker/cli/cli_util.h"
#include "common/str.h"

#define CELL_MAX 1024
#define MAX_COLS 16
#define MIN_CUT 8 /* a cut column keeps at least this many columns (or its header's) */

int cli_wide;

int cli_table_width(FILE *f)
{
    const char *force = getenv("GPUBROKER_FORCE_TTY");
    if (cli_wide || (!isatty(fileno(f)) && !(force && strcmp(force, "1") == 0))) return 0;
    int n = 0;
    const char *cols = getenv("COLUMNS");
    if (cols && gb_parse_int(cols, 20, 1000, &n) == 0) return n;
    struct winsize ws;
    if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
    return 80;
}

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

/* Terminal columns of UTF-8 text: its bytes that start a character. */
static size_t text_cols(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Prints s in width columns (cut with "…" when longer), padded unless it is the last. */
static void put_cell(FILE *f, const char *s, size_t width, int last)
{
    size_t cols = text_cols(s);
    if (cols > width && width > 0) {
        size_t keep = width - 1, i = 0, seen = 0;
        for (; s[i]; i++) {
            if (((unsigned char)s[i] & 0xC0) == 0x80) continue; /* inside a character */
            if (seen == keep) break;
            seen++;
        }
        fwrite(s, 1, i, f);
        fputs("\xE2\x80\xA6", f); /* U+2026 HORIZONTAL ELLIPSIS */
        cols = width;
    } else {
        fputs(s, f);
    }
    if (last)
        fputc('\n', f);
    else
        fprintf(f, "%*s", (int)(width - cols + 2), "");
}

/* Narrows the widest columns, one character at a time, until the table fits in limit. The
 * "id" column is never cut: it is what people copy out of a table. */
static void fit(size_t *width, const int *shown, const cli_col *cols, int ncols, int limit)
{
    size_t total = 0;
    int n = 0;
    for (int c = 0; c < ncols; c++)
        if (shown[c]) total += width[c] + (n++ ? 2 : 0);
    while (total > (size_t)limit) {
        int w = -1;
        for (int c = 0; c < ncols; c++) {
            size_t floor = strlen(cols[c].header) > MIN_CUT ? strlen(cols[c].header) : MIN_CUT;
            if (shown[c] && width[c] > floor && strcmp(cols[c].key, "id") != 0 &&
                (w < 0 || width[c] > width[w]))
                w = c;
        }
        if (w < 0) return; /* every column is as narrow as it goes */
        width[w]--;
        total--;
    }
}

void cli_table(FILE *f, const cJSON *arr, const cli_col *cols, int ncols)
{
    int rows = cJSON_GetArraySize(arr);
    if (rows == 0) {
        fputs("(none)\n", f);
        return;
    }
    size_t width[MAX_COLS] = {0};
    int shown[MAX_COLS] = {0}, last = -1;
    char buf[CELL_MAX];
    if (ncols > MAX_COLS) ncols = MAX_COLS;
    const cJSON *o;
    /* A column no row has (e.g. a field only a create answer carries) is left out. */
    for (int c = 0; c < ncols; c++) {
        width[c] = text_cols(cols[c].header);
        cJSON_ArrayForEach(o, arr) if (cJSON_GetObjectItemCaseSensitive(o, cols[c].key)) shown[c] =
            1;
        if (shown[c]) last = c;
    }
    cJSON_ArrayForEach(o, arr) for (int c = 0; c < ncols; c++)
    {
        cell(o, &cols[c], buf, sizeof(buf));
        if (text_cols(buf) > width[c]) width[c] = text_cols(buf);
    }
    int limit = cli_table_width(f);
    if (limit > 0) fit(width, shown, cols, ncols, limit);
    for (int c = 0; c < ncols; c++)
        if (shown[c]) put_cell(f, cols[c].header, width[c], c == last);
    cJSON_ArrayForEach(o, arr) for (int c = 0; c < ncols; c++)
    {
        if (!shown[c]) continue;
        cell(o, &cols[c], buf, sizeof(buf));
        put_cell(f, buf, width[c], c == last);
    }
}

void cli_fields(FILE *f, const cJSON *obj, const cli_col *cols, int ncols)
{
    char buf[CELL_MAX];
    for (int c = 0; c < ncols; c++) {
        if (!cJSON_GetObjectItemCaseSensitive(obj, cols[c].key)) continue;
        cell(obj, &cols[c], buf, sizeof(buf));
        fprintf(f, "%-14s %s\n", cols[c].header, buf);
    }
}

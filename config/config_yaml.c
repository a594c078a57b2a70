/* config_yaml.c: reads the YAML config file (a mapping of sections to mappings of scalar
 * keys) with libyaml's event parser and applies each key through the key table. */
#include "config/config_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "common/str.h"

typedef struct {
    yaml_parser_t parser;
    gb_config *cfg;
    const char *name; /* file name for messages */
    const char *text; /* the whole input, len bytes */
    size_t len;
    char *err;
    size_t errsz;
    bool key_seen[GB_CONFIG_MAX_KEYS];
    bool section_seen[GB_CONFIG_MAX_KEYS]; /* indexed by the section's first key */
} yctx;

static void fail_at(yctx *c, const yaml_event_t *ev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes "name:line: <message>" into c->err. */
static void fail_at(yctx *c, const yaml_event_t *ev, const char *fmt, ...)
{
    char msg[GB_CONFIG_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    gb_snprintf(c->err, c->errsz, "%s:%zu: %s", c->name, (size_t)ev->start_mark.line + 1, msg);
}

static gb_err next_event(yctx *c, yaml_event_t *ev)
{
    if (yaml_parser_parse(&c->parser, ev)) return GB_OK;
    const yaml_parser_t *p = &c->parser;
    const char *problem = p->problem ? p->problem : "unknown error";
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        gb_snprintf(c->err, c->errsz, "%s: out of memory while parsing", c->name);
        return GB_ERR_NOMEM;
    case YAML_READER_ERROR: { /* libyaml gives only a byte offset: count the lines */
        size_t line = 1;
        for (size_t i = 0; i < p->problem_offset && i < c->len; i++)
            if (c->text[i] == '\n') line++;
        gb_snprintf(c->err, c->errsz, "%s:%zu: invalid YAML input: %s (byte %zu)", c->name, line,
                    problem, p->problem_offset);
        return GB_ERR_INVALID;
    }
    default:
        if (p->context)
            gb_snprintf(c->err, c->errsz, "%s:%zu: YAML syntax error: %s (%s on line %zu)", c->name,
                        p->problem_mark.line + 1, problem, p->context, p->context_mark.line + 1);
        else
            gb_snprintf(c->err, c->errsz, "%s:%zu: YAML syntax error: %s", c->name,
                        p->problem_mark.line + 1, problem);
        return GB_ERR_INVALID;
    }
}

static const char *event_kind(const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return "a scalar";
    case YAML_SEQUENCE_START_EVENT:
        return "a sequence";
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_ALIAS_EVENT:
        return "an alias";
    default:
        return "something else";
    }
}

/* A plain, untagged ~, null, Null, NULL or nothing at all. */
static bool is_null(const yaml_event_t *ev)
{
    if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
        !ev->data.scalar.plain_implicit)
        return false;
    const char *v = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    return n == 0 || (n == 1 && v[0] == '~') ||
           (n == 4 &&
            (memcmp(v, "null", 4) == 0 || memcmp(v, "Null", 4) == 0 || memcmp(v, "NULL", 4) == 0));
}

/* The value event of key k: a scalar, validated and stored. */
static gb_err apply_value(yctx *c, const gb_config_key *k, const yaml_event_t *ev)
{
    char problem[GB_CONFIG_ERR_MAX];
    if (ev->type == YAML_ALIAS_EVENT) {
        fail_at(c, ev, "%s: aliases are not supported", k->path);
        return GB_ERR_INVALID;
    }
    if (ev->type != YAML_SCALAR_EVENT) {
        fail_at(c, ev, "%s: must be a single value, not %s", k->path, event_kind(ev));
        return GB_ERR_INVALID;
    }
    const char *val = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (k->type == GB_CONFIG_T_STRING && is_null(ev)) len = 0; /* "key:" or "key: ~" */
    gb_err e = gb_config_set_value(c->cfg, k, val, len, problem, sizeof(problem));
    if (e == GB_ERR_INVALID) fail_at(c, ev, "%s: %s", k->path, problem);
    return e;
}

/* After the MAPPING_START of section sec (seclen bytes): its keys up to MAPPING_END. */
static gb_err parse_keys(yctx *c, const char *sec, size_t seclen)
{
    yaml_event_t ev;
    gb_err e;
    for (;;) {
        if ((e = next_event(c, &ev))) return e;
        if (ev.type == YAML_MAPPING_END_EVENT) break;
        if (ev.type != YAML_SCALAR_EVENT) {
            fail_at(c, &ev, "keys in section '%.*s' must be plain names, not %s", (int)seclen, sec,
                    event_kind(&ev));
            e = GB_ERR_INVALID;
            goto fail;
        }
        const gb_config_key *k = gb_config_key_find(sec, seclen, (const char *)ev.data.scalar.value,
                                                    ev.data.scalar.length);
        if (!k) {
            char shown[80];
            gb_config_quote(shown, sizeof(shown), (const char *)ev.data.scalar.value,
                            ev.data.scalar.length);
            fail_at(c, &ev, "unknown key '%.*s.%s'", (int)seclen, sec, shown);
            e = GB_ERR_INVALID;
            goto fail;
        }
        size_t idx = (size_t)(k - gb_config_keys);
        if (c->key_seen[idx]) {
            fail_at(c, &ev, "duplicate key '%s'", k->path);
            e = GB_ERR_INVALID;
            goto fail;
        }
        c->key_seen[idx] = true;
        yaml_event_delete(&ev);

        if ((e = next_event(c, &ev))) return e;
        if ((e = apply_value(c, k, &ev))) goto fail;
        yaml_event_delete(&ev);
    }
    yaml_event_delete(&ev);
    return GB_OK;
fail:
    yaml_event_delete(&ev);
    return e;
}

/* After the top-level MAPPING_START: sections up to MAPPING_END. */
static gb_err parse_sections(yctx *c)
{
    yaml_event_t ev;
    gb_err e;
    for (;;) {
        if ((e = next_event(c, &ev))) return e;
        if (ev.type == YAML_MAPPING_END_EVENT) break;
        if (ev.type != YAML_SCALAR_EVENT) {
            fail_at(c, &ev, "section names must be plain names, not %s", event_kind(&ev));
            e = GB_ERR_INVALID;
            goto fail;
        }
        int idx =
            gb_config_section_index((const char *)ev.data.scalar.value, ev.data.scalar.length);
        if (idx < 0 || memchr(ev.data.scalar.value, '\0', ev.data.scalar.length)) {
            char shown[80];
            gb_config_quote(shown, sizeof(shown), (const char *)ev.data.scalar.value,
                            ev.data.scalar.length);
            fail_at(c, &ev, "unknown section '%s'", shown);
            e = GB_ERR_INVALID;
            goto fail;
        }
        /* The section name, borrowed from the table so it outlives the event. */
        const char *sec = gb_config_keys[idx].path;
        size_t seclen = gb_config_key_section_len(&gb_config_keys[idx]);
        if (c->section_seen[idx]) {
            fail_at(c, &ev, "duplicate section '%.*s'", (int)seclen, sec);
            e = GB_ERR_INVALID;
            goto fail;
        }
        c->section_seen[idx] = true;
        yaml_event_delete(&ev);

        if ((e = next_event(c, &ev))) return e;
        if (ev.type == YAML_MAPPING_START_EVENT) {
            if ((e = parse_keys(c, sec, seclen))) goto fail;
        } else if (!is_null(&ev)) { /* "server:" with every key commented out is fine */
            fail_at(c, &ev, "section '%.*s' must be a mapping of keys, not %s", (int)seclen, sec,
                    event_kind(&ev));
            e = GB_ERR_INVALID;
            goto fail;
        }
        yaml_event_delete(&ev);
    }
    yaml_event_delete(&ev);
    return GB_OK;
fail:
    yaml_event_delete(&ev);
    return e;
}

/* After DOCUMENT_START: the root node, then DOCUMENT_END. */
static gb_err parse_document(yctx *c)
{
    yaml_event_t ev;
    gb_err e;
    if ((e = next_event(c, &ev))) return e;
    if (ev.type == YAML_MAPPING_START_EVENT) {
        if ((e = parse_sections(c))) goto fail;
    } else if (!is_null(&ev)) { /* a document of only comments or "---" is empty */
        fail_at(c, &ev, "the top level must be a mapping of sections (like 'server:'), not %s",
                event_kind(&ev));
        e = GB_ERR_INVALID;
        goto fail;
    }
    yaml_event_delete(&ev);
    if ((e = next_event(c, &ev))) return e;
    if (ev.type != YAML_DOCUMENT_END_EVENT) {
        fail_at(c, &ev, "unexpected YAML event after the top-level mapping");
        e = GB_ERR_INVALID;
        goto fail;
    }
    yaml_event_delete(&ev);
    return GB_OK;
fail:
    yaml_event_delete(&ev);
    return e;
}

gb_err gb_config_apply_yaml(gb_config *cfg, const char *text, size_t len, const char *name,
                            char *err, size_t errsz)
{
    yctx c;
    memset(&c, 0, sizeof(c));
    c.cfg = cfg;
    c.name = name;
    c.text = text;
    c.len = len;
    c.err = err;
    c.errsz = errsz;
    if (!yaml_parser_initialize(&c.parser)) {
        gb_snprintf(err, errsz, "%s: out of memory", name);
        return GB_ERR_NOMEM;
    }
    yaml_parser_set_input_string(&c.parser, (const unsigned char *)text, len);

    yaml_event_t ev;
    gb_err e;
    int documents = 0;
    for (;;) {
        if ((e = next_event(&c, &ev))) goto out;
        if (ev.type == YAML_STREAM_END_EVENT) break;
        if (ev.type == YAML_DOCUMENT_START_EVENT) {
            if (documents++) {
                fail_at(&c, &ev, "only one YAML document is allowed");
                e = GB_ERR_INVALID;
                goto done;
            }
            yaml_event_delete(&ev);
            if ((e = parse_document(&c))) goto out;
            continue;
        }
        if (ev.type != YAML_STREAM_START_EVENT) {
            fail_at(&c, &ev, "unexpected YAML event");
            e = GB_ERR_INVALID;
            goto done;
        }
        yaml_event_delete(&ev);
    }
done:
    yaml_event_delete(&ev);
out:
    yaml_parser_delete(&c.parser);
    return e;
}

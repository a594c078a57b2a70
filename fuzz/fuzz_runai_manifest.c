/* fuzz_runai_manifest.c: what a user puts in a Run:ai pod's provider_options, and the
 * Kubernetes manifest the adapter writes from JSON as YAML: the options validator on the
 * input, then the YAML writer on it. Whatever it writes must be base 64 that decodes, and YAML
 * that libyaml (an implementation that is not ours) parses to the end without an error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <yaml.h>

#include "common/base64.h"
#include "providers/provider.h"
#include "providers/runai_int.h"

static prov_adapter *g_a;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (prov_adapter_new("runai", "runai", "http://127.0.0.1:1", "id:secret", NULL, &g_a) != GB_OK)
        abort(); /* setup, not input */
    return 0;
}

/* libyaml parses text to the end of the stream; 0 when it does. */
static int yaml_ok(const unsigned char *text, size_t n)
{
    yaml_parser_t p;
    yaml_event_t ev;
    if (!yaml_parser_initialize(&p)) return 0; /* out of memory: not the input's fault */
    yaml_parser_set_input_string(&p, text, n);
    int rc = -1;
    for (int i = 0; i < 1000000; i++) {
        if (!yaml_parser_parse(&p, &ev)) break;
        int end = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (end) {
            rc = 0;
            break;
        }
    }
    yaml_parser_delete(&p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    if (!j) return 0;
    char err[PROV_ERR_MAX];
    (void)prov_runai_validate_options(j, err);
    char *b64 = NULL;
    if (prov_runai_manifest_encode(g_a, j, &b64, err) == GB_OK) {
        unsigned char *yaml = NULL;
        size_t n = 0;
        if (gb_base64_decode(b64, &yaml, &n) != GB_OK) abort(); /* not base 64 */
        if (yaml_ok(yaml, n) != 0) abort();                     /* not YAML */
        free(yaml);
    }
    free(b64);
    cJSON_Delete(j);
    return 0;
}

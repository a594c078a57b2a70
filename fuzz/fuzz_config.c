/* fuzz_config.c: the YAML config file: gb_config_load_text (libyaml events, key table,
 * value validation) on arbitrary text, then gb_config_free. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* GPUBROKER_* variables from the caller's environment would mask what the text sets */
    extern char **environ;
    for (int again = 1; again;) {
        again = 0;
        for (char **e = environ; e && *e; e++) {
            if (strncmp(*e, GB_CONFIG_ENV_PREFIX, strlen(GB_CONFIG_ENV_PREFIX)) != 0) continue;
            char name[256];
            size_t n = strcspn(*e, "=");
            if (n >= sizeof(name)) continue;
            memcpy(name, *e, n);
            name[n] = '\0';
            unsetenv(name);
            again = 1;
            break;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gb_config cfg;
    char err[512];
    memset(&cfg, 0, sizeof(cfg));
    (void)gb_config_load_text((const char *)data, size, "fuzz.yaml", &cfg, err, sizeof(err));
    gb_config_free(&cfg);
    return 0;
}

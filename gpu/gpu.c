/* gpu.c: the one table that turns every platform's GPU names into gpubroker's normalized
 * types ("NVIDIA H100 80GB HBM3", "H100 80GB", "h100", "h100-small" -> H100, 80 GB). */
#include <ctype.h>
#include <string.h>

#include "common/str.h"
#include "gpu/gpu.h"

typedef struct {
    const char *token; /* compact, upper-case, no spaces/dashes: matched as a substring */
    const char *type;
    int vram_gb;
} gpu_entry;

/* Longer, more specific tokens first. */
static const gpu_entry TABLE[] = {
    {"GH200", "GH200", 96},
    {"H200", "H200", 141},
    {"H100NVL", "H100-NVL", 94},
    {"H100", "H100", 80},
    {"B200", "B200", 180},
    {"B300", "B300", 288},
    {"A10080GB", "A100-80GB", 80},
    {"A100SXM480GB", "A100-80GB", 80},
    {"A10040GB", "A100-40GB", 40},
    {"A100SXM440GB", "A100-40GB", 40},
    {"A100PCIE40GB", "A100-40GB", 40},
    {"A100", "A100-80GB", 80},
    {"L40S", "L40S", 48},
    {"L40", "L40", 48},
    {"L4", "L4", 24},
    {"A6000", "RTXA6000", 48},
    {"A5000", "RTXA5000", 24},
    {"A4000", "RTXA4000", 16},
    {"RTX6000ADA", "RTX6000-ADA", 48},
    {"6000ADA", "RTX6000-ADA", 48},
    {"RTX5090", "RTX5090", 32},
    {"5090", "RTX5090", 32},
    {"RTX4090", "RTX4090", 24},
    {"4090", "RTX4090", 24},
    {"RTX3090", "RTX3090", 24},
    {"3090", "RTX3090", 24},
    {"A40", "A40", 48},
    {"A10G", "A10G", 24},
    {"MI300X", "MI300X", 192},
    {"MI325X", "MI325X", 256},
    {"MI250", "MI250", 128},
    {"V100", "V100", 32},
    {"T4", "T4", 16},
};

int gpu_normalize(const char *name, char gpu_type[GPU_TYPE_MAX], int *vram_gb)
{
    char compact[128];
    size_t n = 0;
    for (const char *p = name ? name : ""; *p && n + 1 < sizeof(compact); p++)
        if (isalnum((unsigned char)*p)) compact[n++] = (char)toupper((unsigned char)*p);
    compact[n] = '\0';
    for (size_t i = 0; i < sizeof(TABLE) / sizeof(TABLE[0]); i++) {
        if (strstr(compact, TABLE[i].token)) {
            gb_strlcpy(gpu_type, TABLE[i].type, GPU_TYPE_MAX);
            if (vram_gb) *vram_gb = TABLE[i].vram_gb;
            return 0;
        }
    }
    /* Unknown: keep the platform's name, upper-cased and trimmed. */
    const char *s = name ? name : "";
    while (*s == ' ')
        s++;
    size_t k = 0;
    for (; s[k] && k < GPU_TYPE_MAX - 1; k++)
        gpu_type[k] = (char)toupper((unsigned char)s[k]);
    while (k && gpu_type[k - 1] == ' ')
        k--;
    gpu_type[k] = '\0';
    return -1;
}

/* Normalized type -> Volt's display name (see gpu.h for the source). */
static const struct {
    const char *type, *volt;
} VOLT[] = {
    {"GH200", "GH200"},
    {"H200", "H200"},
    {"H100-NVL", "H100 NVL"},
    {"H100", "H100 80GB"},
    {"B200", "B200"},
    {"B300", "B300"},
    {"A100-80GB", "A100 80GB"},
    {"A100-40GB", "A100 40GB"},
    {"L40S", "L40S"},
    {"L40", "L40"},
    {"L4", "L4"},
    {"RTXA6000", "RTX A6000"},
    {"RTXA5000", "RTX A5000"},
    {"RTXA4000", "RTX A4000"},
    {"RTX6000-ADA", "RTX 6000 Ada"},
    {"RTX5090", "RTX 5090"},
    {"RTX4090", "RTX 4090"},
    {"RTX3090", "RTX 3090"},
    {"A40", "A40"},
    {"A10G", "A10G"},
    {"MI300X", "MI300X"},
    {"MI325X", "MI325X"},
    {"MI250", "MI250"},
    {"V100", "V100"},
    {"T4", "T4"},
};

const char *gpu_volt_name(const char *gpu_type)
{
    if (!gpu_type) return "";
    for (size_t i = 0; i < sizeof(VOLT) / sizeof(VOLT[0]); i++)
        if (strcmp(gpu_type, VOLT[i].type) == 0) return VOLT[i].volt;
    return gpu_type;
}

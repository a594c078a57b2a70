/* gpu.h: the GPU catalog: every platform's GPU names turned into gpubroker's normalized types
 * and their VRAM. Below providers/ and jobs/, which both need it; depends only on common/. */
#ifndef GB_GPU_H
#define GB_GPU_H

/* Size of a normalized GPU type buffer ("A100-80GB", "RTX6000-ADA", ...), with the NUL. */
#define GPU_TYPE_MAX 32

/* Normalizes a platform GPU name ("NVIDIA H100 80GB HBM3", "H100 80GB", "h100", "RTX 4090",
 * "h200-small") into gpu_type (GPU_TYPE_MAX bytes) and, when the table knows it, VRAM in GB.
 * Returns 0 when recognized, -1 otherwise (gpu_type then gets the input, upper-cased and
 * trimmed; vram_gb is left alone). vram_gb may be NULL. */
int gpu_normalize(const char *name, char gpu_type[GPU_TYPE_MAX], int *vram_gb);

/* Volt's spelling of a normalized type, for Volt answers: the seed writes "RTX 4090",
 * "H100 80GB" and "H200" (VoltageGPU API reference, /work/shared/seeds/004_1ea3563deb947c81.txt,
 * machines and pods); the other types follow the same pattern (NVIDIA's product name with its
 * spaces). Every name normalizes back to its type. Unknown types come back as given; NULL
 * gives "". */
const char *gpu_volt_name(const char *gpu_type);

#endif

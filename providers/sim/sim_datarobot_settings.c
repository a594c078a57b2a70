/* sim_datarobot_settings.c: the DataRobot simulator's artifacts and runtimes as the Workload
 * API takes them today, checked as strictly as the server (unknown keys refused with 422), the
 * runtime view, and the resource-bundle catalog (GET /mlops/compute/bundles/).
 *
 * Shapes (tests/fixtures/wire/datarobot/SOURCES.md):
 *  - artifact {name, description, spec{type: service|nim|agent, containerGroups:[{name,
 *    containers:[{name, imageUri, port >= 1024, primary, entrypoint, environmentVars,
 *    readinessProbe, livenessProbe, startupProbe, description}]}]}}: terraform-provider-datarobot
 *    internal/client/workloads_service.go (ArtifactSpec, ArtifactContainer); the port and
 *    "exactly one primary" rules: datarobot-agent-skills skills/datarobot-workload-api/SKILL.md.
 *  - runtime {containerGroups:[{name, replicaCount | autoscaling{enabled, minReplicaCount,
 *    maxReplicaCount, policies[{scalingMetric, target}]}, containers:[{name,
 *    resourceAllocation{cpu, memory, gpu}}], resourceBundles:[one id],
 *    bundleSelectionPolicy}], enclaveSelectionPolicy, enclaves}: workloads_service.go
 *    (GroupRuntime), datarobot-oss/cli docs/examples/workload-autoscaling.yaml and
 *    internal/workload/workload.go (replicaCount and autoscaling.enabled exclusive);
 *    memory "512MB" or bytes, one bundle, bundle wins over cpu/memory: SKILL.md.
 *  - bundles {id, name, description, cpuCount, memoryBytes, gpuMaker, gpuCount,
 *    gpuMemoryBytes, useCases, isDefault, isDeleted, hasGpu}: the DataRobot Python client's
 *    datarobot/models/resource_bundle.py (ResourceBundle, camelCase on the wire). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/str.h"
#include "providers/sim/sim_datarobot_int.h"

#define GIB (1024LL * 1024 * 1024)

static const sdr_bundle BUNDLES[] = {
    {"cpu.small", "S", "1 CPU, 2 GB RAM", 1, 2 * GIB, 0, 0},
    {"cpu.xlarge", "XL", "4 CPU, 16 GB RAM", 4, 16 * GIB, 0, 0},
    {"gpu.a100.large", "A100 80GB x1", "1 x NVIDIA A100 80GB, 12 CPU, 128 GB RAM", 12, 128 * GIB, 1,
     80 * GIB},
    {"gpu.a100.xlarge", "A100 80GB x2", "2 x NVIDIA A100 80GB, 24 CPU, 256 GB RAM", 24, 256 * GIB,
     2, 160 * GIB},
    {"gpu.h100.2xlarge", "H100 80GB x8", "8 x NVIDIA H100 80GB, 96 CPU, 1024 GB RAM", 96,
     1024 * GIB, 8, 640 * GIB},
};

const sdr_bundle *sim_datarobot_bundles(size_t *n)
{
    *n = GB_ARRAY_LEN(BUNDLES);
    return BUNDLES;
}

const sdr_bundle *sim_datarobot_bundle(const char *id)
{
    for (size_t i = 0; id && i < GB_ARRAY_LEN(BUNDLES); i++)
        if (strcmp(BUNDLES[i].id, id) == 0) return &BUNDLES[i];
    return NULL;
}

static cJSON *bundle_json(const sdr_bundle *b)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *uc = j ? cJSON_AddArrayToObject(j, "useCases") : NULL;
    if (!uc) {
        cJSON_Delete(j);
        return NULL;
    }
    cJSON_AddStringToObject(j, "id", b->id);
    cJSON_AddStringToObject(j, "name", b->name);
    cJSON_AddStringToObject(j, "description", b->description);
    cJSON_AddNumberToObject(j, "cpuCount", b->cpu);
    cJSON_AddNumberToObject(j, "memoryBytes", (double)b->memory);
    if (b->gpus) {
        cJSON_AddStringToObject(j, "gpuMaker", "nvidia");
        cJSON_AddNumberToObject(j, "gpuCount", b->gpus);
    } else {
        cJSON_AddNullToObject(j, "gpuMaker");
        cJSON_AddNullToObject(j, "gpuCount");
    }
    cJSON_AddNumberToObject(j, "gpuMemoryBytes", (double)b->gpu_memory);
    cJSON_AddItemToArray(uc, cJSON_CreateString("customModel"));
    cJSON_AddItemToArray(uc, cJSON_CreateString("customApplication"));
    cJSON_AddBoolToObject(j, "isDefault", strcmp(b->id, "cpu.small") == 0);
    cJSON_AddBoolToObject(j, "isDeleted", 0);
    cJSON_AddBoolToObject(j, "hasGpu", b->gpus > 0);
    return j;
}

void sim_datarobot_bundles_list(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    int offset, limit, total = (int)GB_ARRAY_LEN(BUNDLES);
    if (sim_datarobot_page(rq, rs, &offset, &limit)) return;
    cJSON *items = cJSON_CreateArray();
    for (int i = offset; items && i < total && i < offset + limit; i++)
        cJSON_AddItemToArray(items, bundle_json(&BUNDLES[i]));
    sim_json(rs, 200, sim_datarobot_page_json(state, rq->path, items, offset, limit, total));
}

void sim_datarobot_bundle_get(sim_server *s, void *state, const sim_req *rq, sim_resp *rs)
{
    (void)s;
    (void)state;
    const sdr_bundle *b = sim_datarobot_bundle(rq->params[0]);
    if (!b)
        sim_datarobot_err(rs, 404, "Resource bundle not found: %.64s", rq->params[0]);
    else
        sim_json(rs, 200, bundle_json(b));
}

/* ---- small readers ---- */

static bool env_name_ok(const char *s)
{
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_')) return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

/* A string member of 1..max characters; required or absent. */
static int str_at(const cJSON *j, const char *key, size_t max, bool required, const char *at,
                  const char **out, sim_resp *rs)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    *out = NULL;
    if (!v && !required) return 0;
    if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > max) {
        sim_datarobot_invalid(rs, at, v ? "must be a string of 1-%zu characters" : "Field required",
                              max);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

/* An integer member in lo..hi; absent: 1 with *present false. */
static int int_at(const cJSON *j, const char *key, int64_t lo, int64_t hi, const char *at,
                  int64_t *out, bool *present, sim_resp *rs)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    *present = v && !cJSON_IsNull(v);
    if (!*present) return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi) {
        sim_datarobot_invalid(rs, at, "must be an integer between %lld and %lld", (long long)lo,
                              (long long)hi);
        return -1;
    }
    *out = (int64_t)v->valuedouble;
    return 0;
}

/* "512MB" (units B, KB, MB, GB, decimal) or an integer of bytes; -1 when neither. */
static int64_t memory_of(const cJSON *v)
{
    if (cJSON_IsNumber(v)) return v->valuedouble >= 1 ? (int64_t)v->valuedouble : -1;
    if (!cJSON_IsString(v)) return -1;
    char *end = NULL;
    double n = strtod(v->valuestring, &end);
    static const struct {
        const char *unit;
        double mul;
    } U[] = {{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}};
    for (size_t i = 0; end && end != v->valuestring && i < GB_ARRAY_LEN(U); i++)
        if (strcmp(end, U[i].unit) == 0 && n > 0) return (int64_t)(n * U[i].mul);
    return -1;
}

/* ---- the artifact ---- */

static int read_env(const cJSON *arr, sdr_settings *io, const char *at, sim_resp *rs)
{
    static const char *const keys[] = {"source", "name", "value", "drCredentialId", "key", NULL};
    const cJSON *it;
    char sub[160];
    int i = 0;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > SDR_MAX_ENV) {
        sim_datarobot_invalid(rs, at, "must be a list of at most %d entries", SDR_MAX_ENV);
        return -1;
    }
    cJSON_ArrayForEach(it, arr)
    {
        snprintf(sub, sizeof(sub), "%.100s[%d]", at, i++);
        const char *n = NULL;
        if (!cJSON_IsObject(it)) {
            sim_datarobot_invalid(rs, sub, "must be an object");
            return -1;
        }
        if (sim_datarobot_only_keys(it, keys, sub, rs)) return -1;
        const cJSON *nv = cJSON_GetObjectItemCaseSensitive(it, "name");
        n = cJSON_GetStringValue(nv);
        if (!n || !env_name_ok(n)) {
            sim_datarobot_invalid(rs, sub, "name must be an environment variable name");
            return -1;
        }
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "value");
        if (v && !cJSON_IsString(v)) {
            sim_datarobot_invalid(rs, sub, "value must be a string");
            return -1;
        }
    }
    cJSON *dup = cJSON_Duplicate(arr, 1);
    if (!dup) {
        sim_datarobot_err(rs, 500, "out of memory");
        return -1;
    }
    cJSON_Delete(io->environment);
    io->environment = dup;
    return 0;
}

static int read_container(const cJSON *c, sdr_settings *io, const char *at, bool first,
                          int *primaries, sim_resp *rs)
{
    static const char *const keys[] = {"name",
                                       "imageUri",
                                       "primary",
                                       "description",
                                       "port",
                                       "entrypoint",
                                       "environmentVars",
                                       "startupProbe",
                                       "readinessProbe",
                                       "livenessProbe",
                                       "imageBuildConfig",
                                       "securityContext",
                                       NULL};
    char sub[160];
    const char *name = NULL, *image = NULL;
    int64_t port = 0;
    bool has_port;
    if (!cJSON_IsObject(c)) {
        sim_datarobot_invalid(rs, at, "must be an object");
        return -1;
    }
    if (sim_datarobot_only_keys(c, keys, at, rs)) return -1;
    snprintf(sub, sizeof(sub), "%.100s.name", at);
    if (str_at(c, "name", 63, true, sub, &name, rs)) return -1;
    snprintf(sub, sizeof(sub), "%.100s.imageUri", at);
    if (str_at(c, "imageUri", SDR_IMAGE_MAX, true, sub, &image, rs)) return -1;
    snprintf(sub, sizeof(sub), "%.100s.port", at);
    if (int_at(c, "port", 1024, 65535, sub, &port, &has_port, rs)) return -1;
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(c, "primary");
    if (pr && !cJSON_IsBool(pr)) {
        snprintf(sub, sizeof(sub), "%.100s.primary", at);
        sim_datarobot_invalid(rs, sub, "must be a boolean");
        return -1;
    }
    if (cJSON_IsTrue(pr)) (*primaries)++;
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(c, "environmentVars");
    snprintf(sub, sizeof(sub), "%.100s.environmentVars", at);
    if (!first) return 0;
    if (env && read_env(env, io, sub, rs)) return -1;
    gb_strlcpy(io->container, name, sizeof(io->container));
    gb_strlcpy(io->image, image, sizeof(io->image));
    io->port = has_port ? (int)port : 8080;
    return 0;
}

int sim_datarobot_artifact_read(const cJSON *j, sdr_settings *io, char *name, size_t name_len,
                                sim_resp *rs)
{
    static const char *const keys[] = {"name", "description", "spec", NULL};
    static const char *const skeys[] = {"type",       "containerGroups", "storage",
                                        "templateId", "a2aEnabled",      NULL};
    static const char *const gkeys[] = {"name", "containers", NULL};
    const char *n = NULL, *type = NULL;
    char at[96];
    if (!cJSON_IsObject(j)) {
        sim_datarobot_invalid(rs, "artifact", "must be an object");
        return -1;
    }
    if (sim_datarobot_only_keys(j, keys, "artifact", rs) ||
        str_at(j, "name", SDR_NAME_MAX, false, "artifact.name", &n, rs))
        return -1;
    gb_strlcpy(name, n ? n : "", name_len);
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(j, "spec");
    if (!cJSON_IsObject(spec)) {
        sim_datarobot_invalid(rs, "artifact.spec", spec ? "must be an object" : "Field required");
        return -1;
    }
    if (sim_datarobot_only_keys(spec, skeys, "artifact.spec", rs) ||
        str_at(spec, "type", 16, false, "artifact.spec.type", &type, rs))
        return -1;
    if (type && strcmp(type, "service") != 0 && strcmp(type, "nim") != 0 &&
        strcmp(type, "agent") != 0) {
        sim_datarobot_invalid(rs, "artifact.spec.type", "must be one of service, nim, agent");
        return -1;
    }
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(spec, "containerGroups"), *g;
    if (!cJSON_IsArray(groups) || cJSON_GetArraySize(groups) < 1) {
        sim_datarobot_invalid(rs, "artifact.spec.containerGroups",
                              "must contain at least one entry");
        return -1;
    }
    int gi = 0;
    cJSON_ArrayForEach(g, groups)
    {
        const char *gname = NULL;
        int primaries = 0, ci = 0;
        snprintf(at, sizeof(at), "artifact.spec.containerGroups[%d]", gi);
        if (!cJSON_IsObject(g)) {
            sim_datarobot_invalid(rs, at, "must be an object");
            return -1;
        }
        if (sim_datarobot_only_keys(g, gkeys, at, rs)) return -1;
        const cJSON *nv = cJSON_GetObjectItemCaseSensitive(g, "name");
        gname = cJSON_GetStringValue(nv);
        if (nv && (!gname || !gname[0] || strlen(gname) > 63)) {
            snprintf(at, sizeof(at), "artifact.spec.containerGroups[%d].name", gi);
            sim_datarobot_invalid(rs, at, "must be a string of 1-63 characters");
            return -1;
        }
        const cJSON *cs = cJSON_GetObjectItemCaseSensitive(g, "containers"), *c;
        if (!cJSON_IsArray(cs) || cJSON_GetArraySize(cs) < 1) {
            snprintf(at, sizeof(at), "artifact.spec.containerGroups[%d].containers", gi);
            sim_datarobot_invalid(rs, at, "must contain at least one entry");
            return -1;
        }
        cJSON_ArrayForEach(c, cs)
        {
            char cat[128];
            snprintf(cat, sizeof(cat), "artifact.spec.containerGroups[%d].containers[%d]", gi, ci);
            if (read_container(c, io, cat, gi == 0 && ci == 0, &primaries, rs)) return -1;
            ci++;
        }
        if (primaries != 1) {
            snprintf(at, sizeof(at), "artifact.spec.containerGroups[%d].containers", gi);
            sim_datarobot_invalid(rs, at, "exactly one container must have primary: true");
            return -1;
        }
        if (gi == 0) gb_strlcpy(io->group, gname ? gname : "default", sizeof(io->group));
        gi++;
    }
    return 0;
}

/* ---- the runtime ---- */

static int read_autoscaling(const cJSON *as, sdr_settings *io, const char *at, sim_resp *rs)
{
    static const char *const keys[] = {"enabled", "minReplicaCount", "maxReplicaCount", "policies",
                                       NULL};
    static const char *const pkeys[] = {"scalingMetric", "target", NULL};
    char sub[160];
    int64_t lo = 1, hi = 1;
    bool has_lo, has_hi;
    if (!cJSON_IsObject(as)) {
        sim_datarobot_invalid(rs, at, "autoscaling must be an object, not a boolean");
        return -1;
    }
    if (sim_datarobot_only_keys(as, keys, at, rs)) return -1;
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(as, "enabled");
    if (en && !cJSON_IsBool(en)) {
        snprintf(sub, sizeof(sub), "%.100s.enabled", at);
        sim_datarobot_invalid(rs, sub, "must be true or false");
        return -1;
    }
    snprintf(sub, sizeof(sub), "%.100s.minReplicaCount", at);
    if (int_at(as, "minReplicaCount", 1, SDR_MAX_REPLICAS, sub, &lo, &has_lo, rs)) return -1;
    snprintf(sub, sizeof(sub), "%.100s.maxReplicaCount", at);
    if (int_at(as, "maxReplicaCount", 1, SDR_MAX_REPLICAS, sub, &hi, &has_hi, rs)) return -1;
    if (!has_lo || !has_hi || lo > hi) {
        sim_datarobot_invalid(rs, at,
                              "minReplicaCount and maxReplicaCount are required, min <= max");
        return -1;
    }
    const cJSON *pol = cJSON_GetObjectItemCaseSensitive(as, "policies"), *p;
    if (pol && !cJSON_IsArray(pol)) {
        snprintf(sub, sizeof(sub), "%.100s.policies", at);
        sim_datarobot_invalid(rs, sub, "must be a list");
        return -1;
    }
    int i = 0;
    cJSON_ArrayForEach(p, pol)
    {
        snprintf(sub, sizeof(sub), "%.100s.policies[%d]", at, i++);
        if (!cJSON_IsObject(p) || sim_datarobot_only_keys(p, pkeys, sub, rs)) {
            if (!cJSON_IsObject(p)) sim_datarobot_invalid(rs, sub, "must be an object");
            return -1;
        }
        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(p, "scalingMetric")) ||
            !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(p, "target"))) {
            sim_datarobot_invalid(rs, sub, "scalingMetric (string) and target (number) required");
            return -1;
        }
    }
    io->autoscaling = !en || cJSON_IsTrue(en);
    io->min_replicas = (int)lo;
    io->max_replicas = (int)hi;
    cJSON_Delete(io->policies);
    io->policies = pol ? cJSON_Duplicate(pol, 1) : NULL;
    return 0;
}

static int read_rt_container(const cJSON *c, sdr_settings *io, const char *at, sim_resp *rs)
{
    static const char *const keys[] = {"name", "resourceAllocation", NULL};
    static const char *const rkeys[] = {"cpu", "memory", "gpu", "gpuMemory", NULL};
    char sub[160];
    const char *name = NULL;
    if (!cJSON_IsObject(c)) {
        sim_datarobot_invalid(rs, at, "must be an object");
        return -1;
    }
    snprintf(sub, sizeof(sub), "%.100s.name", at);
    if (sim_datarobot_only_keys(c, keys, at, rs) || str_at(c, "name", 63, true, sub, &name, rs))
        return -1;
    if (strcmp(name, io->container) != 0) {
        sim_datarobot_invalid(rs, sub, "no container '%s' in the artifact's group '%s'", name,
                              io->group);
        return -1;
    }
    const cJSON *ra = cJSON_GetObjectItemCaseSensitive(c, "resourceAllocation");
    if (!ra) return 0;
    snprintf(sub, sizeof(sub), "%.100s.resourceAllocation", at);
    if (!cJSON_IsObject(ra)) {
        sim_datarobot_invalid(rs, sub, "must be an object");
        return -1;
    }
    if (sim_datarobot_only_keys(ra, rkeys, sub, rs)) return -1;
    const cJSON *cpu = cJSON_GetObjectItemCaseSensitive(ra, "cpu");
    const cJSON *mem = cJSON_GetObjectItemCaseSensitive(ra, "memory");
    const cJSON *gpu = cJSON_GetObjectItemCaseSensitive(ra, "gpu");
    if (cpu && (!cJSON_IsNumber(cpu) || cpu->valuedouble <= 0 || cpu->valuedouble > 128)) {
        snprintf(sub, sizeof(sub), "%.100s.resourceAllocation.cpu", at);
        sim_datarobot_invalid(rs, sub, "must be a number of cores (0-128]");
        return -1;
    }
    if (mem && memory_of(mem) < 0) {
        snprintf(sub, sizeof(sub), "%.100s.resourceAllocation.memory", at);
        sim_datarobot_invalid(rs, sub,
                              "must be a decimal size such as \"512MB\" (B, KB, MB, GB) or bytes");
        return -1;
    }
    if (gpu && (!cJSON_IsNumber(gpu) || gpu->valuedouble < 0 || gpu->valuedouble > SDR_NODE_GPUS ||
                gpu->valuedouble != floor(gpu->valuedouble))) {
        snprintf(sub, sizeof(sub), "%.100s.resourceAllocation.gpu", at);
        sim_datarobot_invalid(rs, sub, "must be a whole number of GPUs 0-%d", SDR_NODE_GPUS);
        return -1;
    }
    if (cpu) io->cpu = cpu->valuedouble;
    if (mem) io->memory = memory_of(mem);
    if (gpu) io->gpu = (int)gpu->valuedouble;
    return 0;
}

static int read_group(const cJSON *g, sdr_settings *io, sim_resp *rs)
{
    static const char *const keys[] = {"name",       "replicaCount",    "autoscaling",
                                       "containers", "resourceBundles", "bundleSelectionPolicy",
                                       NULL};
    const char *at = "runtime.containerGroups[0]";
    char sub[160];
    int64_t rep = 1;
    bool has_rep;
    if (!cJSON_IsObject(g)) {
        sim_datarobot_invalid(rs, at, "must be an object");
        return -1;
    }
    if (sim_datarobot_only_keys(g, keys, at, rs)) return -1;
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g, "name"));
    if (cJSON_GetObjectItemCaseSensitive(g, "name") && (!name || strcmp(name, io->group) != 0)) {
        sim_datarobot_invalid(rs, "runtime.containerGroups[0].name",
                              "must match the artifact's container group '%s'", io->group);
        return -1;
    }
    if (int_at(g, "replicaCount", 1, SDR_MAX_REPLICAS, "runtime.containerGroups[0].replicaCount",
               &rep, &has_rep, rs))
        return -1;
    const cJSON *as = cJSON_GetObjectItemCaseSensitive(g, "autoscaling");
    if (as) {
        if (read_autoscaling(as, io, "runtime.containerGroups[0].autoscaling", rs)) return -1;
        if (has_rep && io->autoscaling) {
            sim_datarobot_invalid(rs, "runtime.containerGroups[0]",
                                  "replicaCount and autoscaling are mutually exclusive");
            return -1;
        }
        if (io->autoscaling) io->replicas = io->min_replicas;
    } else {
        io->autoscaling = false;
        cJSON_Delete(io->policies);
        io->policies = NULL;
    }
    if (has_rep) io->replicas = (int)rep;
    if (!io->autoscaling) io->min_replicas = io->max_replicas = io->replicas;
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(g, "containers"), *c;
    if (cs && !cJSON_IsArray(cs)) {
        sim_datarobot_invalid(rs, "runtime.containerGroups[0].containers", "must be a list");
        return -1;
    }
    int i = 0;
    cJSON_ArrayForEach(c, cs)
    {
        snprintf(sub, sizeof(sub), "runtime.containerGroups[0].containers[%d]", i++);
        if (read_rt_container(c, io, sub, rs)) return -1;
    }
    const cJSON *rb = cJSON_GetObjectItemCaseSensitive(g, "resourceBundles");
    if (rb) {
        const char *id = cJSON_GetStringValue(cJSON_GetArrayItem(rb, 0));
        const sdr_bundle *b = sim_datarobot_bundle(id);
        if (!cJSON_IsArray(rb) || cJSON_GetArraySize(rb) != 1 || !id) {
            sim_datarobot_invalid(rs, "runtime.containerGroups[0].resourceBundles",
                                  "must be a list of exactly one bundle id");
            return -1;
        }
        if (!b) {
            sim_datarobot_invalid(rs, "runtime.containerGroups[0].resourceBundles[0]",
                                  "unknown resource bundle '%.48s'", id);
            return -1;
        }
        /* the bundle defines the resources: cpu and memory in resourceAllocation are ignored */
        gb_strlcpy(io->bundle, b->id, sizeof(io->bundle));
        io->cpu = b->cpu;
        io->memory = b->memory;
        io->gpu = b->gpus;
    }
    return 0;
}

int sim_datarobot_runtime_read(const cJSON *j, sdr_settings *io, sim_resp *rs)
{
    static const char *const keys[] = {"containerGroups", "enclaveSelectionPolicy", "enclaves",
                                       NULL};
    if (!cJSON_IsObject(j)) {
        sim_datarobot_invalid(rs, "runtime", "must be an object");
        return -1;
    }
    if (sim_datarobot_only_keys(j, keys, "runtime", rs)) return -1;
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(j, "containerGroups");
    if (!groups) return 0;
    if (!cJSON_IsArray(groups) || cJSON_GetArraySize(groups) > 1) {
        sim_datarobot_invalid(rs, "runtime.containerGroups",
                              "must be a list with the artifact's one container group");
        return -1;
    }
    const cJSON *g = cJSON_GetArrayItem(groups, 0);
    return g ? read_group(g, io, rs) : 0;
}

cJSON *sim_datarobot_runtime_json(const sdr_settings *s)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *gs = j ? cJSON_AddArrayToObject(j, "containerGroups") : NULL;
    cJSON *g = gs ? cJSON_CreateObject() : NULL;
    if (!g || !cJSON_AddItemToArray(gs, g)) {
        cJSON_Delete(g);
        cJSON_Delete(j);
        return NULL;
    }
    cJSON_AddStringToObject(g, "name", s->group);
    if (s->autoscaling) {
        cJSON *as = cJSON_AddObjectToObject(g, "autoscaling");
        if (as) {
            cJSON_AddBoolToObject(as, "enabled", 1);
            cJSON_AddNumberToObject(as, "minReplicaCount", s->min_replicas);
            cJSON_AddNumberToObject(as, "maxReplicaCount", s->max_replicas);
            cJSON_AddItemToObject(as, "policies",
                                  s->policies ? cJSON_Duplicate(s->policies, 1)
                                              : cJSON_CreateArray());
        }
    } else {
        cJSON_AddNumberToObject(g, "replicaCount", s->replicas);
    }
    cJSON *cs = cJSON_AddArrayToObject(g, "containers");
    cJSON *c = cs ? cJSON_CreateObject() : NULL;
    if (c && cJSON_AddItemToArray(cs, c)) {
        cJSON_AddStringToObject(c, "name", s->container);
        cJSON *ra = cJSON_AddObjectToObject(c, "resourceAllocation");
        if (ra) {
            char mem[32];
            snprintf(mem, sizeof(mem), "%lldMB", (long long)(s->memory / 1000000));
            cJSON_AddNumberToObject(ra, "cpu", s->cpu);
            cJSON_AddStringToObject(ra, "memory", mem);
            cJSON_AddNumberToObject(ra, "gpu", s->gpu);
        }
    } else {
        cJSON_Delete(c);
    }
    cJSON *rb = cJSON_AddArrayToObject(g, "resourceBundles");
    if (rb && s->bundle[0]) cJSON_AddItemToArray(rb, cJSON_CreateString(s->bundle));
    return j;
}

cJSON *sim_datarobot_artifact_json(const sdr_wl *w)
{
    const sdr_settings *s = &w->settings;
    cJSON *j = cJSON_CreateObject();
    cJSON *spec = j ? cJSON_AddObjectToObject(j, "spec") : NULL;
    cJSON *gs = spec ? cJSON_AddArrayToObject(spec, "containerGroups") : NULL;
    cJSON *g = gs ? cJSON_CreateObject() : NULL;
    if (!g || !cJSON_AddItemToArray(gs, g)) {
        cJSON_Delete(g);
        cJSON_Delete(j);
        return NULL;
    }
    cJSON_AddStringToObject(j, "id", w->artifact_id);
    cJSON_AddStringToObject(j, "name", w->artifact_name);
    cJSON_AddStringToObject(j, "status", "draft");
    cJSON_AddStringToObject(spec, "type", "service");
    cJSON_AddStringToObject(g, "name", s->group);
    cJSON *cs = cJSON_AddArrayToObject(g, "containers");
    cJSON *c = cs ? cJSON_CreateObject() : NULL;
    if (c && cJSON_AddItemToArray(cs, c)) {
        cJSON_AddStringToObject(c, "name", s->container);
        cJSON_AddStringToObject(c, "imageUri", s->image);
        cJSON_AddNumberToObject(c, "port", s->port);
        cJSON_AddBoolToObject(c, "primary", 1);
        cJSON_AddItemToObject(c, "environmentVars",
                              s->environment ? cJSON_Duplicate(s->environment, 1)
                                             : cJSON_CreateArray());
    } else {
        cJSON_Delete(c);
    }
    return j;
}

int sim_datarobot_settings_copy(sdr_settings *dst, const sdr_settings *src)
{
    *dst = *src;
    dst->environment = src->environment ? cJSON_Duplicate(src->environment, 1) : NULL;
    dst->policies = src->policies ? cJSON_Duplicate(src->policies, 1) : NULL;
    return (src->environment && !dst->environment) || (src->policies && !dst->policies) ? -1 : 0;
}

void sim_datarobot_settings_free(sdr_settings *s)
{
    cJSON_Delete(s->environment);
    cJSON_Delete(s->policies);
    s->environment = NULL;
    s->policies = NULL;
}

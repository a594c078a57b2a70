/* stores_schema.c: the migrations of the broker's own tables and the seeded system
 * templates. */
#include "broker/store/stores.h"

static const gb_migration STEPS[] = {
    {1, "CREATE TABLE accounts ("
        " id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, is_admin INTEGER NOT NULL DEFAULT 0,"
        " created_at INTEGER NOT NULL);"
        "CREATE TABLE api_keys ("
        " id TEXT PRIMARY KEY,"
        " account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
        " name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, preview TEXT NOT NULL,"
        " scopes INTEGER NOT NULL, created_at INTEGER NOT NULL,"
        " last_used INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX api_keys_account ON api_keys(account_id);"
        "CREATE TABLE ssh_keys ("
        " id TEXT PRIMARY KEY,"
        " account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
        " name TEXT NOT NULL, public_key TEXT NOT NULL, fingerprint TEXT NOT NULL,"
        " created_at INTEGER NOT NULL, UNIQUE(account_id, fingerprint));"
        "CREATE TABLE docker_credentials ("
        " id TEXT PRIMARY KEY,"
        " account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
        " name TEXT NOT NULL, registry TEXT NOT NULL, username TEXT NOT NULL,"
        " created_at INTEGER NOT NULL);"
        "CREATE INDEX docker_credentials_account ON docker_credentials(account_id);"
        "CREATE TABLE templates ("
        " id TEXT PRIMARY KEY,"
        " account_id TEXT REFERENCES accounts(id) ON DELETE CASCADE,"
        " name TEXT NOT NULL, image TEXT NOT NULL, category TEXT NOT NULL,"
        " description TEXT NOT NULL DEFAULT '', docker_credential_id TEXT,"
        " ports TEXT, env_vars TEXT, is_system INTEGER NOT NULL DEFAULT 0,"
        " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
        "CREATE INDEX templates_account ON templates(account_id);"
        "INSERT INTO templates(id, account_id, name, image, category, description, ports,"
        " is_system, created_at, updated_at) VALUES"
        " ('tpl_pytorch21', NULL, 'PyTorch 2.1 CUDA 12.1',"
        "  'pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel', 'machine-learning',"
        "  'Official PyTorch image with CUDA 12.1 and cuDNN 8', '[22,8888]', 1,"
        "  1764547200000, 1764547200000),"
        " ('tpl_pytorch25', NULL, 'PyTorch 2.5 CUDA 12.4',"
        "  'pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel', 'machine-learning',"
        "  'Official PyTorch image with CUDA 12.4 and cuDNN 9', '[22,8888]', 1,"
        "  1764547200000, 1764547200000),"
        " ('tpl_vllm', NULL, 'vLLM OpenAI server', 'vllm/vllm-openai:latest', 'inference',"
        "  'OpenAI-compatible LLM inference server', '[22,8000]', 1,"
        "  1764547200000, 1764547200000),"
        " ('tpl_ubuntu2204', NULL, 'Ubuntu 22.04 CUDA 12.4',"
        "  'nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04', 'base',"
        "  'CUDA development image on Ubuntu 22.04', '[22]', 1,"
        "  1764547200000, 1764547200000);"},
    {2, "ALTER TABLE accounts ADD COLUMN spend_limit_per_hour INTEGER NOT NULL DEFAULT 0"},
    {3, "CREATE TABLE job_tokens (job_id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE,"
        " created_at INTEGER NOT NULL)"},
    {4, "CREATE TABLE webhook_rotations (account_id TEXT PRIMARY KEY,"
        " previous_until INTEGER NOT NULL)"},
    /* money guards (broker/core/billing.h): the holder's own monthly budget, the caps an
     * administrator sets (the holder can only go below them), when the balance was last seen
     * low, and the budget alerts sent (once per account, month and step) */
    {5, "ALTER TABLE accounts ADD COLUMN monthly_budget INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE accounts ADD COLUMN admin_spend_limit INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE accounts ADD COLUMN admin_budget INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE accounts ADD COLUMN low_balance_at INTEGER NOT NULL DEFAULT 0;"
        "CREATE TABLE budget_alerts (account_id TEXT NOT NULL, month TEXT NOT NULL,"
        " percent INTEGER NOT NULL, at INTEGER NOT NULL,"
        " PRIMARY KEY(account_id, month, percent));"},
    /* a platform's published request limit, shared by every broker on the store
     * (budget_store.c): the window of each provider, from its first request */
    {6, "CREATE TABLE provider_budgets (provider TEXT NOT NULL, window_ms INTEGER NOT NULL,"
        " started_at INTEGER NOT NULL, used INTEGER NOT NULL,"
        " PRIMARY KEY(provider, window_ms))"},
    /* the orphan report and when each provider is next listed for it, shared by every
     * broker on the store (orphan_store.c) */
    {7, "CREATE TABLE orphan_reports (provider TEXT NOT NULL, provider_id TEXT NOT NULL,"
        " name TEXT NOT NULL, status TEXT NOT NULL, action TEXT NOT NULL DEFAULT '',"
        " first_seen_at INTEGER NOT NULL, seen_at INTEGER NOT NULL,"
        " PRIMARY KEY(provider, provider_id));"
        "CREATE TABLE orphan_checks (provider TEXT PRIMARY KEY, next_at INTEGER NOT NULL);"},
};

static const gb_migration_set SET = {
    .module = "broker", .steps = STEPS, .count = sizeof(STEPS) / sizeof(STEPS[0])};

const gb_migration_set *stores_migrations(void)
{
    return &SET;
}

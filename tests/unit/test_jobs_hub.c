/* test_jobs_hub.c: the Hugging Face Hub answers (tests/fixtures/wire/hub, sources in
 * SOURCES.md) read into parameter counts, gated and private flags and dataset features;
 * garbage refused; the size cache (hub_model_sizes) kept across connections, case-insensitive
 * and overwritten by a newer count; and the tier a count falls into. */
#include <unistd.h>

#include "jobs/finetune.h"
#include "jobs/hub.h"
/* the shared jobs helpers: only the database ones are used here */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "test_db_util.h"
#include "test_jobs_util.h"
#pragma GCC diagnostic pop
#include "test_wire_util.h"

static char *fx(const char *file)
{
    return wire_text_must("hub", file);
}

static void test_models(void **state)
{
    (void)state;
    hub_model m;
    gb_errmsg err;
    char *t = fx("model_gpt2.json");
    assert_int_equal(hub_model_parse(t, strlen(t), &m, err), GB_OK);
    assert_int_equal(m.millions, 137); /* 137022720 */
    assert_false(m.gated || m.private_ || m.disabled);
    assert_string_equal(ft_tier_for_size("text", m.millions), "small");
    free(t);
    t = fx("model_deepseek_r1.json");
    assert_int_equal(hub_model_parse(t, strlen(t), &m, err), GB_OK);
    assert_int_equal(m.millions, 684500); /* the total of every expert, to 100M */
    assert_string_equal(ft_tier_for_size("text", m.millions), "xlarge");
    free(t);
    t = fx("model_gated.json");
    assert_int_equal(hub_model_parse(t, strlen(t), &m, err), GB_OK);
    assert_true(m.gated);
    assert_int_equal(m.millions, 8000); /* 8.03B is priced as the 8B it is named */
    assert_string_equal(ft_tier_for_size("text", m.millions), "medium");
    free(t);
    t = fx("model_no_safetensors.json");
    assert_int_equal(hub_model_parse(t, strlen(t), &m, err), GB_OK);
    assert_int_equal(m.millions, 0);
    free(t);
    t = fx("model_bad_total.json");
    assert_int_equal(hub_model_parse(t, strlen(t), &m, err), GB_ERR_INVALID);
    assert_non_null(strstr(err, "safetensors"));
    free(t);
    t = fx("error_404.json"); /* no "id": not a model */
    assert_int_equal(hub_model_parse(t, strlen(t), &m, err), GB_ERR_INVALID);
    free(t);
    assert_int_equal(hub_model_parse("[1,2", 4, &m, err), GB_ERR_INVALID);
    assert_int_equal(hub_model_parse(NULL, 0, &m, err), GB_ERR_INVALID);
    const char *neg = "{\"id\":\"x\",\"safetensors\":{\"total\":-5}}";
    assert_int_equal(hub_model_parse(neg, strlen(neg), &m, err), GB_ERR_INVALID);
    const char *huge = "{\"id\":\"x\",\"safetensors\":{\"total\":1e300}}";
    assert_int_equal(hub_model_parse(huge, strlen(huge), &m, err), GB_ERR_INVALID);
    const char *tiny = "{\"id\":\"x\",\"private\":true,\"safetensors\":{\"total\":3}}";
    assert_int_equal(hub_model_parse(tiny, strlen(tiny), &m, err), GB_OK);
    assert_int_equal(m.millions, 1); /* never 0: 0 means "no count" */
    assert_true(m.private_);
    /* to the nearest 100M, not down to it: 1.06B and 8.06B are the next tier up */
    const char *b106 = "{\"id\":\"x\",\"safetensors\":{\"total\":1060000000}}";
    assert_int_equal(hub_model_parse(b106, strlen(b106), &m, err), GB_OK);
    assert_int_equal(m.millions, 1100);
    assert_string_equal(ft_tier_for_size("text", m.millions), "medium");
    const char *b806 = "{\"id\":\"x\",\"safetensors\":{\"total\":8060000000}}";
    assert_int_equal(hub_model_parse(b806, strlen(b806), &m, err), GB_OK);
    assert_int_equal(m.millions, 8100);
    assert_string_equal(ft_tier_for_size("text", m.millions), "large");
}

/* config.json estimates land on the published count, rounded as safetensors.total is */
static void test_config_estimates(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int64_t millions; /* the published count (SOURCES.md), rounded like a Hub total */
    } cases[] = {{"config_gpt2.json", 124},
                 {"config_qwen25_05b.json", 494},
                 {"config_phi2.json", 2800},
                 {"config_llama2_7b.json", 6700},
                 {"config_mixtral_8x7b.json", 46700}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = fx(cases[i].file);
        int64_t m = -1;
        gb_errmsg err = "";
        assert_int_equal(hub_config_params(t, strlen(t), &m, err), GB_OK);
        if (m != cases[i].millions) fail_msg("%s: %lld", cases[i].file, (long long)m);
        free(t);
    }
    /* a mixture of experts is priced by every expert: Mixtral is not a 13B (its active part) */
    char *t = fx("config_mixtral_8x7b.json");
    int64_t m = 0;
    gb_errmsg err = "";
    assert_int_equal(hub_config_params(t, strlen(t), &m, err), GB_OK);
    assert_string_equal(ft_tier_for_size("text", m), ft_tier_for_size("text", 46700));
    free(t);
    static const char *const bad[] = {
        "",
        "[1,2]",
        "{\"model_type\":\"llama\"}",
        "{\"hidden_size\":4096,\"num_hidden_layers\":32,\"vocab_size\":32000}",
        "{\"hidden_size\":-4096,\"num_hidden_layers\":32,\"vocab_size\":32000,"
        "\"num_attention_heads\":32}",
        "{\"hidden_size\":1e300,\"num_hidden_layers\":32,\"vocab_size\":32000,"
        "\"num_attention_heads\":32}",
        "{\"hidden_size\":\"4096\",\"num_hidden_layers\":32,\"vocab_size\":32000,"
        "\"num_attention_heads\":32}",
        /* every dimension at its bound: more than 100T parameters */
        "{\"hidden_size\":1000000,\"num_hidden_layers\":1000000,\"vocab_size\":1000000,"
        "\"num_attention_heads\":1}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        m = 7;
        if (hub_config_params(bad[i], strlen(bad[i]), &m, err) != GB_ERR_INVALID)
            fail_msg("accepted: %s", bad[i]);
        assert_int_equal(m, 0);
    }
    assert_int_equal(hub_config_params(NULL, 0, &m, err), GB_ERR_INVALID);
}

static void test_datasets(void **state)
{
    (void)state;
    hub_dataset d;
    gb_errmsg err;
    char *t = fx("dataset_support_qa.json");
    assert_int_equal(hub_dataset_parse(t, strlen(t), &d, err), GB_OK);
    assert_int_equal(d.nfeatures, 2);
    assert_true(hub_dataset_has(&d, "instruction"));
    assert_true(hub_dataset_has(&d, "output"));
    assert_false(hub_dataset_has(&d, "question"));
    assert_false(hub_dataset_has(&d, "Instruction")); /* names are case-sensitive */
    assert_true(hub_dataset_has(&d, ""));             /* a field not asked for */
    free(t);
    t = fx("dataset_configs.json");
    assert_int_equal(hub_dataset_parse(t, strlen(t), &d, err), GB_OK);
    assert_int_equal(d.nfeatures, 3);
    assert_true(hub_dataset_has(&d, "rejected"));
    assert_true(d.gated);
    free(t);
    t = fx("dataset_no_card.json");
    assert_int_equal(hub_dataset_parse(t, strlen(t), &d, err), GB_OK);
    assert_int_equal(d.nfeatures, -1);
    assert_true(hub_dataset_has(&d, "anything"));
    free(t);
    assert_int_equal(hub_dataset_parse("\"x\"", 3, &d, err), GB_ERR_INVALID);
}

static void test_cache(void **state)
{
    (void)state;
    gb_db *db = open_db();
    int64_t m = 0, at = 0;
    assert_int_equal(hub_cache_get(db, "gpt2", &m, &at), GB_ERR_NOT_FOUND);
    assert_int_equal(hub_cache_put(db, "Org/Model", 7200, T0), GB_OK);
    assert_int_equal(hub_cache_put(db, "gpt2", 137, T0), GB_OK);
    assert_int_equal(hub_cache_put(db, "org/model", 7300, T0 + 5), GB_OK); /* newer count */
    gb_db_close(db);
    db = open_conn(); /* another connection: it is in the database */
    assert_int_equal(hub_cache_get(db, "ORG/MODEL", &m, &at), GB_OK);
    assert_int_equal(m, 7300);
    assert_int_equal(at, T0 + 5);
    assert_int_equal(hub_cache_get(db, "gpt2", &m, NULL), GB_OK);
    assert_int_equal(m, 137);
    assert_int_not_equal(hub_cache_put(db, "bad", 0, T0), GB_OK); /* sizes are positive */
    done(db);
}

/* hub_cache_get_recent: the store's answer (a size or none) kept in memory per store and
 * model; a row changed behind its back (another broker) is seen once the answer is older than
 * max_age_ms, a hub_cache_put of this process at once. */
static void test_cache_recent(void **state)
{
    (void)state;
    gb_db *db = open_db();
    int64_t m = 0, at = 0;
    assert_int_equal(hub_cache_get_recent(db, "org/recent", 60000, &m, &at), GB_ERR_NOT_FOUND);
    assert_int_equal(gb_db_exec(db, "INSERT INTO hub_model_sizes(model, millions, fetched_at)"
                                    " VALUES ('org/recent', 500, 1)"),
                     GB_OK);
    /* the absence is kept: the row behind its back is not seen yet, but is with max_age 0 */
    assert_int_equal(hub_cache_get_recent(db, "org/recent", 60000, &m, &at), GB_ERR_NOT_FOUND);
    assert_int_equal(hub_cache_get_recent(db, "org/recent", 0, &m, &at), GB_OK);
    assert_int_equal(m, 500);
    assert_int_equal(hub_cache_put(db, "Org/Recent", 700, T0), GB_OK); /* ours: seen at once */
    assert_int_equal(hub_cache_get_recent(db, "ORG/recent", 60000, &m, &at), GB_OK);
    assert_int_equal(m, 700);
    assert_int_equal(at, T0);
    assert_int_equal(gb_db_exec(db, "UPDATE hub_model_sizes SET millions = 900"
                                    " WHERE model = 'org/recent'"),
                     GB_OK);
    gb_db *other = open_conn(); /* another connection to the same store shares the answer */
    assert_int_equal(hub_cache_get_recent(other, "org/recent", 60000, &m, NULL), GB_OK);
    assert_int_equal(m, 700);
    usleep(60 * 1000);
    assert_int_equal(hub_cache_get_recent(other, "org/recent", 50, &m, NULL), GB_OK);
    assert_int_equal(m, 900); /* older than 50 ms: read again */
    gb_db_close(other);
    done(db);
}

/* The dataset answers kept in memory: a hit only for the same key within the TTL; the oldest
 * entry gives way when every slot is taken. (The key is hub_check.c's digest of Hub URL,
 * dataset and token: e2e_hub shows a token and a refusal are not served from it.) */
static void test_dataset_answers_kept(void **state)
{
    (void)state;
    hub_dscache_clear();
    hub_dataset d, got;
    memset(&d, 0, sizeof(d));
    d.nfeatures = 1;
    strcpy(d.features[0], "instruction");
    assert_false(hub_dscache_get("k1", 1000, 60000, &got));
    hub_dscache_put("k1", 1000, &d);
    memset(&got, 0, sizeof(got));
    assert_true(hub_dscache_get("k1", 1000 + 59999, 60000, &got));
    assert_int_equal(got.nfeatures, 1);
    assert_string_equal(got.features[0], "instruction");
    assert_false(hub_dscache_get("k1", 1000, 0, &got)); /* TTL 0 */
    assert_false(hub_dscache_get("k2", 1000, 60000, &got));
    assert_false(hub_dscache_get("k1", 1000 + 60000, 60000, &got)); /* expired */
    assert_false(hub_dscache_get("k1", 1000, 60000, &got));         /* and gone */
    char big[VAULT_HASH_HEX + 8];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    hub_dscache_put(big, 1000, &d); /* too long a key: not kept */
    assert_false(hub_dscache_get(big, 1000, 60000, &got));
    /* 100 other datasets: the oldest give way, the newest stay */
    char key[32];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "many%d", i);
        hub_dscache_put(key, 3000 + i, &d);
    }
    assert_false(hub_dscache_get("many0", 3100, 60000, &got));
    assert_true(hub_dscache_get("many99", 3100, 60000, &got));
    assert_true(hub_dscache_get("many50", 3100, 60000, &got));
    hub_dscache_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_models),       cmocka_unit_test(test_config_estimates),
        cmocka_unit_test(test_datasets),     cmocka_unit_test(test_cache),
        cmocka_unit_test(test_cache_recent), cmocka_unit_test(test_dataset_answers_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

// Tests of core/model/model_config and model/arch: reading HF config.json for every architecture.
//
// Each family's quirks (Qwen2's q/k/v biases, Qwen3's q/k norms and free head_dim, Llama's optional biases,
// Mistral's sliding window) must be switched on by the right keys; each malformed config must be refused
// with a message naming the file and the field. The declarative tensor table of every architecture must
// name exactly the parameters the module has, with the same shapes.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QRegularExpression>
#include <QtTest/QtTest>

#include "error_check.h"
#include "model/arch/architecture.h"
#include "model/causal_lm.h"
#include "model/model_config.h"
#include "test_support.h"
#include "util/file_util.h"

using lathe::ModelConfig;
using nlohmann::json;

namespace {

/// The smallest config.json every architecture accepts; rows patch it (RFC 7386: null deletes a key).
json baseConfig(const QString& arch)
{
    return json{{"model_type", arch.toStdString()}, {"vocab_size", 1000},     {"hidden_size", 64},
                {"intermediate_size", 128},         {"num_hidden_layers", 2}, {"num_attention_heads", 4}};
}

json patched(const QString& arch, const QString& patch)
{
    json j = baseConfig(arch);
    if (!patch.isEmpty())
        j.merge_patch(json::parse(patch.toStdString()));
    return j;
}

QString safeTag()
{
    return QString(QTest::currentDataTag()).replace(QRegularExpression("[^A-Za-z0-9]+"), "_");
}

} // namespace

class TestModelConfig : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void traits_data();
    void traits();
    void generalFields();
    void fixtureConfigs_data();
    void fixtureConfigs();
    void malformed_data();
    void malformed();
    void missingConfigFile();
    void tensorTableMatchesModule_data();
    void tensorTableMatchesModule();
};

// ---------------------------------------------------------------------------------------------------------
// Architecture traits
// ---------------------------------------------------------------------------------------------------------

void TestModelConfig::traits_data()
{
    QTest::addColumn<QString>("arch");
    QTest::addColumn<QString>("patch");
    QTest::addColumn<QString>("hfClass");
    QTest::addColumn<bool>("qkvBias");
    QTest::addColumn<bool>("oBias");
    QTest::addColumn<bool>("mlpBias");
    QTest::addColumn<bool>("qkNorm");
    QTest::addColumn<bool>("tied");
    QTest::addColumn<qint64>("headDim");
    QTest::addColumn<qint64>("kvHeads");
    QTest::addColumn<qint64>("slidingWindow"); // -1: none

    // clang-format off
    //                                          arch       patch                                                   class                 qkv    o      mlp    qknorm tied   D    KV  window
    QTest::newRow("llama defaults")          << "llama"   << ""                                                << "LlamaForCausalLM"   << false << false << false << false << false << 16ll << 4ll << -1ll;
    QTest::newRow("llama attention_bias")    << "llama"   << R"({"attention_bias": true})"                     << "LlamaForCausalLM"   << true  << true  << false << false << false << 16ll << 4ll << -1ll;
    QTest::newRow("llama mlp_bias")          << "llama"   << R"({"mlp_bias": true})"                           << "LlamaForCausalLM"   << false << false << true  << false << false << 16ll << 4ll << -1ll;
    QTest::newRow("llama tied GQA")          << "llama"   << R"({"tie_word_embeddings": true, "num_key_value_heads": 2})"
                                                                                                                << "LlamaForCausalLM"   << false << false << false << false << true  << 16ll << 2ll << -1ll;
    QTest::newRow("llama architectures key") << "llama"   << R"({"architectures": ["MyLlamaForCausalLM"]})"    << "MyLlamaForCausalLM" << false << false << false << false << false << 16ll << 4ll << -1ll;
    QTest::newRow("mistral sliding window")  << "mistral" << R"({"sliding_window": 4096})"                     << "MistralForCausalLM" << false << false << false << false << false << 16ll << 4ll << 4096ll;
    QTest::newRow("mistral null window")     << "mistral" << R"({"sliding_window": null})"                     << "MistralForCausalLM" << false << false << false << false << false << 16ll << 4ll << -1ll;
    QTest::newRow("qwen2 q/k/v bias")        << "qwen2"   << ""                                                << "Qwen2ForCausalLM"   << true  << false << false << false << false << 16ll << 4ll << -1ll;
    QTest::newRow("qwen2 window unused")     << "qwen2"   << R"({"use_sliding_window": false, "sliding_window": 32768})"
                                                                                                                << "Qwen2ForCausalLM"   << true  << false << false << false << false << 16ll << 4ll << -1ll;
    QTest::newRow("qwen2 tied")              << "qwen2"   << R"({"tie_word_embeddings": true})"                << "Qwen2ForCausalLM"   << true  << false << false << false << true  << 16ll << 4ll << -1ll;
    QTest::newRow("qwen3 qk_norm")           << "qwen3"   << ""                                                << "Qwen3ForCausalLM"   << false << false << false << true  << false << 16ll << 4ll << -1ll;
    QTest::newRow("qwen3 head_dim 128")      << "qwen3"   << R"({"head_dim": 128, "num_key_value_heads": 1})"  << "Qwen3ForCausalLM"   << false << false << false << true  << false << 128ll << 1ll << -1ll;
    QTest::newRow("qwen3 attention_bias")    << "qwen3"   << R"({"attention_bias": true, "tie_word_embeddings": true})"
                                                                                                                << "Qwen3ForCausalLM"   << true  << true  << false << true  << true  << 16ll << 4ll << -1ll;
    // clang-format on
}

void TestModelConfig::traits()
{
    QFETCH(QString, arch);
    QFETCH(QString, patch);
    QFETCH(QString, hfClass);
    QFETCH(bool, qkvBias);
    QFETCH(bool, oBias);
    QFETCH(bool, mlpBias);
    QFETCH(bool, qkNorm);
    QFETCH(bool, tied);
    QFETCH(qint64, headDim);
    QFETCH(qint64, kvHeads);
    QFETCH(qint64, slidingWindow);

    const ModelConfig c = ModelConfig::fromJson(patched(arch, patch), "test/config.json");
    QCOMPARE(QString::fromStdString(c.model_type), arch);
    QCOMPARE(QString::fromStdString(c.architecture), hfClass);
    QCOMPARE(c.qkv_bias, qkvBias);
    QCOMPARE(c.o_bias, oBias);
    QCOMPARE(c.mlp_bias, mlpBias);
    QCOMPARE(c.qk_norm, qkNorm);
    QCOMPARE(c.tie_word_embeddings, tied);
    QCOMPARE(c.head_dim, headDim);
    QCOMPARE(c.hidden_size, std::int64_t(64)); // head_dim never changes the hidden size
    QCOMPARE(c.num_key_value_heads, kvHeads);
    QCOMPARE(c.groups(), 4 / kvHeads);
    QCOMPARE(c.sliding_window.value_or(-1), slidingWindow);

    // The tensor table follows the traits: biases, norms, lm_head, and head_dim in the projection shapes.
    bool hasQBias = false, hasOBias = false, hasGateBias = false, hasQNorm = false, hasLmHead = false;
    for (const auto& spec : lathe::tensorTable(c)) {
        hasQBias |= spec.name == "model.layers.0.self_attn.q_proj.bias";
        hasOBias |= spec.name == "model.layers.0.self_attn.o_proj.bias";
        hasGateBias |= spec.name == "model.layers.0.mlp.gate_proj.bias";
        hasQNorm |= spec.name == "model.layers.0.self_attn.q_norm.weight";
        hasLmHead |= spec.name == "lm_head.weight";
        if (spec.name == "model.layers.0.self_attn.q_proj.weight")
            QCOMPARE(spec.shape, (std::vector<std::int64_t>{4 * headDim, 64}));
        if (spec.name == "model.layers.0.self_attn.k_proj.weight")
            QCOMPARE(spec.shape, (std::vector<std::int64_t>{kvHeads * headDim, 64}));
        if (spec.name == "model.layers.0.self_attn.o_proj.weight")
            QCOMPARE(spec.shape, (std::vector<std::int64_t>{64, 4 * headDim}));
    }
    QCOMPARE(hasQBias, qkvBias);
    QCOMPARE(hasOBias, oBias);
    QCOMPARE(hasGateBias, mlpBias);
    QCOMPARE(hasQNorm, qkNorm);
    QCOMPARE(hasLmHead, !tied);

    // toJson writes a config.json that reads back to the same model.
    const ModelConfig again = ModelConfig::fromJson(c.toJson(), "roundtrip/config.json");
    QCOMPARE(again.qkv_bias, c.qkv_bias);
    QCOMPARE(again.o_bias, c.o_bias);
    QCOMPARE(again.mlp_bias, c.mlp_bias);
    QCOMPARE(again.qk_norm, c.qk_norm);
    QCOMPARE(again.head_dim, c.head_dim);
    QCOMPARE(again.num_key_value_heads, c.num_key_value_heads);
    QCOMPARE(again.tie_word_embeddings, c.tie_word_embeddings);
    QCOMPARE(again.sliding_window, c.sliding_window);
    QCOMPARE(again.architecture, c.architecture);
}

void TestModelConfig::generalFields()
{
    json j =
        patched("llama", R"({"rms_norm_eps": 1e-5, "rope_theta": 500000.0, "max_position_embeddings": 8192,
                                  "bos_token_id": 1, "eos_token_id": [2, 7], "pad_token_id": 0,
                                  "torch_dtype": "bfloat16", "initializer_range": 0.15,
                                  "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                   "high_freq_factor": 4.0, "original_max_position_embeddings": 1024}})");
    ModelConfig c = ModelConfig::fromJson(j, "general/config.json");
    QCOMPARE(c.rms_norm_eps, 1e-5);
    QCOMPARE(c.rope_theta, 500000.0);
    QCOMPARE(c.max_position_embeddings, std::int64_t(8192));
    QCOMPARE(c.bos_token_id.value_or(-1), std::int64_t(1));
    QCOMPARE(c.eos_token_ids, (std::vector<std::int64_t>{2, 7}));
    QCOMPARE(c.pad_token_id.value_or(-1), std::int64_t(0));
    QCOMPARE(QString::fromStdString(c.torch_dtype), QString("bfloat16"));
    QCOMPARE(c.initializer_range, 0.15);
    QCOMPARE(QString::fromStdString(c.rope_scaling.rope_type), QString("llama3"));
    QCOMPARE(c.rope_scaling.factor, 8.0);
    QCOMPARE(c.rope_scaling.high_freq_factor, 4.0);
    QCOMPARE(c.rope_scaling.original_max_position_embeddings.value_or(-1), std::int64_t(1024));
    QCOMPARE(c.rotary_dim(), std::int64_t(16));

    // Defaults of an absent key, a single eos id, the legacy "type" key of rope_scaling.
    c = ModelConfig::fromJson(
        patched("llama", R"({"eos_token_id": 5, "rope_scaling": {"type": "linear", "factor": 2.0}})"),
        "legacy/config.json");
    QCOMPARE(c.eos_token_ids, (std::vector<std::int64_t>{5}));
    QCOMPARE(QString::fromStdString(c.rope_scaling.rope_type), QString("linear"));
    QCOMPARE(c.rope_scaling.factor, 2.0);
    QCOMPARE(c.rms_norm_eps, 1e-6);
    QCOMPARE(c.rope_theta, 10000.0);
    QCOMPARE(c.num_key_value_heads, c.num_attention_heads);
    QVERIFY(!c.tie_word_embeddings);

    // rope_scaling: null means default RoPE.
    c = ModelConfig::fromJson(patched("qwen2", R"({"rope_scaling": null})"), "null/config.json");
    QCOMPARE(QString::fromStdString(c.rope_scaling.rope_type), QString("default"));
}

void TestModelConfig::fixtureConfigs_data()
{
    QTest::addColumn<QString>("fixture");
    QTest::newRow("qwen3-tied") << "qwen3-tied";
    QTest::newRow("qwen2-untied-bias") << "qwen2-untied-bias";
    QTest::newRow("llama-sharded-bf16-rope3") << "llama-sharded-bf16-rope3";
}

void TestModelConfig::fixtureConfigs()
{
    QFETCH(QString, fixture);
    LATHE_REQUIRE_SHARED();
    const ModelConfig c = ModelConfig::fromDir(lathe::test::hfFixture(fixture).toStdString() + "/model");
    if (fixture == "qwen3-tied") {
        QCOMPARE(QString::fromStdString(c.architecture), QString("Qwen3ForCausalLM"));
        QVERIFY(c.qk_norm && c.tie_word_embeddings && !c.qkv_bias);
        QCOMPARE(c.head_dim, std::int64_t(16));
    } else if (fixture == "qwen2-untied-bias") {
        QCOMPARE(QString::fromStdString(c.architecture), QString("Qwen2ForCausalLM"));
        QVERIFY(c.qkv_bias && !c.o_bias && !c.tie_word_embeddings && !c.qk_norm);
        QCOMPARE(c.rope_theta, 1000000.0);
    } else {
        QCOMPARE(QString::fromStdString(c.architecture), QString("LlamaForCausalLM"));
        QVERIFY(!c.qkv_bias && !c.mlp_bias && !c.tie_word_embeddings);
        QCOMPARE(c.head_dim, std::int64_t(16));
        QCOMPARE(c.hidden_size, std::int64_t(96)); // 6 heads x 16
        QCOMPARE(c.groups(), std::int64_t(3));
        QCOMPARE(QString::fromStdString(c.rope_scaling.rope_type), QString("llama3"));
        QCOMPARE(c.rope_scaling.original_max_position_embeddings.value_or(-1), std::int64_t(64));
        QCOMPARE(QString::fromStdString(c.torch_dtype), QString("bfloat16"));
        QCOMPARE(c.eos_token_ids, (std::vector<std::int64_t>{2}));
    }
}

// ---------------------------------------------------------------------------------------------------------
// Malformed configs: each names the file and the field
// ---------------------------------------------------------------------------------------------------------

void TestModelConfig::malformed_data()
{
    QTest::addColumn<QString>("arch");
    QTest::addColumn<QString>("patch"); // merge patch on the base config, or raw file text after "RAW:"
    QTest::addColumn<QStringList>("mentions");

    // clang-format off
    QTest::newRow("missing hidden_size")       << "llama"   << R"({"hidden_size": null})"            << QStringList({"\"hidden_size\"", "missing"});
    QTest::newRow("missing vocab_size")        << "qwen3"   << R"({"vocab_size": null})"             << QStringList({"\"vocab_size\""});
    QTest::newRow("missing model_type")        << "llama"   << R"({"model_type": null})"             << QStringList({"\"model_type\""});
    QTest::newRow("hidden_size is a string")   << "llama"   << R"({"hidden_size": "64"})"            << QStringList({"\"hidden_size\"", "integer", "\"64\""});
    QTest::newRow("hidden_size is fractional") << "llama"   << R"({"hidden_size": 64.5})"            << QStringList({"\"hidden_size\"", "64.5"});
    QTest::newRow("num_hidden_layers is a list") << "qwen2" << R"({"num_hidden_layers": [2]})"       << QStringList({"\"num_hidden_layers\""});
    QTest::newRow("rms_norm_eps is a string")  << "llama"   << R"({"rms_norm_eps": "1e-6"})"         << QStringList({"\"rms_norm_eps\"", "number"});
    QTest::newRow("tie_word_embeddings string") << "qwen3"  << R"({"tie_word_embeddings": "yes"})"   << QStringList({"\"tie_word_embeddings\""});
    QTest::newRow("unsupported model_type")    << "llama"   << R"({"model_type": "gpt2"})"           << QStringList({"\"model_type\"", "gpt2", "llama", "qwen3"});
    QTest::newRow("heads not divisible by kv") << "llama"   << R"({"hidden_size": 96, "num_attention_heads": 6, "num_key_value_heads": 4})"
                                                                                                     << QStringList({"\"num_key_value_heads\"", "4", "6"});
    QTest::newRow("zero layers")               << "mistral" << R"({"num_hidden_layers": 0})"         << QStringList({"\"num_hidden_layers\""});
    QTest::newRow("negative vocab")            << "llama"   << R"({"vocab_size": -5})"               << QStringList({"\"vocab_size\"", "-5"});
    QTest::newRow("odd head_dim")              << "qwen3"   << R"({"head_dim": 15})"                 << QStringList({"15"});
    QTest::newRow("unknown rope_type")         << "llama"   << R"({"rope_scaling": {"rope_type": "mrope", "factor": 2.0}})"
                                                                                                     << QStringList({"rope_type", "mrope"});
    QTest::newRow("longrope without its factors") << "llama" << R"({"rope_scaling": {"rope_type": "longrope", "factor": 2.0}})"
                                                                                                     << QStringList({"long_factor", "short_factor"});
    QTest::newRow("llama3 rope without original_max_position_embeddings")
                                               << "llama"   << R"({"rope_scaling": {"rope_type": "llama3", "factor": 8.0}})"
                                                                                                     << QStringList({"original_max_position_embeddings", "llama3"});
    QTest::newRow("rope factor below 1")       << "llama"   << R"({"rope_scaling": {"rope_type": "linear", "factor": 0.5}})"
                                                                                                     << QStringList({"factor", "0.5"});
    QTest::newRow("rope factor is a string")   << "llama"   << R"({"rope_scaling": {"rope_type": "linear", "factor": "2"}})"
                                                                                                     << QStringList({"factor"});
    QTest::newRow("rope_scaling not an object") << "llama"  << R"({"rope_scaling": "yarn"})"         << QStringList({"\"rope_scaling\""});
    QTest::newRow("unsupported hidden_act")    << "llama"   << R"({"hidden_act": "gelu"})"           << QStringList({"\"hidden_act\"", "gelu"});
    QTest::newRow("unsupported torch_dtype")   << "qwen2"   << R"({"torch_dtype": "int8"})"          << QStringList({"\"torch_dtype\"", "int8"});
    QTest::newRow("qwen2 sliding window")      << "qwen2"   << R"({"use_sliding_window": true})"     << QStringList({"\"use_sliding_window\""});
    QTest::newRow("qwen3 sliding window")      << "qwen3"   << R"({"use_sliding_window": true})"     << QStringList({"\"use_sliding_window\""});
    QTest::newRow("attention_bias is a string") << "llama" << R"({"attention_bias": "true"})"      << QStringList({"\"attention_bias\""});
    QTest::newRow("mlp_bias is a number")      << "llama"   << R"({"mlp_bias": 1})"                  << QStringList({"\"mlp_bias\""});
    QTest::newRow("use_sliding_window string") << "qwen2"   << R"({"use_sliding_window": "false"})"  << QStringList({"\"use_sliding_window\""});
    QTest::newRow("not JSON")                  << "llama"   << R"(RAW:{"model_type": "llama",)"      << QStringList({"JSON"});
    QTest::newRow("JSON array")                << "llama"   << "RAW:[1, 2]"                          << QStringList({"object"});
    // Found by fuzz/fuzz_model_config: sizes the family files divide by or loop over, checked before them, and
    // the families' own keys type-checked like the general ones.
    QTest::newRow("phi3 with zero heads")      << "phi3"    << R"({"num_attention_heads": 0})"       << QStringList({"\"num_attention_heads\"", "positive"});
    QTest::newRow("10^15 layers")              << "gemma2"  << R"({"num_hidden_layers": 1000000000000000})" << QStringList({"\"num_hidden_layers\"", "at most 4096"});
    QTest::newRow("gemma tie is a string")     << "gemma"   << R"({"tie_word_embeddings": "yes"})"   << QStringList({"\"tie_word_embeddings\"", "true or false"});
    QTest::newRow("gemma3 pattern is a string") << "gemma3_text" << R"({"sliding_window": 4, "sliding_window_pattern": "6"})" << QStringList({"\"sliding_window_pattern\"", "integer"});
    QTest::newRow("moe sparse step zero")      << "qwen3_moe" << R"({"num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 32, "decoder_sparse_step": 0})"
                                                                                                     << QStringList({"\"decoder_sparse_step\""});
    QTest::newRow("mlp_only_layers of strings") << "qwen3_moe" << R"({"num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 32, "mlp_only_layers": ["a"]})"
                                                                                                     << QStringList({"\"mlp_only_layers\""});
    // Issue 20: JSON nested 300,000 deep overflowed the stack of whatever copied or destroyed it.
    QTest::newRow("nested 300,000 deep")       << "llama"   << "RAW:{\"x\": " + QString(300000, '[') + QString(300000, ']') + "}"
                                                                                                     << QStringList({"config.json", "nests deeper than 256"});
    // clang-format on
}

void TestModelConfig::malformed()
{
    QFETCH(QString, arch);
    QFETCH(QString, patch);
    QFETCH(QStringList, mentions);

    const QString dir = lathe::test::scratchDir("model_config/" + safeTag());
    const std::string text =
        patch.startsWith("RAW:") ? patch.mid(4).toStdString() : patched(arch, patch).dump(2);
    lathe::writeTextFileAtomic(dir.toStdString() + "/config.json", text);

    QString message;
    LATHE_VERIFY_ERROR(ModelConfig::fromDir(dir.toStdString()), message);
    LATHE_VERIFY_MENTIONS(message, QStringList({dir + "/config.json"}) + mentions);
}

void TestModelConfig::missingConfigFile()
{
    const QString dir = lathe::test::scratchDir("model_config/empty-folder");
    QString message;
    LATHE_VERIFY_ERROR(ModelConfig::fromDir(dir.toStdString()), message);
    LATHE_VERIFY_MENTIONS(message, QStringList({dir, "config.json"}));
}

// ---------------------------------------------------------------------------------------------------------
// The declarative table against the module
// ---------------------------------------------------------------------------------------------------------

void TestModelConfig::tensorTableMatchesModule_data()
{
    QTest::addColumn<QString>("arch");
    QTest::addColumn<QString>("patch");
    QTest::newRow("llama") << "llama"
                           << R"({"num_key_value_heads": 2})";
    QTest::newRow("llama all biases") << "llama"
                                      << R"({"attention_bias": true, "mlp_bias": true})";
    QTest::newRow("llama tied") << "llama"
                                << R"({"tie_word_embeddings": true})";
    QTest::newRow("mistral") << "mistral"
                             << R"({"sliding_window": 16, "num_key_value_heads": 1})";
    QTest::newRow("qwen2 untied") << "qwen2"
                                  << "";
    QTest::newRow("qwen2 tied") << "qwen2"
                                << R"({"tie_word_embeddings": true})";
    QTest::newRow("qwen3 tied") << "qwen3"
                                << R"({"tie_word_embeddings": true, "num_key_value_heads": 2})";
    QTest::newRow("qwen3 head_dim 32 bias") << "qwen3"
                                            << R"({"head_dim": 32, "attention_bias": true})";
}

void TestModelConfig::tensorTableMatchesModule()
{
    QFETCH(QString, arch);
    QFETCH(QString, patch);
    const ModelConfig c = ModelConfig::fromJson(patched(arch, patch), "table/config.json");
    lathe::CausalLM model(c);

    QStringList tableNames, moduleNames;
    std::map<std::string, std::vector<std::int64_t>> tableShapes;
    for (const auto& spec : lathe::tensorTable(c)) {
        tableNames << QString::fromStdString(spec.name);
        tableShapes[spec.name] = spec.shape;
    }
    for (const auto& p : model->named_parameters()) {
        moduleNames << QString::fromStdString(p.key());
        QVERIFY2(tableShapes.count(p.key()),
                 qPrintable("parameter not in the table: " + QString::fromStdString(p.key())));
        QCOMPARE(p.value().sizes().vec(), tableShapes[p.key()]);
    }
    QCOMPARE(moduleNames.size(), tableNames.size());
    QCOMPARE(moduleNames, tableNames); // same names, and the same (transformers') order
    QCOMPARE(tableNames.removeDuplicates(), 0);
}

QTEST_GUILESS_MAIN(TestModelConfig)
#include "tst_model_config.moc"

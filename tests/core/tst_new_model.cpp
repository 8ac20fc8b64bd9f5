// Tests of core/model/new_model (`lathe new-model`): randomly initialised models in Hugging Face layout.
//
// The folder must load with loadModel for every architecture, the seed must fully determine the weights,
// and the initialisation must follow transformers' _init_weights: N(0, initializer_range) for linear and
// embedding weights, ones for norms, zeros for biases. Only the tiny preset is ever written; the large
// presets are checked as configs without touching their weights.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QDir>
#include <QFile>
#include <QtTest/QtTest>

#include "error_check.h"
#include "io/safetensors.h"
#include "model/arch/architecture.h"
#include "model/model_loader.h"
#include "model/new_model.h"
#include "test_support.h"
#include "util/file_util.h"

using lathe::NewModelOptions;

namespace {

NewModelOptions tinyOptions(const QString& arch, const QString& outDir, std::uint64_t seed,
                            const QString& dtype = "float32", const QString& config = "tiny")
{
    NewModelOptions o;
    o.arch = arch.toStdString();
    o.config = config.toStdString();
    o.outDir = outDir.toStdString();
    o.seed = seed;
    o.dtype = dtype.toStdString();
    return o;
}

} // namespace

class TestNewModel : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void writesLoadableFolder_data();
    void writesLoadableFolder();
    void seedDeterminesWeights_data();
    void seedDeterminesWeights();
    void initStatistics_data();
    void initStatistics();
    void presets_data();
    void presets();
    void configOverrides();
    void badOptions_data();
    void badOptions();
};

void TestNewModel::writesLoadableFolder_data()
{
    QTest::addColumn<QString>("arch");
    QTest::addColumn<QString>("dtype");
    QTest::addColumn<QString>("safetensorsDtype");
    QTest::newRow("llama float32") << "llama"
                                   << "float32"
                                   << "F32";
    QTest::newRow("mistral float32") << "mistral"
                                     << "float32"
                                     << "F32";
    QTest::newRow("qwen2 float32") << "qwen2"
                                   << "float32"
                                   << "F32";
    QTest::newRow("qwen3 float32") << "qwen3"
                                   << "float32"
                                   << "F32";
    QTest::newRow("qwen3 bfloat16") << "qwen3"
                                    << "bfloat16"
                                    << "BF16";
    QTest::newRow("llama float16") << "llama"
                                   << "float16"
                                   << "F16";
}

void TestNewModel::writesLoadableFolder()
{
    QFETCH(QString, arch);
    QFETCH(QString, dtype);
    QFETCH(QString, safetensorsDtype);
    const QString dir = lathe::test::scratchDir("new_model/" + arch + "-" + dtype);
    lathe::ModelConfig written;
    LATHE_VERIFY_NO_ERROR(written = lathe::writeNewModel(tinyOptions(arch, dir, 42, dtype)));

    QVERIFY(QFile::exists(dir + "/config.json"));
    QVERIFY(QFile::exists(dir + "/generation_config.json"));
    QVERIFY(QFile::exists(dir + "/model.safetensors"));
    const auto json = nlohmann::json::parse(lathe::readTextFile((dir + "/config.json").toStdString()));
    QCOMPARE(QString::fromStdString(json["model_type"].get<std::string>()), arch);
    QCOMPARE(QString::fromStdString(json["torch_dtype"].get<std::string>()), dtype);
    QCOMPARE(QString::fromStdString(json["architectures"][0].get<std::string>()),
             QString(lathe::architectureFor(arch.toStdString(), "test").hf_class));

    // The folder holds exactly the architecture's tensor table, in the requested dtype.
    const auto store = lathe::WeightStore::openDir(dir.toStdString());
    const auto table = lathe::tensorTable(written);
    QCOMPARE(store.names().size(), table.size());
    for (const auto& spec : table) {
        QVERIFY2(store.contains(spec.name), spec.name.c_str());
        QCOMPARE(store.entry(spec.name).shape, spec.shape);
        QCOMPARE(QString::fromStdString(store.entry(spec.name).dtype), safetensorsDtype);
    }

    // And it runs: loadModel reads it back, and a forward gives finite logits of the right shape.
    lathe::CausalLM model(nullptr);
    LATHE_VERIFY_NO_ERROR(model = lathe::loadModel(dir.toStdString()));
    QCOMPARE(QString::fromStdString(model->config().model_type), arch);
    QCOMPARE(model->config().hidden_size, written.hidden_size);
    torch::NoGradGuard noGrad;
    const auto logits = model->forward(torch::tensor({{1, 2, 3, 4}}, torch::kLong));
    QCOMPARE(logits.sizes().vec(), (std::vector<std::int64_t>{1, 4, written.vocab_size}));
    QVERIFY(torch::isfinite(logits).all().item<bool>());
    QVERIFY(QDir(dir).entryList({"*.tmp*"}, QDir::Files).isEmpty());
}

void TestNewModel::seedDeterminesWeights_data()
{
    QTest::addColumn<QString>("arch");
    QTest::newRow("qwen3") << "qwen3";
    QTest::newRow("qwen2") << "qwen2";
    QTest::newRow("llama") << "llama";
}

void TestNewModel::seedDeterminesWeights()
{
    QFETCH(QString, arch);
    const QString a = lathe::test::scratchDir("new_model/seed-a"),
                  b = lathe::test::scratchDir("new_model/seed-b"),
                  c = lathe::test::scratchDir("new_model/seed-c");
    LATHE_VERIFY_NO_ERROR(lathe::writeNewModel(tinyOptions(arch, a, 1234)));
    torch::manual_seed(999); // global RNG state in between must not matter
    (void)torch::randn({100});
    LATHE_VERIFY_NO_ERROR(lathe::writeNewModel(tinyOptions(arch, b, 1234)));
    LATHE_VERIFY_NO_ERROR(lathe::writeNewModel(tinyOptions(arch, c, 1235)));

    const auto sa = lathe::WeightStore::openDir(a.toStdString());
    const auto sb = lathe::WeightStore::openDir(b.toStdString());
    const auto sc = lathe::WeightStore::openDir(c.toStdString());
    int differing = 0, random = 0;
    for (const auto& name : sa.names()) {
        QVERIFY2(torch::equal(sa.get(name), sb.get(name)),
                 qPrintable("same seed, different " + QString::fromStdString(name)));
        const bool isRandom = sa.get(name).std().item<double>() > 0;
        random += isRandom;
        differing += isRandom && !torch::equal(sa.get(name), sc.get(name));
    }
    QVERIFY(random > 0);
    QCOMPARE(differing, random); // every random tensor changes with the seed
}

void TestNewModel::initStatistics_data()
{
    QTest::addColumn<QString>("arch");
    QTest::addColumn<double>("initializerRange");
    QTest::newRow("qwen2 (biases) 0.02") << "qwen2" << 0.02;
    QTest::newRow("qwen3 (q/k norms) 0.02") << "qwen3" << 0.02;
    QTest::newRow("llama biases 0.1") << "llama" << 0.1;
}

void TestNewModel::initStatistics()
{
    QFETCH(QString, arch);
    QFETCH(double, initializerRange);
    const QString dir = lathe::test::scratchDir("new_model/init");
    const QString config =
        QString(
            R"({"preset": "tiny", "initializer_range": %1, "attention_bias": true, "mlp_bias": true, "tie_word_embeddings": false})")
            .arg(initializerRange);
    lathe::ModelConfig written;
    LATHE_VERIFY_NO_ERROR(written = lathe::writeNewModel(tinyOptions(arch, dir, 7, "float32", config)));
    QCOMPARE(written.initializer_range, initializerRange);

    const auto store = lathe::WeightStore::openDir(dir.toStdString());
    int normal = 0, ones = 0, zeros = 0;
    for (const auto& spec : lathe::tensorTable(written)) {
        const auto t = store.get(spec.name).to(torch::kDouble);
        const QString name = QString::fromStdString(spec.name);
        switch (spec.init) {
        case lathe::TensorInit::Normal: {
            // n >= 1024 values: the sample std is within a few percent of the true one.
            const double n = double(t.numel()), mean = t.mean().item<double>(), std = t.std().item<double>();
            QVERIFY2(std::abs(std - initializerRange) < 0.1 * initializerRange,
                     qPrintable(QString("%1: std %2, want %3").arg(name).arg(std).arg(initializerRange)));
            QVERIFY2(std::abs(mean) < 5 * initializerRange / std::sqrt(n),
                     qPrintable(QString("%1: mean %2").arg(name).arg(mean)));
            ++normal;
            break;
        }
        case lathe::TensorInit::Ones:
            QVERIFY2(torch::equal(t, torch::ones_like(t)), qPrintable(name + " is not all ones"));
            QVERIFY(name.endsWith("norm.weight"));
            ++ones;
            break;
        case lathe::TensorInit::Zeros:
            QVERIFY2(torch::equal(t, torch::zeros_like(t)), qPrintable(name + " is not all zeros"));
            QVERIFY(name.endsWith(".bias"));
            ++zeros;
            break;
        }
        if (name.endsWith(".bias"))
            QVERIFY2(spec.init == lathe::TensorInit::Zeros, qPrintable(name));
        if (name.endsWith("norm.weight"))
            QVERIFY2(spec.init == lathe::TensorInit::Ones, qPrintable(name));
        if (name.endsWith("proj.weight") || name == "lm_head.weight" || name == "model.embed_tokens.weight")
            QVERIFY2(spec.init == lathe::TensorInit::Normal, qPrintable(name));
    }
    QVERIFY(normal > 0 && ones > 0);
    QVERIFY(zeros > 0); // qwen2 always has q/k/v biases, llama and qwen3 here through attention_bias
    QVERIFY(store.contains("lm_head.weight"));
}

void TestNewModel::presets_data()
{
    QTest::addColumn<QString>("preset");
    QTest::addColumn<QString>("arch");
    QTest::addColumn<qint64>("hiddenSize");
    QTest::addColumn<qint64>("layers");
    QTest::addColumn<qint64>("headDim");
    QTest::addColumn<double>("initializerRange");
    // demo: 0.3 so that LoRA can reach low losses through the tied embeddings (see new_model.cpp).
    QTest::newRow("demo") << "demo"
                          << "qwen3" << 128ll << 4ll << 32ll << 0.3;
    QTest::newRow("tiny") << "tiny"
                          << "qwen3" << 64ll << 2ll << 16ll << 0.02;
    QTest::newRow("qwen3-0.6b") << "qwen3-0.6b"
                                << "qwen3" << 1024ll << 28ll << 128ll << 0.02;
    QTest::newRow("qwen2.5-0.5b") << "qwen2.5-0.5b"
                                  << "qwen2" << 896ll << 24ll << 64ll << 0.02;
    QTest::newRow("llama3.2-1b") << "llama3.2-1b"
                                 << "llama" << 2048ll << 16ll << 64ll << 0.02;
}

void TestNewModel::presets()
{
    QFETCH(QString, preset);
    QFETCH(QString, arch);
    QFETCH(qint64, hiddenSize);
    QFETCH(qint64, layers);
    QFETCH(qint64, headDim);
    QFETCH(double, initializerRange);
    std::vector<std::string> names = lathe::newModelPresets();
    QVERIFY2(std::find(names.begin(), names.end(), preset.toStdString()) != names.end(), qPrintable(preset));

    NewModelOptions o;
    o.arch = arch.toStdString();
    o.config = preset.toStdString();
    const auto c = lathe::newModelConfig(o); // config only: the big presets are never written here
    QCOMPARE(c.hidden_size, hiddenSize);
    QCOMPARE(c.num_hidden_layers, layers);
    QCOMPARE(c.head_dim, headDim);
    QCOMPARE(c.initializer_range, initializerRange);
    QCOMPARE(QString::fromStdString(c.model_type), arch);
    QCOMPARE(QString::fromStdString(c.torch_dtype), QString("bfloat16"));
    if (preset == "llama3.2-1b")
        QCOMPARE(QString::fromStdString(c.rope_scaling.rope_type), QString("llama3"));
}

void TestNewModel::configOverrides()
{
    // JSON on the command line, and the same JSON in a file, override the preset field by field.
    NewModelOptions o;
    o.arch = "llama";
    o.config = R"({"preset": "tiny", "num_hidden_layers": 3, "vocab_size": 500})";
    auto c = lathe::newModelConfig(o);
    QCOMPARE(c.num_hidden_layers, std::int64_t(3));
    QCOMPARE(c.vocab_size, std::int64_t(500));
    QCOMPARE(c.hidden_size, std::int64_t(64)); // from the preset

    const QString dir = lathe::test::scratchDir("new_model/config-file");
    lathe::writeTextFileAtomic((dir + "/overrides.json").toStdString(),
                               R"({"hidden_size": 32, "head_dim": 8})");
    o.config = (dir + "/overrides.json").toStdString();
    c = lathe::newModelConfig(o);
    QCOMPARE(c.hidden_size, std::int64_t(32));
    QCOMPARE(c.head_dim, std::int64_t(8));
}

void TestNewModel::badOptions_data()
{
    QTest::addColumn<QString>("arch");
    QTest::addColumn<QString>("config");
    QTest::addColumn<bool>("withOut");
    QTest::addColumn<QStringList>("mentions");
    QTest::newRow("config is broken JSON")
        << "qwen3"
        << R"({"hidden_size": 64,)" << true << QStringList({"--config", "JSON"});
    QTest::newRow("unknown preset") << "qwen3"
                                    << "huge-9000b" << true
                                    << QStringList({"huge-9000b", "tiny", "qwen3-0.6b"});
    QTest::newRow("unknown preset inside JSON")
        << "qwen3"
        << R"({"preset": "nope"})" << true << QStringList({"nope", "tiny"});
    QTest::newRow("wrong field type") << "qwen3"
                                      << R"({"hidden_size": "big"})" << true << QStringList({"hidden_size"});
    QTest::newRow("heads not divisible") << "llama"
                                         << R"({"num_attention_heads": 4, "num_key_value_heads": 3})" << true
                                         << QStringList({"num_key_value_heads"});
    QTest::newRow("unknown arch") << "gpt2"
                                  << "tiny" << true << QStringList({"gpt2", "qwen3"});
    QTest::newRow("no output folder") << "qwen3"
                                      << "tiny" << false << QStringList({"--out"});
}

void TestNewModel::badOptions()
{
    QFETCH(QString, arch);
    QFETCH(QString, config);
    QFETCH(bool, withOut);
    QFETCH(QStringList, mentions);
    const QString dir = lathe::test::scratchDir("new_model/bad");
    NewModelOptions o = tinyOptions(arch, withOut ? dir + "/out" : QString(), 1, "float32", config);
    QString message;
    LATHE_VERIFY_ERROR(lathe::writeNewModel(o), message);
    LATHE_VERIFY_MENTIONS(message, mentions);
    QVERIFY(!QFile::exists(dir + "/out/model.safetensors")); // nothing half-written
}

QTEST_GUILESS_MAIN(TestNewModel)
#include "tst_new_model.moc"

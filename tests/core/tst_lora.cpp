// Golden tests of core/lora against PEFT (shared/fixtures/hf/*/adapter): the unmerged LoRA forward of a
// base model with its adapter reproduces PEFT's logits, loss and greedy tokens in float32, for plain LoRA on
// every linear layer (qwen3-tied), rsLoRA on q/v with q/k/v biases (qwen2-untied-bias) and DoRA on a sharded
// bf16 llama3-RoPE model (llama-sharded-bf16-rope3); an adapter for another model is refused by name.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QtTest/QtTest>

#include "error_check.h"
#include "generation/generator.h"
#include "io/safetensors.h"
#include "lora/lora_adapter.h"
#include "model/model_loader.h"
#include "test_support.h"
#include "util/file_util.h"

using json = nlohmann::json;

class TestLora : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void matchesPeft_data()
    {
        QTest::addColumn<QString>("fixture");
        QTest::addColumn<double>("scaling");
        QTest::newRow("qwen3-tied (LoRA r8, all linear)") << "qwen3-tied" << 2.0;
        QTest::newRow("qwen2-untied-bias (rsLoRA r4 on q,v)") << "qwen2-untied-bias" << 4.0;
        QTest::newRow("llama-sharded-bf16-rope3 (DoRA r8)") << "llama-sharded-bf16-rope3" << 2.0;
    }
    void matchesPeft()
    {
        LATHE_REQUIRE_SHARED();
        QFETCH(QString, fixture);
        QFETCH(double, scaling);
        const std::string dir = lathe::test::hfFixture(fixture).toStdString();
        const auto expected = json::parse(lathe::readTextFile(dir + "/expected.json"));
        auto model = lathe::loadModel(dir + "/model", {torch::kCPU, torch::kFloat32});
        const auto attached = lathe::attachLoraAdapter(model, dir + "/adapter");
        QCOMPARE(attached.config.scaling(), scaling); // alpha / r, or alpha / sqrt(r) with rsLoRA
        QVERIFY(attached.modules > 0);
        torch::NoGradGuard noGrad;
        for (const auto& c : expected["cases"]) {
            const auto ids = c["input_ids"].get<std::vector<std::int64_t>>();
            const auto& want = c["adapter"];
            const auto input = torch::tensor(ids, torch::kLong).unsqueeze(0);
            const auto logits = model->forward(input);
            const auto last = logits[0][-1];
            const auto ref = torch::tensor(want["logits_last"].get<std::vector<float>>());
            const double diff = (last - ref).abs().max().item<double>();
            QVERIFY2(diff < 1e-4, qPrintable(QString("logits differ by %1").arg(diff)));
            const auto argmax = logits[0].argmax(-1);
            QCOMPARE(std::vector<std::int64_t>(argmax.data_ptr<std::int64_t>(),
                                               argmax.data_ptr<std::int64_t>() + argmax.numel()),
                     want["argmax"].get<std::vector<std::int64_t>>());
            const double loss = model->loss(input, input).item<double>();
            QVERIFY2(std::abs(loss - want["loss"].get<double>()) < 1e-4,
                     qPrintable(QString("loss %1").arg(loss)));
            lathe::GenerationOptions options;
            options.max_new_tokens = 24;
            const auto result = lathe::greedyGenerate(model, ids, options);
            QCOMPARE(result.output_ids, want["greedy"].get<std::vector<std::int64_t>>());
        }
    }

    void gradientsMatchPeft_data()
    {
        QTest::addColumn<QString>("fixture");
        QTest::newRow("qwen3-tied") << "qwen3-tied";
        QTest::newRow("qwen2-untied-bias") << "qwen2-untied-bias";
        QTest::newRow("llama-sharded-bf16-rope3 (DoRA)") << "llama-sharded-bf16-rope3";
    }
    void gradientsMatchPeft()
    {
        // grad_case: the backward pass through the unmerged adapter gives PEFT's gradient for every LoRA
        // tensor (first 8 values and the norm), which pins down scaling and DoRA's detached norm.
        LATHE_REQUIRE_SHARED();
        QFETCH(QString, fixture);
        const std::string dir = lathe::test::hfFixture(fixture).toStdString();
        const auto g = json::parse(lathe::readTextFile(dir + "/expected.json"))["grad_case"];
        auto model = lathe::loadModel(dir + "/model", {torch::kCPU, torch::kFloat32});
        const auto attached = lathe::attachLoraAdapter(model, dir + "/adapter");
        for (const auto& [name, t] : attached.parameters)
            t.requires_grad_(true);
        const auto ids =
            torch::tensor(g["input_ids"].get<std::vector<std::int64_t>>(), torch::kLong).unsqueeze(0);
        const auto labels =
            torch::tensor(g["labels"].get<std::vector<std::int64_t>>(), torch::kLong).unsqueeze(0);
        const auto loss = model->loss(ids, labels);
        QVERIFY2(std::abs(loss.item<double>() - g["loss"].get<double>()) < 1e-4,
                 qPrintable(QString::number(loss.item<double>())));
        loss.backward();
        std::size_t compared = 0;
        for (const auto& [name, t] : attached.parameters) {
            // grad_case names the DoRA magnitude as PEFT's module parameter:
            // "...lora_magnitude_vector.weight".
            const std::string suffix = "lora_magnitude_vector";
            const bool isMagnitude = name.size() > suffix.size() &&
                                     name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
            const std::string key = isMagnitude ? name + ".weight" : name;
            QVERIFY2(g["grad_norm"].contains(key), key.c_str());
            QVERIFY2(t.grad().defined(), key.c_str());
            const double norm = t.grad().norm().item<double>(), want = g["grad_norm"][key].get<double>();
            QVERIFY2(std::abs(norm - want) <= 1e-4 * std::max(1.0, std::abs(want)),
                     qPrintable(QString("%1: grad norm %2, PEFT %3").arg(key.c_str()).arg(norm).arg(want)));
            const auto first = t.grad().reshape({-1}).slice(0, 0, 8);
            const auto ref = torch::tensor(g["grad_first8"][key].get<std::vector<float>>());
            const double diff = (first - ref).abs().max().item<double>();
            QVERIFY2(diff <= 1e-4 * std::max(1.0, ref.abs().max().item<double>()),
                     qPrintable(QString("%1: first values differ by %2").arg(key.c_str()).arg(diff)));
            ++compared;
        }
        QCOMPARE(compared, std::size_t(g["grad_norm"].size()));
    }

    void mergeMatchesPeft_data() { matchesPeft_data(); }
    void mergeMatchesPeft()
    {
        // merge_and_unload: every merged weight equals PEFT's merged/ model, and the merged model's logits
        // equal the unmerged adapter's.
        LATHE_REQUIRE_SHARED();
        QFETCH(QString, fixture);
        const std::string dir = lathe::test::hfFixture(fixture).toStdString();
        auto model = lathe::loadModel(dir + "/model", {torch::kCPU, torch::kFloat32});
        const auto attached = lathe::attachLoraAdapter(model, dir + "/adapter");
        QCOMPARE(lathe::mergeLoraAdapters(model), attached.modules);
        const auto merged = lathe::WeightStore::openDir(dir + "/merged");
        torch::NoGradGuard noGrad;
        for (const auto& p : model->named_parameters()) {
            if (!merged.contains(p.key()))
                continue; // tied lm_head
            const auto ref = merged.get(p.key()).to(torch::kFloat32);
            const double diff = (p.value() - ref).abs().max().item<double>();
            QVERIFY2(diff < 1e-5, qPrintable(QString("%1 differs by %2").arg(p.key().c_str()).arg(diff)));
        }
        const auto expected = json::parse(lathe::readTextFile(dir + "/expected.json"));
        const auto& c = expected["cases"][0];
        const auto logits = model->forward(
            torch::tensor(c["input_ids"].get<std::vector<std::int64_t>>(), torch::kLong).unsqueeze(0));
        const auto ref = torch::tensor(c["adapter"]["logits_last"].get<std::vector<float>>());
        QVERIFY((logits[0][-1] - ref).abs().max().item<double>() < 1e-4);
    }

    void mismatchedAdapterIsRefused()
    {
        LATHE_REQUIRE_SHARED();
        auto model = lathe::loadModel(lathe::test::hfFixture("qwen3-tied").toStdString() + "/model");
        // The qwen3 adapter's weights with a config claiming rank 16: every lora_A has the wrong shape.
        const std::string dir = lathe::test::scratchDir("lora-mismatch").toStdString();
        const std::string src = lathe::test::hfFixture("qwen3-tied").toStdString() + "/adapter";
        auto config = json::parse(lathe::readTextFile(src + "/adapter_config.json"));
        config["r"] = 16;
        lathe::writeTextFileAtomic(dir + "/adapter_config.json", config.dump());
        std::filesystem::copy_file(src + "/adapter_model.safetensors", dir + "/adapter_model.safetensors");
        QString message;
        LATHE_VERIFY_ERROR(lathe::attachLoraAdapter(model, dir), message);
        QVERIFY2(message.contains("has shape") && message.contains("another model"), qPrintable(message));
        // A config targeting fewer modules than the weights hold: the extra tensors are named.
        config["r"] = 8;
        config["target_modules"] = {"q_proj"};
        lathe::writeTextFileAtomic(dir + "/adapter_config.json", config.dump());
        LATHE_VERIFY_ERROR(lathe::attachLoraAdapter(model, dir), message);
        QVERIFY2(message.contains("mlp.down_proj.lora_A.weight\" matches no targeted layer"),
                 qPrintable(message));
        // Not an adapter folder at all.
        LATHE_VERIFY_ERROR(
            lathe::attachLoraAdapter(model, lathe::test::hfFixture("qwen3-tied").toStdString()), message);
        QVERIFY2(message.contains("no adapter_config.json"), qPrintable(message));
    }
};

QTEST_APPLESS_MAIN(TestLora)
#include "tst_lora.moc"

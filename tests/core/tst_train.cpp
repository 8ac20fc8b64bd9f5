// Tests of core/train: learning-rate schedules and AdamW against transformers' / torch's formulas, new LoRA
// adapters (PEFT initialisation, PEFT file layout, bit-exact reload), gradient checkpointing, the run folder
// LLaMA-Factory writes, an exact resume after an abort, output_dir rules, and full / freeze fine-tuning.
//
// The runs use a tiny float32 model with a byte-level tokenizer (tests/support/tiny_model.h), so they need
// neither shared/ nor the network.
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QtTest/QtTest>

#include "error_check.h"
#include "io/safetensors.h"
#include "lora/lora_adapter.h"
#include "model/model_loader.h"
#include "model/new_model.h"
#include "test_support.h"
#include "tiny_model.h"
#include "train/adamw.h"
#include "train/lr_schedule.h"
#include "train/trainer.h"
#include "util/file_util.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace lathe;

namespace {

// An alpaca dataset of `n` short question/answer pairs and its dataset_info.json.
fs::path makeData(const fs::path& root, int n)
{
    const fs::path dir = root / "data";
    fs::create_directories(dir);
    json records = json::array();
    for (int i = 0; i < n; ++i)
        records.push_back({{"instruction", "Q" + std::to_string(i) + "?"},
                           {"input", ""},
                           {"output", "A" + std::to_string(i % 3) + "."}});
    writeTextFileAtomic((dir / "qa.json").string(), records.dump(2));
    writeTextFileAtomic((dir / "dataset_info.json").string(), json{{"qa", {{"file_name", "qa.json"}}}}.dump());
    return dir;
}

ArgumentSet baseArgs(const fs::path& model, const fs::path& data, const fs::path& out)
{
    ArgumentSet a;
    a.set("model_name_or_path", model.string());
    a.set("stage", "sft");
    a.set("do_train", "true");
    a.set("finetuning_type", "lora");
    a.set("lora_rank", "4");
    a.set("lora_target", "all");
    a.set("dataset", "qa");
    a.set("dataset_dir", data.string());
    a.set("template", "qwen");
    a.set("cutoff_len", "64");
    a.set("output_dir", out.string());
    a.set("tokenized_path", (out.parent_path() / "cache").string());
    a.set("logging_steps", "2");
    a.set("per_device_train_batch_size", "2");
    a.set("gradient_accumulation_steps", "2");
    a.set("learning_rate", "5e-3");
    a.set("lr_scheduler_type", "cosine");
    a.set("warmup_steps", "2");
    a.set("max_steps", "8");
    a.set("seed", "3");
    return a;
}

std::vector<json> readJsonLines(const fs::path& path)
{
    std::vector<json> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty())
            out.push_back(json::parse(line));
    return out;
}

} // namespace

class TestTrain : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { torch::set_num_threads(1); }

    // transformers' get_scheduler lambdas, evaluated by hand for warmup 2 and 10 steps.
    void schedules()
    {
        LrSchedule s;
        s.warmupSteps = 2;
        s.totalSteps = 10;
        s.initialLr = 1e-3;
        s.type = "linear";
        QCOMPARE(s.factor(0), 0.0);
        QCOMPARE(s.factor(1), 0.5);
        QCOMPARE(s.factor(2), 1.0);
        QCOMPARE(s.factor(5), 5.0 / 8.0);
        QCOMPARE(s.factor(10), 0.0);
        s.type = "cosine";
        QVERIFY(std::abs(s.factor(6) - 0.5) < 1e-12);
        QVERIFY(std::abs(s.factor(4) - 0.5 * (1 + std::cos(M_PI * 0.25))) < 1e-12);
        s.type = "cosine_with_restarts";
        QVERIFY(std::abs(s.factor(6) - 0.5 * (1 + std::cos(M_PI * 0.5))) < 1e-12);
        QCOMPARE(s.factor(10), 0.0);
        s.type = "cosine_with_min_lr";
        QVERIFY(std::abs(s.factor(6) - (0.5 * 0.9 + 0.1)) < 1e-12);
        QVERIFY(std::abs(s.factor(10) - 0.1) < 1e-12);
        s.type = "polynomial";
        QVERIFY(std::abs(s.factor(6) - ((1e-3 - 1e-7) * 0.5 + 1e-7) / 1e-3) < 1e-12);
        QVERIFY(std::abs(s.factor(11) - 1e-7 / 1e-3) < 1e-15);
        s.type = "constant_with_warmup";
        QCOMPARE(s.factor(1), 0.5);
        QCOMPARE(s.factor(9), 1.0);
        s.type = "constant";
        QCOMPARE(s.factor(0), 1.0);
        s.type = "inverse_sqrt";
        QVERIFY(std::abs(s.factor(8) - 1 / std::sqrt(8.0 / 2.0)) < 1e-12);
        QCOMPARE(warmupStepsFor(0, 0.1, 95), std::int64_t(10));
        QCOMPARE(warmupStepsFor(3, 0.5, 95), std::int64_t(3));
        s.type = "nope";
        QString message;
        LATHE_VERIFY_ERROR(s.factor(3), message);
        QVERIFY(message.contains("nope"));
    }

    // torch.optim.AdamW's update, in double precision by hand.
    void adamw()
    {
        auto p = torch::tensor({1.0, -2.0}, torch::kFloat64).requires_grad_(true);
        AdamW opt({{"p", p}}, AdamWOptions{0.9, 0.999, 1e-8, 0.1});
        double w[2] = {1.0, -2.0}, m[2] = {0, 0}, v[2] = {0, 0};
        const double grads[2][2] = {{0.5, -1.0}, {0.25, 2.0}};
        const double lr = 0.01;
        for (int t = 1; t <= 2; ++t) {
            p.mutable_grad() = torch::tensor({grads[t - 1][0], grads[t - 1][1]}, torch::kFloat64);
            opt.step(lr);
            for (int i = 0; i < 2; ++i) {
                const double g = grads[t - 1][i];
                w[i] *= 1 - lr * 0.1;
                m[i] = 0.9 * m[i] + 0.1 * g;
                v[i] = 0.999 * v[i] + 0.001 * g * g;
                const double mh = m[i] / (1 - std::pow(0.9, t));
                w[i] -= lr * mh / (std::sqrt(v[i]) / std::sqrt(1 - std::pow(0.999, t)) + 1e-8);
            }
        }
        QVERIFY(std::abs(p[0].item<double>() - w[0]) < 1e-12);
        QVERIFY(std::abs(p[1].item<double>() - w[1]) < 1e-12);
        p.mutable_grad() = torch::tensor({3.0, 4.0}, torch::kFloat64);
        QVERIFY(std::abs(opt.clipGradNorm(1.0) - 5.0) < 1e-12);
        QVERIFY(std::abs(p.grad().norm().item<double>() - 1.0) < 1e-6);
    }

    // A new adapter is PEFT's: A uniform in +-1/sqrt(in), B zero, PEFT names and shapes; it reloads bit-exactly.
    void newAdapterRoundTrip()
    {
        const fs::path root = lathe::test::scratchDir("train_adapter").toStdString();
        const auto modelDir = lathe::test::makeTinyModel(root);
        auto model = loadModel(modelDir.string(), {torch::kCPU, torch::kFloat32});
        torch::manual_seed(1);
        LoraConfig c;
        c.r = 4;
        c.alpha = 8;
        c.targetModules = {"all"};
        auto adapter = createLoraAdapter(model, c);
        QCOMPARE(adapter.modules, std::int64_t(2 * 7));
        QCOMPARE(adapter.config.targetModules,
                 (std::vector<std::string>{"down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj",
                                           "v_proj"}));
        for (const auto& [name, t] : adapter.parameters) {
            QVERIFY(t.requires_grad());
            if (name.find("lora_B") != std::string::npos)
                QCOMPARE(t.abs().max().item<double>(), 0.0);
            if (name.find("lora_A") != std::string::npos)
                QVERIFY(t.abs().max().item<double>() <= 1 / std::sqrt(double(t.size(1))));
        }
        {
            torch::NoGradGuard g;
            for (auto& [name, t] : adapter.parameters)
                t.uniform_(-1, 1); // as if trained
        }
        saveLoraAdapter((root / "adapter").string(), adapter, modelDir.string());
        const auto config = json::parse(readTextFile((root / "adapter/adapter_config.json").string()));
        QCOMPARE(config["peft_type"].get<std::string>(), std::string("LORA"));
        QCOMPARE(config["r"].get<int>(), 4);
        QCOMPARE(config["lora_alpha"].get<int>(), 8);
        QCOMPARE(config["task_type"].get<std::string>(), std::string("CAUSAL_LM"));
        QCOMPARE(config["base_model_name_or_path"].get<std::string>(), modelDir.string());
        const auto store = WeightStore::openDir((root / "adapter").string(), "adapter_model");
        QCOMPARE(store.names().size(), std::size_t(2 * 7 * 2));
        const auto a = store.get("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight");
        QCOMPARE(a.sizes().vec(), (std::vector<std::int64_t>{4, 64}));
        QCOMPARE(store.get("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight").sizes().vec(),
                 (std::vector<std::int64_t>{32, 4}));
        auto fresh = loadModel(modelDir.string(), {torch::kCPU, torch::kFloat32});
        const auto loaded = attachLoraAdapter(fresh, (root / "adapter").string());
        QCOMPARE(loaded.parameters.size(), adapter.parameters.size());
        for (std::size_t i = 0; i < loaded.parameters.size(); ++i) {
            QCOMPARE(loaded.parameters[i].first, adapter.parameters[i].first);
            QVERIFY(torch::equal(loaded.parameters[i].second, adapter.parameters[i].second.detach()));
        }
        torch::NoGradGuard g;
        const auto ids = torch::tensor({{257, 72, 105, 258}}, torch::kLong);
        QVERIFY(torch::equal(model->forward(ids), fresh->forward(ids)));
    }

    // The fused lm_head + cross-entropy of tokenLoss equals the plain loss, and so do the gradients of the
    // (tied) embedding that both the input and the output use.
    void fusedLossMatchesCrossEntropy()
    {
        const fs::path root = lathe::test::scratchDir("train_fused").toStdString();
        const auto modelDir = lathe::test::makeTinyModel(root);
        const auto ids = torch::tensor({{257, 72, 105, 33, 258, 10, 44}, {257, 80, 81, 82, 83, 84, 258}}, torch::kLong);
        auto labels = ids.clone();
        labels.index_put_({0, torch::indexing::Slice(0, 3)}, -100);
        torch::Tensor grads[2];
        double losses[2];
        for (int fused = 0; fused < 2; ++fused) {
            auto model = loadModel(modelDir.string(), {torch::kCPU, torch::kFloat32});
            auto& w = model->model->embed_tokens->weight;
            w.set_data(w.clone());
            w.requires_grad_(true);
            if (fused) {
                auto [sum, n] = model->tokenLoss(ids, labels);
                QCOMPARE(n, std::int64_t(2 * 6 - 2));
                auto loss = sum / double(n);
                loss.backward();
                losses[1] = loss.item<double>();
            } else {
                auto loss = model->loss(ids, labels);
                loss.backward();
                losses[0] = loss.item<double>();
            }
            grads[fused] = w.grad().clone();
        }
        QVERIFY2(std::abs(losses[0] - losses[1]) < 1e-5, qPrintable(QString("%1 vs %2").arg(losses[0]).arg(losses[1])));
        const double diff = (grads[0] - grads[1]).abs().max().item<double>();
        QVERIFY2(diff < 1e-6, qPrintable(QString("embedding gradient differs by %1").arg(diff)));
        QVERIFY(grads[0].abs().max().item<double>() > 1e-4);
    }

    // Checkpointed layers give the same LoRA gradients, dropout included (the recomputation replays the RNG);
    // in float32 and on a bf16 base (the frozen-weight linear and fused loss paths).
    void checkpointingKeepsGradients_data()
    {
        QTest::addColumn<bool>("bf16");
        QTest::newRow("float32") << false;
        QTest::newRow("bf16 base") << true;
    }
    void checkpointingKeepsGradients()
    {
        QFETCH(bool, bf16);
        const fs::path root = lathe::test::scratchDir("train_ckpt").toStdString();
        const auto modelDir = lathe::test::makeTinyModel(root);
        std::vector<torch::Tensor> grads[2];
        for (int ckpt = 0; ckpt < 2; ++ckpt) {
            auto model = loadModel(modelDir.string(), {torch::kCPU, bf16 ? torch::kBFloat16 : torch::kFloat32});
            for (auto& p : model->parameters())
                p.requires_grad_(false);
            torch::manual_seed(5);
            LoraConfig c;
            c.r = 4;
            c.dropout = 0.3;
            c.targetModules = {"all"};
            auto adapter = createLoraAdapter(model, c);
            {
                torch::NoGradGuard g;
                for (auto& [name, t] : adapter.parameters)
                    t.normal_(0, 0.1);
            }
            setLoraTraining(model, true);
            model->train();
            model->setGradientCheckpointing(ckpt == 1);
            const auto ids = torch::tensor({{257, 72, 105, 33, 258, 10}}, torch::kLong);
            torch::manual_seed(9);
            auto [sum, n] = model->tokenLoss(ids, ids);
            sum.backward();
            QCOMPARE(n, std::int64_t(5));
            for (auto& [name, t] : adapter.parameters) {
                QVERIFY2(t.grad().defined(), name.c_str());
                grads[ckpt].push_back(t.grad().clone());
            }
        }
        for (std::size_t i = 0; i < grads[0].size(); ++i) {
            const double diff = (grads[0][i] - grads[1][i]).abs().max().item<double>();
            QVERIFY2(diff < (bf16 ? 1e-3 : 1e-6), qPrintable(QString("gradient %1 differs by %2").arg(i).arg(diff)));
        }
    }

    // A run, an abort after step 4 and a resume: the resumed run's losses and final adapter equal those of
    // an uninterrupted run, bit for bit; the run folder has LLaMA-Factory's files and fields.
    void abortAndResumeExactly()
    {
        const fs::path root = lathe::test::scratchDir("train_resume").toStdString();
        const auto modelDir = lathe::test::makeTinyModel(root);
        const auto dataDir = makeData(root, 12);
        auto args = [&](const fs::path& out) {
            auto a = baseArgs(modelDir, dataDir, out);
            a.set("lora_dropout", "0.1");
            a.set("save_steps", "3");
            return a;
        };

        const auto full = runTraining(args(root / "full"));
        QCOMPARE(full.globalStep, std::int64_t(8));
        QCOMPARE(full.stepLosses.size(), std::size_t(8));
        QVERIFY(!full.aborted);

        std::atomic<bool> abort{false};
        TrainCallbacks cb;
        cb.abort = &abort;
        cb.progress = [&](const TrainProgress& p) {
            if (p.step == 4)
                abort = true;
        };
        const auto first = runTraining(args(root / "split"), cb);
        QVERIFY(first.aborted);
        QCOMPARE(first.globalStep, std::int64_t(4));
        QVERIFY(fs::exists(root / "split/checkpoint-3"));
        QVERIFY(fs::exists(root / "split/checkpoint-4")); // the abort's own checkpoint
        for (const char* f : {"adapter_config.json", "adapter_model.safetensors", "optimizer.safetensors",
                              "scheduler.json", "rng_state.safetensors", "trainer_state.json", "tokenizer.json"})
            QVERIFY2(fs::exists(root / "split/checkpoint-4" / f), f);

        // Records past the checkpoint (as a run killed after step 4's log but before its checkpoint leaves them)
        // are dropped on resume: those steps are trained again.
        {
            std::ofstream extra(root / "split/trainer_log.jsonl", std::ios::app);
            extra << R"({"current_steps": 7, "total_steps": 8, "loss": 9.0, "elapsed_time": "0:00:09"})" << "\n";
        }
        const auto logBefore = readJsonLines(root / "split/trainer_log.jsonl");
        const auto second = runTraining(args(root / "split")); // same output_dir: resumes checkpoint-4
        QVERIFY(second.resumedFrom.has_value());
        // trainer_log.jsonl goes on from the first part (LLaMA-Factory appends): steps 2 and 4 kept, then 6, 8 and
        // the summary; the elapsed time never goes back.
        const auto logAfter = readJsonLines(root / "split/trainer_log.jsonl");
        QCOMPARE(logAfter.size(), std::size_t(5));
        QCOMPARE(logAfter[0].dump(), logBefore[0].dump());
        QCOMPARE(logAfter[1].dump(), logBefore[1].dump());
        std::vector<int> steps;
        for (const auto& r : logAfter)
            steps.push_back(r["current_steps"].get<int>());
        QCOMPARE(steps, (std::vector<int>{2, 4, 6, 8, 8}));
        for (std::size_t i = 1; i < logAfter.size(); ++i)
            QVERIFY(parseElapsed(logAfter[i]["elapsed_time"].get<std::string>()) >=
                    parseElapsed(logAfter[i - 1]["elapsed_time"].get<std::string>()));
        QCOMPARE(QString::fromStdString(*second.resumedFrom).endsWith("checkpoint-4"), true);
        QCOMPARE(second.globalStep, std::int64_t(8));
        QCOMPARE(second.stepLosses.size(), std::size_t(4));
        for (std::size_t i = 0; i < 4; ++i) {
            QCOMPARE(first.stepLosses[i], full.stepLosses[i]);
            QCOMPARE(second.stepLosses[i], full.stepLosses[4 + i]);
        }
        const auto a = WeightStore::openDir((root / "full").string(), "adapter_model");
        const auto b = WeightStore::openDir((root / "split").string(), "adapter_model");
        for (const auto& name : a.names())
            QVERIFY2(torch::equal(a.get(name), b.get(name)), name.c_str());

        // The run folder.
        for (const char* f : {"adapter_config.json", "adapter_model.safetensors", "trainer_log.jsonl",
                              "trainer_state.json", "train_results.json", "all_results.json", "training_args.yaml",
                              "running_log.txt", "tokenizer.json", "tokenizer_config.json"})
            QVERIFY2(fs::exists(root / "full" / f), f);
        const auto records = readJsonLines(root / "full/trainer_log.jsonl");
        QCOMPARE(records.size(), std::size_t(8 / 2 + 1)); // every logging_steps, then the summary
        const auto& r = records[1];
        QCOMPARE(r["current_steps"].get<int>(), 4);
        QCOMPARE(r["total_steps"].get<int>(), 8);
        QCOMPARE(r["percentage"].get<double>(), 50.0);
        QVERIFY(std::abs(r["loss"].get<double>() - (full.stepLosses[2] + full.stepLosses[3]) / 2) < 1e-4);
        for (const char* k : {"lr", "epoch", "elapsed_time", "remaining_time", "throughput", "total_tokens"})
            QVERIFY2(r.contains(k), k);
        QVERIFY(!records.back().contains("loss"));
        const auto state = json::parse(readTextFile((root / "full/trainer_state.json").string()));
        QCOMPARE(state["global_step"].get<int>(), 8);
        QCOMPARE(state["max_steps"].get<int>(), 8);
        QCOMPARE(state["log_history"].size(), std::size_t(5));
        QVERIFY(state["log_history"][0].contains("grad_norm"));
        QVERIFY(state["log_history"][4].contains("train_loss"));
        // save_steps 3: checkpoints 3 and 6.
        QVERIFY(fs::exists(root / "full/checkpoint-3") && fs::exists(root / "full/checkpoint-6"));
        const auto results = json::parse(readTextFile((root / "full/all_results.json").string()));
        QVERIFY(results.contains("train_loss") && results.contains("train_runtime"));
    }

    // Pretraining (stage pt): texts + EOS packed into cutoff_len blocks, every token learned; NEFTune on.
    void pretrainPacked()
    {
        const fs::path root = lathe::test::scratchDir("train_pt").toStdString();
        const auto modelDir = lathe::test::makeTinyModel(root);
        const fs::path data = root / "data";
        fs::create_directories(data);
        json texts = json::array();
        for (int i = 0; i < 30; ++i)
            texts.push_back({{"text", "the lathe turns wood and metal, round " + std::to_string(i % 4) + "."}});
        writeTextFileAtomic((data / "wiki.json").string(), texts.dump());
        writeTextFileAtomic((data / "dataset_info.json").string(),
                            json{{"wiki", {{"file_name", "wiki.json"}, {"columns", {{"prompt", "text"}}}}}}.dump());
        auto a = baseArgs(modelDir, data, root / "out");
        a.set("stage", "pt");
        a.set("dataset", "wiki");
        a.set("cutoff_len", "32");
        a.set("max_steps", "40");
        a.set("gradient_accumulation_steps", "1");
        a.set("learning_rate", "3e-2");
        a.set("neftune_noise_alpha", "5");
        std::vector<std::string> lines;
        TrainCallbacks cb;
        cb.log = [&](const std::string& l) { lines.push_back(l); };
        const auto r = runTraining(a, cb);
        QCOMPARE(r.globalStep, std::int64_t(40));
        QVERIFY2(r.stepLosses.back() < r.stepLosses.front() * 0.8,
                 qPrintable(QString("%1 -> %2").arg(r.stepLosses.front()).arg(r.stepLosses.back())));
        bool packed = false;
        for (const auto& l : lines)
            packed |= l.find("Dataset wiki: 30 texts") != std::string::npos;
        QVERIFY(packed);
    }

    void outputDirRules()
    {
        const fs::path root = lathe::test::scratchDir("train_outdir").toStdString();
        const auto modelDir = lathe::test::makeTinyModel(root);
        const auto dataDir = makeData(root, 4);
        fs::create_directories(root / "busy");
        writeTextFileAtomic((root / "busy/notes.txt").string(), "keep me");
        QString message;
        LATHE_VERIFY_ERROR(runTraining(baseArgs(modelDir, dataDir, root / "busy")), message);
        QVERIFY2(message.contains("overwrite_output_dir"), qPrintable(message));
        QCOMPARE(QString::fromStdString(readTextFile((root / "busy/notes.txt").string())), QString("keep me"));
        auto a = baseArgs(modelDir, dataDir, root / "busy");
        a.set("overwrite_output_dir", "true");
        a.set("max_steps", "2");
        QCOMPARE(runTraining(a).globalStep, std::int64_t(2));

        auto bad = baseArgs(modelDir, dataDir, root / "bad");
        bad.set("lora_target", "q_proj,qkv");
        LATHE_VERIFY_ERROR(runTraining(bad), message);
        QVERIFY2(message.contains("qkv"), qPrintable(message));
        auto missing = baseArgs(modelDir, dataDir, root / "missing");
        missing.set("dataset", "nope");
        LATHE_VERIFY_ERROR(runTraining(missing), message);
        QVERIFY2(message.contains("nope"), qPrintable(message));
    }

    // The estimate the Train tab shows before Start, from config.json and the arguments, is the one the
    // trainer logs from the loaded model and its trainable tensors.
    void memoryEstimateBeforeLoading()
    {
        const fs::path root = lathe::test::scratchDir("train_memory").toStdString();
        const auto modelDir = lathe::test::makeTinyModel(root);
        const auto dataDir = makeData(root, 4);
        struct Case
        {
            const char* name;
            std::vector<std::pair<const char*, const char*>> set;
        };
        const std::vector<Case> cases = {
            {"lora all", {}},
            {"lora q,v r8 bf16", {{"lora_target", "q_proj,v_proj"}, {"lora_rank", "8"}, {"bf16", "true"}}},
            {"full", {{"finetuning_type", "full"}, {"disable_gradient_checkpointing", "true"}}},
            {"freeze last", {{"finetuning_type", "freeze"}, {"freeze_trainable_layers", "1"}}},
            {"freeze first mlp", {{"finetuning_type", "freeze"}, {"freeze_trainable_layers", "-1"},
                                  {"freeze_trainable_modules", "mlp"}}},
            {"freeze + extra", {{"finetuning_type", "freeze"}, {"freeze_trainable_layers", "1"},
                                {"freeze_extra_modules", "norm"}}},
        };
        for (const auto& c : cases) {
            auto a = baseArgs(modelDir, dataDir, root / "out");
            a.set("overwrite_output_dir", "true");
            a.set("max_steps", "1");
            a.set("cutoff_len", "48");
            for (const auto& [k, v] : c.set)
                a.set(k, v);
            const std::string before = "Memory estimate: " + lathe::estimateTrainingMemory(a).describe();
            std::string logged;
            TrainCallbacks cb;
            cb.log = [&](const std::string& l) {
                if (l.rfind("Memory estimate: ", 0) == 0)
                    logged = l;
            };
            runTraining(a, cb);
            QVERIFY2(logged == before, qPrintable(QString("%1: before %2, trainer %3")
                                                      .arg(c.name, QString::fromStdString(before),
                                                           QString::fromStdString(logged))));
        }
        auto none = baseArgs(root / "no_model", dataDir, root / "out");
        QString message;
        LATHE_VERIFY_ERROR(lathe::estimateTrainingMemory(none), message);
        QVERIFY2(message.contains("no_model"), qPrintable(message));
    }

    // Full and freeze fine-tuning: the loss falls, saved weights load as a model, freeze trains only the last
    // layer.
    void fullAndFreeze()
    {
        const fs::path root = lathe::test::scratchDir("train_full").toStdString();
        const auto modelDir = lathe::test::makeTinyModel(root);
        const auto dataDir = makeData(root, 8);
        auto full = baseArgs(modelDir, dataDir, root / "full");
        full.set("finetuning_type", "full");
        full.set("max_steps", "12");
        full.set("learning_rate", "3e-3");
        full.set("gradient_accumulation_steps", "1");
        const auto r = runTraining(full);
        QVERIFY(r.stepLosses.back() < r.stepLosses.front() * 0.8);
        auto trained = loadModel((root / "full").string(), {torch::kCPU, torch::kFloat32});
        QCOMPARE(trained->config().num_hidden_layers, std::int64_t(2));

        auto freeze = baseArgs(modelDir, dataDir, root / "freeze");
        freeze.set("finetuning_type", "freeze");
        freeze.set("freeze_trainable_layers", "1");
        freeze.set("max_steps", "4");
        runTraining(freeze);
        const auto before = WeightStore::openDir(modelDir.string());
        const auto after = WeightStore::openDir((root / "freeze").string());
        QVERIFY(torch::equal(before.get("model.layers.0.mlp.up_proj.weight"),
                             after.get("model.layers.0.mlp.up_proj.weight")));
        QVERIFY(torch::equal(before.get("model.embed_tokens.weight"), after.get("model.embed_tokens.weight")));
        QVERIFY(!torch::equal(before.get("model.layers.1.mlp.up_proj.weight"),
                              after.get("model.layers.1.mlp.up_proj.weight")));
    }
};

QTEST_GUILESS_MAIN(TestTrain)
#include "tst_train.moc"

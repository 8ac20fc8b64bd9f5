// The preference stages against LLaMA-Factory's own numbers (shared/fixtures/pref/*: tiny models, PEFT
// adapters and the batches exactly as LLaMA-Factory's collators build them). For every fixture folder found
// (more may be added) and every case it holds, Lathe's objectives (train/objective.h, the code the trainer
// runs) reproduce:
//   dpo: per-sequence log-probabilities, the loss of sigmoid (with label smoothing), hinge, ipo, orpo, simpo,
//        MPO's BCO mix and LD-DPO, with pref_ftx, every logged metric, and the LoRA gradients;
//   kto: the loss with chosen/rejected weights and pref_ftx, the clamped KL, the metrics, the gradients;
//   rm:  the pairwise loss and accuracy of the value head (read from value_head.safetensors), its gradients
//        and the LoRA gradients, and the same head with the adapter switched off.
// The reference model is the policy with its LoRA adapter switched off, as LLaMA-Factory runs it.
#include <atomic>
#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QtTest/QtTest>

#include "config/argument_schema.h"
#include "config/stages.h"
#include "error_check.h"
#include "io/safetensors.h"
#include "lora/lora_adapter.h"
#include "model/model_loader.h"
#include "model/new_model.h"
#include "test_support.h"
#include "train/objective.h"
#include "train/train_data.h"
#include "train/trainer.h"
#include "tiny_model.h"
#include "util/file_util.h"

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> fixtureFolders()
{
    return lathe::test::fixtureFolders("pref");
}

torch::Tensor longs(const json& rows)
{
    std::vector<std::int64_t> flat;
    for (const auto& row : rows)
        for (const auto& v : row)
            flat.push_back(v.get<std::int64_t>());
    return torch::tensor(flat, torch::kLong).reshape({std::int64_t(rows.size()), -1});
}

struct Loaded
{
    lathe::CausalLM model{nullptr};
    lathe::AttachedAdapter adapter;
    json expected;
    std::string dir;
};

Loaded load(const std::string& dir)
{
    Loaded l;
    l.dir = dir;
    l.expected = json::parse(lathe::readTextFile(dir + "/expected.json"));
    l.model = lathe::loadModel(dir + "/model", {torch::kCPU, torch::kFloat32});
    for (auto& p : l.model->parameters())
        p.requires_grad_(false);
    l.adapter = lathe::attachLoraAdapter(l.model, dir + "/adapter");
    for (auto& [name, t] : l.adapter.parameters)
        t.requires_grad_(true);
    l.model->eval(); // the fixtures are dropout-free (DPO/KTO disable dropout; RM's eval value)
    return l;
}

lathe::ObjectiveSetup loraSetup(const Loaded& l, bool withAdapterDir)
{
    lathe::ObjectiveSetup setup;
    setup.lora = true;
    setup.modelPath = l.dir + "/model";
    if (withAdapterDir)
        setup.adapters = {l.dir + "/adapter"};
    return setup;
}

lathe::ArgumentSet argsOf(const std::string& stage, const json& hp)
{
    lathe::ArgumentSet args;
    args.setValue("stage", stage);
    for (const auto& [key, value] : hp.items())
        args.setValue(key, value);
    return args;
}

bool closeRel(double got, double want, double rel, double abs = 0)
{
    return std::abs(got - want) <= std::max(rel * std::abs(want), abs);
}

QString describe(const json& hp)
{
    return QString::fromStdString(hp.dump());
}

void zeroGrads(Loaded& l, std::vector<std::pair<std::string, torch::Tensor>> extra = {})
{
    for (auto& [name, t] : l.adapter.parameters)
        if (t.grad().defined())
            t.grad().zero_();
    for (auto& [name, t] : extra)
        if (t.grad().defined())
            t.grad().zero_();
}

/// Every gradient of `want` (grad_norm and grad_first8 by PEFT name) against the tensors' .grad().
void compareGrads(const std::vector<std::pair<std::string, torch::Tensor>>& params, const json& want,
                  const QString& what)
{
    std::size_t compared = 0;
    for (const auto& [name, t] : params) {
        if (!want["grad_norm"].contains(name))
            continue;
        QVERIFY2(t.grad().defined(), qPrintable(what + ": no gradient for " + QString::fromStdString(name)));
        const double norm = t.grad().norm().item<double>(), wantNorm = want["grad_norm"][name].get<double>();
        QVERIFY2(closeRel(norm, wantNorm, 1e-4, 1e-7),
                 qPrintable(what + QString(": %1 grad norm %2, LLaMA-Factory %3").arg(name.c_str()).arg(norm).arg(wantNorm)));
        const auto first = want["grad_first8"][name].get<std::vector<double>>();
        const auto got = t.grad().reshape({-1}).to(torch::kFloat64);
        for (std::size_t i = 0; i < first.size(); ++i) {
            const double g = got[std::int64_t(i)].item<double>();
            QVERIFY2(closeRel(g, first[i], 1e-4, 1e-5),
                     qPrintable(what + QString(": %1[%2] = %3, LLaMA-Factory %4").arg(name.c_str()).arg(i).arg(g).arg(first[i])));
        }
        ++compared;
    }
    QCOMPARE(compared, std::size_t(want["grad_norm"].size()));
}

lathe::TrainBatch dpoBatch(const json& b)
{
    lathe::TrainBatch batch;
    batch.inputIds = longs(b["input_ids"]);
    batch.attentionMask = longs(b["attention_mask"]);
    batch.labels = longs(b["labels"]);
    batch.examples = b["n_pairs"].get<std::int64_t>();
    return batch;
}

lathe::TrainBatch ktoBatch(const json& b)
{
    lathe::TrainBatch batch;
    batch.inputIds = longs(b["input_ids"]);
    batch.attentionMask = longs(b["attention_mask"]);
    batch.labels = longs(b["labels"]);
    batch.klInputIds = longs(b["kl_input_ids"]);
    batch.klAttentionMask = longs(b["kl_attention_mask"]);
    batch.klLabels = longs(b["kl_labels"]);
    std::vector<std::int64_t> tags;
    for (const auto& t : b["kto_tags"])
        tags.push_back(t.get<bool>() ? 1 : 0);
    batch.desirable = torch::tensor(tags, torch::kLong).to(torch::kBool);
    batch.examples = std::int64_t(tags.size());
    return batch;
}

/// LLaMA-Factory's metric tolerances (fixture README).
double metricTolerance(const std::string& name, bool kto)
{
    if (name.rfind("logits/", 0) == 0)
        return kto ? 2e-3 : 1e-5;
    if (name.rfind("logps/", 0) == 0)
        return 1e-4;
    if (name == "rewards/accuracies")
        return 0;
    return 2e-5;
}

void compareMetrics(const lathe::MetricSums& got, const json& want, bool kto, const QString& what)
{
    std::map<std::string, double> values;
    for (const auto& [name, value] : got.means())
        values[name] = value;
    for (const auto& [name, w] : want.items()) {
        QVERIFY2(values.count(name), qPrintable(what + ": no metric " + QString::fromStdString(name)));
        const double g = values[name], expected = w.get<double>();
        QVERIFY2(std::abs(g - expected) <= metricTolerance(name, kto) + 1e-7,
                 qPrintable(what + QString(": %1 = %2, LLaMA-Factory %3").arg(name.c_str()).arg(g, 0, 'g', 9).arg(expected, 0, 'g', 9)));
    }
    QCOMPARE(values.size(), want.size());
}

/// A ranking dataset "pairs", a KTO dataset "feedback" and an alpaca dataset "qa" in `<root>/data`.
fs::path writePreferenceData(const fs::path& root)
{
    const fs::path dir = root / "data";
    fs::create_directories(dir);
    json pairs = json::array(), feedback = json::array(), qa = json::array();
    for (int i = 0; i < 12; ++i) {
        const std::string q = "What is " + std::to_string(i) + " plus " + std::to_string(i) + "?";
        pairs.push_back({{"instruction", q}, {"chosen", "It is " + std::to_string(2 * i) + "."},
                         {"rejected", "It is " + std::to_string(2 * i + 1) + "."}});
        feedback.push_back({{"instruction", q}, {"output", "It is " + std::to_string(2 * i + i % 2) + "."},
                            {"label", i % 2 == 0}});
        qa.push_back({{"instruction", q}, {"input", ""}, {"output", "It is " + std::to_string(2 * i) + "."}});
    }
    lathe::writeTextFileAtomic((dir / "pairs.json").string(), pairs.dump());
    lathe::writeTextFileAtomic((dir / "feedback.json").string(), feedback.dump());
    lathe::writeTextFileAtomic((dir / "qa.json").string(), qa.dump());
    const json info = {
        {"pairs", {{"file_name", "pairs.json"}, {"ranking", true},
                   {"columns", {{"prompt", "instruction"}, {"chosen", "chosen"}, {"rejected", "rejected"}}}}},
        {"feedback", {{"file_name", "feedback.json"},
                      {"columns", {{"prompt", "instruction"}, {"response", "output"}, {"kto_tag", "label"}}}}},
        {"feedback_untagged", {{"file_name", "feedback.json"}, {"columns", {{"prompt", "instruction"}, {"response", "output"}}}}},
        {"qa", {{"file_name", "qa.json"}}}};
    lathe::writeTextFileAtomic((dir / "dataset_info.json").string(), info.dump());
    return dir;
}

lathe::ArgumentSet runArgs(const fs::path& model, const fs::path& data, const fs::path& out, const std::string& stage)
{
    lathe::ArgumentSet a;
    a.set("model_name_or_path", model.string());
    a.set("stage", stage);
    a.set("do_train", "true");
    a.set("finetuning_type", "lora");
    a.set("lora_rank", "4");
    a.set("dataset", stage == "kto" ? "feedback" : stage == "sft" ? "qa" : "pairs");
    a.set("dataset_dir", data.string());
    a.set("template", "qwen");
    a.set("cutoff_len", "64");
    a.set("output_dir", out.string());
    a.set("logging_steps", "1");
    a.set("per_device_train_batch_size", "2");
    a.set("gradient_accumulation_steps", "2");
    a.set("learning_rate", "5e-3");
    a.set("max_steps", "6");
    a.set("save_steps", "2");
    a.set("seed", "5");
    return a;
}

} // namespace

class TestPreference : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void stagesHaveObjectives()
    {
        // The stage table (window, CLI, schema) and the objective table (trainer) agree.
        const auto objectives = lathe::objectiveStages();
        for (const auto& stage : lathe::trainingStages()) {
            const bool has = std::find(objectives.begin(), objectives.end(), stage.name) != objectives.end();
            QVERIFY2(has == stage.available, stage.name.c_str());
            if (!stage.available)
                QVERIFY(!stage.unavailableWhy.empty());
        }
        for (const auto& name : objectives)
            QVERIFY2(lathe::findStage(name), name.c_str());
        const auto* spec = lathe::findArgument("stage");
        QCOMPARE(spec->choices.size(), lathe::trainingStages().size());
    }

    void badArguments()
    {
        QString message;
        lathe::ArgumentSet args;
        LATHE_VERIFY_ERROR(args.set("pref_loss", "simpoo"), message);
        QVERIFY2(message.contains("did you mean \"simpo\""), qPrintable(message));
        args.set("pref_loss", "hinge");
        args.set("dpo_label_smoothing", "0.1");
        args.set("stage", "dpo");
        LATHE_VERIFY_ERROR(lathe::makeObjective("dpo", lathe::bindTrainingArguments(args)), message);
        QVERIFY2(message.contains("dpo_label_smoothing") && message.contains("sigmoid"), qPrintable(message));
        LATHE_VERIFY_ERROR(lathe::makeObjective("ppo", lathe::bindTrainingArguments(args)), message);
        QVERIFY2(message.contains("ppo"), qPrintable(message));
    }


    // A run, an abort after step 3 and a resume: the resumed run's losses and final adapter (and value head)
    // equal those of an uninterrupted run, bit for bit, for every preference stage.
    void stagesResumeExactly_data()
    {
        QTest::addColumn<QString>("stage");
        QTest::newRow("dpo") << "dpo";
        QTest::newRow("kto") << "kto";
        QTest::newRow("rm") << "rm";
    }
    void stagesResumeExactly()
    {
        QFETCH(QString, stage);
        torch::set_num_threads(1);
        const fs::path root = lathe::test::scratchDir("preference_resume_" + stage).toStdString();
        const auto model = lathe::test::makeTinyModel(root);
        const auto data = writePreferenceData(root);
        const std::string s = stage.toStdString();
        const auto full = lathe::runTraining(runArgs(model, data, root / "full", s));
        QCOMPARE(full.globalStep, std::int64_t(6));

        std::atomic<bool> abort{false};
        lathe::TrainCallbacks cb;
        cb.abort = &abort;
        cb.progress = [&](const lathe::TrainProgress& p) {
            if (p.step == 3)
                abort = true;
        };
        const auto first = lathe::runTraining(runArgs(model, data, root / "split", s), cb);
        QVERIFY(first.aborted);
        QVERIFY(fs::exists(root / "split/checkpoint-3/trainer_state.json"));
        if (s == "rm")
            QVERIFY(fs::exists(root / "split/checkpoint-3/value_head.safetensors"));
        const auto second = lathe::runTraining(runArgs(model, data, root / "split", s));
        QVERIFY(second.resumedFrom.has_value());
        QCOMPARE(second.globalStep, std::int64_t(6));
        for (std::size_t i = 0; i < 3; ++i) {
            QCOMPARE(first.stepLosses[i], full.stepLosses[i]);
            QCOMPARE(second.stepLosses[i], full.stepLosses[3 + i]);
        }
        const auto a = lathe::WeightStore::openDir((root / "full").string(), "adapter_model");
        const auto b = lathe::WeightStore::openDir((root / "split").string(), "adapter_model");
        for (const auto& name : a.names())
            QVERIFY2(torch::equal(a.get(name), b.get(name)), name.c_str());
        if (s == "rm") {
            const auto va = lathe::WeightStore::openFile((root / "full/value_head.safetensors").string());
            const auto vb = lathe::WeightStore::openFile((root / "split/value_head.safetensors").string());
            QVERIFY(torch::equal(va.get("v_head.summary.weight"), vb.get("v_head.summary.weight")));
        }
        // The stage's metrics in trainer_state.json's log_history, under LLaMA-Factory's names.
        const auto state = json::parse(lathe::readTextFile((root / "full/trainer_state.json").string()));
        const auto& log0 = state["log_history"][0];
        QVERIFY2(log0.contains(s == "rm" ? "accuracy" : "rewards/margins"), log0.dump().c_str());
        if (s != "rm") // the first step: the policy is its reference (LoRA B = 0), so every reward is 0
            QCOMPARE(log0["rewards/margins"].get<double>(), 0.0);
    }

    // Evaluation reports the stage's metrics with eval_; freeze tuning trains against a frozen reference copy.
    void evaluationAndFreezeReference()
    {
        torch::set_num_threads(1);
        const fs::path root = lathe::test::scratchDir("preference_eval").toStdString();
        const auto model = lathe::test::makeTinyModel(root);
        const auto data = writePreferenceData(root);
        auto args = runArgs(model, data, root / "dpo", "dpo");
        args.set("val_size", "4");
        args.set("eval_strategy", "steps");
        args.set("eval_steps", "3");
        args.set("do_eval", "true");
        args.set("finetuning_type", "freeze");
        args.set("freeze_trainable_layers", "1");
        args.set("pref_loss", "ipo");
        std::vector<std::string> lines;
        lathe::TrainCallbacks cb;
        cb.log = [&](const std::string& line) { lines.push_back(line); };
        const auto result = lathe::runTraining(args, cb);
        QCOMPARE(result.globalStep, std::int64_t(6));
        QVERIFY(std::any_of(lines.begin(), lines.end(),
                            [](const std::string& l) { return l.find("Reference model: a frozen copy") != std::string::npos; }));
        for (const char* key : {"eval_loss", "eval_rewards/chosen", "eval_rewards/margins", "eval_rewards/accuracies",
                                "eval_logps/chosen", "eval_logits/rejected"})
            QVERIFY2(result.metrics.contains(key), (std::string(key) + " in " + result.metrics.dump()).c_str());
        const auto state = json::parse(lathe::readTextFile((root / "dpo/trainer_state.json").string()));
        bool evaluated = false;
        for (const auto& entry : state["log_history"])
            evaluated |= entry.contains("eval_rewards/margins");
        QVERIFY(evaluated);
    }

    // Data that does not suit the stage is refused with LLaMA-Factory's meaning, naming the dataset.
    void dataMustSuitTheStage()
    {
        const fs::path root = lathe::test::scratchDir("preference_data").toStdString();
        const auto model = lathe::test::makeTinyModel(root);
        const auto data = writePreferenceData(root);
        QString message;
        auto sft = runArgs(model, data, root / "a", "sft");
        sft.set("dataset", "pairs");
        LATHE_VERIFY_ERROR(lathe::runTraining(sft), message);
        QVERIFY2(message.contains("pairs") && message.contains("ranking") && message.contains("sft"), qPrintable(message));
        auto dpo = runArgs(model, data, root / "b", "dpo");
        dpo.set("dataset", "qa");
        LATHE_VERIFY_ERROR(lathe::runTraining(dpo), message);
        QVERIFY2(message.contains("qa") && message.contains("not a ranking dataset"), qPrintable(message));
        auto kto = runArgs(model, data, root / "c", "kto");
        kto.set("dataset", "feedback_untagged");
        LATHE_VERIFY_ERROR(lathe::runTraining(kto), message);
        QVERIFY2(message.contains("feedback_untagged") && message.contains("kto_tag"), qPrintable(message));
        auto ppo = runArgs(model, data, root / "d", "ppo");
        LATHE_VERIFY_ERROR(lathe::runTraining(ppo), message);
        QVERIFY2(message.contains("PPO"), qPrintable(message));
        // A reference model of another architecture / vocabulary.
        const auto other = root / "other";
        lathe::NewModelOptions o;
        o.arch = "llama";
        o.config = R"({"vocab_size": 400, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                       "num_attention_heads": 2, "num_key_value_heads": 2})";
        o.outDir = other.string();
        lathe::writeNewModel(o);
        auto ref = runArgs(model, data, root / "e", "dpo");
        ref.set("ref_model", other.string());
        LATHE_VERIFY_ERROR(lathe::runTraining(ref), message);
        QVERIFY2(message.contains("ref_model") && message.contains("architecture"), qPrintable(message));
    }

    void dpoMatchesLlamaFactory()
    {
        LATHE_REQUIRE_SHARED();
        const auto folders = fixtureFolders();
        QVERIFY2(!folders.empty(), "no fixture folder under shared/fixtures/pref");
        for (const auto& dir : folders) {
            auto l = load(dir);
            const auto& dpo = l.expected["dpo"];
            const auto batch = dpoBatch(dpo["batch"]);
            const QString where = QString::fromStdString(fs::path(dir).filename().string());

            // Per-sequence log-probabilities of the policy and of the reference (adapter off).
            {
                torch::NoGradGuard noGrad;
                const auto n = batch.inputIds.size(0) / 2;
                const auto positions = torch::arange(batch.inputIds.size(1)).unsqueeze(0).expand_as(batch.inputIds);
                auto policy = lathe::sequenceLogProbs(
                    l.model->labelLogProbs(l.model->hiddenStates(batch.inputIds, batch.attentionMask, nullptr, positions),
                                           batch.labels),
                    batch.labels);
                lathe::LoraDisabledScope off(l.model);
                auto reference = lathe::sequenceLogProbs(
                    l.model->labelLogProbs(l.model->hiddenStates(batch.inputIds, batch.attentionMask, nullptr, positions),
                                           batch.labels),
                    batch.labels);
                const auto& want = dpo["logps"];
                for (std::int64_t i = 0; i < n; ++i) {
                    QVERIFY(std::abs(policy.first[i].item<double>() - want["policy"]["chosen_sum"][i].get<double>()) < 1e-4);
                    QVERIFY(std::abs(policy.first[n + i].item<double>() - want["policy"]["rejected_sum"][i].get<double>()) < 1e-4);
                    QVERIFY(std::abs(reference.first[i].item<double>() - want["reference"]["chosen_sum"][i].get<double>()) < 1e-4);
                    QVERIFY(std::abs(reference.first[n + i].item<double>() - want["reference"]["rejected_sum"][i].get<double>()) < 1e-4);
                    QCOMPARE(policy.second[i].item<std::int64_t>(), want["valid_length"]["chosen"][i].get<std::int64_t>());
                }
            }

            int cases = 0;
            for (const auto& c : dpo["cases"]) {
                const QString what = where + " dpo " + describe(c["hp"]);
                auto objective = lathe::makeObjective("dpo", lathe::bindTrainingArguments(argsOf("dpo", c["hp"])));
                objective->prepare(l.model, loraSetup(l, false));
                const auto out = objective->compute(l.model, batch);
                const double loss = out.loss.item<double>(), want = c["loss"].get<double>();
                QVERIFY2(closeRel(loss, want, 1e-5), qPrintable(what + QString(": loss %1, LLaMA-Factory %2").arg(loss, 0, 'g', 9).arg(want, 0, 'g', 9)));
                compareMetrics(out.metrics, c["metrics"], false, what);
                ++cases;
            }
            QVERIFY(cases >= 1);

            for (const auto& g : dpo["grads"]) {
                const QString what = where + " dpo gradients " + describe(g["hp"]);
                auto objective = lathe::makeObjective("dpo", lathe::bindTrainingArguments(argsOf("dpo", g["hp"])));
                objective->prepare(l.model, loraSetup(l, false));
                zeroGrads(l);
                const auto out = objective->compute(l.model, batch);
                QVERIFY(closeRel(out.loss.item<double>(), g["loss"].get<double>(), 1e-5));
                out.loss.backward();
                compareGrads(l.adapter.parameters, g, what);
            }
        }
    }

    void ktoMatchesLlamaFactory()
    {
        LATHE_REQUIRE_SHARED();
        for (const auto& dir : fixtureFolders()) {
            auto l = load(dir);
            const auto& kto = l.expected["kto"];
            const auto batch = ktoBatch(kto["batch"]);
            const QString where = QString::fromStdString(fs::path(dir).filename().string());
            for (const auto& c : kto["cases"]) {
                const QString what = where + " kto " + describe(c["hp"]);
                auto objective = lathe::makeObjective("kto", lathe::bindTrainingArguments(argsOf("kto", c["hp"])));
                objective->prepare(l.model, loraSetup(l, false));
                const auto out = objective->compute(l.model, batch);
                const double loss = out.loss.item<double>(), want = c["loss"].get<double>();
                QVERIFY2(closeRel(loss, want, 1e-5), qPrintable(what + QString(": loss %1, LLaMA-Factory %2").arg(loss, 0, 'g', 9).arg(want, 0, 'g', 9)));
                compareMetrics(out.metrics, c["metrics"], true, what);
            }
            const auto& g = kto["grads"];
            auto objective = lathe::makeObjective("kto", lathe::bindTrainingArguments(argsOf("kto", g["hp"])));
            objective->prepare(l.model, loraSetup(l, false));
            zeroGrads(l);
            const auto out = objective->compute(l.model, batch);
            QVERIFY(closeRel(out.loss.item<double>(), g["loss"].get<double>(), 1e-5));
            out.loss.backward();
            compareGrads(l.adapter.parameters, g, where + " kto gradients");
        }
    }

    void rewardModelMatchesLlamaFactory()
    {
        LATHE_REQUIRE_SHARED();
        for (const auto& dir : fixtureFolders()) {
            auto l = load(dir);
            const auto& rm = l.expected["rm"];
            const auto batch = dpoBatch(l.expected["dpo"]["batch"]);
            const QString where = QString::fromStdString(fs::path(dir).filename().string()) + " rm";
            lathe::ArgumentSet args;
            args.setValue("stage", "rm");
            auto objective = lathe::makeObjective("rm", lathe::bindTrainingArguments(args));
            objective->prepare(l.model, loraSetup(l, true)); // reads adapter/value_head.safetensors
            auto head = objective->parameters();
            QCOMPARE(head.size(), std::size_t(2));
            zeroGrads(l, head);
            const auto out = objective->compute(l.model, batch);
            QVERIFY2(closeRel(out.loss.item<double>(), rm["loss"].get<double>(), 1e-5),
                     qPrintable(where + QString(": loss %1, LLaMA-Factory %2").arg(out.loss.item<double>()).arg(rm["loss"].get<double>())));
            QVERIFY(std::abs(out.metrics.means().front().second - rm["accuracy"].get<double>()) < 1e-6);
            out.loss.backward();
            auto all = l.adapter.parameters;
            all.insert(all.end(), head.begin(), head.end());
            compareGrads(all, rm["grads"], where + " gradients");

            // The same value head on the base model (adapter off).
            torch::NoGradGuard noGrad;
            lathe::LoraDisabledScope off(l.model);
            const auto base = objective->compute(l.model, batch);
            QVERIFY(std::abs(base.metrics.means().front().second - rm["base_without_adapter"]["accuracy"].get<double>()) < 1e-6);

            // value_head.safetensors round trip.
            const QString out_dir = lathe::test::scratchDir("rm_value_head");
            objective->save(out_dir.toStdString());
            auto again = lathe::makeObjective("rm", lathe::bindTrainingArguments(args));
            lathe::ObjectiveSetup setup = loraSetup(l, false);
            setup.adapters = {out_dir.toStdString()};
            again->prepare(l.model, setup);
            QVERIFY(torch::equal(again->parameters()[0].second, head[0].second));
            QVERIFY(torch::equal(again->parameters()[1].second, head[1].second));
        }
    }
};

QTEST_APPLESS_MAIN(TestPreference)
#include "tst_preference.moc"

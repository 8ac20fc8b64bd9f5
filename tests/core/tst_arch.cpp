// The model families against HF transformers + PEFT (shared/fixtures/hf-arch/*: Gemma 2, Gemma 3 text, Phi-3,
// GLM, Qwen3-MoE, Mixtral, and whatever folders are added): for every fixture found, the base model and the
// model with its LoRA adapter give transformers' logits (1e-4), argmax and losses, the same greedy ids with
// and without the KV cache, PEFT's LoRA gradients (1e-4 relative), for mixture-of-experts models the router
// load-balancing loss (1e-5) and the gradients of CE + coef x aux; the adapter merged into the weights gives
// PEFT's merged weights and the adapter's logits.
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QtTest/QtTest>

#include "kernels/kernel_paths.h"

#include "error_check.h"
#include "generation/generator.h"
#include "io/safetensors.h"
#include "lora/lora_adapter.h"
#include "model/arch/architecture.h"
#include "model/model_loader.h"
#include "model/new_model.h"
#include "tiny_model.h"
#include "train/trainer.h"
#include "test_support.h"
#include "util/file_util.h"

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> fixtureFolders()
{
    return lathe::test::fixtureFolders("hf-arch");
}

std::vector<std::int64_t> ids(const json& j)
{
    return j.get<std::vector<std::int64_t>>();
}

/// Greedy decoding without the KV cache: the whole sequence through the model at every step.
std::vector<std::int64_t> greedyWithoutCache(lathe::CausalLM& model, std::vector<std::int64_t> tokens, int count)
{
    torch::NoGradGuard noGrad;
    std::vector<std::int64_t> out;
    for (int i = 0; i < count; ++i) {
        const auto logits = model->forward(torch::tensor(tokens, torch::kLong).unsqueeze(0));
        const auto next = logits[0][-1].argmax().item<std::int64_t>();
        out.push_back(next);
        tokens.push_back(next);
    }
    return out;
}

QString nameOf(const std::string& dir)
{
    return QString::fromStdString(fs::path(dir).filename().string());
}

/// Logits, argmax, loss, greedy ids (with and without the cache) and MoE aux loss of one case and tag.
void checkCase(lathe::CausalLM& model, const json& c, const json& want, const QString& what)
{
    torch::NoGradGuard noGrad;
    const auto input = torch::tensor(ids(c["input_ids"]), torch::kLong).unsqueeze(0);
    const auto logits = model->forward(input);
    const auto ref = torch::tensor(want["logits_last"].get<std::vector<float>>());
    const double diff = (logits[0][-1] - ref).abs().max().item<double>();
    QVERIFY2(diff < 1e-4, qPrintable(what + QString(": last logits differ by %1").arg(diff)));
    const auto argmax = logits[0].argmax(-1);
    QCOMPARE(std::vector<std::int64_t>(argmax.data_ptr<std::int64_t>(), argmax.data_ptr<std::int64_t>() + argmax.numel()),
             ids(want["argmax"]));
    const double loss = model->loss(input, input).item<double>();
    QVERIFY2(std::abs(loss - want["loss"].get<double>()) < 1e-4,
             qPrintable(what + QString(": loss %1, transformers %2").arg(loss).arg(want["loss"].get<double>())));
    if (want.contains("router_aux_loss")) {
        const double aux = model->routerAuxLoss().item<double>();
        QVERIFY2(std::abs(aux - want["router_aux_loss"].get<double>()) < 1e-5,
                 qPrintable(what + QString(": router aux loss %1, transformers %2").arg(aux).arg(want["router_aux_loss"].get<double>())));
    }
    const auto greedyIds = ids(want["greedy"]);
    lathe::GenerationOptions options;
    options.max_new_tokens = int(greedyIds.size());
    const auto cached = lathe::greedyGenerate(model, ids(c["input_ids"]), options);
    QVERIFY2(cached.output_ids == greedyIds, qPrintable(what + ": greedy ids with the KV cache differ"));
    QVERIFY2(greedyWithoutCache(model, ids(c["input_ids"]), int(greedyIds.size())) == greedyIds,
             qPrintable(what + ": greedy ids without the KV cache differ"));
}

/// A small random model of `family` (2 layers, 4 heads on 2 kv heads, 4 experts for the MoE families) to write
/// with writeNewModel.
lathe::NewModelOptions familyModel(const std::string& family, int hidden, int intermediate, int headDim,
                                   int slidingWindow, const fs::path& out, const std::string& dtype)
{
    lathe::NewModelOptions o;
    o.arch = family;
    o.config = json{{"vocab_size", 300}, {"hidden_size", hidden}, {"intermediate_size", intermediate},
                    {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
                    {"head_dim", headDim}, {"num_experts", 4}, {"num_local_experts", 4}, {"num_experts_per_tok", 2},
                    {"moe_intermediate_size", 32}, {"shared_expert_intermediate_size", 48},
                    {"router_aux_loss_coef", 0.02}, {"sliding_window", slidingWindow}, {"eos_token_id", 258},
                    {"pad_token_id", 256}, {"initializer_range", 0.1}}
                   .dump();
    o.outDir = out.string();
    o.dtype = dtype;
    return o;
}

void compareGrads(const lathe::AttachedAdapter& adapter, const json& g, const QString& what)
{
    std::size_t compared = 0;
    for (const auto& [name, t] : adapter.parameters) {
        if (!g["grad_norm"].contains(name))
            continue;
        QVERIFY2(t.grad().defined(), qPrintable(what + ": no gradient for " + name.c_str()));
        const double norm = t.grad().norm().item<double>(), want = g["grad_norm"][name].get<double>();
        QVERIFY2(std::abs(norm - want) <= 1e-4 * std::max(std::abs(want), 1e-3),
                 qPrintable(what + QString(": %1 grad norm %2, PEFT %3").arg(name.c_str()).arg(norm).arg(want)));
        const auto first = t.grad().reshape({-1}).slice(0, 0, 8);
        const auto ref = torch::tensor(g["grad_first8"][name].get<std::vector<float>>());
        const double d = (first - ref).abs().max().item<double>();
        QVERIFY2(d <= 1e-4 * std::max(1.0, ref.abs().max().item<double>()),
                 qPrintable(what + QString(": %1 first values differ by %2").arg(name.c_str()).arg(d)));
        ++compared;
    }
    QCOMPARE(compared, std::size_t(g["grad_norm"].size()));
}

} // namespace

class TestArch : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { torch::set_num_threads(1); }

    void logitsAndGreedyMatchTransformers()
    {
        LATHE_REQUIRE_SHARED();
        const auto folders = fixtureFolders();
        QVERIFY2(!folders.empty(), "no fixture under shared/fixtures/hf-arch");
        for (const auto& dir : folders) {
            const auto expected = json::parse(lathe::readTextFile(dir + "/expected.json"));
            auto model = lathe::loadModel(dir + "/model", {torch::kCPU, torch::kFloat32});
            for (std::size_t i = 0; i < expected["cases"].size(); ++i)
                checkCase(model, expected["cases"][i], expected["cases"][i]["base"],
                          nameOf(dir) + QString(" case %1 base").arg(i));
            lathe::attachLoraAdapter(model, dir + "/adapter");
            for (std::size_t i = 0; i < expected["cases"].size(); ++i)
                checkCase(model, expected["cases"][i], expected["cases"][i]["adapter"],
                          nameOf(dir) + QString(" case %1 adapter").arg(i));
            qInfo("%s (%s): %zu cases, base and adapter", qPrintable(nameOf(dir)),
                  model->config().model_type.c_str(), expected["cases"].size());
        }
    }

    void loraGradientsMatchPeft()
    {
        LATHE_REQUIRE_SHARED();
        for (const auto& dir : fixtureFolders()) {
            const auto expected = json::parse(lathe::readTextFile(dir + "/expected.json"));
            auto model = lathe::loadModel(dir + "/model", {torch::kCPU, torch::kFloat32});
            for (auto& p : model->parameters())
                p.requires_grad_(false);
            const auto adapter = lathe::attachLoraAdapter(model, dir + "/adapter");
            for (const auto& [name, t] : adapter.parameters)
                t.requires_grad_(true);
            const auto& g = expected["grad_case"];
            const auto input = torch::tensor(ids(g["input_ids"]), torch::kLong).unsqueeze(0);
            const auto labels = torch::tensor(ids(g["labels"]), torch::kLong).unsqueeze(0);
            auto loss = model->loss(input, labels);
            QVERIFY2(std::abs(loss.item<double>() - g["loss"].get<double>()) < 1e-4, qPrintable(nameOf(dir)));
            loss.backward();
            compareGrads(adapter, g, nameOf(dir) + " grad_case");
            if (!expected.contains("grad_case_router_aux"))
                continue;
            // Mixture of experts: CE + coef x aux, as LLaMA-Factory trains it.
            const auto& r = expected["grad_case_router_aux"];
            for (const auto& [name, t] : adapter.parameters)
                t.grad().zero_();
            const auto ce = model->loss(input, labels);
            const auto aux = model->routerAuxLoss();
            QVERIFY(std::abs(aux.item<double>() - r["router_aux_loss"].get<double>()) < 1e-5);
            const auto total = ce + r["router_aux_loss_coef"].get<double>() * aux;
            QVERIFY2(std::abs(total.item<double>() - r["loss"].get<double>()) < 1e-4, qPrintable(nameOf(dir)));
            total.backward();
            compareGrads(adapter, r, nameOf(dir) + " grad_case_router_aux");
        }
    }

    void loraTargetAllIsLlamaFactorys()
    {
        // lora_target: all selects the modules LLaMA-Factory's find_all_linear_modules does (every linear layer
        // but lm_head: fused projections, every expert, and the router of MoE models), as many as PEFT wraps.
        LATHE_REQUIRE_SHARED();
        for (const auto& dir : fixtureFolders()) {
            const auto expected = json::parse(lathe::readTextFile(dir + "/expected.json"));
            auto model = lathe::loadModel(dir + "/model", {torch::kCPU, torch::kFloat32});
            const auto modules = lathe::resolveLoraTargets(model, {"all"});
            std::set<std::string> leaves;
            for (const auto& m : modules)
                leaves.insert(m.substr(m.rfind('.') + 1));
            const auto want = expected["spec"]["llamafactory_all"].get<std::set<std::string>>();
            QVERIFY2(leaves == want, qPrintable(nameOf(dir)));
            QCOMPARE(std::int64_t(modules.size()), expected["spec"]["peft_all_linear"]["num_modules"].get<std::int64_t>());
        }
    }

    void mergedAdapterMatchesPeft()
    {
        LATHE_REQUIRE_SHARED();
        for (const auto& dir : fixtureFolders()) {
            const auto expected = json::parse(lathe::readTextFile(dir + "/expected.json"));
            auto model = lathe::loadModel(dir + "/model", {torch::kCPU, torch::kFloat32});
            const auto attached = lathe::attachLoraAdapter(model, dir + "/adapter");
            QCOMPARE(lathe::mergeLoraAdapters(model), attached.modules);
            const auto merged = lathe::WeightStore::openDir(dir + "/merged");
            torch::NoGradGuard noGrad;
            for (const auto& p : model->named_parameters()) {
                if (!merged.contains(p.key()))
                    continue; // tied lm_head
                const double diff = (p.value() - merged.get(p.key()).to(torch::kFloat32)).abs().max().item<double>();
                QVERIFY2(diff < 1e-5, qPrintable(nameOf(dir) + ": " + p.key().c_str() + QString(" differs by %1").arg(diff)));
            }
            const auto& c = expected["cases"][0];
            const auto logits = model->forward(torch::tensor(ids(c["input_ids"]), torch::kLong).unsqueeze(0));
            const auto ref = torch::tensor(c["adapter"]["logits_last"].get<std::vector<float>>());
            const double diff = (logits[0][-1] - ref).abs().max().item<double>();
            QVERIFY2(diff < 1e-4, qPrintable(nameOf(dir) + QString(": merged logits differ by %1").arg(diff)));
        }
    }

    // Every registered family: `new-model` writes a small random model that loads back (config.json with the
    // family's keys, every tensor of its table), and LoRA fine-tuning of it through runTraining (what
    // `lathe train` runs) lowers the loss; for mixture-of-experts models the router's aux loss is logged.
    void everyFamilyIsMadeAndTrained()
    {
        const fs::path root = lathe::test::scratchDir("arch_families").toStdString();
        lathe::test::writeByteTokenizer(root / "tokenizer");
        std::vector<std::pair<std::string, std::string>> qa;
        for (int i = 0; i < 8; ++i)
            qa.emplace_back("What is " + std::to_string(i) + " plus one?", "It is " + std::to_string(i + 1) + ".");
        lathe::test::writeAlpacaDataset(root / "data", "qa", qa);
        for (const auto* arch : lathe::architectures()) {
            const std::string family = arch->model_type;
            lathe::NewModelOptions o = familyModel(family, 32, 64, 8, 16, root / family, "float32");
            o.tokenizerDir = (root / "tokenizer").string();
            LATHE_VERIFY_NO_ERROR(lathe::writeNewModel(o));
            auto model = lathe::loadModel(o.outDir, {torch::kCPU, torch::kFloat32});
            QCOMPARE(QString::fromStdString(model->config().model_type), QString::fromStdString(family));

            lathe::ArgumentSet args;
            for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
                     {"model_name_or_path", o.outDir}, {"stage", "sft"}, {"do_train", "true"},
                     {"finetuning_type", "lora"}, {"lora_rank", "4"}, {"dataset", "qa"},
                     {"dataset_dir", (root / "data").string()}, {"template", "qwen"}, {"cutoff_len", "64"},
                     {"output_dir", (root / ("run_" + family)).string()}, {"per_device_train_batch_size", "4"},
                     {"learning_rate", "1e-2"}, {"max_steps", "8"}, {"logging_steps", "1"}, {"seed", "1"},
                     {"tokenized_path", (root / "cache").string()}})
                args.set(k, v);
            std::vector<std::string> logs;
            lathe::TrainCallbacks cb;
            cb.log = [&](const std::string& line) { logs.push_back(line); };
            const auto result = lathe::runTraining(args, cb);
            QVERIFY2(result.stepLosses.back() < result.stepLosses.front(),
                     qPrintable(QString::fromStdString(family) + QString(": loss %1 -> %2")
                                                                    .arg(result.stepLosses.front())
                                                                    .arg(result.stepLosses.back())));
            // Batched generation (predict, the API's n > 1): left-padded prompts of different lengths give each
            // prompt's own greedy ids, through every family's masks (sliding windows included) and experts.
            {
                auto trained = lathe::loadModel(o.outDir, {torch::kCPU, torch::kFloat32});
                lathe::loadInferenceAdapters(trained, {(root / ("run_" + family)).string()});
                const std::vector<std::vector<std::int64_t>> prompts = {
                    {72, 101, 108, 108, 111, 44, 32, 119, 104, 111, 32, 97, 114, 101, 32, 121, 111, 117, 63},
                    {87, 104, 97, 116, 32, 105, 115, 32, 51}};
                lathe::GenerationOptions g;
                g.max_new_tokens = 12;
                g.eos_token_ids = {};
                const auto batch = lathe::greedyGenerateBatch(trained, prompts, g);
                for (std::size_t p = 0; p < prompts.size(); ++p)
                    QVERIFY2(batch[p] == lathe::greedyGenerate(trained, prompts[p], g).output_ids,
                             qPrintable(QString::fromStdString(family) + QString(": batched prompt %1").arg(p)));
            }
            const bool moe = model->config().num_experts > 0;
            const bool auxLogged = std::any_of(logs.begin(), logs.end(), [](const std::string& l) {
                return l.find("'aux_loss'") != std::string::npos;
            });
            QVERIFY2(auxLogged == moe, family.c_str());
        }
    }

    // kernels/inference_ops in every family, in bf16: a left-padded batch's prefill and cached decode steps
    // (sliding windows shorter than the sequence, soft-caps, partial and interleaved RoPE, q/k norms, experts)
    // give the logits of libtorch's op chains (LATHE_KERNELS fused=torch) within bf16 rounding.
    void fusedOpsMatchTorchOps()
    {
        const fs::path root = lathe::test::scratchDir("arch_fused").toStdString();
        const lathe::KernelPaths chosen = lathe::kernelPaths();
        lathe::KernelPaths unfused = chosen;
        unfused.fused = false;
        torch::NoGradGuard noGrad;
        for (const auto* arch : lathe::architectures()) {
            const std::string family = arch->model_type;
            const lathe::NewModelOptions o = familyModel(family, 64, 96, 16, 6, root / family, "bfloat16");
            LATHE_VERIFY_NO_ERROR(lathe::writeNewModel(o));
            auto model = lathe::loadModel(o.outDir, {torch::kCPU, torch::kBFloat16});
            // Two prompts, the second left-padded by 3; a prefill of 9 then 5 single-token steps.
            const auto ids = torch::randint(0, 256, {2, 14}, torch::kLong);
            auto mask = torch::ones({2, 14}, torch::kLong);
            mask.index_put_({1, torch::indexing::Slice(0, 3)}, 0);
            auto run = [&](const lathe::KernelPaths& paths) {
                lathe::setKernelPaths(paths);
                auto cache = model->makeCache();
                std::vector<torch::Tensor> logits{model->forward(ids.narrow(1, 0, 9), mask.narrow(1, 0, 9), &cache)};
                for (std::int64_t t = 9; t < 14; ++t)
                    logits.push_back(model->forward(ids.narrow(1, t, 1), mask.narrow(1, 0, t + 1), &cache));
                return torch::cat(logits, 1);
            };
            const auto fused = run(chosen), reference = run(unfused);
            lathe::setKernelPaths(chosen);
            // Padding rows attend to nothing real: compare the real positions only. A router's top-k can flip on
            // one bf16 rounding and send a token to another expert: in mixture-of-experts families a tenth of the
            // positions may differ more.
            const auto real = mask.to(torch::kBool);
            const auto worst = std::get<0>((fused - reference).abs().max(-1)).masked_select(real); // per position
            const double scale = reference.abs().max().item<double>();
            const double within = worst.le(0.03 * scale).to(torch::kDouble).mean().item<double>();
            const bool moe = model->config().num_experts > 0;
            QVERIFY2(within >= (moe ? 0.9 : 1.0),
                     qPrintable(QString::fromStdString(family) + QString(": %1 of positions within bf16 rounding, worst %2 of %3")
                                                                    .arg(within).arg(worst.max().item<double>()).arg(scale)));
            QVERIFY2(worst.mean().item<double>() <= 0.01 * scale, family.c_str());
        }
    }
};

QTEST_APPLESS_MAIN(TestArch)
#include "tst_arch.moc"

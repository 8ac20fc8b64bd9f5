// The memory a training run needs, from config.json and the arguments alone (see trainer.h).
#include <algorithm>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

#include "data/dataset_loader.h"
#include "model/arch/architecture.h"
#include "model/model_config.h"
#include "train/finetuning.h"
#include "train/run_settings.h"
#include "train/trainer.h"

#include "config/stages.h"
#include "config/training_arguments.h"
#include "util/error.h"
#include "util/memory_limits.h"

namespace lathe {

namespace {

std::int64_t elements(const std::vector<std::int64_t>& shape)
{
    std::int64_t n = 1;
    for (auto d : shape)
        n *= d;
    return n;
}

/// The leaf module of a weight name: "model.layers.3.self_attn.q_proj.weight" -> "q_proj".
std::string leafModule(const std::string& name)
{
    const auto end = name.rfind('.');
    const auto start = name.rfind('.', end - 1);
    return name.substr(start + 1, end - start - 1);
}

/// "1.23 GiB", "45.6 MiB" or "7.8 KiB": small models and LoRA weights get a readable figure too.
std::string size(std::int64_t bytes)
{
    std::ostringstream o;
    o << std::fixed;
    if (bytes >= (1LL << 30))
        o << std::setprecision(2) << double(bytes) / double(1LL << 30) << " GiB";
    else if (bytes >= (1LL << 20))
        o << std::setprecision(1) << double(bytes) / double(1LL << 20) << " MiB";
    else
        o << std::setprecision(1) << double(bytes) / 1024.0 << " KiB";
    return o.str();
}

} // namespace

std::int64_t activationBytes(const ModelConfig& c, std::int64_t batchSize, std::int64_t cutoffLen,
                             bool gradientCheckpointing, std::int64_t width)
{
    // Per token and layer, what autograd keeps: on CPU most of it is float32 (LoRA inputs, attention, norm
    // intermediates), about 24 H + 12 I floats, calibrated on Qwen3-0.6B (bench_train: 59 MB per layer at 256
    // tokens); plus scores and probabilities per head. Checkpointing keeps one layer's worth and each
    // layer's input. The fused loss keeps one float32 [rows, vocab] buffer (at most 256 MB) at a time.
    const std::int64_t tokens = batchSize * cutoffLen;
    const std::int64_t perLayer = tokens * (24 * c.hidden_size + 12 * c.intermediate_size) * 4 +
                                  batchSize * c.num_attention_heads * cutoffLen * cutoffLen * 4 * 2;
    const std::int64_t layers = gradientCheckpointing ? 1 : c.num_hidden_layers;
    return perLayer * layers + tokens * c.hidden_size * width * c.num_hidden_layers +
           std::min<std::int64_t>(tokens * c.vocab_size * 4, std::int64_t(256) << 20);
}

bool needsReferenceCopy(const TrainingArguments& a)
{
    const bool reference = a.stage == "kto" || (a.stage == "dpo" && a.prefLoss != "orpo" && a.prefLoss != "simpo");
    return reference && (a.finetuningType != "lora" || !a.refModel.empty());
}

MemoryEstimate estimateTrainingMemory(const ArgumentSet& args)
{
    const TrainingArguments a = bindTrainingArguments(args);
    if (a.modelPath.empty())
        fail("model_name_or_path: required");
    const ModelConfig c = ModelConfig::fromDir(a.modelPath);
    const std::int64_t width = a.bf16 || a.pureBf16 || a.fp16 ? 2 : 4;
    const std::int64_t trainWidth = a.pureBf16 ? 2 : 4;
    const std::string& type = a.finetuningType;
    const auto table = tensorTable(c);

    const std::set<std::string> targets(a.loraTarget.begin(), a.loraTarget.end());
    const bool allLinear = targets.empty() || targets.count("all");
    const std::int64_t rank = std::max<std::int64_t>(1, a.loraRank);
    const FreezeSelection freeze(c.num_hidden_layers, a.freezeLayers, a.freezeModules, a.freezeExtra);

    MemoryEstimate m;
    std::int64_t trainableCount = 0;
    for (const auto& spec : table) {
        const std::int64_t n = elements(spec.shape);
        if (type == "full" || (type == "freeze" && freeze.trains(spec.name)))
            trainableCount += n;
        else
            m.weights += n * width;
        // LoRA on a linear layer of the decoder: r x in (lora_A) + out x r (lora_B), as the trainer attaches them.
        if (type == "lora" && spec.name.find(".layers.") != std::string::npos && spec.shape.size() == 2 &&
            (allLinear || targets.count(leafModule(spec.name))))
            trainableCount += rank * (spec.shape[0] + spec.shape[1]);
    }
    if (a.stage == "rm")
        trainableCount += c.hidden_size + 1; // the value head
    // dpo / kto with full or freeze tuning (or an explicit ref_model) hold a frozen reference copy.
    if (needsReferenceCopy(a)) {
        std::int64_t all = 0;
        for (const auto& spec : table)
            all += elements(spec.shape);
        m.weights += all * width;
    }
    m.trainable = trainableCount * trainWidth;
    // Gradient + two float32 moments; ZeRO stage 1 divides the moments between the workers, stage 2 the
    // gradients too.
    m.workers = int(std::max<std::int64_t>(1, a.nprocPerNode.value_or(1)));
    int stage = 0;
    try {
        stage = readDeepSpeedConfig(a.deepspeed).zeroStage;
    } catch (const Error&) {
        // The run itself reports a bad config; the estimate assumes no sharding.
    }
    m.optimizer = trainableCount * trainWidth / (stage >= 2 ? m.workers : 1) +
                  trainableCount * 8 / (stage >= 1 ? m.workers : 1);
    // Pairs (rm, dpo) put two sequences per example through the model with gradients.
    const std::int64_t rows = stageUsesRanking(a.stage) ? 2 : 1;
    m.activations = activationBytes(c, rows * std::max<std::int64_t>(1, a.batchSize),
                                    std::max<std::int64_t>(1, a.cutoffLen), a.gradientCheckpointing(), width);
    return m;
}

std::string MemoryEstimate::describe() const
{
    return "weights " + size(weights) + " + trainable " + size(trainable) + " + gradients and AdamW " +
           size(optimizer) + " + activations " + size(activations) + " = " + size(total()) +
           (workers > 1 ? " per worker (" + std::to_string(workers) + " workers)" : std::string());
}

std::int64_t availableHostBytes()
{
    return std::max<std::int64_t>(0, MemoryLimits::current().available);
}

} // namespace lathe

#include "config/training_arguments.h"

#include <functional>

namespace lathe {

namespace {

using json = nlohmann::json;
using Args = TrainingArguments;

std::vector<std::string> listOf(const json& v)
{
    std::vector<std::string> out;
    if (!v.is_string())
        return out;
    std::string item;
    for (char ch : v.get<std::string>() + ",") {
        if (ch == ',') {
            const auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
            if (b != std::string::npos)
                out.push_back(item.substr(b, e - b + 1));
            item.clear();
        } else {
            item += ch;
        }
    }
    return out;
}

// Conversions from a schema value to a field, and which schema types each field type accepts.
void assign(std::string& f, const json& v) { f = v.is_null() ? std::string() : v.get<std::string>(); }
void assign(std::vector<std::string>& f, const json& v) { f = listOf(v); }
void assign(bool& f, const json& v) { f = !v.is_null() && v.get<bool>(); }
void assign(std::int64_t& f, const json& v) { f = v.is_null() ? 0 : v.get<std::int64_t>(); }
void assign(double& f, const json& v) { f = v.is_null() ? 0 : v.get<double>(); }
void assign(std::optional<std::int64_t>& f, const json& v)
{
    f = v.is_null() ? std::nullopt : std::optional<std::int64_t>(v.get<std::int64_t>());
}
void assign(std::optional<double>& f, const json& v)
{
    f = v.is_null() ? std::nullopt : std::optional<double>(v.get<double>());
}
void assign(std::optional<bool>& f, const json& v)
{
    f = v.is_null() ? std::nullopt : std::optional<bool>(v.get<bool>());
}

bool fits(const std::string*, ArgType t) { return t == ArgType::String || t == ArgType::Choice; }
bool fits(const std::vector<std::string>*, ArgType t) { return t == ArgType::String; }
bool fits(const bool*, ArgType t) { return t == ArgType::Bool; }
bool fits(const std::optional<bool>*, ArgType t) { return t == ArgType::Bool; }
bool fits(const std::int64_t*, ArgType t) { return t == ArgType::Int; }
bool fits(const std::optional<std::int64_t>*, ArgType t) { return t == ArgType::Int; }
bool fits(const double*, ArgType t) { return t == ArgType::Float || t == ArgType::Int; }
bool fits(const std::optional<double>*, ArgType t) { return t == ArgType::Float || t == ArgType::Int; }

struct Binding
{
    const char* key;
    std::function<void(Args&, const json&)> set;
    std::function<bool(ArgType)> fitsType;
};

template <class T>
Binding bind(const char* key, T Args::*field)
{
    return {key, [field](Args& a, const json& v) { assign(a.*field, v); },
            [](ArgType t) { return fits(static_cast<const T*>(nullptr), t); }};
}

// The one table: schema key -> field.
const std::vector<Binding>& bindings()
{
    static const std::vector<Binding> table = {
        bind("model_name_or_path", &Args::modelPath),
        bind("adapter_name_or_path", &Args::adapters),
        bind("template", &Args::templateName),
        bind("rope_scaling", &Args::ropeScaling),
        bind("device", &Args::device),
        bind("nproc_per_node", &Args::nprocPerNode),
        bind("deepspeed", &Args::deepspeed),
        bind("ddp_timeout", &Args::ddpTimeout),
        bind("ddp_bucket_cap_mb", &Args::ddpBucketCapMb),
        bind("stage", &Args::stage),
        bind("finetuning_type", &Args::finetuningType),
        bind("do_train", &Args::doTrain),
        bind("do_eval", &Args::doEval),
        bind("do_predict", &Args::doPredict),
        bind("train_from_scratch", &Args::trainFromScratch),
        bind("lora_rank", &Args::loraRank),
        bind("lora_alpha", &Args::loraAlpha),
        bind("lora_dropout", &Args::loraDropout),
        bind("lora_target", &Args::loraTarget),
        bind("additional_target", &Args::additionalTarget),
        bind("use_rslora", &Args::useRslora),
        bind("use_dora", &Args::useDora),
        bind("create_new_adapter", &Args::createNewAdapter),
        bind("freeze_trainable_layers", &Args::freezeLayers),
        bind("freeze_trainable_modules", &Args::freezeModules),
        bind("freeze_extra_modules", &Args::freezeExtra),
        bind("pref_beta", &Args::prefBeta),
        bind("pref_ftx", &Args::prefFtx),
        bind("pref_loss", &Args::prefLoss),
        bind("dpo_label_smoothing", &Args::dpoLabelSmoothing),
        bind("simpo_gamma", &Args::simpoGamma),
        bind("ld_alpha", &Args::ldAlpha),
        bind("pref_bco_weight", &Args::prefBcoWeight),
        bind("kto_chosen_weight", &Args::ktoChosenWeight),
        bind("kto_rejected_weight", &Args::ktoRejectedWeight),
        bind("ref_model", &Args::refModel),
        bind("ref_model_adapters", &Args::refModelAdapters),
        bind("dataset", &Args::datasets),
        bind("eval_dataset", &Args::evalDatasets),
        bind("dataset_dir", &Args::datasetDir),
        bind("cutoff_len", &Args::cutoffLen),
        bind("max_samples", &Args::maxSamples),
        bind("preprocessing_num_workers", &Args::workers),
        bind("overwrite_cache", &Args::overwriteCache),
        bind("val_size", &Args::valSize),
        bind("packing", &Args::packingSet),
        bind("neat_packing", &Args::neatPacking),
        bind("train_on_prompt", &Args::trainOnPrompt),
        bind("mask_history", &Args::maskHistory),
        bind("enable_thinking", &Args::enableThinking),
        bind("default_system", &Args::defaultSystem),
        bind("tokenized_path", &Args::tokenizedPath),
        bind("output_dir", &Args::outputDir),
        bind("logging_steps", &Args::loggingSteps),
        bind("save_steps", &Args::saveSteps),
        bind("save_total_limit", &Args::saveTotalLimit),
        bind("plot_loss", &Args::plotLoss),
        bind("overwrite_output_dir", &Args::overwriteOutputDir),
        bind("save_only_model", &Args::saveOnlyModel),
        bind("per_device_train_batch_size", &Args::batchSize),
        bind("gradient_accumulation_steps", &Args::accumulation),
        bind("learning_rate", &Args::learningRate),
        bind("num_train_epochs", &Args::epochs),
        bind("max_steps", &Args::maxSteps),
        bind("lr_scheduler_type", &Args::lrScheduler),
        bind("warmup_ratio", &Args::warmupRatio),
        bind("warmup_steps", &Args::warmupSteps),
        bind("weight_decay", &Args::weightDecay),
        bind("adam_beta1", &Args::beta1),
        bind("adam_beta2", &Args::beta2),
        bind("adam_epsilon", &Args::adamEps),
        bind("max_grad_norm", &Args::maxGradNorm),
        bind("bf16", &Args::bf16),
        bind("fp16", &Args::fp16),
        bind("pure_bf16", &Args::pureBf16),
        bind("seed", &Args::seed),
        bind("disable_gradient_checkpointing", &Args::disableGradientCheckpointing),
        bind("neftune_noise_alpha", &Args::neftuneAlpha),
        bind("resume_from_checkpoint", &Args::resumeFrom),
        bind("per_device_eval_batch_size", &Args::evalBatchSize),
        bind("eval_strategy", &Args::evalStrategy),
        bind("eval_steps", &Args::evalStepsSet),
        bind("load_best_model_at_end", &Args::loadBestAtEnd),
    };
    return table;
}

void resolve(Args& a)
{
    // LLaMA-Factory's derived defaults.
    if (a.loraTarget.empty())
        a.loraTarget = {"all"};
    a.packing = a.packingSet.value_or(a.stage == "pt");
    a.evalSteps = a.evalStepsSet.value_or(a.loggingSteps);
    if (a.datasetDir.empty())
        a.datasetDir = "data";
}

} // namespace

TrainingArguments bindTrainingArguments(const ArgumentSet& args)
{
    TrainingArguments a;
    for (const auto& b : bindings())
        b.set(a, args.get(b.key));
    resolve(a);
    return a;
}

std::vector<std::string> checkTrainingBindings()
{
    std::vector<std::string> problems;
    for (const auto& b : bindings()) {
        const ArgSpec* spec = findArgument(b.key);
        if (!spec)
            problems.push_back(std::string(b.key) + ": bound to a field but not in the argument schema");
        else if (!b.fitsType(spec->type))
            problems.push_back(std::string(b.key) + ": the schema's type does not fit the field it is bound to");
    }
    return problems;
}

std::vector<std::string> boundTrainingKeys()
{
    std::vector<std::string> keys;
    for (const auto& b : bindings())
        keys.push_back(b.key);
    return keys;
}

} // namespace lathe

#include "train/predict.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>

#include <torch/torch.h>

#include "data/dataset_attr.h"
#include "data/dataset_loader.h"
#include "data/processor.h"
#include "eval/similarity_metrics.h"
#include "generation/generator.h"
#include "lora/lora_adapter.h"
#include "model/model_loader.h"
#include "runtime/device.h"
#include "template/chat_template.h"
#include "template/template_jinja.h"
#include "train/trainer_log.h"
#include "util/error.h"
#include "util/file_util.h"
#include "util/json_text.h"

namespace lathe {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double roundTo(double v, double scale)
{
    return std::round(v * scale) / scale;
}

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// One example of the prediction set.
struct PredictExample
{
    std::vector<TokenId> inputIds;
    std::vector<TokenId> labels;
};

// The prediction set: eval_dataset, else dataset; each example through the unsupervised processor.
std::vector<PredictExample> loadPredictionSet(const ArgumentSet& args, const TemplateEncoder& encoder,
                                              const TrainCallbacks& callbacks)
{
    std::string names = args.getString("eval_dataset");
    if (names.empty())
        names = args.getString("dataset");
    if (names.empty())
        fail("do_predict: set eval_dataset (or dataset) to the examples to predict");
    std::string datasetDir = args.getString("dataset_dir");
    if (datasetDir.empty())
        datasetDir = "data";
    const auto registry = DatasetRegistry::load(datasetDir);

    DatasetLoadOptions load;
    load.stage = "sft";
    load.seed = static_cast<std::uint64_t>(args.getInt("seed"));
    if (!args.get("max_samples").is_null())
        load.maxSamples = args.getInt("max_samples");
    ProcessOptions process;
    process.cutoffLen = args.getInt("cutoff_len");
    process.chat.enableThinking = args.isSet("enable_thinking") ? args.getBool("enable_thinking") : true;
    if (!args.getString("default_system").empty())
        process.chat.defaultSystem = args.getString("default_system");

    std::vector<PredictExample> out;
    for (const auto& name : splitNames(names)) {
        const auto loaded = loadDataset(registry, name, load);
        for (const auto& issue : loaded.issues)
            if (callbacks.log)
                callbacks.log("Warning: " + issue.text());
        std::int64_t dropped = 0;
        for (const auto& ex : loaded.examples) {
            if (ex.prompt.size() % 2 != 1) { // LLaMA-Factory: "Dropped invalid example"
                ++dropped;
                if (callbacks.log)
                    callbacks.log("Warning: dataset " + name + " record " + std::to_string(ex.record) +
                                  ": dropped (the prompt needs an odd number of turns)");
                continue;
            }
            TokenizedExample t;
            try {
                t = encodeUnsupervised(encoder, ex, process);
            } catch (const Error& e) {
                fail("dataset ", name, " record ", ex.record, ": ", e.what());
            }
            if (t.inputIds.empty())
                fail("dataset ", name, " record ", ex.record, ": the prompt encodes to no tokens");
            out.push_back({std::move(t.inputIds), std::move(t.labels)});
        }
        if (callbacks.log)
            callbacks.log("Prediction dataset " + name + ": " + std::to_string(loaded.examples.size() - dropped) +
                          " examples");
    }
    if (out.empty())
        fail("do_predict: dataset ", names, " has no usable examples");
    return out;
}

// transformers' save_metrics: the split's file, and all_results.json updated with it.
void saveMetrics(const fs::path& dir, const std::string& split, const json& metrics)
{
    writeTextFileAtomic((dir / (split + "_results.json")).string(), metrics.dump(2) + "\n");
    const fs::path allPath = dir / "all_results.json";
    json all = json::object();
    if (fs::exists(allPath)) {
        try {
            all = parseJson<json>(readTextFile(allPath.string()), allPath.string());
        } catch (const json::exception& e) {
            fail(allPath.string(), ": ", e.what());
        }
        if (!all.is_object())
            fail(allPath.string(), ": not a JSON object");
    }
    all.update(metrics);
    writeTextFileAtomic(allPath.string(), all.dump(2) + "\n");
}

} // namespace

PredictResult runPrediction(CausalLM& model, const Tokenizer& tokenizer, const TemplateEncoder& encoder,
                            const ArgumentSet& args, const std::string& outputDir, const TrainCallbacks& callbacks,
                            bool logProgress)
{
    if (!args.getBool("predict_with_generate"))
        fail("do_predict without predict_with_generate (predict_loss only) is not supported yet: set "
             "predict_with_generate: true");
    const fs::path out(outputDir);
    fs::create_directories(out);
    const auto examples = loadPredictionSet(args, encoder, callbacks);
    const std::int64_t batchSize = std::max<long long>(1, args.getInt("per_device_eval_batch_size"));
    const bool skipSpecial = args.getBool("skip_special_tokens");

    GenerationOptions gen;
    gen.max_new_tokens = args.getInt("max_new_tokens");
    for (auto id : encoder.stopTokenIds())
        gen.eos_token_ids.push_back(id);
    gen.pad_token_id = tokenizer.padId.value_or(encoder.eosId().value_or(0));
    gen.sampling.do_sample = args.getBool("do_sample");
    gen.sampling.temperature = args.getFloat("temperature");
    gen.sampling.top_p = args.getFloat("top_p");
    gen.sampling.top_k = args.getInt("top_k");
    gen.sampling.repetition_penalty = args.getFloat("repetition_penalty");
    gen.sampling.seed = static_cast<std::uint64_t>(args.getInt("seed"));
    gen.cancel = callbacks.abort;

    const auto steps = std::int64_t((examples.size() + std::size_t(batchSize) - 1) / std::size_t(batchSize));
    if (callbacks.log) {
        callbacks.log("***** Running Prediction *****");
        callbacks.log("  Num examples = " + std::to_string(examples.size()) +
                      ", Batch size = " + std::to_string(batchSize));
    }

    torch::NoGradGuard noGrad;
    model->eval();
    PredictResult result;
    std::vector<std::vector<TokenId>> generated;
    generated.reserve(examples.size());
    std::vector<nlohmann::ordered_json> records;
    result.totalSteps = steps;
    const auto start = Clock::now();
    for (std::int64_t step = 0; step < steps; ++step) {
        if (callbacks.abort && callbacks.abort->load()) {
            result.aborted = true;
            break;
        }
        std::vector<std::vector<std::int64_t>> prompts;
        const std::size_t from = std::size_t(step * batchSize);
        for (std::size_t i = from; i < std::min(examples.size(), from + std::size_t(batchSize)); ++i)
            prompts.emplace_back(examples[i].inputIds.begin(), examples[i].inputIds.end());
        std::vector<std::vector<std::int64_t>> outputs;
        try {
            outputs = generateBatch(model, prompts, gen);
        } catch (const Error&) {
            throw;
        } catch (const std::exception& e) {
            fail("prediction failed at step ", step + 1, " (examples ", from, "..", from + prompts.size() - 1,
                 "): ", e.what());
        }
        for (auto& o : outputs) {
            result.generatedTokens += std::int64_t(o.size());
            generated.emplace_back(o.begin(), o.end());
        }
        ++result.steps;
        const double elapsed = secondsSince(start);
        const double remaining = double(steps - result.steps) * elapsed / double(result.steps);
        if (callbacks.progress) {
            TrainProgress p;
            p.step = result.steps;
            p.totalSteps = steps;
            p.elapsedSeconds = elapsed;
            p.remainingSeconds = remaining;
            p.tokensPerSecond = elapsed > 0 ? double(result.generatedTokens) / elapsed : 0;
            callbacks.progress(p);
        }
        // LogCallback.on_prediction_step: a record every 5 steps when not training.
        if (logProgress && result.steps % 5 == 0) {
            nlohmann::ordered_json r;
            r["current_steps"] = result.steps;
            r["total_steps"] = steps;
            r["percentage"] = std::round(double(result.steps) / double(steps) * 10000) / 100;
            r["elapsed_time"] = formatElapsed(elapsed);
            r["remaining_time"] = formatElapsed(remaining);
            records.push_back(r);
            writeTrainerLog(out / "trainer_log.jsonl", records);
            if (callbacks.record)
                callbacks.record(r);
        }
    }
    result.seconds = secondsSince(start);
    if (result.aborted || (callbacks.abort && callbacks.abort->load())) {
        result.aborted = true;
        if (callbacks.log)
            callbacks.log("Prediction aborted after " + std::to_string(result.steps) + " of " +
                          std::to_string(steps) + " steps; nothing written");
        return result;
    }
    result.samples = std::int64_t(examples.size());

    // save_predictions + ComputeSimilarity.
    SimilarityAccumulator scores;
    std::string lines;
    for (std::size_t i = 0; i < examples.size(); ++i) {
        // A generation cut inside a multi-byte character decodes to U+FFFD, as HF's lossy decoding does.
        const std::string predict = toValidUtf8(tokenizer.decode(generated[i], skipSpecial));
        const std::string label = toValidUtf8(tokenizer.decode(examples[i].labels, skipSpecial));
        // ComputeSimilarity always decodes with skip_special_tokens=True.
        scores.add(skipSpecial ? predict : toValidUtf8(tokenizer.decode(generated[i], true)),
                   skipSpecial ? label : toValidUtf8(tokenizer.decode(examples[i].labels, true)));
        nlohmann::ordered_json line;
        line["prompt"] = toValidUtf8(tokenizer.decode(examples[i].inputIds, false));
        line["predict"] = predict;
        line["label"] = label;
        lines += line.dump(-1, ' ', false) + "\n"; // ensure_ascii=False
    }
    writeTextFileAtomic((out / "generated_predictions.jsonl").string(), lines);
    if (const std::string words = similarityWordsSource(); words != "jieba" && callbacks.log)
        callbacks.log("Warning: " + words);

    json metrics = json::object();
    for (const auto& [key, value] : scores.means())
        metrics["predict_" + key] = value;
    const double runtime = std::max(result.seconds, 1e-9);
    metrics["predict_runtime"] = roundTo(runtime, 1e4);
    metrics["predict_samples_per_second"] = roundTo(double(result.samples) / runtime, 1e3);
    metrics["predict_steps_per_second"] = roundTo(double(result.steps) / runtime, 1e3);
    saveMetrics(out, "predict", metrics);
    result.metrics = metrics;
    if (callbacks.log) {
        callbacks.log("Saving prediction results to " + (out / "generated_predictions.jsonl").string());
        callbacks.log("***** predict metrics *****");
        for (auto it = metrics.begin(); it != metrics.end(); ++it)
            callbacks.log("  " + it.key() + " = " + it.value().dump());
    }
    return result;
}

InferenceModel loadInferenceModel(const ArgumentSet& args, const std::function<void(const std::string&)>& log)
{
    const std::string modelPath = args.getString("model_name_or_path");
    if (modelPath.empty())
        fail("model_name_or_path: required");
    InferenceModel loaded;
    loaded.tokenizer = Tokenizer::fromDirectory(modelPath);
    std::string templateNote;
    loaded.encoder = std::make_shared<const TemplateEncoder>(
        resolveChatTemplate(args.getString("template"), *loaded.tokenizer, modelPath, &templateNote), loaded.tokenizer);
    if (log && !templateNote.empty())
        log(templateNote);
    const auto device = resolveDevice(args.getString("device").empty() ? "auto" : args.getString("device"));
    const auto dtype = args.getBool("bf16") || args.getBool("pure_bf16") ? torch::kBFloat16
                       : args.getBool("fp16")                              ? torch::kHalf
                                                                           : torch::kFloat32;
    if (log)
        log("Loading " + modelPath + " on " + device.str() + " in " + dtypeName(dtype));
    LoadOptions load{device, dtype};
    load.ropeScaling = args.getString("rope_scaling");
    load.modelMaxLength = args.getInt("cutoff_len"); // as LLaMA-Factory's get_train_args sets it
    load.log = log;
    loaded.model = loadModel(modelPath, load);
    for (auto& p : loaded.model->parameters())
        p.requires_grad_(false);
    const auto adapters = splitNames(args.getString("adapter_name_or_path"));
    if (!adapters.empty() && args.getString("finetuning_type") != "lora")
        fail("adapter_name_or_path: needs finetuning_type: lora (it is ", args.getString("finetuning_type"), ")");
    for (const auto& dir : adapters) {
        // Merged one by one, in order (LLaMA-Factory merges all but the last; merging the last too gives the
        // same outputs and faster generation).
        attachLoraAdapter(loaded.model, dir);
        mergeLoraAdapters(loaded.model);
        if (log)
            log("Merged adapter " + dir);
    }
    loaded.model->eval();
    return loaded;
}

TrainResult runPredictOnly(const ArgumentSet& args, const TrainCallbacks& callbacks)
{
    const auto problems = args.validate();
    if (!problems.empty()) {
        std::string text;
        for (const auto& p : problems)
            text += "\n  " + p;
        fail("the arguments have problems:", text);
    }
    if (args.getString("stage") != "sft")
        fail("stage: \"", args.getString("stage"), "\" cannot predict (do_predict is for stage sft)");
    const std::string modelPath = args.getString("model_name_or_path");
    if (modelPath.empty())
        fail("model_name_or_path: required for prediction");
    const std::string outputDir = args.getString("output_dir");
    if (outputDir.empty())
        fail("output_dir: required for prediction");
    if (!args.getBool("predict_with_generate"))
        fail("do_predict without predict_with_generate (predict_loss only) is not supported yet: set "
             "predict_with_generate: true");
    fs::create_directories(outputDir);
    writeTextFileAtomic((fs::path(outputDir) / "training_args.yaml").string(), args.toYaml());

    InferenceModel loaded = loadInferenceModel(args, callbacks.log);
    const auto predicted = runPrediction(loaded.model, *loaded.tokenizer, *loaded.encoder, args, outputDir, callbacks, true);
    TrainResult result;
    result.outputDir = outputDir;
    result.globalStep = predicted.steps;
    result.totalSteps = predicted.totalSteps;
    result.aborted = predicted.aborted;
    const fs::path all = fs::path(outputDir) / "all_results.json";
    result.metrics = predicted.aborted || !fs::exists(all) ? predicted.metrics : parseJson<json>(readTextFile(all.string()), all.string());
    return result;
}

} // namespace lathe

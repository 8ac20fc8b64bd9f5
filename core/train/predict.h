// Batch prediction with generation (do_predict + predict_with_generate), as LLaMA-Factory's
// CustomSeq2SeqTrainer.predict + save_predictions do it (reference section 7):
//
//   * the prediction set (eval_dataset, else dataset) is encoded with the unsupervised processor: input =
//     the prompt with an empty assistant turn, labels = the reference response ids;
//   * batches of per_device_eval_batch_size in dataset order, left-padded, generated until every row has
//     emitted one of the template's stop ids or max_new_tokens (greedy, or sampled when do_sample);
//   * generated_predictions.jsonl: one {"prompt", "predict", "label"} per example, the prompt decoded with
//     special tokens, predict and label without them (skip_special_tokens);
//   * predict_results.json (sorted keys as transformers' save_metrics; indent 2 like Lathe's other
//     *_results.json) with predict_bleu-4, predict_rouge-1/2/l (eval/similarity_metrics.h),
//     predict_runtime, predict_samples_per_second, predict_steps_per_second; all_results.json gets them
//     merged into what it already holds.
//
// Lathe differences: LLaMA-Factory refuses predict_with_generate together with do_train; Lathe allows it
// and predicts with the trained model after training (and evaluation). Stop ids are the template's (EOS and
// its stop words) rather than EOS plus every additional special token. predict_model_preparation_time is not
// written.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "config/argument_schema.h"
#include "model/causal_lm.h"
#include "template/template_encoder.h"
#include "tokenizer/tokenizer.h"
#include "train/trainer.h"

namespace lathe {

struct PredictResult
{
    nlohmann::json metrics;               ///< the predict_* entries of predict_results.json
    std::int64_t samples = 0;             ///< examples predicted
    std::int64_t steps = 0;               ///< batches done
    std::int64_t totalSteps = 0;          ///< batches of the prediction set
    std::int64_t generatedTokens = 0;     ///< tokens generated (stop tokens included)
    double seconds = 0;                   ///< wall time of the generation loop
    bool aborted = false;                 ///< stopped by callbacks.abort: nothing was written
};

/// Predicts the prediction set of `args` with a loaded model (in eval mode; LoRA merged or attached) and
/// writes the files above into `outputDir`. `logProgress` writes a trainer_log.jsonl record every 5 steps
/// (LLaMA-Factory does so only when it did not train). Throws lathe::Error naming the dataset and record on
/// bad data.
PredictResult runPrediction(CausalLM& model, const Tokenizer& tokenizer, const TemplateEncoder& encoder,
                            const ArgumentSet& args, const std::string& outputDir, const TrainCallbacks& callbacks,
                            bool logProgress);

/// What an inference run (predict, benchmark evaluation) works with.
struct InferenceModel
{
    CausalLM model{nullptr};
    std::shared_ptr<const Tokenizer> tokenizer;
    std::shared_ptr<const TemplateEncoder> encoder;
};

/// Loads model_name_or_path in eval mode without gradients on `device` in the dtype of bf16 / fp16 / pure_bf16
/// (float32 when none is set), with the tokenizer, the chat template of `template`, and adapter_name_or_path
/// merged in order (finetuning_type must be lora).
InferenceModel loadInferenceModel(const ArgumentSet& args, const std::function<void(const std::string&)>& log);

/// do_train false, do_predict true: loads model_name_or_path (+ adapter_name_or_path, merged) and predicts.
/// The TrainResult holds the steps and all_results.json. runTraining calls it for such arguments.
TrainResult runPredictOnly(const ArgumentSet& args, const TrainCallbacks& callbacks = {});

} // namespace lathe

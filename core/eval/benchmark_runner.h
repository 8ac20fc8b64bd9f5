// `lathe eval` with a `task`: MMLU / C-Eval / CMMLU accuracy of a model (plus adapters), as LLaMA-Factory's
// Evaluator computes it, on the task files core/eval/benchmark_task reads.
//
// Logits mode (LLaMA-Factory's): each question's prompt is the few-shot conversation encoded with the chat
// template's encode_oneturn (every turn but the last answer); batches are right-padded; the prediction is the
// argmax over the logits of the tokens "A".."D" (each the last id of encode(letter)) at the last prompt position,
// i.e. the argmax of LLaMA-Factory's softmax over them. Only the last position goes through lm_head.
//
// Perplexity mode (eval_mode: ppl, for base models, as OpenCompass's *_ppl configurations score them): the
// conversation is completed four times with "X. <choice text>" as the answer (the support examples answer the
// same way); the prediction is the choice whose answer tokens have the lowest mean loss.
//
// Files (save_dir, which must not exist yet, as LLaMA-Factory's os.makedirs(exist_ok=False)):
//   results.log          LLaMA-Factory's: "{category:>15}: {accuracy:.2f}", Average first
//   results.json         LLaMA-Factory's: {subject: {"0": "B", ...}} in mapping order, indent 2
//   results_summary.json Lathe's: task, settings, per-category and per-subject accuracy (the window reads it)
#pragma once

#include <vector>

#include "config/argument_schema.h"
#include "eval/benchmark_task.h"
#include "model/causal_lm.h"
#include "template/template_encoder.h"
#include "tokenizer/tokenizer.h"
#include "train/trainer.h"

namespace lathe {

struct BenchmarkRunOptions
{
    int nShot = 5;
    std::uint64_t seed = 42;
    std::string lang = "en";
    BenchmarkMode mode = BenchmarkMode::Logits;
    std::int64_t batchSize = 4; ///< questions per forward pass
};

struct BenchmarkRun
{
    std::vector<std::vector<char>> predictions; ///< per subject, per row: 'A'..'D'
    BenchmarkScores scores;
    std::string resultsLog;
    bool aborted = false;
    double seconds = 0;
};

/// The ids of "A".."D" the logits are read at: the last id of encode(letter) without special tokens.
std::vector<TokenId> benchmarkChoiceIds(const Tokenizer& tokenizer);

/// The prompt ids of a formatted example (formatBenchmarkExample): encode_oneturn's prompt.
std::vector<TokenId> benchmarkPromptIds(const TemplateEncoder& encoder, const std::vector<std::string>& turns);

/// Runs `task` on a loaded model (eval mode). Progress reports count questions (step = done, totalSteps = all).
BenchmarkRun runBenchmark(CausalLM& model, const Tokenizer& tokenizer, const TemplateEncoder& encoder,
                          const BenchmarkTask& task, const BenchmarkRunOptions& options, const TrainCallbacks& callbacks);

/// The whole command: checks save_dir and reads the task before loading the model, runs, writes the files.
/// TrainResult.metrics holds the accuracy (percent) per category with rows, "Average" included.
TrainResult runBenchmarkEvaluation(const ArgumentSet& args, const TrainCallbacks& callbacks = {});

} // namespace lathe

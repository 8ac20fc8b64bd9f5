// `lathe predict config.yaml [key=value ...]`: batch prediction with BLEU/ROUGE, the CLI twin of LLaMA-Board's
// Evaluate & Predict tab. The same as `lathe train` with do_train false, do_predict true and
// predict_with_generate true (llamafactory-cli's own `eval` is the deprecated MMLU evaluator).
#pragma once

#include <string>
#include <vector>

namespace lathe {

/// Runs prediction from the command line; returns the exit code (0 done, 1 failed, 130 aborted by Ctrl-C).
int runPredictCommand(const std::vector<std::string>& args);
/// `lathe eval`: for rm, dpo and kto the stage's loss and reward metrics on eval_dataset (eval_results.json);
/// for the other stages the same as `lathe predict`.
int runEvalCommand(const std::vector<std::string>& args);

} // namespace lathe

// `lathe score generated_predictions.jsonl [--per_example FILE.jsonl] [--output FILE]`: LLaMA-Factory's
// scripts/eval_bleu_rouge.py as a command, on core/eval/prediction_scores.
#pragma once

namespace lathe {

class Arguments;

int cmdScore(const Arguments& args);

} // namespace lathe

// Scoring a predictions file: LLaMA-Factory's scripts/eval_bleu_rouge.py as a library, behind `lathe score`
// and the window's Evaluate tab.
//
// Input: JSON lines (or one JSON array) of records with string fields `predict` and `label`, as Lathe's and
// LLaMA-Factory's generated_predictions.jsonl (and vLLM's / other engines' outputs converted to that shape)
// hold them; other fields are ignored. Each pair is scored as ComputeSimilarity does (similarity_metrics.h,
// jieba words for ROUGE); the means are sum(v) / len(v) in input order, as the script computes them.
//
// Output: predictions_score.json {"bleu-4", "rouge-1", "rouge-2", "rouge-l"} (indent 4, as the script's
// json.dump), and optionally one JSON line per pair with its four scores, in input order. Written atomically.
#pragma once

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "eval/similarity_metrics.h"

namespace lathe {

struct PredictionPair
{
    std::string predict;
    std::string label;
};

/// The (predict, label) pairs of `file`. Throws lathe::Error naming the file, the line (or array index) and
/// the field of a record that is not JSON, not an object, or lacks a string `predict` / `label`; and when the
/// file holds no record.
std::vector<PredictionPair> readPredictionPairs(const std::filesystem::path& file);

struct ScoredPredictions
{
    std::vector<SimilarityScores> perExample; ///< input order
    std::map<std::string, double> means;      ///< "bleu-4", "rouge-1", "rouge-2", "rouge-l"
    std::string wordsSource;                  ///< "jieba", or why ROUGE was counted on characters
};

struct ScoreOptions
{
    /// Worker threads (0: the machine's cores). Each pair is scored on its own, so the result does not depend on it.
    int threads = 0;
    /// Called now and then from the calling thread with (pairs done, total).
    std::function<void(std::size_t, std::size_t)> progress;
    /// Set to stop early: scorePredictions then throws lathe::Error "scoring cancelled".
    const std::atomic<bool>* cancel = nullptr;
};

ScoredPredictions scorePredictions(const std::vector<PredictionPair>& pairs, const ScoreOptions& options = {});

/// predictions_score.json as the script writes it (json.dump(average_score, indent=4), keys sorted).
void writePredictionsScore(const std::filesystem::path& file, const std::map<std::string, double>& means);

/// One line per pair: {"bleu-4": .., "rouge-1": .., "rouge-2": .., "rouge-l": ..}.
void writePerExampleScores(const std::filesystem::path& file, const std::vector<SimilarityScores>& scores);

} // namespace lathe

// What evaluation reads from outside: first byte selects
//   0: a benchmark CSV with a header (C-Eval / CMMLU)      1: one without (MMLU)
//   2: a predictions file for `lathe score`                3: a (prediction, label) pair split at the first NUL,
//                                                             scored with jieba's words (when python3-jieba's
//                                                             data is installed) and with the character fallback
#include <cstdint>
#include <string>

#include "eval/benchmark_task.h"
#include "eval/jieba_segmenter.h"
#include "eval/prediction_scores.h"
#include "eval/similarity_metrics.h"
#include "fuzz_support.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    const int mode = data[0] % 4;
    const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
    const std::string& dir = lathe::fuzz::scratchDir();
    try {
        if (mode <= 1) {
            lathe::fuzz::writeFile(dir + "/subject.csv", text);
            (void)lathe::readBenchmarkCsv(dir + "/subject.csv", mode == 0, false);
        } else if (mode == 2) {
            lathe::fuzz::writeFile(dir + "/generated_predictions.jsonl", text);
            const auto pairs = lathe::readPredictionPairs(dir + "/generated_predictions.jsonl");
            lathe::ScoreOptions options;
            options.threads = 1;
            (void)lathe::scorePredictions(pairs, options);
        } else {
            const auto cut = text.find('\0');
            const std::string prediction = text.substr(0, cut);
            const std::string label = cut == std::string::npos ? std::string() : text.substr(cut + 1);
            (void)lathe::similarityScores(prediction, label, nullptr);
            if (const auto jieba = lathe::JiebaSegmenter::shared()) {
                const auto s = lathe::similarityScores(prediction, label, jieba.get());
                // jieba's tokens always concatenate back to the (valid UTF-8) text.
                std::string joined;
                for (const auto& t : jieba->cut(prediction))
                    joined += t;
                if (joined != lathe::toValidUtf8(prediction))
                    __builtin_trap();
                (void)s;
                (void)jieba->cut(label, false);
            }
        }
    } catch (const lathe::Error&) {
    }
    return 0;
}

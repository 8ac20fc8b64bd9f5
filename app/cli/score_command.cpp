#include "cli/score_command.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include <unistd.h>

#include "cli/arguments.h"
#include "eval/prediction_scores.h"
#include "util/error.h"

namespace lathe {

int cmdScore(const Arguments& args)
{
    namespace fs = std::filesystem;
    if (args.positional().size() != 1)
        fail("usage: lathe score PREDICTIONS.jsonl [--per_example FILE.jsonl] [--output predictions_score.json] "
             "[--threads N]");
    const auto start = std::chrono::steady_clock::now();
    const fs::path input = args.positional().front();
    const fs::path output = args.has("output") ? fs::path(args.get("output"))
                                               : input.parent_path() / "predictions_score.json";
    const std::string perExample = args.get("per_example");

    const auto pairs = readPredictionPairs(input);
    ScoreOptions options;
    options.threads = int(args.getInt("threads", 0));
    const bool tty = isatty(fileno(stderr));
    options.progress = [&, last = std::chrono::steady_clock::now()](std::size_t done, std::size_t total) mutable {
        const auto now = std::chrono::steady_clock::now();
        if (!tty || (done < total && now - last < std::chrono::milliseconds(200)))
            return;
        last = now;
        std::fprintf(stderr, "\rscoring %zu / %zu", done, total);
        if (done == total)
            std::fprintf(stderr, "\n");
    };
    const auto scored = scorePredictions(pairs, options);
    if (scored.wordsSource != "jieba")
        std::fprintf(stderr, "warning: %s\n", scored.wordsSource.c_str());

    for (const auto& [key, value] : scored.means) // the script's print(f"{task}: {mean:.4f}")
        std::printf("%s: %.4f\n", key.c_str(), value);
    writePredictionsScore(output, scored.means);
    if (!perExample.empty())
        writePerExampleScores(perExample, scored.perExample);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("\nDone in %.3fs (%zu pairs).\nScore file saved to %s\n", seconds, pairs.size(), output.string().c_str());
    if (!perExample.empty())
        std::printf("Per-example scores saved to %s\n", perExample.c_str());
    return 0;
}

} // namespace lathe

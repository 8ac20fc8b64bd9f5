// Scoring speed of `lathe score` (core/eval/prediction_scores): BLEU-4 + jieba ROUGE-1/2/L of N prediction/label
// pairs of about L characters each, on 1 thread and on all cores, and the jieba dictionary's load time.
//
//   bench_score [--pairs 10000] [--chars 200] [--seed 1]
//
// The texts are Chinese: words drawn from jieba's own dictionary (so segmentation does real DAG work, with
// unknown-word runs for the HMM), punctuation every few words; each label is its prediction with about a third
// of the words replaced, so the n-gram and LCS work is that of a partly right answer.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "eval/jieba_segmenter.h"
#include "eval/prediction_scores.h"

using namespace lathe;

namespace {

double secondsSince(std::chrono::steady_clock::time_point t)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

} // namespace

int main(int argc, char** argv)
{
    std::size_t pairsWanted = 10000, chars = 200;
    unsigned seed = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        if (key == "--pairs")
            pairsWanted = std::stoul(argv[i + 1]);
        else if (key == "--chars")
            chars = std::stoul(argv[i + 1]);
        else if (key == "--seed")
            seed = unsigned(std::stoul(argv[i + 1]));
    }
    const auto loadStart = std::chrono::steady_clock::now();
    std::string why;
    const auto jieba = JiebaSegmenter::shared(&why);
    if (!jieba) {
        std::fprintf(stderr, "bench_score: %s\n", why.c_str());
        return 1;
    }
    const double loadSeconds = secondsSince(loadStart);

    // Words of 1-4 characters from dict.txt.
    std::vector<std::string> words;
    {
        std::ifstream dict(JiebaSegmenter::findDataDir() / "dict.txt");
        std::string word, freq, tag;
        while (dict >> word >> freq >> tag) {
            const auto cps = utf8ToCodePoints(word);
            if (cps.size() <= 4 && cps[0] >= 0x4E00 && std::stol(freq) >= 50)
                words.push_back(word);
        }
    }
    std::mt19937 rng(seed);
    std::uniform_int_distribution<std::size_t> pick(0, words.size() - 1);
    const char* punct[] = {"，", "。", "、", "；", "！", "？"};
    std::vector<PredictionPair> pairs(pairsWanted);
    std::size_t totalChars = 0;
    for (auto& p : pairs) {
        std::size_t n = 0, k = 0;
        while (n < chars) {
            const std::string& w = words[pick(rng)];
            const std::string& other = rng() % 3 == 0 ? words[pick(rng)] : w;
            p.predict += w;
            p.label += other;
            n += utf8ToCodePoints(w).size();
            if (++k % 6 == 0) {
                const char* mark = punct[rng() % 6];
                p.predict += mark;
                p.label += mark;
                ++n;
            }
        }
        totalChars += n;
    }

    std::printf("jieba dictionary: %zu entries, loaded in %.3f s\n", jieba->dictionarySize(), loadSeconds);
    std::printf("%zu pairs, %.0f characters each on average\n", pairs.size(), double(totalChars) / double(pairs.size()));
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    for (int threads : {1, int(cores)}) {
        ScoreOptions options;
        options.threads = threads;
        const auto start = std::chrono::steady_clock::now();
        const auto scored = scorePredictions(pairs, options);
        const double s = secondsSince(start);
        std::printf("threads %d: %.3f s, %.0f pairs/s  (bleu-4 %.4f rouge-1 %.4f rouge-2 %.4f rouge-l %.4f)\n", threads,
                    s, double(pairs.size()) / s, scored.means.at("bleu-4"), scored.means.at("rouge-1"),
                    scored.means.at("rouge-2"), scored.means.at("rouge-l"));
        if (threads == int(cores))
            break;
    }
    return 0;
}

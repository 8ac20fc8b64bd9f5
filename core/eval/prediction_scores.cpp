#include "eval/prediction_scores.h"

#include <algorithm>
#include <thread>

#include <nlohmann/json.hpp>

#include "eval/jieba_segmenter.h"
#include "util/error.h"
#include "util/file_util.h"
#include "util/json_text.h"

namespace lathe {

namespace {

PredictionPair pairOf(const nlohmann::json& record, const std::string& where)
{
    if (!record.is_object())
        fail(where, ": a record must be a JSON object with \"predict\" and \"label\", not ", record.type_name());
    PredictionPair pair;
    for (const char* field : {"predict", "label"}) {
        const auto it = record.find(field);
        if (it == record.end())
            fail(where, ": field \"", field, "\" is missing");
        if (!it->is_string())
            fail(where, ": field \"", field, "\" must be a string, not ", it->type_name());
        (std::string(field) == "predict" ? pair.predict : pair.label) = it->get<std::string>();
    }
    return pair;
}

} // namespace

std::vector<PredictionPair> readPredictionPairs(const std::filesystem::path& file)
{
    const std::string text = readTextFile(file.string());
    const std::string name = file.string();
    std::vector<PredictionPair> pairs;
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && text[first] == '[') {
        nlohmann::json array = parseJsonOrDiscard<nlohmann::json>(text, name);
        if (array.is_discarded())
            fail(name, ": not valid JSON (a JSON array of records, or one record per line)");
        for (std::size_t i = 0; i < array.size(); ++i)
            pairs.push_back(pairOf(array[i], name + ": record " + std::to_string(i)));
    } else {
        std::size_t pos = 0, line = 0;
        while (pos < text.size()) {
            std::size_t end = text.find('\n', pos);
            if (end == std::string::npos)
                end = text.size();
            ++line;
            const std::string_view row(text.data() + pos, end - pos);
            pos = end + 1;
            if (row.find_first_not_of(" \t\r") == std::string_view::npos)
                continue;
            const std::string where = name + ":" + std::to_string(line);
            nlohmann::json record = parseJsonOrDiscard<nlohmann::json>(row, where);
            if (record.is_discarded())
                fail(where, ": not valid JSON");
            pairs.push_back(pairOf(record, where));
        }
    }
    if (pairs.empty())
        fail(name, ": no records (expected JSON lines with \"predict\" and \"label\")");
    return pairs;
}

ScoredPredictions scorePredictions(const std::vector<PredictionPair>& pairs, const ScoreOptions& options)
{
    ScoredPredictions result;
    result.wordsSource = similarityWordsSource();
    const auto jieba = JiebaSegmenter::shared();
    result.perExample.resize(pairs.size());

    const std::size_t total = pairs.size();
    int threads = options.threads > 0 ? options.threads : int(std::max(1u, std::thread::hardware_concurrency()));
    threads = int(std::min<std::size_t>(std::size_t(threads), std::max<std::size_t>(1, total / 64))); // a chunk each at least
    std::atomic<std::size_t> next{0}, done{0};
    constexpr std::size_t kChunk = 64;
    auto scoreChunk = [&]() -> bool {
        if (options.cancel && options.cancel->load())
            return false;
        const std::size_t begin = next.fetch_add(kChunk);
        if (begin >= total)
            return false;
        const std::size_t end = std::min(total, begin + kChunk);
        for (std::size_t i = begin; i < end; ++i)
            result.perExample[i] = similarityScores(pairs[i].predict, pairs[i].label, jieba.get());
        done.fetch_add(end - begin);
        return true;
    };
    std::vector<std::thread> workers;
    for (int t = 1; t < threads; ++t)
        workers.emplace_back([&] {
            while (scoreChunk()) {
            }
        });
    // The calling thread works too, and reports progress between its chunks.
    while (scoreChunk())
        if (options.progress)
            options.progress(done.load(), total);
    for (auto& w : workers)
        w.join();
    if (options.cancel && options.cancel->load())
        fail("scoring cancelled");
    if (options.progress)
        options.progress(total, total);

    SimilarityAccumulator acc; // sum(v) / len(v) in input order
    for (const auto& s : result.perExample)
        acc.add(s);
    result.means = acc.means();
    return result;
}

void writePredictionsScore(const std::filesystem::path& file, const std::map<std::string, double>& means)
{
    nlohmann::json out = nlohmann::json::object(); // std::map: keys sorted, as the script's sorted() loop
    for (const auto& [key, value] : means)
        out[key] = value;
    writeTextFileAtomic(file.string(), out.dump(4));
}

void writePerExampleScores(const std::filesystem::path& file, const std::vector<SimilarityScores>& scores)
{
    std::string lines;
    for (const auto& s : scores) {
        nlohmann::ordered_json line;
        line["bleu-4"] = s.bleu4;
        line["rouge-1"] = s.rouge1;
        line["rouge-2"] = s.rouge2;
        line["rouge-l"] = s.rougeL;
        lines += line.dump() + "\n";
    }
    writeTextFileAtomic(file.string(), lines);
}

} // namespace lathe

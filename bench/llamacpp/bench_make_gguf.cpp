// bench_make_gguf: writes a model folder as a GGUF file, for running the same weights in llama.cpp.
//
//   bench_make_gguf --model DIR --out FILE.gguf [--pre NAME] [--placeholder-vocab]
//                   [--outtype bf16|f16|f32|auto|q8_0|q4_0|q4_1|q5_0|q6_k|q4_k|q4_k_m]
//
// The llama.cpp side of the decode/prefill comparison (bench_llamacpp.mjs) and the greedy-ids check
// (check_greedy.mjs) load what this writes. --placeholder-vocab lets tokenizer-less fixtures (driven by ids
// only) through; --pre overrides the recognised pre-tokenizer name.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "export/gguf_writer.h"
#include "util/error.h"

namespace {

void usage()
{
    std::fprintf(stderr, "usage: bench_make_gguf --model DIR --out FILE.gguf "
                         "[--outtype bf16|f16|f32|auto|q8_0|q4_0|q4_1|q5_0|q6_k|q4_k|q4_k_m] "
                         "[--pre NAME] [--placeholder-vocab] [--quiet]\n");
}

} // namespace

int main(int argc, char** argv)
{
    lathe::GgufExportOptions options;
    options.outType = lathe::GgufOutType::BF16;
    bool quiet = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage();
                std::exit(2);
            }
            return argv[++i];
        };
        try {
            if (arg == "--model")
                options.modelDir = value();
            else if (arg == "--out")
                options.outPath = value();
            else if (arg == "--outtype")
                options.outType = lathe::parseGgufOutType(value());
            else if (arg == "--pre")
                options.vocab.preTokenizer = value();
            else if (arg == "--placeholder-vocab")
                options.vocab.placeholderIfMissing = true;
            else if (arg == "--quiet")
                quiet = true;
            else {
                usage();
                return 2;
            }
        } catch (const lathe::Error& e) {
            std::fprintf(stderr, "bench_make_gguf: %s\n", e.what());
            return 2;
        }
    }
    if (options.modelDir.empty() || options.outPath.empty()) {
        usage();
        return 2;
    }
    if (!quiet)
        options.progress = [](std::size_t i, std::size_t n, const std::string& name) {
            std::fprintf(stderr, "\r[%zu/%zu] %-40s", i + 1, n, name.c_str());
        };

    const auto start = std::chrono::steady_clock::now();
    try {
        const lathe::GgufExportSummary s = lathe::exportGguf(options);
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (!quiet)
            std::fprintf(stderr, "\n");
        std::printf("wrote %s: arch %s, file_type %u, %zu tensors, %zu keys, %.1f MiB data, vocab %zu tokens / "
                    "%zu merges (pre %s%s) in %.1f s\n",
                    s.path.c_str(), s.architecture.c_str(), s.fileType, s.tensors, s.keys,
                    s.dataBytes / 1048576.0, s.vocab.tokens, s.vocab.merges, s.vocab.pre.c_str(),
                    s.vocab.placeholder ? ", placeholder" : "", secs);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "\nbench_make_gguf: %s\n", e.what());
        return 1;
    }
    return 0;
}

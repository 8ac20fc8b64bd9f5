// bench_gguf_quant: throughput of the GGUF quantizers (core/export/gguf_quant) on a Qwen3-0.6B-sized model.
//
//   bench_gguf_quant [--model model.safetensors] [--types Q8_0,Q4_K,Q6_K] [--threads 1,2] [--layers 28]
//                    [--no-embedding]
//
// Without --model the matrices are random N(0, 0.02) float32 in Qwen3-0.6B's shapes (28 layers of q/k/v/o and
// gate/up/down, hidden 1024, intermediate 3072, 16 heads of 128, 8 KV heads, plus the 151936 x 1024 tied
// embedding); one buffer per distinct shape is generated up front and reused, so generation is not timed.
// With
// --model the 2-D BF16 tensors of that safetensors file are used (widened to float32 once, untimed), limited
// to
// --layers blocks. For each type and thread count it reports the time to quantize every matrix and the rate
// in MB/s of the *bf16* input (2 bytes per weight, the size of the checkpoint being exported), plus
// Mweights/s.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "export/gguf_quant.h"
#include "util/error.h"
#include "util/file_util.h"

using Clock = std::chrono::steady_clock;

namespace {

std::string option(int argc, char** argv, const std::string& key, const std::string& fallback)
{
    for (int i = 1; i + 1 < argc; ++i)
        if (argv[i] == "--" + key)
            return argv[i + 1];
    return fallback;
}

bool flag(int argc, char** argv, const std::string& key)
{
    for (int i = 1; i < argc; ++i)
        if (argv[i] == "--" + key)
            return true;
    return false;
}

std::vector<std::string> split(const std::string& s)
{
    std::vector<std::string> out;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, ',');)
        if (!item.empty())
            out.push_back(item);
    return out;
}

struct Matrix
{
    std::string name;
    std::int64_t rows = 0;
    std::int64_t cols = 0;  ///< ne0, the quantized row length
    std::size_t buffer = 0; ///< index into the float32 buffers
};

// The layer index of "model.layers.N.", or -1.
int layerOf(const std::string& name)
{
    const std::string prefix = "model.layers.";
    if (name.compare(0, prefix.size(), prefix) != 0)
        return -1;
    return std::atoi(name.c_str() + prefix.size());
}

// Qwen3-0.6B's matrices, one random buffer per distinct shape.
void syntheticModel(int layers, bool embedding, std::vector<Matrix>& matrices,
                    std::vector<std::vector<float>>& buffers)
{
    const std::int64_t hidden = 1024, inter = 3072, qDim = 16 * 128, kvDim = 8 * 128, vocab = 151936;
    struct Shape
    {
        const char* name;
        std::int64_t rows, cols;
    };
    const Shape perLayer[] = {{"self_attn.q_proj", qDim, hidden},  {"self_attn.k_proj", kvDim, hidden},
                              {"self_attn.v_proj", kvDim, hidden}, {"self_attn.o_proj", hidden, qDim},
                              {"mlp.gate_proj", inter, hidden},    {"mlp.up_proj", inter, hidden},
                              {"mlp.down_proj", hidden, inter}};
    std::mt19937 rng(1234);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    auto bufferFor = [&](std::int64_t rows, std::int64_t cols) {
        for (const Matrix& m : matrices)
            if (m.rows == rows && m.cols == cols)
                return m.buffer;
        buffers.emplace_back(static_cast<std::size_t>(rows * cols));
        for (float& v : buffers.back())
            v = normal(rng);
        return buffers.size() - 1;
    };
    if (embedding)
        matrices.push_back({"model.embed_tokens.weight", vocab, hidden, bufferFor(vocab, hidden)});
    for (int l = 0; l < layers; ++l)
        for (const Shape& s : perLayer)
            matrices.push_back({"model.layers." + std::to_string(l) + "." + s.name + ".weight", s.rows,
                                s.cols, bufferFor(s.rows, s.cols)});
}

// The 2-D BF16 tensors of a safetensors file, widened to float32.
void safetensorsModel(const std::string& path, int layers, bool embedding, std::vector<Matrix>& matrices,
                      std::vector<std::vector<float>>& buffers)
{
    const auto file = lathe::MappedFile::open(path);
    std::uint64_t headerBytes = 0;
    std::memcpy(&headerBytes, file->data(), 8);
    const auto header = nlohmann::json::parse(file->data() + 8, file->data() + 8 + headerBytes);
    const std::uint8_t* data = file->data() + 8 + headerBytes;
    for (const auto& [name, info] : header.items()) {
        if (name == "__metadata__" || info["dtype"].get<std::string>() != "BF16" || info["shape"].size() != 2)
            continue;
        if (layerOf(name) >= layers || (!embedding && name.find("embed_tokens") != std::string::npos))
            continue;
        const auto rows = info["shape"][0].get<std::int64_t>();
        const auto cols = info["shape"][1].get<std::int64_t>();
        const auto begin = info["data_offsets"][0].get<std::uint64_t>();
        buffers.emplace_back(static_cast<std::size_t>(rows * cols));
        std::vector<std::uint16_t> bf16(static_cast<std::size_t>(rows * cols));
        std::memcpy(bf16.data(), data + begin, bf16.size() * 2);
        lathe::bf16ToFp32Row(bf16.data(), buffers.back().data(), rows * cols);
        matrices.push_back({name, rows, cols, buffers.size() - 1});
    }
    std::sort(matrices.begin(), matrices.end(),
              [](const Matrix& a, const Matrix& b) { return a.name < b.name; });
}

} // namespace

int main(int argc, char** argv)
{
    try {
        const std::string model = option(argc, argv, "model", "");
        const int layers = std::stoi(option(argc, argv, "layers", "28"));
        const bool embedding = !flag(argc, argv, "no-embedding");
        std::vector<lathe::GgmlType> types;
        for (const std::string& name : split(option(argc, argv, "types", "Q8_0,Q4_K,Q6_K"))) {
            const auto t = lathe::ggmlTypeFromName(name);
            if (!t)
                lathe::fail("unknown type ", name);
            types.push_back(*t);
        }
        std::vector<int> threadCounts;
        for (const std::string& n : split(option(argc, argv, "threads", "1,2")))
            threadCounts.push_back(std::stoi(n));

        std::vector<Matrix> matrices;
        std::vector<std::vector<float>> buffers;
        if (model.empty())
            syntheticModel(layers, embedding, matrices, buffers);
        else
            safetensorsModel(model, layers, embedding, matrices, buffers);
        std::int64_t weights = 0;
        std::size_t outBytes = 0;
        for (const Matrix& m : matrices) {
            weights += m.rows * m.cols;
            for (const lathe::GgmlType type : types)
                outBytes =
                    std::max(outBytes, static_cast<std::size_t>(m.rows) * lathe::ggmlRowSize(type, m.cols));
        }
        std::printf("input: %s, %zu matrices, %.1f M weights (%.1f MB as bf16)\n",
                    model.empty() ? "random N(0, 0.02), Qwen3-0.6B shapes" : model.c_str(), matrices.size(),
                    weights / 1e6, weights * 2 / 1e6);
        std::printf("%-6s %7s %9s %10s %12s\n", "type", "threads", "seconds", "MB/s bf16", "Mweights/s");

        std::vector<std::uint8_t> out(outBytes); // allocated and touched before any timing
        for (const lathe::GgmlType type : types) {
            for (const int threads : threadCounts) {
                const auto t0 = Clock::now();
                for (const Matrix& m : matrices)
                    lathe::quantizeRows(type, buffers[m.buffer].data(), out.data(), m.rows, m.cols, threads);
                const double s = std::chrono::duration<double>(Clock::now() - t0).count();
                std::printf("%-6s %7d %9.2f %10.1f %12.1f\n", lathe::ggmlTypeName(type), threads, s,
                            weights * 2 / 1e6 / s, weights / 1e6 / s);
                std::fflush(stdout);
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_gguf_quant: %s\n", e.what());
        return 1;
    }
    return 0;
}

// Tests of core/export/gguf_quant (fp16/bf16 and the block quantizers), gguf_mixture (the Q4_K_M type rule)
// and the quantized paths of the GGUF writer.
//
// The oracle is llama.cpp itself: shared/fixtures/gguf/quant holds the bytes llama-quantize wrote for four
// small matrices in six types, and shared/fixtures/gguf/q4_k_m the type it picked for every tensor of four
// tiny models. Both are compared by equality, with no tolerance: the reference quantizers are deterministic,
// so any difference is a bug or a different float operation order. The rest needs no fixtures: the parallel
// path against one thread, fp16/bf16 rounding edge cases, round-trip error bounds (also for Q5_1/Q5_K, which
// have no fixture), and an export of a freshly generated model whose GGUF tensors are read back and
// re-derived.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QtTest/QtTest>

#include "error_check.h"
#include "export/gguf_file.h"
#include "export/gguf_mixture.h"
#include "export/gguf_names.h"
#include "export/gguf_quant.h"
#include "export/gguf_writer.h"
#include "io/safetensors.h"
#include "lora/lora_adapter.h"
#include "model/model_loader.h"
#include "model/new_model.h"
#include "test_support.h"

namespace {

using lathe::GgmlType;

QByteArray readAll(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll();
}

QString sha256(const QByteArray& bytes)
{
    return QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex());
}

QString quantDir()
{
    return lathe::test::sharedDir() + "/fixtures/gguf/quant";
}

QString mixtureDir()
{
    return lathe::test::sharedDir() + "/fixtures/gguf/q4_k_m";
}

nlohmann::json readJson(const QString& path)
{
    const QByteArray bytes = readAll(path);
    return nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
}

float floatFromBits(std::uint32_t u)
{
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

std::uint32_t bitsFromFloat(float f)
{
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

std::vector<std::uint8_t> quantize(GgmlType type, const std::vector<float>& x, std::int64_t rows,
                                   std::int64_t cols, int threads)
{
    std::vector<std::uint8_t> out(static_cast<std::size_t>(rows) * lathe::ggmlRowSize(type, cols));
    lathe::quantizeRows(type, x.data(), out.data(), rows, cols, threads);
    return out;
}

// Where two encodings of a [rows][cols] matrix first differ, block by block: empty when equal.
QString firstDifference(GgmlType type, std::int64_t cols, const std::uint8_t* got, const std::uint8_t* want,
                        std::size_t bytes)
{
    const std::size_t blockBytes = lathe::ggmlTypeSize(type);
    const std::int64_t blocksPerRow = cols / lathe::ggmlBlockSize(type);
    for (std::size_t k = 0; k * blockBytes < bytes; ++k) {
        const std::uint8_t* g = got + k * blockBytes;
        const std::uint8_t* w = want + k * blockBytes;
        for (std::size_t b = 0; b < blockBytes; ++b)
            if (g[b] != w[b])
                return QStringLiteral(
                           "block %1 (row %2, block %3 of the row), byte %4 of %5: got 0x%6, expected 0x%7")
                    .arg(k)
                    .arg(static_cast<qint64>(k) / blocksPerRow)
                    .arg(static_cast<qint64>(k) % blocksPerRow)
                    .arg(b)
                    .arg(blockBytes)
                    .arg(g[b], 2, 16, QLatin1Char('0'))
                    .arg(w[b], 2, 16, QLatin1Char('0'));
    }
    return {};
}

// Gaussian weights with a few large outliers, as real checkpoints have.
std::vector<float> randomWeights(std::int64_t n, unsigned seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::uniform_int_distribution<std::int64_t> pick(0, n - 1);
    std::vector<float> x(static_cast<std::size_t>(n));
    for (float& v : x)
        v = normal(rng);
    for (int i = 0; i < 64; ++i)
        x[static_cast<std::size_t>(pick(rng))] *= 40.0f;
    return x;
}

const std::vector<GgmlType>& allTypes()
{
    static const std::vector<GgmlType> types = {
        GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1,
        GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};
    return types;
}

// ===== a minimal GGUF reader for checking what the writer wrote =====

struct ReadTensor
{
    std::string name;
    std::vector<std::int64_t> ne;
    std::uint32_t type = 0;
    std::uint64_t offset = 0;
};

struct ReadGguf
{
    std::map<std::string, std::uint32_t> u32;
    std::map<std::string, std::string> strings;
    std::map<std::string, float> f32;
    std::vector<ReadTensor> tensors;
    QByteArray bytes;
    std::uint64_t dataStart = 0;
    QString error;
};

ReadGguf readGguf(const QString& path)
{
    ReadGguf out;
    out.bytes = readAll(path);
    const auto* p = reinterpret_cast<const std::uint8_t*>(out.bytes.constData());
    const std::size_t size = static_cast<std::size_t>(out.bytes.size());
    std::size_t pos = 0;
    bool ok = true;
    auto take = [&](void* dst, std::size_t n) {
        if (pos + n > size) {
            ok = false;
            return;
        }
        std::memcpy(dst, p + pos, n);
        pos += n;
    };
    auto u32 = [&]() {
        std::uint32_t v = 0;
        take(&v, 4);
        return v;
    };
    auto u64 = [&]() {
        std::uint64_t v = 0;
        take(&v, 8);
        return v;
    };
    auto str = [&]() {
        const std::uint64_t n = u64();
        if (!ok || pos + n > size) {
            ok = false;
            return std::string();
        }
        std::string s(reinterpret_cast<const char*>(p + pos), n);
        pos += n;
        return s;
    };
    auto scalarBytes = [](std::uint32_t t) -> std::size_t {
        switch (t) {
        case 0:
        case 1:
        case 7: return 1;
        case 2:
        case 3: return 2;
        case 4:
        case 5:
        case 6: return 4;
        case 10:
        case 11:
        case 12: return 8;
        default: return 0;
        }
    };
    char magic[4] = {};
    take(magic, 4);
    if (!ok || std::memcmp(magic, "GGUF", 4) != 0 || u32() != 3) {
        out.error = "not a GGUF v3 file";
        return out;
    }
    const std::uint64_t nTensors = u64();
    const std::uint64_t nKv = u64();
    for (std::uint64_t i = 0; ok && i < nKv; ++i) {
        const std::string key = str();
        const std::uint32_t type = u32();
        if (type == 8) {
            out.strings[key] = str();
        } else if (type == 6) {
            float v = 0;
            take(&v, 4);
            out.f32[key] = v;
        } else if (type == 9) {
            const std::uint32_t elem = u32();
            const std::uint64_t count = u64();
            for (std::uint64_t k = 0; ok && k < count; ++k) {
                if (elem == 8)
                    str();
                else
                    pos += scalarBytes(elem);
            }
        } else if (type == 4) {
            out.u32[key] = u32();
        } else {
            pos += scalarBytes(type);
        }
    }
    for (std::uint64_t i = 0; ok && i < nTensors; ++i) {
        ReadTensor t;
        t.name = str();
        const std::uint32_t dims = u32();
        for (std::uint32_t d = 0; d < dims; ++d)
            t.ne.push_back(static_cast<std::int64_t>(u64()));
        t.type = u32();
        t.offset = u64();
        out.tensors.push_back(std::move(t));
    }
    if (!ok || pos > size) {
        out.error = "truncated GGUF header";
        return out;
    }
    out.dataStart = (pos + 31) / 32 * 32;
    return out;
}

} // namespace

class TestGgufQuant : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // ===== llama.cpp's bytes =====

    void fixtureBytesMatchLlamaCpp_data()
    {
        QTest::addColumn<QString>("caseName");
        QTest::addColumn<QString>("typeName");
        if (lathe::test::sharedDir().isEmpty()) {
            QTest::newRow("shared/ absent") << QString() << QString();
            return;
        }
        const nlohmann::json manifest = readJson(quantDir() + "/manifest.json");
        if (manifest.is_discarded() || !manifest.contains("cases")) {
            QTest::newRow("manifest unreadable") << QStringLiteral("?") << QString();
            return;
        }
        for (const auto& c : manifest["cases"]) {
            const QString name = QString::fromStdString(c["name"].get<std::string>());
            for (const auto& [type, expected] : c["expected"].items()) {
                (void)expected;
                const QString typeName = QString::fromStdString(type);
                QTest::newRow(qPrintable(name + "/" + typeName)) << name << typeName;
            }
        }
    }

    void fixtureBytesMatchLlamaCpp()
    {
        LATHE_REQUIRE_SHARED();
        QFETCH(QString, caseName);
        QFETCH(QString, typeName);
        const nlohmann::json manifest = readJson(quantDir() + "/manifest.json");
        QVERIFY2(!manifest.is_discarded(), "manifest.json is not valid JSON");
        const nlohmann::json* entry = nullptr;
        for (const auto& c : manifest["cases"])
            if (c["name"].get<std::string>() == caseName.toStdString())
                entry = &c;
        QVERIFY2(entry != nullptr, qPrintable("no case " + caseName));
        const auto type = lathe::ggmlTypeFromName(typeName.toStdString());
        QVERIFY2(type.has_value(), qPrintable("unknown type " + typeName));
        const nlohmann::json& info = manifest["types"][typeName.toStdString()];
        QCOMPARE(static_cast<int>(*type), info["ggml_type_id"].get<int>());
        QCOMPARE(lathe::ggmlBlockSize(*type), info["block_size"].get<std::int64_t>());
        QCOMPARE(lathe::ggmlTypeSize(*type), info["block_bytes"].get<std::size_t>());

        const std::int64_t rows = (*entry)["shape"][0].get<std::int64_t>();
        const std::int64_t cols = (*entry)["shape"][1].get<std::int64_t>();
        const QByteArray input =
            readAll(quantDir() + "/" + QString::fromStdString((*entry)["input"].get<std::string>()));
        QCOMPARE(sha256(input), QString::fromStdString((*entry)["input_sha256"].get<std::string>()));
        QCOMPARE(static_cast<std::int64_t>(input.size()), rows * cols * 4);
        std::vector<float> x(static_cast<std::size_t>(rows * cols));
        std::memcpy(x.data(), input.constData(), static_cast<std::size_t>(input.size()));

        const nlohmann::json& expected = (*entry)["expected"][typeName.toStdString()];
        const QByteArray want =
            readAll(quantDir() + "/" + QString::fromStdString(expected["file"].get<std::string>()));
        QCOMPARE(sha256(want), QString::fromStdString(expected["sha256"].get<std::string>()));
        QCOMPARE(static_cast<std::size_t>(want.size()), expected["n_bytes"].get<std::size_t>());

        for (const int threads : {1, 4}) {
            const std::vector<std::uint8_t> got = quantize(*type, x, rows, cols, threads);
            QCOMPARE(got.size(), static_cast<std::size_t>(want.size()));
            const QString diff = firstDifference(
                *type, cols, got.data(), reinterpret_cast<const std::uint8_t*>(want.constData()), got.size());
            QVERIFY2(diff.isEmpty(), qPrintable(QStringLiteral("%1 threads: ").arg(threads) + diff));
        }
    }

    void fixturesCoverEveryCaseAndType()
    {
        LATHE_REQUIRE_SHARED();
        const nlohmann::json manifest = readJson(quantDir() + "/manifest.json");
        QVERIFY(!manifest.is_discarded());
        QCOMPARE(manifest["cases"].size(), std::size_t(4));
        for (const auto& c : manifest["cases"])
            QCOMPARE(c["expected"].size(), std::size_t(6)); // Q8_0 Q4_0 Q4_1 Q5_0 Q4_K Q6_K
    }

    // ===== the Q4_K_M mixture =====

    void q4kmMatchesLlamaQuantize_data()
    {
        QTest::addColumn<QString>("file");
        if (lathe::test::sharedDir().isEmpty()) {
            QTest::newRow("shared/ absent") << QString();
            return;
        }
        const QStringList files = QDir(mixtureDir()).entryList({"*.json"}, QDir::Files, QDir::Name);
        if (files.isEmpty())
            QTest::newRow("no fixtures") << QString();
        for (const QString& f : files)
            QTest::newRow(qPrintable(f)) << f;
    }

    void q4kmMatchesLlamaQuantize()
    {
        LATHE_REQUIRE_SHARED();
        QFETCH(QString, file);
        QVERIFY2(!file.isEmpty(), "no q4_k_m fixtures found");
        const nlohmann::json j = readJson(mixtureDir() + "/" + file);
        QVERIFY2(!j.is_discarded(), qPrintable(file + " is not valid JSON"));
        QCOMPARE(j["ftype"]["llama_ftype_id"].get<int>(), 15);

        lathe::GgufMixtureModel model;
        model.layerCount = j["config"]["num_hidden_layers"].get<std::int64_t>();
        QCOMPARE(model.layerCount, j["gguf_kv"]["qwen3.block_count"].get<std::int64_t>());
        model.hasOutputTensor = j["tensor_shapes_ne"].contains("output.weight");
        QCOMPARE(model.hasOutputTensor, !j["config"]["tie_word_embeddings"].get<bool>());

        QStringList mismatches;
        std::map<std::string, std::size_t> counts;
        for (const auto& [name, typeName] : j["tensor_types"].items()) {
            QVERIFY2(j["tensor_shapes_ne"].contains(name), name.c_str());
            const std::vector<std::int64_t> ne = j["tensor_shapes_ne"][name].get<std::vector<std::int64_t>>();
            const GgmlType got = lathe::q4kmTypeFor(name, ne, model);
            ++counts[lathe::ggmlTypeName(got)];
            if (typeName.get<std::string>() != lathe::ggmlTypeName(got))
                mismatches << QStringLiteral("%1: got %2, llama-quantize chose %3")
                                  .arg(QString::fromStdString(name), lathe::ggmlTypeName(got),
                                       QString::fromStdString(typeName.get<std::string>()));
        }
        QVERIFY2(mismatches.isEmpty(), qPrintable(mismatches.join("\n")));
        QCOMPARE(j["tensor_types"].size(), j["tensor_shapes_ne"].size());
        for (const auto& [typeName, n] : j["type_counts"].items())
            QCOMPARE(counts[typeName], n.get<std::size_t>());
    }

    void useMoreBitsLayers_data()
    {
        QTest::addColumn<int>("layers");
        QTest::addColumn<QList<int>>("more");
        QTest::newRow("28 layers") << 28 << QList<int>{0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27};
        QTest::newRow("12 layers") << 12 << QList<int>{0, 3, 6, 9, 10, 11};
        QTest::newRow("8 layers") << 8 << QList<int>{0, 3, 6, 7};
        QTest::newRow("2 layers") << 2 << QList<int>{1};
    }

    void useMoreBitsLayers()
    {
        QFETCH(int, layers);
        QFETCH(QList<int>, more);
        QList<int> got;
        for (int i = 0; i < layers; ++i)
            if (lathe::ggufUseMoreBits(i, layers))
                got << i;
        QCOMPARE(got, more);
    }

    void shapeFallbacks_data()
    {
        QTest::addColumn<int>("wanted");
        QTest::addColumn<int>("ne0");
        QTest::addColumn<int>("expected");
        auto row = [](const char* name, GgmlType w, int n, GgmlType e) {
            QTest::newRow(name) << static_cast<int>(w) << n << static_cast<int>(e);
        };
        row("Q4_K fits", GgmlType::Q4_K, 512, GgmlType::Q4_K);
        row("Q4_K 384 -> Q5_0", GgmlType::Q4_K, 384, GgmlType::Q5_0);
        row("Q4_K 320 -> Q5_0", GgmlType::Q4_K, 320, GgmlType::Q5_0);
        row("Q4_K 336 -> F16", GgmlType::Q4_K, 336, GgmlType::F16);
        row("Q6_K 896 -> Q8_0", GgmlType::Q6_K, 896, GgmlType::Q8_0);
        row("Q6_K 100 -> F16", GgmlType::Q6_K, 100, GgmlType::F16);
        row("Q5_K 96 -> Q5_1", GgmlType::Q5_K, 96, GgmlType::Q5_1);
        row("Q8_0 48 -> F16", GgmlType::Q8_0, 48, GgmlType::F16);
        row("Q4_0 64 fits", GgmlType::Q4_0, 64, GgmlType::Q4_0);
        row("F32 any", GgmlType::F32, 7, GgmlType::F32);
    }

    void shapeFallbacks()
    {
        QFETCH(int, wanted);
        QFETCH(int, ne0);
        QFETCH(int, expected);
        QCOMPARE(static_cast<int>(lathe::ggmlTypeForRow(static_cast<GgmlType>(wanted), ne0)), expected);
    }

    void q4kmRulesWithoutFixtures()
    {
        lathe::GgufMixtureModel m;
        m.layerCount = 80;
        m.is70B = true;
        // 70B: a Q4_K attn_v becomes Q5_K, a Q6_K one stays.
        QCOMPARE(lathe::q4kmTypeFor("blk.20.attn_v.weight", {8192, 1024}, m), GgmlType::Q5_K);
        QCOMPARE(lathe::q4kmTypeFor("blk.0.attn_v.weight", {8192, 1024}, m), GgmlType::Q6_K);
        QCOMPARE(lathe::q4kmTypeFor("blk.20.ffn_down.weight", {28672, 8192}, m), GgmlType::Q4_K);
        m.is70B = false;
        QCOMPARE(lathe::q4kmTypeFor("blk.20.attn_v.weight", {8192, 1024}, m), GgmlType::Q4_K);
        // Never quantized.
        QCOMPARE(lathe::q4kmTypeFor("blk.3.attn_norm.weight", {8192}, m), GgmlType::F32);
        QCOMPARE(lathe::q4kmTypeFor("blk.3.attn_q.bias", {8192}, m), GgmlType::F32);
        QCOMPARE(lathe::q4kmTypeFor("rope_freqs.weight", {64}, m), GgmlType::F32);
        QCOMPARE(lathe::q4kmTypeFor("blk.3.attn_q_norm.weight", {128, 1}, m), GgmlType::F32);
        // One row is one dimension for ggml (trailing 1s do not count): not quantized.
        QCOMPARE(lathe::q4kmTypeFor("blk.3.attn_q.weight", {256, 1}, m), GgmlType::F32);
        QCOMPARE(lathe::llamaQuantizeTypeFor(GgmlType::Q8_0, "blk.3.attn_q.weight", {256, 1}, m),
                 GgmlType::F32);
        // Tied embeddings with Qwen2.5-0.5B's hidden 896: the output treatment gives Q8_0; a row that holds
        // no 32-block at all ends as F16.
        m.layerCount = 24;
        m.hasOutputTensor = false;
        QCOMPARE(lathe::q4kmTypeFor("token_embd.weight", {896, 151936}, m), GgmlType::Q8_0);
        QCOMPARE(lathe::q4kmTypeFor("token_embd.weight", {100, 1000}, m), GgmlType::F16);
        m.hasOutputTensor = true;
        QCOMPARE(lathe::q4kmTypeFor("token_embd.weight", {896, 151936}, m), GgmlType::Q5_0);
        QCOMPARE(lathe::q4kmTypeFor("output.weight", {1024, 151936}, m), GgmlType::Q6_K);
        QString message;
        LATHE_VERIFY_ERROR(lathe::q4kmTypeFor("attn_v.weight", {256, 256}, m), message);
        LATHE_VERIFY_MENTIONS(message, QStringList{"attn_v.weight"});
        LATHE_VERIFY_ERROR(lathe::q4kmTypeFor("blk.24.ffn_down.weight", {256, 256}, m), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"blk.24.ffn_down.weight", "24"}));
    }

    void singleTypeFtypes()
    {
        // llama-quantize's Q4_0 / Q4_1 / Q5_0 / Q6_K files give the output tensor Q6_K; Q8_0 files keep Q8_0.
        lathe::GgufMixtureModel m;
        m.layerCount = 28;
        m.hasOutputTensor = true;
        const std::vector<std::int64_t> out = {1024, 151936};
        QCOMPARE(lathe::llamaQuantizeTypeFor(GgmlType::Q4_0, "output.weight", out, m), GgmlType::Q6_K);
        QCOMPARE(lathe::llamaQuantizeTypeFor(GgmlType::Q5_0, "output.weight", out, m), GgmlType::Q6_K);
        QCOMPARE(lathe::llamaQuantizeTypeFor(GgmlType::Q8_0, "output.weight", out, m), GgmlType::Q8_0);
        QCOMPARE(lathe::llamaQuantizeTypeFor(GgmlType::Q6_K, "output.weight", out, m), GgmlType::Q6_K);
        QCOMPARE(lathe::llamaQuantizeTypeFor(GgmlType::Q4_0, "token_embd.weight", out, m), GgmlType::Q4_0);
        QCOMPARE(lathe::llamaQuantizeTypeFor(GgmlType::Q4_1, "blk.3.ffn_down.weight", {3072, 1024}, m),
                 GgmlType::Q4_1);
        QCOMPARE(lathe::llamaQuantizeTypeFor(GgmlType::Q4_0, "blk.3.attn_norm.weight", {1024}, m),
                 GgmlType::F32);
        m.hasOutputTensor = false;
        QCOMPARE(lathe::llamaQuantizeTypeFor(GgmlType::Q4_0, "token_embd.weight", out, m), GgmlType::Q6_K);
        // Rows of 64 (the small HF fixtures): Q6_K does not fit, Q8_0 does.
        QCOMPARE(lathe::llamaQuantizeTypeFor(GgmlType::Q4_0, "token_embd.weight", {64, 1000}, m),
                 GgmlType::Q8_0);
        QCOMPARE(lathe::llamaQuantizeTypeFor(GgmlType::Q6_K, "blk.0.attn_q.weight", {64, 64}, m),
                 GgmlType::Q8_0);
        QCOMPARE(lathe::llamaQuantizeTypeFor(GgmlType::Q8_0, "token_embd.weight", {100, 1000}, m),
                 GgmlType::F16);
    }

    // ===== threads =====

    void parallelRowsMatchOneThread_data()
    {
        QTest::addColumn<int>("type");
        for (const GgmlType t : allTypes())
            QTest::newRow(lathe::ggmlTypeName(t)) << static_cast<int>(t);
    }

    void parallelRowsMatchOneThread()
    {
        QFETCH(int, type);
        const auto t = static_cast<GgmlType>(type);
        // Enough elements that 7 threads really start (the quantizer keeps >= 64k elements per thread), and a
        // row count that does not split evenly.
        const std::int64_t rows = 901, cols = 512;
        const std::vector<float> x = randomWeights(rows * cols, 11);
        const std::vector<std::uint8_t> one = quantize(t, x, rows, cols, 1);
        for (const int threads : {2, 3, 7}) {
            const std::vector<std::uint8_t> many = quantize(t, x, rows, cols, threads);
            QCOMPARE(many.size(), one.size());
            const QString diff = firstDifference(t, cols, many.data(), one.data(), one.size());
            QVERIFY2(diff.isEmpty(), qPrintable(QStringLiteral("%1 threads: ").arg(threads) + diff));
        }
        // Row by row gives the same bytes as the whole matrix.
        std::vector<std::uint8_t> row(lathe::ggmlRowSize(t, cols));
        for (const std::int64_t r : {std::int64_t(0), std::int64_t(450), rows - 1}) {
            lathe::quantizeRow(t, x.data() + r * cols, row.data(), cols);
            QVERIFY(std::memcmp(row.data(), one.data() + r * row.size(), row.size()) == 0);
        }
    }

    // bfloat16 input widened row by row in the workers equals widening the whole matrix first.
    void bf16RowsMatchFloatRows_data() { parallelRowsMatchOneThread_data(); }

    void bf16RowsMatchFloatRows()
    {
        QFETCH(int, type);
        const auto t = static_cast<GgmlType>(type);
        const std::int64_t rows = 333, cols = 512;
        std::vector<float> x = randomWeights(rows * cols, 5);
        std::vector<std::uint16_t> bf16(x.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            std::uint32_t u;
            std::memcpy(&u, &x[i], sizeof u);
            bf16[i] = static_cast<std::uint16_t>(u >> 16); // truncation is fine: x is redefined from it
            u = static_cast<std::uint32_t>(bf16[i]) << 16;
            std::memcpy(&x[i], &u, sizeof u);
        }
        const std::vector<std::uint8_t> want = quantize(t, x, rows, cols, 1);
        for (const int threads : {1, 3}) {
            std::vector<std::uint8_t> got(want.size());
            lathe::quantizeRowsBf16(t, bf16.data(), got.data(), rows, cols, threads);
            const QString diff = firstDifference(t, cols, got.data(), want.data(), want.size());
            QVERIFY2(diff.isEmpty(), qPrintable(QStringLiteral("%1 threads: ").arg(threads) + diff));
        }
    }

    // ===== fp16 / bf16 =====

    void fp16Conversion_data()
    {
        QTest::addColumn<quint32>("input");
        QTest::addColumn<quint16>("expected");
        auto row = [](const char* name, std::uint32_t in, std::uint16_t out) {
            QTest::newRow(name) << quint32(in) << quint16(out);
        };
        row("+0", 0x00000000u, 0x0000);
        row("-0 keeps its sign", 0x80000000u, 0x8000);
        row("1", bitsFromFloat(1.0f), 0x3C00);
        row("-2", bitsFromFloat(-2.0f), 0xC000);
        row("65504 (max)", bitsFromFloat(65504.0f), 0x7BFF);
        row("65519.996 rounds down to max", 0x477FEFFFu, 0x7BFF);
        row("65520 ties to even = inf", bitsFromFloat(65520.0f), 0x7C00);
        row("1e9 -> inf", bitsFromFloat(1e9f), 0x7C00);
        row("-1e9 -> -inf", bitsFromFloat(-1e9f), 0xFC00);
        row("+inf", 0x7F800000u, 0x7C00);
        row("-inf", 0xFF800000u, 0xFC00);
        row("NaN", 0x7FC00000u, 0x7E00);
        row("NaN with payload", 0x7F800001u, 0x7E00);
        row("-NaN", 0xFFC00000u, 0xFE00);
        row("2^-14 smallest normal", bitsFromFloat(std::ldexp(1.0f, -14)), 0x0400);
        row("2^-24 smallest subnormal", bitsFromFloat(std::ldexp(1.0f, -24)), 0x0001);
        row("1023 * 2^-24 largest subnormal", bitsFromFloat(std::ldexp(1023.0f, -24)), 0x03FF);
        row("2^-25 ties to even 0", bitsFromFloat(std::ldexp(1.0f, -25)), 0x0000);
        row("-2^-25 ties to -0", bitsFromFloat(-std::ldexp(1.0f, -25)), 0x8000);
        row("just above 2^-25 -> 2^-24", bitsFromFloat(std::ldexp(1.0f, -25)) + 1, 0x0001);
        row("1.5 * 2^-24 ties up to 2", bitsFromFloat(std::ldexp(3.0f, -25)), 0x0002);
        row("2.5 * 2^-24 ties down to 2", bitsFromFloat(std::ldexp(5.0f, -25)), 0x0002);
        row("subnormal carry into normal", bitsFromFloat(std::ldexp(2047.0f, -25)), 0x0400);
        row("float subnormal -> 0", 0x00000001u, 0x0000);
        row("-float subnormal -> -0", 0x80000001u, 0x8000);
        row("1 + 2^-11 ties to even 1", bitsFromFloat(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
        row("1 + 3*2^-11 ties up", bitsFromFloat(1.0f + std::ldexp(3.0f, -11)), 0x3C02);
        row("1 + 2^-11 + ulp rounds up", bitsFromFloat(1.0f + std::ldexp(1.0f, -11)) + 1, 0x3C01);
        row("2049 ties to 2048", bitsFromFloat(2049.0f), 0x6800);
        row("2051 ties to 2052", bitsFromFloat(2051.0f), 0x6802);
        row("0.1", bitsFromFloat(0.1f), 0x2E66);
    }

    void fp16Conversion()
    {
        QFETCH(quint32, input);
        QFETCH(quint16, expected);
        const std::uint16_t got = lathe::fp32ToFp16(floatFromBits(input));
        QVERIFY2(got == expected, qPrintable(QStringLiteral("0x%1 -> 0x%2, expected 0x%3")
                                                 .arg(input, 8, 16, QLatin1Char('0'))
                                                 .arg(got, 4, 16, QLatin1Char('0'))
                                                 .arg(expected, 4, 16, QLatin1Char('0'))));
        // Storing as F16 goes through the same conversion.
        std::vector<float> row(1, floatFromBits(input));
        std::uint8_t bytes[2];
        lathe::quantizeRow(GgmlType::F16, row.data(), bytes, 1);
        QCOMPARE(static_cast<std::uint16_t>(bytes[0] | (bytes[1] << 8)),
                 static_cast<std::uint16_t>(expected));
    }

    void fp16RoundTripsEveryHalf()
    {
        for (std::uint32_t h = 0; h < 65536; ++h) {
            const float f = lathe::fp16ToFp32(static_cast<std::uint16_t>(h));
            const bool nan = ((h >> 10) & 0x1F) == 0x1F && (h & 0x3FF) != 0;
            if (nan) {
                QVERIFY(std::isnan(f));
                QCOMPARE(lathe::fp32ToFp16(f), static_cast<std::uint16_t>((h & 0x8000) | 0x7E00));
            } else if (lathe::fp32ToFp16(f) != h) {
                QFAIL(qPrintable(
                    QStringLiteral("half 0x%1 does not round-trip").arg(h, 4, 16, QLatin1Char('0'))));
            }
        }
    }

    void fp16MatchesTorchHalf()
    {
        // c10::Half rounds to nearest even too; sweep the float space (NaNs excluded: payload handling
        // differs).
        std::uint64_t checked = 0;
        for (std::uint64_t u = 0; u <= 0xFFFFFFFFull; u += 997) {
            const float f = floatFromBits(static_cast<std::uint32_t>(u));
            if (std::isnan(f))
                continue;
            const std::uint16_t want = c10::Half(f).x;
            const std::uint16_t got = lathe::fp32ToFp16(f);
            if (got != want)
                QFAIL(qPrintable(QStringLiteral("0x%1: got 0x%2, torch 0x%3")
                                     .arg(static_cast<quint32>(u), 8, 16, QLatin1Char('0'))
                                     .arg(got, 4, 16, QLatin1Char('0'))
                                     .arg(want, 4, 16, QLatin1Char('0'))));
            ++checked;
        }
        QVERIFY(checked > 4000000);
    }

    void bf16Conversion_data()
    {
        QTest::addColumn<quint32>("input");
        QTest::addColumn<quint16>("expected");
        auto row = [](const char* name, std::uint32_t in, std::uint16_t out) {
            QTest::newRow(name) << quint32(in) << quint16(out);
        };
        row("+0", 0x00000000u, 0x0000);
        row("-0", 0x80000000u, 0x8000);
        row("1", 0x3F800000u, 0x3F80);
        row("tie to even down", 0x3F808000u, 0x3F80);
        row("tie to even up", 0x3F818000u, 0x3F82);
        row("above tie", 0x3F808001u, 0x3F81);
        row("max float -> inf", 0x7F7FFFFFu, 0x7F80);
        row("+inf", 0x7F800000u, 0x7F80);
        row("-inf", 0xFF800000u, 0xFF80);
        row("NaN stays quiet NaN", 0x7F800001u, 0x7FC0);
        row("-NaN", 0xFFC00000u, 0xFFC0);
        row("float subnormal rounds", 0x00008000u, 0x0000);
        row("float subnormal kept", 0x00018000u, 0x0002);
    }

    void bf16Conversion()
    {
        QFETCH(quint32, input);
        QFETCH(quint16, expected);
        QCOMPARE(lathe::fp32ToBf16(floatFromBits(input)), static_cast<std::uint16_t>(expected));
        const float back = lathe::bf16ToFp32(static_cast<std::uint16_t>(expected));
        QCOMPARE(bitsFromFloat(back), static_cast<std::uint32_t>(expected) << 16);
    }

    // ===== round trip =====

    void roundTripErrorIsSmall_data()
    {
        QTest::addColumn<int>("type");
        QTest::addColumn<double>("maxRelativeRmse");
        // Measured on N(0, 0.02) weights: Q8_0 0.005, Q6_K 0.018, Q5_x 0.036-0.043, Q4_x 0.071-0.086.
        auto row = [](GgmlType t, double bound) {
            QTest::newRow(lathe::ggmlTypeName(t)) << static_cast<int>(t) << bound;
        };
        row(GgmlType::F32, 0.0);
        row(GgmlType::F16, 0.001);
        row(GgmlType::BF16, 0.004);
        row(GgmlType::Q8_0, 0.008);
        row(GgmlType::Q6_K, 0.025);
        row(GgmlType::Q5_0, 0.055);
        row(GgmlType::Q5_1, 0.05);
        row(GgmlType::Q5_K, 0.05);
        row(GgmlType::Q4_0, 0.11);
        row(GgmlType::Q4_1, 0.10);
        row(GgmlType::Q4_K, 0.09);
    }

    void roundTripErrorIsSmall()
    {
        QFETCH(int, type);
        QFETCH(double, maxRelativeRmse);
        const auto t = static_cast<GgmlType>(type);
        const std::int64_t rows = 64, cols = 1024;
        std::mt19937 rng(5);
        std::normal_distribution<float> normal(0.0f, 0.02f);
        std::vector<float> x(static_cast<std::size_t>(rows * cols));
        for (float& v : x)
            v = normal(rng);
        const std::vector<std::uint8_t> q = quantize(t, x, rows, cols, 2);
        const std::size_t rowBytes = lathe::ggmlRowSize(t, cols);
        std::vector<float> y(static_cast<std::size_t>(cols));
        double err2 = 0, x2 = 0;
        for (std::int64_t r = 0; r < rows; ++r) {
            lathe::dequantizeRow(t, q.data() + r * rowBytes, y.data(), cols);
            for (std::int64_t c = 0; c < cols; ++c) {
                const double d = double(y[c]) - x[r * cols + c];
                err2 += d * d;
                x2 += double(x[r * cols + c]) * x[r * cols + c];
            }
        }
        const double rel = std::sqrt(err2 / x2);
        QVERIFY2(rel <= maxRelativeRmse,
                 qPrintable(QStringLiteral("relative RMSE %1 > %2").arg(rel).arg(maxRelativeRmse)));
        if (lathe::ggmlIsQuantized(t))
            QVERIFY2(rel > 0, "a quantizer that loses nothing is suspicious");
    }

    void zerosStayZero()
    {
        for (const GgmlType t : allTypes()) {
            const std::int64_t n = 512;
            const std::vector<float> x(n, 0.0f);
            std::vector<std::uint8_t> q(lathe::ggmlRowSize(t, n));
            lathe::quantizeRow(t, x.data(), q.data(), n);
            std::vector<float> y(n, 1.0f);
            lathe::dequantizeRow(t, q.data(), y.data(), n);
            for (const float v : y)
                QVERIFY2(v == 0.0f, lathe::ggmlTypeName(t));
        }
    }

    // ===== sizes and errors =====

    void rowSizesAndErrors()
    {
        QCOMPARE(lathe::ggmlRowSize(GgmlType::Q4_K, 512), std::size_t(288));
        QCOMPARE(lathe::ggmlRowSize(GgmlType::Q6_K, 256), std::size_t(210));
        QCOMPARE(lathe::ggmlRowSize(GgmlType::Q5_K, 256), std::size_t(176));
        QCOMPARE(lathe::ggmlRowSize(GgmlType::Q8_0, 64), std::size_t(68));
        QCOMPARE(lathe::ggmlRowSize(GgmlType::Q4_0, 32), std::size_t(18));
        QCOMPARE(lathe::ggmlRowSize(GgmlType::Q4_1, 32), std::size_t(20));
        QCOMPARE(lathe::ggmlRowSize(GgmlType::Q5_0, 32), std::size_t(22));
        QCOMPARE(lathe::ggmlRowSize(GgmlType::Q5_1, 32), std::size_t(24));
        QCOMPARE(lathe::ggmlRowSize(GgmlType::BF16, 3), std::size_t(6));
        for (const GgmlType t : allTypes())
            QCOMPARE(lathe::ggmlTypeFromName(lathe::ggmlTypeName(t)), std::optional<GgmlType>(t));
        QCOMPARE(lathe::ggmlTypeFromName("q4_k"), std::optional<GgmlType>(GgmlType::Q4_K));
        QVERIFY(!lathe::ggmlTypeFromName("Q3_K").has_value());

        QString message;
        std::vector<float> x(100, 0.5f);
        std::vector<std::uint8_t> out(1024);
        LATHE_VERIFY_ERROR(lathe::quantizeRow(GgmlType::Q4_K, x.data(), out.data(), 100), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"Q4_K", "100", "256"}));
        LATHE_VERIFY_ERROR(lathe::quantizeRows(GgmlType::Q8_0, x.data(), out.data(), 2, 50, 2), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"Q8_0", "50"}));
        LATHE_VERIFY_ERROR(lathe::ggmlRowSize(GgmlType::Q8_0, 33), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"Q8_0", "33"}));

        lathe::GgufFile file;
        const auto none = [] { return at::Tensor(); };
        LATHE_VERIFY_ERROR(file.addTensor("blk.0.ffn_down.weight", {100, 4}, GgmlType::Q4_K, none), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"blk.0.ffn_down.weight", "100", "Q4_K"}));
        LATHE_VERIFY_NO_ERROR(file.addTensor("w", {256, 3}, GgmlType::Q6_K, none));
        QCOMPARE(file.dataBytes(), std::uint64_t(640)); // 3 * 210 = 630, padded to 32
    }

    void parseOutTypes()
    {
        using lathe::GgufOutType;
        const std::vector<std::pair<const char*, GgufOutType>> names = {
            {"auto", GgufOutType::AsStored}, {"f32", GgufOutType::F32},
            {"f16", GgufOutType::F16},       {"bf16", GgufOutType::BF16},
            {"q8_0", GgufOutType::Q8_0},     {"q4_0", GgufOutType::Q4_0},
            {"q4_1", GgufOutType::Q4_1},     {"q5_0", GgufOutType::Q5_0},
            {"q6_k", GgufOutType::Q6_K},     {"q4_k", GgufOutType::Q4_K},
            {"q4_k_m", GgufOutType::Q4_K_M}, {"Q4_K_M", GgufOutType::Q4_K_M}};
        for (const auto& [text, type] : names)
            QVERIFY2(lathe::parseGgufOutType(text) == type, text);
        QString message;
        LATHE_VERIFY_ERROR(lathe::parseGgufOutType("q3_k_s"), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"q3_k_s", "q8_0", "q4_k_m"}));
    }

    // ===== the writer =====

    void exportQuantizedGguf_data()
    {
        QTest::addColumn<QString>("arch");
        QTest::addColumn<bool>("tied");
        QTest::addColumn<QString>("outType");
        QTest::newRow("qwen3 untied q4_k_m") << "qwen3" << false << "q4_k_m";
        QTest::newRow("qwen3 tied q4_k_m") << "qwen3" << true << "q4_k_m";
        QTest::newRow("llama (q/k permuted) q4_k_m") << "llama" << false << "q4_k_m";
        QTest::newRow("qwen3 q8_0") << "qwen3" << false << "q8_0";
        QTest::newRow("llama q6_k") << "llama" << true << "q6_k";
        QTest::newRow("qwen3 tied q4_0") << "qwen3" << true << "q4_0";
        QTest::newRow("qwen3 tied q4_k (pure)") << "qwen3" << true << "q4_k";
    }

    void exportQuantizedGguf()
    {
        QFETCH(QString, arch);
        QFETCH(bool, tied);
        QFETCH(QString, outType);
        namespace fs = std::filesystem;
        const fs::path root = lathe::test::scratchDir("gguf_quant_export").toStdString();
        // Rows of 256 (K-quants fit), an intermediate of 320 (ffn_down falls back), 8 layers (Q6_K on 0, 3,
        // 6, 7).
        lathe::NewModelOptions o;
        o.arch = arch.toStdString();
        o.config =
            nlohmann::json{
                {"vocab_size", 512},      {"hidden_size", 256},          {"intermediate_size", 320},
                {"num_hidden_layers", 8}, {"num_attention_heads", 4},    {"num_key_value_heads", 2},
                {"head_dim", 64},         {"tie_word_embeddings", tied}, {"max_position_embeddings", 512}}
                .dump();
        o.outDir = (root / "model").string();
        o.dtype = "bfloat16";
        o.seed = 3;
        LATHE_VERIFY_NO_ERROR(lathe::writeNewModel(o));

        lathe::GgufExportOptions options;
        options.modelDir = o.outDir;
        options.outType = lathe::parseGgufOutType(outType.toStdString());
        options.vocab.placeholderIfMissing = true;
        options.threads = 3;
        options.outPath = (root / "model.gguf").string();
        lathe::GgufExportSummary summary;
        LATHE_VERIFY_NO_ERROR(summary = lathe::exportGguf(options));
        // The thread count changes nothing.
        options.threads = 1;
        options.outPath = (root / "model-1thread.gguf").string();
        LATHE_VERIFY_NO_ERROR(lathe::exportGguf(options));
        const QByteArray threaded = readAll(QString::fromStdString((root / "model.gguf").string()));
        QVERIFY(!threaded.isEmpty());
        QVERIFY2(threaded == readAll(QString::fromStdString(options.outPath)),
                 "1-thread and 3-thread files differ");

        const ReadGguf g = readGguf(QString::fromStdString((root / "model.gguf").string()));
        QVERIFY2(g.error.isEmpty(), qPrintable(g.error));
        const std::map<QString, std::uint32_t> ftypes = {
            {"q4_k_m", 15}, {"q8_0", 7}, {"q6_k", 18}, {"q4_0", 2}, {"q4_k", 14}};
        QCOMPARE(g.u32.at("general.file_type"), ftypes.at(outType));
        QCOMPARE(summary.fileType, ftypes.at(outType));
        QCOMPARE(g.u32.at("general.quantization_version"), std::uint32_t(2));

        const lathe::WeightStore store = lathe::WeightStore::openDir(o.outDir);
        std::map<std::string, std::string> hfOf;
        for (const std::string& hf : store.names())
            if (const auto name = lathe::ggufTensorName(hf))
                hfOf[*name] = hf;
        lathe::GgufMixtureModel model;
        model.layerCount = 8;
        model.hasOutputTensor = !tied;
        QCOMPARE(hfOf.count("output.weight") == 1, !tied);

        std::map<std::string, int> typeCounts;
        std::uint64_t expectedOffset = 0;
        for (const ReadTensor& t : g.tensors) {
            const auto type = static_cast<GgmlType>(t.type);
            ++typeCounts[lathe::ggmlTypeName(type)];
            if (t.name == "rope_freqs.weight") { // generated, not from the safetensors
                QCOMPARE(type, GgmlType::F32);
                expectedOffset += (t.ne[0] * 4 + 31) / 32 * 32;
                continue;
            }
            QVERIFY2(hfOf.count(t.name), t.name.c_str());
            // The type: the Q4_K_M mixture, pure Q4_K, or llama-quantize's single-type rule; 1-D tensors F32.
            GgmlType want = GgmlType::F32;
            if (outType == "q4_k_m")
                want = lathe::q4kmTypeFor(t.name, t.ne, model);
            else if (outType == "q4_k")
                want = lathe::ggufTensorAllowsQuantization(t.name, t.ne)
                           ? lathe::ggmlTypeForRow(GgmlType::Q4_K, t.ne[0])
                           : GgmlType::F32;
            else
                want = lathe::llamaQuantizeTypeFor(*lathe::ggmlTypeFromName(outType.toStdString()), t.name,
                                                   t.ne, model);
            QVERIFY2(type == want,
                     qPrintable(QStringLiteral("%1: %2, expected %3")
                                    .arg(QString::fromStdString(t.name), lathe::ggmlTypeName(type),
                                         lathe::ggmlTypeName(want))));
            // The bytes: the HF weight widened to float32 (q/k rows permuted for llama), encoded by
            // quantizeRows.
            torch::Tensor w = store.get(hfOf[t.name]).to(torch::kFloat).contiguous();
            if (arch == "llama" && t.ne.size() == 2 &&
                (t.name.find("attn_q.") != std::string::npos ||
                 t.name.find("attn_k.") != std::string::npos)) {
                const std::int64_t heads = t.name.find("attn_q.") != std::string::npos ? 4 : 2;
                const std::int64_t rows = w.size(0), cols = w.size(1);
                w = w.reshape({heads, 2, rows / heads / 2, cols})
                        .transpose(1, 2)
                        .reshape({rows, cols})
                        .contiguous();
            }
            const std::int64_t cols = t.ne[0];
            const std::int64_t rows = w.numel() / cols;
            std::vector<std::uint8_t> expected(static_cast<std::size_t>(rows) *
                                               lathe::ggmlRowSize(type, cols));
            lathe::quantizeRows(type, w.data_ptr<float>(), expected.data(), rows, cols, 1);
            QCOMPARE(t.offset, expectedOffset);
            expectedOffset += (expected.size() + 31) / 32 * 32;
            QVERIFY(g.dataStart + t.offset + expected.size() <= static_cast<std::uint64_t>(g.bytes.size()));
            const auto* got =
                reinterpret_cast<const std::uint8_t*>(g.bytes.constData()) + g.dataStart + t.offset;
            const QString diff = firstDifference(type, cols, got, expected.data(), expected.size());
            QVERIFY2(diff.isEmpty(), qPrintable(QString::fromStdString(t.name) + ": " + diff));
        }
        QCOMPARE(static_cast<std::uint64_t>(g.bytes.size()), g.dataStart + expectedOffset);
        if (outType == "q4_k_m") {
            // 8 layers: attn_v and ffn_down get Q6_K on layers 0, 3, 6, 7; ffn_down (rows of 320) falls back.
            QCOMPARE(typeCounts["Q6_K"], 4 + 1); // attn_v x4 + the output tensor (token_embd when tied)
            QCOMPARE(typeCounts["Q8_0"], 4);     // ffn_down Q6_K -> Q8_0
            QCOMPARE(typeCounts["Q5_0"], 4);     // ffn_down Q4_K -> Q5_0
        } else if (outType == "q4_0") {
            QCOMPARE(typeCounts["Q6_K"], 1); // the tied token_embd is the output tensor
            QCOMPARE(typeCounts["Q4_0"], 8 * 7);
        } else if (outType == "q4_k") {
            QCOMPARE(typeCounts["Q4_K"], 1 + 8 * 6); // token_embd and all but ffn_down
            QCOMPARE(typeCounts["Q5_0"], 8);         // ffn_down's rows of 320
        }
    }
    // ===== LoRA adapters as GGUF adapters =====

    void exportLoraGguf_data()
    {
        QTest::addColumn<QString>("arch");
        QTest::addColumn<bool>("rslora");
        QTest::addColumn<QString>("outType");
        QTest::newRow("qwen3 f32") << "qwen3" << false << "f32";
        QTest::newRow("llama rslora f32 (lora_b q/k permuted)") << "llama" << true << "f32";
        QTest::newRow("qwen3 f16") << "qwen3" << false << "f16";
        QTest::newRow("llama q8_0") << "llama" << false << "q8_0";
    }

    void exportLoraGguf()
    {
        QFETCH(QString, arch);
        QFETCH(bool, rslora);
        QFETCH(QString, outType);
        namespace fs = std::filesystem;
        const fs::path root = lathe::test::scratchDir("gguf_lora_export").toStdString();
        lathe::NewModelOptions o;
        o.arch = arch.toStdString();
        o.config = nlohmann::json{{"vocab_size", 512},     {"hidden_size", 64},        {"intermediate_size", 128},
                                  {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 2}}
                       .dump();
        o.outDir = (root / "model").string();
        o.dtype = "float32";
        LATHE_VERIFY_NO_ERROR(lathe::writeNewModel(o));
        lathe::CausalLM model(nullptr);
        LATHE_VERIFY_NO_ERROR(model = lathe::loadModel(o.outDir, {torch::kCPU, torch::kFloat32}));
        lathe::LoraConfig lc;
        lc.r = 8;
        lc.alpha = 16;
        lc.useRslora = rslora;
        lc.targetModules = {"all"};
        lathe::AttachedAdapter adapter;
        LATHE_VERIFY_NO_ERROR(adapter = lathe::createLoraAdapter(model, lc));
        {
            torch::NoGradGuard noGrad;
            for (auto& [name, t] : adapter.parameters)
                t.normal_(0.0, 0.1);
        }
        const std::string adapterDir = (root / "adapter").string();
        LATHE_VERIFY_NO_ERROR(lathe::saveLoraAdapter(adapterDir, adapter, o.outDir));

        lathe::GgufLoraExportOptions options;
        options.adapterDir = adapterDir;
        options.modelDir = o.outDir;
        options.outType = lathe::parseGgufOutType(outType.toStdString());
        options.outPath = (root / "adapter.gguf").string();
        lathe::GgufExportSummary summary;
        LATHE_VERIFY_NO_ERROR(summary = lathe::exportGgufLora(options));
        const ReadGguf g = readGguf(QString::fromStdString(options.outPath));
        QVERIFY2(g.error.isEmpty(), qPrintable(g.error));
        QCOMPARE(g.strings.at("general.architecture"), arch.toStdString());
        QCOMPARE(g.strings.at("general.type"), std::string("adapter"));
        QCOMPARE(g.strings.at("adapter.type"), std::string("lora"));
        QCOMPARE(g.f32.at("adapter.lora.alpha"), rslora ? float(16 * std::sqrt(8.0)) : 16.0f);
        QVERIFY(!g.strings.count("tokenizer.ggml.model")); // adapters carry no vocabulary
        QCOMPARE(g.tensors.size(), std::size_t(2 * 2 * 7)); // 2 layers x 7 linear layers x (A, B)

        const lathe::WeightStore store = lathe::WeightStore::openDir(adapterDir, "adapter_model");
        for (const ReadTensor& t : g.tensors) {
            const bool isA = t.name.size() > 7 && t.name.compare(t.name.size() - 7, 7, ".lora_a") == 0;
            const std::string base = t.name.substr(0, t.name.size() - 7); // blk.N.attn_q.weight
            std::string hf;
            for (const std::string& n : store.names()) {
                const std::string module = n.substr(17, n.find(".lora_") - 17); // strip base_model.model.
                if (lathe::ggufTensorName(module + ".weight") == base && (n.find(".lora_A.") != std::string::npos) == isA)
                    hf = n;
            }
            QVERIFY2(!hf.empty(), t.name.c_str());
            torch::Tensor w = store.get(hf).to(torch::kFloat).contiguous();
            QCOMPARE(t.ne, (std::vector<std::int64_t>{w.size(1), w.size(0)}));
            if (arch == "llama" && !isA &&
                (base.find("attn_q.") != std::string::npos || base.find("attn_k.") != std::string::npos)) {
                const std::int64_t heads = base.find("attn_q.") != std::string::npos ? 4 : 2;
                w = w.reshape({heads, 2, w.size(0) / heads / 2, w.size(1)}).transpose(1, 2).reshape(w.sizes()).contiguous();
            }
            const auto type = static_cast<GgmlType>(t.type);
            const GgmlType want = outType == "f32"   ? GgmlType::F32
                                  : outType == "f16" ? GgmlType::F16
                                                     : lathe::ggmlTypeForRow(GgmlType::Q8_0, t.ne[0]);
            QCOMPARE(type, want);
            std::vector<std::uint8_t> expected(static_cast<std::size_t>(w.size(0)) * lathe::ggmlRowSize(type, t.ne[0]));
            lathe::quantizeRows(type, w.data_ptr<float>(), expected.data(), w.size(0), t.ne[0], 1);
            const auto* got = reinterpret_cast<const std::uint8_t*>(g.bytes.constData()) + g.dataStart + t.offset;
            const QString diff = firstDifference(type, t.ne[0], got, expected.data(), expected.size());
            QVERIFY2(diff.isEmpty(), qPrintable(QString::fromStdString(t.name) + ": " + diff));
        }
    }

    void loraGgufRefusals()
    {
        namespace fs = std::filesystem;
        const fs::path root = lathe::test::scratchDir("gguf_lora_refusals").toStdString();
        lathe::NewModelOptions o;
        o.config = "tiny";
        o.outDir = (root / "model").string();
        o.dtype = "float32";
        LATHE_VERIFY_NO_ERROR(lathe::writeNewModel(o));
        lathe::CausalLM model(nullptr);
        LATHE_VERIFY_NO_ERROR(model = lathe::loadModel(o.outDir, {torch::kCPU, torch::kFloat32}));
        lathe::LoraConfig lc;
        lc.useDora = true;
        lc.targetModules = {"q_proj"};
        lathe::AttachedAdapter adapter;
        LATHE_VERIFY_NO_ERROR(adapter = lathe::createLoraAdapter(model, lc));
        LATHE_VERIFY_NO_ERROR(lathe::saveLoraAdapter((root / "dora").string(), adapter, o.outDir));
        lathe::GgufLoraExportOptions options;
        options.adapterDir = (root / "dora").string();
        options.modelDir = o.outDir;
        options.outPath = (root / "dora.gguf").string();
        QString message;
        LATHE_VERIFY_ERROR(lathe::exportGgufLora(options), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"adapter_config.json", "use_dora", "merged"}));
        options.outType = lathe::GgufOutType::Q4_K_M;
        LATHE_VERIFY_ERROR(lathe::exportGgufLora(options), message);
        QVERIFY(!fs::exists(options.outPath));
    }
};
QTEST_GUILESS_MAIN(TestGgufQuant)
#include "tst_gguf_quant.moc"

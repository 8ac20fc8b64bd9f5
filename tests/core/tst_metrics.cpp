// Tests of core/eval/similarity_metrics: BLEU-4 (nltk sentence_bleu, method3 smoothing, characters) and
// ROUGE-1/2/L (rouge_chinese, exclusive n-gram sets, summary-level LCS) as LLaMA-Factory's ComputeSimilarity
// computes them. Every expected number is derived by hand in the comment above it from the definitions:
//
//   BLEU  = BP * exp(sum_n 0.25 * ln p_n), p_n = clipped n-gram matches / max(1, hypothesis n-grams); the
//           k-th zero p_n becomes 1 / (2^k * its denominator); BP = 1 if |hyp| > |ref|, else exp(1 - |ref|/|hyp|);
//           0 when no character matches.
//   ROUGE-N f = 2 * (P * R) / (P + R + 1e-8) on *distinct* n-grams; ROUGE-L is the LCS of the whole word
//           lists, P = LCS/|hyp words|, R = LCS/|ref words|, the same f.
//
// Those use the character segmentation (no jieba). The oracle tests at the end check jieba's words and the
// scores against shared/fixtures/metrics, made by jieba, rouge_chinese and nltk themselves.
//
// Scores are x100 and rounded to 4 decimals (Python round), e.g. 2 * 0.64 / (1.6 + 1e-8) = 0.7999999950 ->
// 79.99999950 -> 80.0.
#include <cmath>
#include <string>
#include <vector>

#include <QtTest/QtTest>

#include <QDir>
#include <QFile>

#include <nlohmann/json.hpp>

#include "eval/jieba_segmenter.h"
#include "eval/similarity_metrics.h"
#include "test_support.h"
#include "util/error.h"

using namespace lathe;

namespace {

bool near(double a, double b, double tol = 1e-9)
{
    return std::abs(a - b) <= tol;
}

// The character segmentation (no jieba): the hand derivations below count on it.
SimilarityScores chars(const std::string& prediction, const std::string& label)
{
    return similarityScores(prediction, label, nullptr);
}

QString q(const std::string& s)
{
    return QString::fromStdString(s);
}

// Every *.json of shared/fixtures/metrics (discovered, so added files are tested too).
std::vector<std::pair<QString, nlohmann::json>> metricFixtures()
{
    std::vector<std::pair<QString, nlohmann::json>> out;
    const QDir dir(lathe::test::sharedDir() + "/fixtures/metrics");
    for (const QString& name : dir.entryList({"*.json"}, QDir::Files, QDir::Name)) {
        QFile f(dir.filePath(name));
        if (!f.open(QIODevice::ReadOnly))
            continue;
        out.emplace_back(name, nlohmann::json::parse(f.readAll().toStdString()));
    }
    return out;
}

std::shared_ptr<const JiebaSegmenter> requireJieba()
{
    std::string why;
    auto jieba = JiebaSegmenter::shared(&why);
    if (!jieba)
        qWarning("%s", why.c_str());
    return jieba;
}

void compareTokens(const std::vector<std::string>& got, const nlohmann::json& expected, const QString& where)
{
    std::vector<std::string> want;
    for (const auto& t : expected)
        want.push_back(t.get<std::string>());
    if (got != want) {
        QStringList g, w;
        for (const auto& t : got)
            g << q(t);
        for (const auto& t : want)
            w << q(t);
        QFAIL(qPrintable(where + "\n  got:      [" + g.join("|") + "]\n  expected: [" + w.join("|") + "]"));
    }
}

} // namespace

class TestMetrics : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void segmentation()
    {
        // ASCII words whole, whitespace kept as tokens, CJK and punctuation one character each, "3.14" and
        // "50%" whole (jieba's HMM fallback).
        const std::vector<std::string> words = segmentWords("Hi there, 今天3.14 50%!");
        const std::vector<std::string> expected = {"Hi", " ", "there", ",", " ", "今", "天", "3.14", " ", "50%", "!"};
        QCOMPARE(words.size(), expected.size());
        for (std::size_t i = 0; i < words.size(); ++i)
            QCOMPARE(QString::fromStdString(words[i]), QString::fromStdString(expected[i]));
        QCOMPARE(utf8ToCodePoints("a\xff" "b").size(), std::size_t(3)); // an invalid byte is one U+FFFD
    }

    void bleuIdentical()
    {
        // "abcd": p1..p4 = 4/4, 3/3, 2/2, 1/1; |hyp| = |ref| so BP = exp(0) = 1 -> 1.0 -> 100.0.
        QVERIFY(near(sentenceBleu4("abcd", "abcd"), 1.0));
        QCOMPARE(chars("abcd", "abcd").bleu4, 100.0);
    }

    void bleuShortStringsAreSmoothed()
    {
        // "ab" vs "ab": p1 = 2/2, p2 = 1/1; no trigram or 4-gram in a 2-character hypothesis: 0/max(1,0) = 0/1,
        // smoothed to 1/(2*1) and 1/(4*1). BLEU = (1 * 1 * 1/2 * 1/4)^(1/4) = 2^(-3/4) = 0.5946035575 -> 59.4604.
        QVERIFY(near(sentenceBleu4("ab", "ab"), std::pow(2.0, -0.75), 1e-12));
        QCOMPARE(chars("ab", "ab").bleu4, 59.4604);
        // "abcxy" vs "abcde": p1 = 3/5 (a b c), p2 = 2/4 (ab bc), p3 = 1/3 (abc), p4 = 0/2 -> 1/(2*2) = 1/4
        // (the denominator of the zero count matters); BP = 1. BLEU = (1/40)^(1/4) = 0.3976353644 -> 39.7635.
        QVERIFY(near(sentenceBleu4("abcde", "abcxy"), std::pow(1.0 / 40, 0.25), 1e-12));
        QCOMPARE(chars("abcxy", "abcde").bleu4, 39.7635);
        // "b a" vs "a b" (characters b,' ',a / a,' ',b): p1 = 3/3; p2 = 0/2 -> 1/(2*2); p3 = 0/1 -> 1/(4*1);
        // p4: no 4-gram, 0/1 -> 1/(8*1). BLEU = (1/128)^(1/4) = 2^(-7/4) = 0.2973017788 -> 29.7302.
        QCOMPARE(chars("b a", "a b").bleu4, 29.7302);
    }

    void bleuBrevityPenalty()
    {
        // "abc" vs "abcdef": p1..p3 = 3/3, 2/2, 1/1, p4 = 0/1 -> 1/2; BP = exp(1 - 6/3) = e^-1.
        // BLEU = e^-1 * (1/2)^(1/4) = 0.3678794412 * 0.8408964153 = 0.3093485033 -> 30.9349.
        QVERIFY(near(sentenceBleu4("abcdef", "abc"), std::exp(-1.0) * std::pow(0.5, 0.25), 1e-12));
        QCOMPARE(chars("abc", "abcdef").bleu4, 30.9349);
        // A longer hypothesis is not penalised: "abcd" vs "abc": p1 = 3/4, p2 = 2/3, p3 = 1/2, p4 = 0/1 -> 1/2;
        // BP = 1. BLEU = (3/4 * 2/3 * 1/2 * 1/2)^(1/4) = (1/8)^(1/4) = 0.5946035575 -> 59.4604.
        QCOMPARE(chars("abcd", "abc").bleu4, 59.4604);
    }

    void bleuNoMatchAndEmpty()
    {
        QCOMPARE(sentenceBleu4("abc", "xyz"), 0.0); // no unigram matches
        QCOMPARE(sentenceBleu4("abc", ""), 0.0);    // empty prediction
        QCOMPARE(sentenceBleu4("", "abc"), 0.0);    // empty label
    }

    void chinese()
    {
        // Characters of 今天天气不错 vs 今天天气很好 (6 each):
        //   p1: 今 天 天 气 match (天 twice in both), 不 错 not: 4/6
        //   p2: 今天 天天 天气 | 气不 不错: 3/5;  p3: 今天天 天天气 | 天气不 气不错: 2/4;  p4: 今天天气 | ...: 1/3
        //   BP = 1. BLEU = (4/6 * 3/5 * 2/4 * 1/3)^(1/4) = (1/15)^(1/4) = 0.5081327482 -> 50.8133.
        // ROUGE on one word per character: distinct unigrams {今 天 气 不 错} vs {今 天 气 很 好}: 3 shared
        //   -> P = R = 3/5, f = 2 * 0.36 / (1.2 + 1e-8) = 0.5999999950 -> 60.0; bigrams {今天 天天 天气 气不 不错}
        //   vs {今天 天天 天气 气很 很好}: 3 shared -> 60.0; LCS 今天天气 = 4 of 6 words each -> 66.6667.
        const auto s = chars("今天天气不错", "今天天气很好");
        QCOMPARE(s.bleu4, 50.8133);
        QCOMPARE(s.rouge1, 60.0);
        QCOMPARE(s.rouge2, 60.0);
        QCOMPARE(s.rougeL, 66.6667);
    }

    void chineseSentences()
    {
        // 你好。再见 vs 你好。明天见: "。" followed by a space in the joined words starts a new sentence
        // (cut_sent), giving [你 好 。][再 见] and [你 好 。][明 天 见].
        //   ROUGE-1: {你 好 。 再 见} (5) vs {你 好 。 明 天 见} (6), 4 shared: P = 4/5, R = 4/6,
        //            f = 2 * (8/15) / (22/15 + 1e-8) = 0.7272727223 -> 72.7273.
        //   ROUGE-2 (words flattened across sentences): {你好 好。 。再 再见} vs {你好 好。 。明 明天 天见},
        //            2 shared: P = 2/4, R = 2/5, f = 2 * 0.2 / (0.9 + 1e-8) = 0.4444444395 -> 44.4444.
        //   ROUGE-L: LCS of [你 好 。 再 见] and [你 好 。 明 天 见] = 你好。见, 4: P = 4/5, R = 4/6 -> 72.7273.
        const auto s = chars("你好。再见", "你好。明天见");
        QCOMPARE(s.rouge1, 72.7273);
        QCOMPARE(s.rouge2, 44.4444);
        QCOMPARE(s.rougeL, 72.7273);
    }

    void english()
    {
        // "the cat sat on the mat" vs "the cat is on the mat" (jieba gives the same words here):
        //   ROUGE-1 distinct {the cat sat on mat} vs {the cat is on mat}: 4 shared, P = R = 4/5,
        //           f = 2 * 0.64 / (1.6 + 1e-8) = 0.7999999950 -> 80.0
        //   ROUGE-2 {the_cat cat_sat sat_on on_the the_mat} vs {the_cat cat_is is_on on_the the_mat}: 3 shared,
        //           P = R = 3/5 -> 60.0
        //   ROUGE-L LCS "the cat on the mat" = 5 of 6 words each: P = R = 5/6 -> 83.3333
        const auto s = chars("the cat sat on the mat", "the cat is on the mat");
        QCOMPARE(s.rouge1, 80.0);
        QCOMPARE(s.rouge2, 60.0);
        QCOMPARE(s.rougeL, 83.3333);

        // "b a" vs "a b": the same unigram set -> f = 2 * 1 / (2 + 1e-8) = 0.999999995 -> 100.0; no shared
        // bigram -> 0.0; LCS of [b a] and [a b] has length 1, 2 words each -> P = R = 1/2 -> 50.0.
        const auto t = chars("b a", "a b");
        QCOMPARE(t.rouge1, 100.0);
        QCOMPARE(t.rouge2, 0.0);
        QCOMPARE(t.rougeL, 50.0);
    }

    void identical()
    {
        // Identical text: every distinct n-gram shared, f = 2 / (2 + 1e-8) = 0.999999995 -> 100.0.
        const auto s = chars("Hello world, 你好世界", "Hello world, 你好世界");
        QCOMPARE(s.bleu4, 100.0);
        QCOMPARE(s.rouge1, 100.0);
        QCOMPARE(s.rouge2, 100.0);
        QCOMPARE(s.rougeL, 100.0);
    }

    void emptyPredictionOrLabel()
    {
        // ComputeSimilarity: no words on either side -> ROUGE 0.0; BLEU 0 (BP 0 / no match).
        for (const auto& [pred, label] : std::vector<std::pair<std::string, std::string>>{
                 {"", "some answer"}, {"an answer", ""}, {"   ", "a b"}, {"", ""}}) {
            const auto s = similarityScores(pred, label);
            QCOMPARE(s.rouge1, 0.0);
            QCOMPARE(s.rouge2, 0.0);
            QCOMPARE(s.rougeL, 0.0);
        }
        QCOMPARE(chars("", "some answer").bleu4, 0.0);
        // Whitespace-only prediction "   " vs "a b": BLEU still counts characters (as nltk on list(pred)):
        // p1 = 1/3 (one ' ' of the reference), p2 = 0/2 -> 1/4, p3 = 0/1 -> 1/4, p4 = 0/1 -> 1/8; BP = 1
        // (exp(1 - 3/3) = 1). BLEU = (1/3 * 1/4 * 1/4 * 1/8)^(1/4) = (1/384)^(1/4).
        QVERIFY(near(sentenceBleu4("a b", "   "), std::pow(1.0 / 384, 0.25), 1e-12));
    }

    void averages()
    {
        // Means of the rounded per-sample scores: BLEU (100 + 59.4604) / 2 = 79.7302. "abcd" and "ab" are one
        // word each: ROUGE-1 and ROUGE-L 100.0; no bigram on either side -> P = R = 0 -> ROUGE-2 0.0.
        SimilarityAccumulator acc;
        acc.add(chars("abcd", "abcd"));
        acc.add(chars("ab", "ab"));
        const auto m = acc.means();
        QCOMPARE(acc.count(), std::size_t(2));
        QVERIFY(near(m.at("bleu-4"), (100.0 + 59.4604) / 2));
        QVERIFY(near(m.at("rouge-1"), 100.0));
        QVERIFY(near(m.at("rouge-2"), 0.0));
        QVERIFY(near(m.at("rouge-l"), 100.0));
    }

    // -----------------------------------------------------------------------------------------------------
    // Oracles: shared/fixtures/metrics, made by jieba 0.42.1, rouge_chinese 1.0.3 and nltk 3.8 themselves
    // -----------------------------------------------------------------------------------------------------

    void jiebaSegmentationOracle()
    {
        LATHE_REQUIRE_SHARED();
        const auto jieba = requireJieba();
        if (!jieba)
            QSKIP("jieba's data is not installed (Debian's python3-jieba); the README's set-up installs it");
        int checked = 0;
        for (const auto& [file, fixture] : metricFixtures()) {
            for (const auto& seg : fixture.value("segmentation", nlohmann::json::array())) {
                const std::string text = seg.at("text").get<std::string>();
                compareTokens(jieba->cut(text, true), seg.at("tokens"), file + " segmentation HMM on: " + q(text));
                if (seg.contains("tokens_hmm_off"))
                    compareTokens(jieba->cut(text, false), seg.at("tokens_hmm_off"),
                                  file + " segmentation HMM off: " + q(text));
                ++checked;
            }
            for (const auto& c : fixture.value("cases", nlohmann::json::array())) {
                const QString where = file + " case " + q(c.at("tag").get<std::string>());
                compareTokens(jieba->cut(c.at("pred").get<std::string>()), c.at("hyp_tokens"), where + " hyp_tokens");
                compareTokens(jieba->cut(c.at("label").get<std::string>()), c.at("ref_tokens"), where + " ref_tokens");
                ++checked;
            }
        }
        QVERIFY2(checked > 0, "no segmentation or case in shared/fixtures/metrics/*.json");
    }

    void llamaFactoryScoresOracle()
    {
        LATHE_REQUIRE_SHARED();
        const auto jieba = requireJieba();
        if (!jieba)
            QSKIP("jieba's data is not installed (Debian's python3-jieba); the README's set-up installs it");
        int files = 0;
        for (const auto& [file, fixture] : metricFixtures()) {
            if (!fixture.contains("cases"))
                continue;
            ++files;
            SimilarityAccumulator acc;
            for (const auto& c : fixture.at("cases")) {
                const QString where = file + " case " + q(c.at("tag").get<std::string>());
                const std::string pred = c.at("pred").get<std::string>(), label = c.at("label").get<std::string>();
                // The words rouge_chinese scores (null where LLaMA-Factory zeroes ROUGE).
                auto join = [](const std::vector<std::string>& tokens) {
                    std::string out;
                    for (std::size_t i = 0; i < tokens.size(); ++i)
                        out += (i ? " " : "") + tokens[i];
                    return out;
                };
                if (!c.at("rouge_hyp_words").is_null()) {
                    compareTokens(rougeWords(join(jieba->cut(pred))), c.at("rouge_hyp_words"), where + " rouge_hyp_words");
                    compareTokens(rougeWords(join(jieba->cut(label))), c.at("rouge_ref_words"), where + " rouge_ref_words");
                }
                const SimilarityScores s = similarityScores(pred, label, jieba.get());
                const std::pair<const char*, double> got[] = {
                    {"bleu-4", s.bleu4}, {"rouge-1", s.rouge1}, {"rouge-2", s.rouge2}, {"rouge-l", s.rougeL}};
                for (const auto& [key, value] : got) {
                    const double want = c.at(key).get<double>();
                    QVERIFY2(std::abs(value - want) < 5e-5,
                             qPrintable(QString("%1 %2: %3, LLaMA-Factory %4").arg(where, key).arg(value, 0, 'f', 6).arg(want, 0, 'f', 6)));
                }
                // Unrounded: BLEU and the F-scores before x100.
                if (c.contains("raw")) {
                    const double bleu = sentenceBleu4(label, pred);
                    QVERIFY2(std::abs(bleu - c.at("raw").at("bleu-4").get<double>()) <= 1e-12, qPrintable(where + " raw bleu-4"));
                    const auto& raw = c.at("raw");
                    if (!c.at("rouge_hyp_words").is_null()) {
                        const RougeF f = rougeChineseScores(join(jieba->cut(pred)), join(jieba->cut(label)));
                        const std::pair<const char*, double> fs[] = {{"rouge-1", f.rouge1}, {"rouge-2", f.rouge2}, {"rouge-l", f.rougeL}};
                        for (const auto& [key, value] : fs)
                            if (raw.contains(key) && raw.at(key).is_number())
                                QVERIFY2(std::abs(value - raw.at(key).get<double>()) <= 1e-12,
                                         qPrintable(QString("%1 raw %2: %3 vs %4").arg(where, key).arg(value, 0, 'g', 17).arg(raw.at(key).get<double>(), 0, 'g', 17)));
                    }
                }
                acc.add(s);
            }
            const auto means = acc.means();
            const nlohmann::json expectedMeans = fixture.value("predict_results", nlohmann::json::object());
            for (const auto& [key, value] : expectedMeans.items()) {
                const std::string metric = key.substr(std::string("predict_").size());
                QVERIFY2(means.count(metric), qPrintable(file + ": no mean for " + q(key)));
                QVERIFY2(std::abs(means.at(metric) - value.get<double>()) <= 1e-9,
                         qPrintable(QString("%1 %2: %3, LLaMA-Factory %4").arg(file, q(key)).arg(means.at(metric), 0, 'f', 12).arg(value.get<double>(), 0, 'f', 12)));
            }
        }
        QVERIFY2(files > 0, "no shared/fixtures/metrics/*.json with cases");
    }

    void jiebaDataErrorsNameFileAndLine()
    {
        const QString dir = lathe::test::scratchDir("jieba-bad");
        QDir().mkpath(dir + "/finalseg");
        auto write = [](const QString& path, const QByteArray& text) {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(text);
        };
        write(dir + "/dict.txt", "好 10 a\n坏了\n");
        std::string message;
        try {
            JiebaSegmenter::load(dir.toStdString());
        } catch (const lathe::Error& e) {
            message = e.what();
        }
        QVERIFY2(QString::fromStdString(message).contains("dict.txt:2") && QString::fromStdString(message).contains("no frequency"),
                 message.c_str());
        write(dir + "/dict.txt", "好 10 a\n好人 5 n\n");
        write(dir + "/finalseg/prob_start.py", "P={'B': -0.26,\n 'E': -3.14e+100,\n 'Q': -1.0}\n");
        message.clear();
        try {
            JiebaSegmenter::load(dir.toStdString());
        } catch (const lathe::Error& e) {
            message = e.what();
        }
        QVERIFY2(QString::fromStdString(message).contains("prob_start.py:3") && QString::fromStdString(message).contains("B, M, E, S"),
                 message.c_str());
    }

    void rounding()
    {
        QCOMPARE(roundTo4(79.9999995), 80.0);
        QCOMPARE(roundTo4(59.46035575013605), 59.4604);
        QCOMPARE(roundTo4(0.0), 0.0);
    }
};

QTEST_GUILESS_MAIN(TestMetrics)
#include "tst_metrics.moc"

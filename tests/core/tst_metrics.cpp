// Tests of core/eval/similarity_metrics: BLEU-4 (nltk sentence_bleu, method3 smoothing, characters) and
// ROUGE-1/2/L (rouge_chinese, exclusive n-gram sets, summary-level LCS) as LLaMA-Factory's ComputeSimilarity
// computes them. Every expected number is derived by hand in the comment above it from the definitions:
//
//   BLEU  = BP * exp(sum_n 0.25 * ln p_n), p_n = clipped n-gram matches / max(1, hypothesis n-grams); the
//           k-th zero p_n becomes 1 / (2^k * its denominator); BP = 1 if |hyp| > |ref|, else exp(1 - |ref|/|hyp|);
//           0 when no character matches.
//   ROUGE-N f = 2 * (P * R) / (P + R + 1e-8) on *distinct* n-grams; ROUGE-L uses the distinct word counts
//           and the set of tokens on the LCS of each (reference sentence, hypothesis sentence) pair.
//
// Scores are x100 and rounded to 4 decimals (Python round), e.g. 2 * 0.64 / (1.6 + 1e-8) = 0.7999999950 ->
// 79.99999950 -> 80.0.
#include <cmath>
#include <string>
#include <vector>

#include <QtTest/QtTest>

#include "eval/similarity_metrics.h"

using namespace lathe;

namespace {

bool near(double a, double b, double tol = 1e-9)
{
    return std::abs(a - b) <= tol;
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
        QCOMPARE(similarityScores("abcd", "abcd").bleu4, 100.0);
    }

    void bleuShortStringsAreSmoothed()
    {
        // "ab" vs "ab": p1 = 2/2, p2 = 1/1; no trigram or 4-gram in a 2-character hypothesis: 0/max(1,0) = 0/1,
        // smoothed to 1/(2*1) and 1/(4*1). BLEU = (1 * 1 * 1/2 * 1/4)^(1/4) = 2^(-3/4) = 0.5946035575 -> 59.4604.
        QVERIFY(near(sentenceBleu4("ab", "ab"), std::pow(2.0, -0.75), 1e-12));
        QCOMPARE(similarityScores("ab", "ab").bleu4, 59.4604);
        // "abcxy" vs "abcde": p1 = 3/5 (a b c), p2 = 2/4 (ab bc), p3 = 1/3 (abc), p4 = 0/2 -> 1/(2*2) = 1/4
        // (the denominator of the zero count matters); BP = 1. BLEU = (1/40)^(1/4) = 0.3976353644 -> 39.7635.
        QVERIFY(near(sentenceBleu4("abcde", "abcxy"), std::pow(1.0 / 40, 0.25), 1e-12));
        QCOMPARE(similarityScores("abcxy", "abcde").bleu4, 39.7635);
        // "b a" vs "a b" (characters b,' ',a / a,' ',b): p1 = 3/3; p2 = 0/2 -> 1/(2*2); p3 = 0/1 -> 1/(4*1);
        // p4: no 4-gram, 0/1 -> 1/(8*1). BLEU = (1/128)^(1/4) = 2^(-7/4) = 0.2973017788 -> 29.7302.
        QCOMPARE(similarityScores("b a", "a b").bleu4, 29.7302);
    }

    void bleuBrevityPenalty()
    {
        // "abc" vs "abcdef": p1..p3 = 3/3, 2/2, 1/1, p4 = 0/1 -> 1/2; BP = exp(1 - 6/3) = e^-1.
        // BLEU = e^-1 * (1/2)^(1/4) = 0.3678794412 * 0.8408964153 = 0.3093485033 -> 30.9349.
        QVERIFY(near(sentenceBleu4("abcdef", "abc"), std::exp(-1.0) * std::pow(0.5, 0.25), 1e-12));
        QCOMPARE(similarityScores("abc", "abcdef").bleu4, 30.9349);
        // A longer hypothesis is not penalised: "abcd" vs "abc": p1 = 3/4, p2 = 2/3, p3 = 1/2, p4 = 0/1 -> 1/2;
        // BP = 1. BLEU = (3/4 * 2/3 * 1/2 * 1/2)^(1/4) = (1/8)^(1/4) = 0.5946035575 -> 59.4604.
        QCOMPARE(similarityScores("abcd", "abc").bleu4, 59.4604);
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
        //   vs {今天 天天 天气 气很 很好}: 3 shared -> 60.0; LCS 今天天气, its token set {今 天 气} = 3 over 5
        //   distinct words each -> 60.0.
        const auto s = similarityScores("今天天气不错", "今天天气很好");
        QCOMPARE(s.bleu4, 50.8133);
        QCOMPARE(s.rouge1, 60.0);
        QCOMPARE(s.rouge2, 60.0);
        QCOMPARE(s.rougeL, 60.0);
    }

    void chineseSentences()
    {
        // 你好。再见 vs 你好。明天见: "。" followed by a space in the joined words starts a new sentence
        // (cut_sent), giving [你 好 。][再 见] and [你 好 。][明 天 见].
        //   ROUGE-1: {你 好 。 再 见} (5) vs {你 好 。 明 天 见} (6), 4 shared: P = 4/5, R = 4/6,
        //            f = 2 * (8/15) / (22/15 + 1e-8) = 0.7272727223 -> 72.7273.
        //   ROUGE-2 (words flattened across sentences): {你好 好。 。再 再见} vs {你好 好。 。明 明天 天见},
        //            2 shared: P = 2/4, R = 2/5, f = 2 * 0.2 / (0.9 + 1e-8) = 0.4444444395 -> 44.4444.
        //   ROUGE-L: LCS(你好。, 你好。) = {你 好 。}, LCS(明天见, 再见) = {见}: 4 tokens, m = 6, n = 5 -> 72.7273.
        const auto s = similarityScores("你好。再见", "你好。明天见");
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
        //   ROUGE-L LCS "the cat on the mat", token set {the cat on mat} = 4, m = n = 5 distinct -> 80.0
        const auto s = similarityScores("the cat sat on the mat", "the cat is on the mat");
        QCOMPARE(s.rouge1, 80.0);
        QCOMPARE(s.rouge2, 60.0);
        QCOMPARE(s.rougeL, 80.0);

        // "b a" vs "a b": the same unigram set -> f = 2 * 1 / (2 + 1e-8) = 0.999999995 -> 100.0; no shared
        // bigram -> 0.0; LCS of [a b] and [b a] has length 1 ({b}), m = n = 2 -> P = R = 1/2 -> 50.0.
        const auto t = similarityScores("b a", "a b");
        QCOMPARE(t.rouge1, 100.0);
        QCOMPARE(t.rouge2, 0.0);
        QCOMPARE(t.rougeL, 50.0);
    }

    void identical()
    {
        // Identical text: every distinct n-gram shared, f = 2 / (2 + 1e-8) = 0.999999995 -> 100.0.
        const auto s = similarityScores("Hello world, 你好世界", "Hello world, 你好世界");
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
        QCOMPARE(similarityScores("", "some answer").bleu4, 0.0);
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
        acc.add("abcd", "abcd");
        acc.add("ab", "ab");
        const auto m = acc.means();
        QCOMPARE(acc.count(), std::size_t(2));
        QVERIFY(near(m.at("bleu-4"), (100.0 + 59.4604) / 2));
        QVERIFY(near(m.at("rouge-1"), 100.0));
        QVERIFY(near(m.at("rouge-2"), 0.0));
        QVERIFY(near(m.at("rouge-l"), 100.0));
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

// Tests of core/model/rope: RoPE inverse frequencies of every variant and the rotation itself.
//
// Each variant is checked against an independent double-precision computation written from its published
// formula (RoFormer; linear interpolation; dynamic NTK; Meta's Llama 3.1 apply_scaling; the YaRN paper), not
// against a copy of the engine's code. The engine works in float32 as transformers does, so frequencies
// agree to a few float32 ulps.
#include <algorithm>
#include <cmath>
#include <vector>

#include <torch/torch.h>

#include <QtTest/QtTest>

#include "error_check.h"
#include "model/model_config.h"
#include "model/model_loader.h"
#include "model/rope.h"
#include "test_support.h"
#include "tiny_model.h"

using lathe::ModelConfig;

namespace {

constexpr double kPi = 3.14159265358979323846;

ModelConfig ropeConfig(double theta, std::int64_t headDim, std::int64_t maxPositions, double partial = 1.0)
{
    ModelConfig c;
    c.model_type = "llama";
    c.num_attention_heads = 4;
    c.num_key_value_heads = 4;
    c.head_dim = headDim;
    c.hidden_size = 4 * headDim;
    c.rope_theta = theta;
    c.max_position_embeddings = maxPositions;
    c.partial_rotary_factor = partial;
    return c;
}

/// RoFormer: inv_freq[i] = base^(-2i/dim), i < dim/2.
std::vector<double> referenceDefault(double base, std::int64_t dim)
{
    std::vector<double> out;
    for (std::int64_t i = 0; i < dim / 2; ++i)
        out.push_back(1.0 / std::pow(base, double(2 * i) / double(dim)));
    return out;
}

/// Largest relative difference between the engine's float32 frequencies and the reference.
double maxRelDiff(const torch::Tensor& got, const std::vector<double>& want)
{
    const auto g = got.to(torch::kDouble).contiguous();
    if (g.numel() != std::int64_t(want.size()))
        return INFINITY;
    double worst = 0;
    for (std::int64_t i = 0; i < g.numel(); ++i)
        worst = std::max(worst, std::abs(g.data_ptr<double>()[i] - want[i]) / std::abs(want[i]));
    return worst;
}

} // namespace

class TestRope : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void defaultFrequencies_data();
    void defaultFrequencies();
    void linear();
    void llama3_data();
    void llama3();
    void dynamicNtk();
    void dynamicNtkUpdatesWithSequence();
    void yarn_data();
    void yarn();
    void applyRotaryIdentity();
    void applyRotaryRotatesPairs();
    void applyRotaryPartial();
    void rotationIsRelative();
    void ropeScalingArgument();
    void ropeScalingArgumentReachesTheModel();
};

// ---------------------------------------------------------------------------------------------------------
// Frequencies
// ---------------------------------------------------------------------------------------------------------

void TestRope::defaultFrequencies_data()
{
    QTest::addColumn<double>("theta");
    QTest::addColumn<qint64>("headDim");
    QTest::addColumn<double>("partial");
    QTest::newRow("llama2 10000/128") << 10000.0 << 128ll << 1.0;
    QTest::newRow("qwen 1e6/128") << 1e6 << 128ll << 1.0;
    QTest::newRow("llama3 500000/64") << 500000.0 << 64ll << 1.0;
    QTest::newRow("tiny 10000/16") << 10000.0 << 16ll << 1.0;
    QTest::newRow("partial rotary 0.5 of 64") << 10000.0 << 64ll << 0.5;
}

void TestRope::defaultFrequencies()
{
    QFETCH(double, theta);
    QFETCH(qint64, headDim);
    QFETCH(double, partial);
    const ModelConfig c = ropeConfig(theta, headDim, 4096, partial);
    const auto f = lathe::computeRopeFrequencies(c);
    QCOMPARE(f.inv_freq.scalar_type(), torch::kFloat32);
    QCOMPARE(f.inv_freq.numel(), std::int64_t(headDim * partial / 2));
    QCOMPARE(f.attention_scaling, 1.0);
    const double diff = maxRelDiff(f.inv_freq, referenceDefault(theta, std::int64_t(headDim * partial)));
    QVERIFY2(diff < 2e-6, qPrintable(QString("relative difference %1").arg(diff)));
    QCOMPARE(f.inv_freq[0].item<float>(), 1.0f);
}

void TestRope::linear()
{
    ModelConfig c = ropeConfig(10000.0, 64, 4096);
    const auto plain = lathe::computeRopeFrequencies(c).inv_freq;
    c.rope_scaling.rope_type = "linear";
    c.rope_scaling.factor = 4.0;
    const auto f = lathe::computeRopeFrequencies(c);
    QVERIFY(torch::allclose(f.inv_freq, plain / 4.0, /*rtol=*/1e-7, /*atol=*/0));
    std::vector<double> want = referenceDefault(10000.0, 64);
    for (auto& w : want)
        w /= 4.0;
    QVERIFY(maxRelDiff(f.inv_freq, want) < 2e-6);
    QCOMPARE(f.attention_scaling, 1.0);
}

void TestRope::llama3_data()
{
    QTest::addColumn<double>("theta");
    QTest::addColumn<qint64>("headDim");
    QTest::addColumn<double>("factor");
    QTest::addColumn<double>("lowFreqFactor");
    QTest::addColumn<double>("highFreqFactor");
    QTest::addColumn<qint64>("originalMax");
    QTest::newRow("Llama 3.1 8B") << 500000.0 << 128ll << 8.0 << 1.0 << 4.0 << 8192ll;
    QTest::newRow("Llama 3.2 1B") << 500000.0 << 64ll << 32.0 << 1.0 << 4.0 << 8192ll;
    QTest::newRow("fixture llama-sharded-bf16-rope3") << 500000.0 << 16ll << 8.0 << 1.0 << 4.0 << 64ll;
    QTest::newRow("other band factors") << 10000.0 << 64ll << 4.0 << 2.0 << 8.0 << 512ll;
}

void TestRope::llama3()
{
    QFETCH(double, theta);
    QFETCH(qint64, headDim);
    QFETCH(double, factor);
    QFETCH(double, lowFreqFactor);
    QFETCH(double, highFreqFactor);
    QFETCH(qint64, originalMax);

    ModelConfig c = ropeConfig(theta, headDim, 131072);
    c.rope_scaling.rope_type = "llama3";
    c.rope_scaling.factor = factor;
    c.rope_scaling.low_freq_factor = lowFreqFactor;
    c.rope_scaling.high_freq_factor = highFreqFactor;
    c.rope_scaling.original_max_position_embeddings = originalMax;
    const auto f = lathe::computeRopeFrequencies(c);

    // Meta's apply_scaling (llama-models, Llama 3.1), per frequency.
    const double lowFreqWavelen = double(originalMax) / lowFreqFactor;
    const double highFreqWavelen = double(originalMax) / highFreqFactor;
    std::vector<double> want;
    int high = 0, low = 0, medium = 0;
    for (double freq : referenceDefault(theta, headDim)) {
        const double wavelen = 2 * kPi / freq;
        if (wavelen < highFreqWavelen) {
            want.push_back(freq);
            ++high;
        } else if (wavelen > lowFreqWavelen) {
            want.push_back(freq / factor);
            ++low;
        } else {
            const double smooth =
                (double(originalMax) / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
            want.push_back((1 - smooth) * freq / factor + smooth * freq);
            ++medium;
        }
    }
    // Every row exercises all three bands, so each branch of the formula is checked.
    QVERIFY2(high > 0 && low > 0 && medium > 0,
             qPrintable(QString("bands %1/%2/%3").arg(high).arg(medium).arg(low)));
    const double diff = maxRelDiff(f.inv_freq, want);
    QVERIFY2(diff < 1e-5, qPrintable(QString("relative difference %1").arg(diff)));
    QCOMPARE(f.attention_scaling, 1.0);
}

void TestRope::dynamicNtk()
{
    const double theta = 10000.0, factor = 2.0;
    const std::int64_t dim = 64, maxPos = 2048;
    ModelConfig c = ropeConfig(theta, dim, maxPos);
    c.rope_scaling.rope_type = "dynamic";
    c.rope_scaling.factor = factor;

    // Up to the configured maximum: plain RoPE.
    for (std::int64_t len : {std::int64_t(0), std::int64_t(100), maxPos}) {
        const double diff =
            maxRelDiff(lathe::computeRopeFrequencies(c, len).inv_freq, referenceDefault(theta, dim));
        QVERIFY2(diff < 2e-6, qPrintable(QString("seq_len %1: relative difference %2").arg(len).arg(diff)));
    }
    // Beyond it: base' = base * (factor * L / max - (factor - 1))^(dim / (dim - 2)).
    for (std::int64_t len : {std::int64_t(2049), std::int64_t(4096), std::int64_t(10000)}) {
        const double base = theta * std::pow(factor * double(len) / double(maxPos) - (factor - 1),
                                             double(dim) / double(dim - 2));
        const auto f = lathe::computeRopeFrequencies(c, len);
        const double diff = maxRelDiff(f.inv_freq, referenceDefault(base, dim));
        QVERIFY2(diff < 1e-5, qPrintable(QString("seq_len %1: relative difference %2").arg(len).arg(diff)));
        QCOMPARE(f.attention_scaling, 1.0);
    }
}

void TestRope::dynamicNtkUpdatesWithSequence()
{
    // RotaryEmbedding follows transformers' dynamic_rope_update: frequencies grow with the longest position
    // seen, and return to plain RoPE once a sequence fits in max_position_embeddings again.
    const std::int64_t maxPos = 128, dim = 32;
    ModelConfig c = ropeConfig(10000.0, dim, maxPos);
    c.rope_scaling.rope_type = "dynamic";
    c.rope_scaling.factor = 4.0;
    lathe::RotaryEmbedding rope(c);

    auto expectedCos = [&](const torch::Tensor& positions, std::int64_t seqLen) {
        const auto inv = lathe::computeRopeFrequencies(c, seqLen).inv_freq;
        auto freqs = positions.to(torch::kFloat).unsqueeze(-1) * inv.view({1, 1, -1});
        return torch::cat({freqs, freqs}, -1).cos();
    };
    const auto longPositions = torch::arange(0, 300, torch::kLong).unsqueeze(0);
    const auto shortPositions = torch::arange(0, 50, torch::kLong).unsqueeze(0);

    auto [cosLong, sinLong] = rope.cosSin(longPositions, torch::kFloat32);
    QCOMPARE(cosLong.sizes().vec(), (std::vector<std::int64_t>{1, 300, dim}));
    QVERIFY(torch::allclose(cosLong, expectedCos(longPositions, 300), 0, 1e-6));
    QVERIFY((cosLong - expectedCos(longPositions, 0)).abs().max().item<double>() > 1e-2); // really rescaled

    auto [cosShort, sinShort] = rope.cosSin(shortPositions, torch::kFloat32);
    QVERIFY(torch::allclose(cosShort, expectedCos(shortPositions, 0), 0, 1e-6));
}

void TestRope::yarn_data()
{
    QTest::addColumn<double>("theta");
    QTest::addColumn<qint64>("headDim");
    QTest::addColumn<qint64>("maxPos");
    QTest::addColumn<double>("factor");
    QTest::addColumn<qint64>("originalMax");     // 0: not set (max_position_embeddings is the original)
    QTest::addColumn<double>("attentionFactor"); // 0: not set
    QTest::addColumn<double>("betaFast");
    QTest::addColumn<double>("betaSlow");

    QTest::newRow("llama2 x4") << 10000.0 << 128ll << 4096ll << 4.0 << 0ll << 0.0 << 32.0 << 1.0;
    QTest::newRow("qwen x4 from 32k")
        << 1000000.0 << 128ll << 131072ll << 4.0 << 32768ll << 0.0 << 32.0 << 1.0;
    QTest::newRow("explicit attention_factor")
        << 10000.0 << 64ll << 2048ll << 8.0 << 0ll << 1.5 << 32.0 << 1.0;
    QTest::newRow("custom betas") << 10000.0 << 64ll << 2048ll << 2.0 << 0ll << 0.0 << 16.0 << 2.0;
}

void TestRope::yarn()
{
    QFETCH(double, theta);
    QFETCH(qint64, headDim);
    QFETCH(qint64, maxPos);
    QFETCH(double, factor);
    QFETCH(qint64, originalMax);
    QFETCH(double, attentionFactor);
    QFETCH(double, betaFast);
    QFETCH(double, betaSlow);

    ModelConfig c = ropeConfig(theta, headDim, maxPos);
    c.rope_scaling.rope_type = "yarn";
    c.rope_scaling.factor = factor;
    if (originalMax > 0)
        c.rope_scaling.original_max_position_embeddings = originalMax;
    if (attentionFactor > 0)
        c.rope_scaling.attention_factor = attentionFactor;
    c.rope_scaling.beta_fast = betaFast;
    c.rope_scaling.beta_slow = betaSlow;
    const auto f = lathe::computeRopeFrequencies(c);

    // YaRN (Peng et al. 2023): dimensions rotating more than beta_fast times over the original context keep
    // their frequency, those rotating fewer than beta_slow times are interpolated by `factor`, a linear ramp
    // in between; attention is scaled by 0.1 ln(factor) + 1.
    const double dim = double(headDim);
    const double original = double(originalMax > 0 ? originalMax : maxPos);
    auto correctionDim = [&](double rotations) {
        return dim * std::log(original / (rotations * 2 * kPi)) / (2 * std::log(theta));
    };
    double low = std::max(std::floor(correctionDim(betaFast)), 0.0);
    double high = std::min(std::ceil(correctionDim(betaSlow)), dim - 1);
    if (low == high)
        high += 0.001;
    std::vector<double> want;
    int extrapolated = 0, interpolated = 0;
    for (std::int64_t i = 0; i < headDim / 2; ++i) {
        const double posFreq = std::pow(theta, double(2 * i) / dim);
        const double ramp = std::clamp((double(i) - low) / (high - low), 0.0, 1.0);
        const double keep = 1 - ramp; // share of the original (extrapolated) frequency
        want.push_back((1.0 / (factor * posFreq)) * (1 - keep) + (1.0 / posFreq) * keep);
        extrapolated += keep == 1.0;
        interpolated += keep == 0.0;
    }
    QVERIFY2(extrapolated > 0 && interpolated > 0,
             qPrintable(QString("ramp covers everything (low %1, high %2)").arg(low).arg(high)));
    const double diff = maxRelDiff(f.inv_freq, want);
    QVERIFY2(diff < 1e-5, qPrintable(QString("relative difference %1").arg(diff)));

    const double wantScaling = attentionFactor > 0 ? attentionFactor : 0.1 * std::log(factor) + 1.0;
    QVERIFY2(std::abs(f.attention_scaling - wantScaling) < 1e-12,
             qPrintable(QString("attention scaling %1, want %2").arg(f.attention_scaling).arg(wantScaling)));

    // cos/sin carry the attention scaling: at position 0, cos = scaling and sin = 0.
    lathe::RotaryEmbedding rope(c);
    auto [cos, sin] = rope.cosSin(torch::zeros({1, 1}, torch::kLong), torch::kFloat32);
    QVERIFY(torch::allclose(cos, torch::full_like(cos, wantScaling), 1e-6, 1e-6));
    QVERIFY(sin.abs().max().item<float>() == 0.0f);
}

// ---------------------------------------------------------------------------------------------------------
// The rotation
// ---------------------------------------------------------------------------------------------------------

void TestRope::applyRotaryIdentity()
{
    torch::manual_seed(1);
    const auto x = torch::randn({2, 3, 5, 8}); // [B, heads, T, D]
    const auto out = lathe::applyRotary(x, torch::ones({2, 5, 8}), torch::zeros({2, 5, 8}));
    QVERIFY(torch::equal(out, x));
}

void TestRope::applyRotaryRotatesPairs()
{
    // rotate_half layout: dimension i pairs with i + D/2; each pair turns by its angle, keeping its norm.
    torch::manual_seed(2);
    const std::int64_t B = 2, H = 3, T = 5, D = 8, half = D / 2;
    const auto x = torch::randn({B, H, T, D});
    const auto angle = torch::rand({B, T, half}) * 6.28;
    const auto cos = torch::cat({angle.cos(), angle.cos()}, -1),
               sin = torch::cat({angle.sin(), angle.sin()}, -1);
    const auto y = lathe::applyRotary(x, cos, sin);
    QCOMPARE(y.sizes(), x.sizes());

    const auto x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
    const auto y1 = y.narrow(-1, 0, half), y2 = y.narrow(-1, half, half);
    const auto c = angle.cos().unsqueeze(1), s = angle.sin().unsqueeze(1); // [B, 1, T, half]
    QVERIFY(torch::allclose(y1, x1 * c - x2 * s, 1e-5, 1e-6));
    QVERIFY(torch::allclose(y2, x2 * c + x1 * s, 1e-5, 1e-6));
    const auto normIn = x1 * x1 + x2 * x2, normOut = y1 * y1 + y2 * y2;
    QVERIFY(torch::allclose(normOut, normIn, 1e-5, 1e-6));
}

void TestRope::applyRotaryPartial()
{
    // partial_rotary_factor: only the first rotary_dim dimensions turn, the rest pass through untouched.
    torch::manual_seed(3);
    const auto x = torch::randn({1, 2, 4, 12});
    const auto angle = torch::rand({1, 4, 4}) * 3.0;
    const auto cos = torch::cat({angle.cos(), angle.cos()}, -1),
               sin = torch::cat({angle.sin(), angle.sin()}, -1);
    const auto y = lathe::applyRotary(x, cos, sin);
    QVERIFY(torch::equal(y.narrow(-1, 8, 4), x.narrow(-1, 8, 4)));
    QVERIFY(!torch::allclose(y.narrow(-1, 0, 8), x.narrow(-1, 0, 8)));
    const auto r = y.narrow(-1, 0, 8), xr = x.narrow(-1, 0, 8);
    QVERIFY(torch::allclose(r.pow(2).sum(-1), xr.pow(2).sum(-1), 1e-5, 1e-6));
}

void TestRope::rotationIsRelative()
{
    // RoPE's point: <R(m) q, R(n) k> depends only on m - n.
    torch::manual_seed(4);
    const ModelConfig c = ropeConfig(10000.0, 16, 512);
    lathe::RotaryEmbedding rope(c);
    const auto q = torch::randn({1, 1, 1, 16}), k = torch::randn({1, 1, 1, 16});
    auto score = [&](std::int64_t m, std::int64_t n) {
        auto [cm, sm] = rope.cosSin(torch::full({1, 1}, m, torch::kLong), torch::kFloat32);
        auto [cn, sn] = rope.cosSin(torch::full({1, 1}, n, torch::kLong), torch::kFloat32);
        return (lathe::applyRotary(q, cm, sm) * lathe::applyRotary(k, cn, sn)).sum().item<double>();
    };
    const double base = score(7, 3);
    QVERIFY(std::abs(score(17, 13) - base) < 1e-4);
    QVERIFY(std::abs(score(107, 103) - base) < 1e-4);
    QVERIFY(std::abs(score(3, 7) - base) > 1e-4); // direction matters
}

void TestRope::ropeScalingArgument()
{
    // Training (cutoff_len given) longer than the context: enlarged, factor ceil(cutoff / context).
    ModelConfig c = ropeConfig(10000.0, 64, 512);
    QVERIFY(!lathe::applyRopeScalingArgument(c, "linear", 1300).empty());
    QCOMPARE(c.rope_scaling.rope_type, std::string("linear"));
    QCOMPARE(c.rope_scaling.factor, 3.0);
    QCOMPARE(c.max_position_embeddings, std::int64_t(1300));
    QVERIFY(!c.rope_scaling.original_max_position_embeddings);

    c = ropeConfig(10000.0, 64, 512);
    lathe::applyRopeScalingArgument(c, "llama3", 2048);
    QCOMPARE(c.rope_scaling.factor, 4.0);
    QCOMPARE(*c.rope_scaling.original_max_position_embeddings, std::int64_t(512));
    QCOMPARE(c.rope_scaling.low_freq_factor, 1.0);
    QCOMPARE(c.rope_scaling.high_freq_factor, 4.0);
    QVERIFY(lathe::computeRopeFrequencies(c).inv_freq.defined());

    // Not longer than the context: left off, said so.
    c = ropeConfig(10000.0, 64, 512);
    const std::string note = lathe::applyRopeScalingArgument(c, "yarn", 512);
    QVERIFY(note.find("left off") != std::string::npos);
    QCOMPARE(c.rope_scaling.rope_type, std::string("default"));
    QCOMPARE(c.max_position_embeddings, std::int64_t(512));

    // Inference: factor 2, context as it was.
    c = ropeConfig(10000.0, 64, 512);
    lathe::applyRopeScalingArgument(c, "dynamic", std::nullopt);
    QCOMPARE(c.rope_scaling.rope_type, std::string("dynamic"));
    QCOMPARE(c.rope_scaling.factor, 2.0);
    QCOMPARE(c.max_position_embeddings, std::int64_t(512));

    // None and "" change nothing; anything else is refused by name.
    c = ropeConfig(10000.0, 64, 512);
    QVERIFY(lathe::applyRopeScalingArgument(c, "none", 4096).empty());
    QVERIFY(lathe::applyRopeScalingArgument(c, "", 4096).empty());
    QCOMPARE(c.rope_scaling.rope_type, std::string("default"));
    QString message;
    LATHE_VERIFY_ERROR(lathe::applyRopeScalingArgument(c, "ntk", 4096), message);
    QVERIFY2(message.contains("rope_scaling") && message.contains("ntk"), qPrintable(message));
}

void TestRope::ropeScalingArgumentReachesTheModel()
{
    const auto model = lathe::test::makeTinyModel(lathe::test::scratchDir("rope_argument").toStdString());
    auto plain = lathe::loadModel(model.string());
    const std::int64_t context = plain->config().max_position_embeddings;
    lathe::LoadOptions options;
    options.ropeScaling = "linear";
    options.modelMaxLength = context * 2 + 1;
    std::string said;
    options.log = [&](const std::string& note) { said = note; };
    auto scaled = lathe::loadModel(model.string(), options);
    QCOMPARE(scaled->config().rope_scaling.rope_type, std::string("linear"));
    QCOMPARE(scaled->config().rope_scaling.factor, 3.0);
    QCOMPARE(scaled->config().max_position_embeddings, context * 2 + 1);
    QVERIFY2(said.find("factor 3") != std::string::npos, said.c_str());
    // The same weights, other positions: logits differ after the first token (position 0 is not rotated).
    torch::NoGradGuard noGrad;
    const auto ids = torch::tensor({{5, 17, 42, 99}}, torch::kLong);
    const auto a = plain->forward(ids), b = scaled->forward(ids);
    QVERIFY(torch::allclose(a.select(1, 0), b.select(1, 0), 1e-5, 1e-5));
    QVERIFY(!torch::allclose(a.select(1, 3), b.select(1, 3), 1e-4, 1e-4));
}

QTEST_MAIN(TestRope)
#include "tst_rope.moc"

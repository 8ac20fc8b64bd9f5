// Golden-tensor tests of the decoder against Hugging Face transformers (shared/fixtures/hf).
//
// Every fixture folder holds a model saved by transformers and `expected.json` computed by it in float32:
// the logits at the last position, the argmax at every position, 24 greedy tokens and the mean loss. Lathe
// loads each model in float32 and must agree within the README's tolerances (logits and loss 1e-4 absolute,
// token ids identical). The llama fixture is stored sharded in bf16 with llama3 RoPE scaling, so loading,
// shard lookup, dtype conversion and RoPE variants are all on the path.
//
// The batched paths (right padding for training, left padding for generation) and gradient checkpointing
// are checked against the plain unbatched / non-checkpointed engine on the same fixtures.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QDir>
#include <QFileInfo>
#include <QtTest/QtTest>

#include "error_check.h"
#include "generation/generator.h"
#include "model/causal_lm.h"
#include "model/model_loader.h"
#include "test_support.h"
#include "util/file_util.h"

namespace {

constexpr double kLogitTolerance = 1e-4; // shared/fixtures/hf/README.md: float32 agreement with HF
constexpr double kLossTolerance = 1e-4;
// Batched vs unbatched: other matmul shapes, so other BLAS blocking; measured up to 8.5e-6 (llama), the same
// order as the difference from HF. A wrong mask or wrong positions moves logits by O(1).
constexpr double kBatchTolerance = 1e-4;
constexpr double kGradRelTolerance = 1e-5; // checkpointing recomputes the same ops
constexpr std::int64_t kGreedyTokens = 24;

using Ids = std::vector<std::int64_t>;

/// Fixture folders under shared/fixtures/hf that hold a model and its expected outputs.
QStringList fixtureNames()
{
    const QString root = lathe::test::sharedDir() + "/fixtures/hf";
    QStringList names;
    for (const QString& name : QDir(root).entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
        if (QFileInfo::exists(root + "/" + name + "/model/config.json") &&
            QFileInfo::exists(root + "/" + name + "/expected.json"))
            names << name;
    return names;
}

torch::Tensor idsTensor(const Ids& ids)
{
    return torch::tensor(ids, torch::kLong).unsqueeze(0);
}

QString idsText(const Ids& ids)
{
    QStringList parts;
    for (auto id : ids)
        parts << QString::number(id);
    return parts.join(',');
}

/// Where two vectors of ids first differ, for failure messages.
QString firstDifference(const Ids& got, const Ids& want)
{
    const std::size_t n = std::min(got.size(), want.size());
    for (std::size_t i = 0; i < n; ++i)
        if (got[i] != want[i])
            return QString("first difference at %1: got %2, want %3\n  got  %4\n  want %5")
                .arg(i)
                .arg(got[i])
                .arg(want[i])
                .arg(idsText(got), idsText(want));
    return QString("lengths differ: got %1, want %2").arg(got.size()).arg(want.size());
}

double maxAbsDiff(const torch::Tensor& a, const torch::Tensor& b)
{
    return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

/// Autograd nodes whose name contains `needle`, walking the graph back from `root`.
int countGraphNodes(const torch::Tensor& root, const std::string& needle)
{
    std::set<torch::autograd::Node*> seen;
    std::vector<torch::autograd::Node*> stack;
    if (root.grad_fn())
        stack.push_back(root.grad_fn().get());
    int count = 0;
    while (!stack.empty()) {
        auto* node = stack.back();
        stack.pop_back();
        if (!seen.insert(node).second)
            continue;
        count += node->name().find(needle) != std::string::npos;
        for (const auto& edge : node->next_edges())
            if (edge.function)
                stack.push_back(edge.function.get());
    }
    return count;
}

/// Adds one "shared/ missing" row so the test function can QSKIP (an empty table would not run at all).
bool addSkipRowIfNoShared()
{
    if (!lathe::test::sharedDir().isEmpty())
        return false;
    QTest::newRow("shared-missing") << QString() << 0 << false;
    return true;
}

} // namespace

class TestModelGolden : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    void fixturesPresent();
    void logitsAndArgmax_data();
    void logitsAndArgmax();
    void greedy_data();
    void greedy();
    void loss_data();
    void loss();

    void paddedBatchForward_data();
    void paddedBatchForward();
    void leftPaddedGreedyBatch_data();
    void leftPaddedGreedyBatch();
    void gradientCheckpointing_data();
    void gradientCheckpointing();

private:
    /// Rows fixture × case (the bool column is free for the test's own variant).
    void addCaseRows(const QString& variantName = {}, bool withVariant = false);
    lathe::CausalLM& model(const QString& fixture);
    const nlohmann::json& expected(const QString& fixture);
    Ids caseIds(const QString& fixture, int caseIndex);

    std::map<QString, lathe::CausalLM> m_models;
    std::map<QString, nlohmann::json> m_expected;
};

void TestModelGolden::initTestCase()
{
    torch::manual_seed(0);
    // Load every fixture up front: a loader failure then fails here, once, instead of aborting mid-table.
    if (lathe::test::sharedDir().isEmpty())
        return;
    for (const QString& fixture : fixtureNames()) {
        LATHE_VERIFY_NO_ERROR(expected(fixture));
        LATHE_VERIFY_NO_ERROR(model(fixture));
    }
}

lathe::CausalLM& TestModelGolden::model(const QString& fixture)
{
    auto it = m_models.find(fixture);
    if (it == m_models.end()) {
        const std::string dir = lathe::test::hfFixture(fixture).toStdString() + "/model";
        it =
            m_models.emplace(fixture, lathe::loadModel(dir, lathe::LoadOptions{torch::kCPU, torch::kFloat32}))
                .first;
    }
    return it->second;
}

const nlohmann::json& TestModelGolden::expected(const QString& fixture)
{
    auto it = m_expected.find(fixture);
    if (it == m_expected.end()) {
        const std::string path = lathe::test::hfFixture(fixture).toStdString() + "/expected.json";
        it = m_expected.emplace(fixture, nlohmann::json::parse(lathe::readTextFile(path))).first;
    }
    return it->second;
}

Ids TestModelGolden::caseIds(const QString& fixture, int caseIndex)
{
    return expected(fixture)["cases"][caseIndex]["input_ids"].get<Ids>();
}

void TestModelGolden::addCaseRows(const QString& variantName, bool withVariant)
{
    QTest::addColumn<QString>("fixture");
    QTest::addColumn<int>("caseIndex");
    QTest::addColumn<bool>("variant");
    if (addSkipRowIfNoShared())
        return;
    for (const QString& fixture : fixtureNames()) {
        const int cases = int(expected(fixture)["cases"].size());
        for (int c = 0; c < cases; ++c) {
            const QString tag = QString("%1/case%2").arg(fixture).arg(c);
            if (withVariant) {
                QTest::newRow(qPrintable(tag + "/" + variantName)) << fixture << c << true;
                QTest::newRow(qPrintable(tag + "/no-" + variantName)) << fixture << c << false;
            } else {
                QTest::newRow(qPrintable(tag)) << fixture << c << false;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Against the oracle
// ---------------------------------------------------------------------------------------------------------

void TestModelGolden::fixturesPresent()
{
    LATHE_REQUIRE_SHARED();
    // The data-driven tests below would pass vacuously on an empty folder: pin the fixtures they must see.
    const QStringList names = fixtureNames();
    for (const char* required : {"qwen3-tied", "qwen2-untied-bias", "llama-sharded-bf16-rope3"})
        QVERIFY2(names.contains(required),
                 qPrintable(QString("fixture %1 missing from %2").arg(required, names.join(", "))));
    QVERIFY(QFileInfo::exists(lathe::test::hfFixture("llama-sharded-bf16-rope3") +
                              "/model/model.safetensors.index.json"));
}

void TestModelGolden::logitsAndArgmax_data()
{
    addCaseRows();
}

void TestModelGolden::logitsAndArgmax()
{
    QFETCH(QString, fixture);
    QFETCH(int, caseIndex);
    LATHE_REQUIRE_SHARED();
    const auto& want = expected(fixture)["cases"][caseIndex]["base"];
    const Ids ids = caseIds(fixture, caseIndex);

    torch::NoGradGuard noGrad;
    const auto logits = model(fixture)->forward(idsTensor(ids)); // [1, T, V]
    QCOMPARE(logits.scalar_type(), torch::kFloat32);
    QCOMPARE(logits.size(1), std::int64_t(ids.size()));

    const auto wantLast = torch::tensor(want["logits_last"].get<std::vector<float>>());
    QCOMPARE(logits.size(2), wantLast.size(0));
    const double diff = maxAbsDiff(logits[0][-1], wantLast);
    QVERIFY2(diff <= kLogitTolerance, qPrintable(QString("logits_last differ from HF by %1").arg(diff)));

    const auto argmax = logits[0].argmax(-1).contiguous();
    const Ids got(argmax.data_ptr<std::int64_t>(), argmax.data_ptr<std::int64_t>() + argmax.numel());
    const Ids wantArgmax = want["argmax"].get<Ids>();
    QVERIFY2(got == wantArgmax, qPrintable(firstDifference(got, wantArgmax)));
}

void TestModelGolden::greedy_data()
{
    addCaseRows("kv-cache", true);
}

void TestModelGolden::greedy()
{
    QFETCH(QString, fixture);
    QFETCH(int, caseIndex);
    QFETCH(bool, variant);
    LATHE_REQUIRE_SHARED();
    const auto& want = expected(fixture)["cases"][caseIndex]["base"];

    lathe::GenerationOptions options;
    options.max_new_tokens = kGreedyTokens;
    options.use_cache = variant;
    const auto result = lathe::greedyGenerate(model(fixture), caseIds(fixture, caseIndex), options);

    const Ids wantIds = want["greedy"].get<Ids>();
    QCOMPARE(wantIds.size(), std::size_t(kGreedyTokens));
    QVERIFY2(result.output_ids == wantIds, qPrintable(firstDifference(result.output_ids, wantIds)));

    // The prefill computes the lm_head on the last position only: it must still be HF's logits_last.
    const double diff =
        maxAbsDiff(result.logits_last, torch::tensor(want["logits_last"].get<std::vector<float>>()));
    QVERIFY2(diff <= kLogitTolerance,
             qPrintable(QString("generate's logits_last differ from HF by %1").arg(diff)));
}

void TestModelGolden::loss_data()
{
    addCaseRows();
}

void TestModelGolden::loss()
{
    QFETCH(QString, fixture);
    QFETCH(int, caseIndex);
    LATHE_REQUIRE_SHARED();
    const double want = expected(fixture)["cases"][caseIndex]["base"]["loss"].get<double>();
    const Ids ids = caseIds(fixture, caseIndex);

    torch::NoGradGuard noGrad;
    const double got = model(fixture)->loss(idsTensor(ids), idsTensor(ids)).item<double>();
    QVERIFY2(std::abs(got - want) <= kLossTolerance,
             qPrintable(QString("loss %1, HF %2").arg(got).arg(want)));

    const auto ppl = lathe::perplexity(model(fixture), ids);
    QVERIFY2(std::abs(ppl.loss - want) <= kLossTolerance,
             qPrintable(QString("perplexity loss %1, HF %2").arg(ppl.loss).arg(want)));
    QCOMPARE(ppl.tokens, std::int64_t(ids.size()) - 1);
    QVERIFY(std::abs(ppl.perplexity - std::exp(want)) <= 1e-3 * std::exp(want));
}

// ---------------------------------------------------------------------------------------------------------
// Batching and padding
// ---------------------------------------------------------------------------------------------------------

void TestModelGolden::paddedBatchForward_data()
{
    QTest::addColumn<QString>("fixture");
    QTest::addColumn<int>("caseIndex"); // unused
    QTest::addColumn<bool>("leftPadding");
    if (addSkipRowIfNoShared())
        return;
    for (const QString& fixture : fixtureNames()) {
        QTest::newRow(qPrintable(fixture + "/right-padding")) << fixture << 0 << false;
        QTest::newRow(qPrintable(fixture + "/left-padding")) << fixture << 0 << true;
    }
}

void TestModelGolden::paddedBatchForward()
{
    QFETCH(QString, fixture);
    QFETCH(bool, leftPadding);
    LATHE_REQUIRE_SHARED();
    // Two sequences of different length in one batch: the short one padded (right for training, left for
    // generation). At real positions the logits must be those of the sequence run alone.
    const std::vector<Ids> seqs = {caseIds(fixture, 0), caseIds(fixture, 1)};
    QVERIFY(seqs[0].size() != seqs[1].size());
    const std::int64_t longest = std::int64_t(std::max(seqs[0].size(), seqs[1].size()));
    const std::int64_t padId = 0;

    auto ids = torch::full({2, longest}, padId, torch::kLong);
    auto mask = torch::zeros({2, longest}, torch::kLong);
    for (int b = 0; b < 2; ++b) {
        const std::int64_t n = std::int64_t(seqs[b].size());
        const std::int64_t start = leftPadding ? longest - n : 0;
        ids[b].narrow(0, start, n).copy_(torch::tensor(seqs[b], torch::kLong));
        mask[b].narrow(0, start, n).fill_(1);
    }

    torch::NoGradGuard noGrad;
    auto& m = model(fixture);
    const auto batched = m->forward(ids, mask); // [2, longest, V]
    for (int b = 0; b < 2; ++b) {
        const std::int64_t n = std::int64_t(seqs[b].size());
        const std::int64_t start = leftPadding ? longest - n : 0;
        const auto alone = m->forward(idsTensor(seqs[b]))[0];
        const auto real = batched[b].narrow(0, start, n);
        QVERIFY(torch::isfinite(real).all().item<bool>());
        const double diff = maxAbsDiff(real, alone);
        QVERIFY2(diff <= kBatchTolerance,
                 qPrintable(QString("row %1: batched logits differ from unbatched by %2").arg(b).arg(diff)));
        // And still HF's argmax at every real position.
        const auto argmax = real.argmax(-1).contiguous();
        const Ids got(argmax.data_ptr<std::int64_t>(), argmax.data_ptr<std::int64_t>() + n);
        const Ids want = expected(fixture)["cases"][b]["base"]["argmax"].get<Ids>();
        QVERIFY2(got == want, qPrintable(firstDifference(got, want)));
    }
}

void TestModelGolden::leftPaddedGreedyBatch_data()
{
    QTest::addColumn<QString>("fixture");
    QTest::addColumn<int>("caseIndex"); // unused
    QTest::addColumn<bool>("useCache");
    if (addSkipRowIfNoShared())
        return;
    for (const QString& fixture : fixtureNames()) {
        QTest::newRow(qPrintable(fixture + "/kv-cache")) << fixture << 0 << true;
        QTest::newRow(qPrintable(fixture + "/no-kv-cache")) << fixture << 0 << false;
    }
}

void TestModelGolden::leftPaddedGreedyBatch()
{
    QFETCH(QString, fixture);
    QFETCH(bool, useCache);
    LATHE_REQUIRE_SHARED();
    // Prompts of three lengths decoded together must each give what they give alone (and, for the two
    // oracle cases, what HF gives).
    const Ids case0 = caseIds(fixture, 0), case1 = caseIds(fixture, 1);
    const std::vector<Ids> prompts = {case0, case1, Ids(case0.begin(), case0.begin() + 5)};

    lathe::GenerationOptions options;
    options.max_new_tokens = kGreedyTokens;
    options.use_cache = useCache;
    auto& m = model(fixture);
    const auto batch = lathe::greedyGenerateBatch(m, prompts, options);
    QCOMPARE(batch.size(), prompts.size());
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        const Ids alone = lathe::greedyGenerate(m, prompts[i], options).output_ids;
        QVERIFY2(batch[i] == alone,
                 qPrintable(QString("prompt %1: ").arg(i) + firstDifference(batch[i], alone)));
        if (i < 2) {
            const Ids want = expected(fixture)["cases"][int(i)]["base"]["greedy"].get<Ids>();
            QVERIFY2(batch[i] == want,
                     qPrintable(QString("prompt %1 vs HF: ").arg(i) + firstDifference(batch[i], want)));
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Gradient checkpointing
// ---------------------------------------------------------------------------------------------------------

void TestModelGolden::gradientCheckpointing_data()
{
    QTest::addColumn<QString>("fixture");
    QTest::addColumn<int>("caseIndex"); // unused
    QTest::addColumn<bool>("unused");
    if (addSkipRowIfNoShared())
        return;
    for (const QString& fixture : fixtureNames())
        QTest::newRow(qPrintable(fixture)) << fixture << 0 << false;
}

void TestModelGolden::gradientCheckpointing()
{
    QFETCH(QString, fixture);
    LATHE_REQUIRE_SHARED();
    // A fresh copy: training mode and gradients must not leak into the shared model of the other tests.
    auto m = lathe::loadModel(lathe::test::hfFixture(fixture).toStdString() + "/model");
    m->train();
    // The oracle's grad_case: the first 8 labels are -100, so ignore_index is on the path too.
    const auto& gradCase = expected(fixture)["grad_case"];
    const auto ids = idsTensor(gradCase["input_ids"].get<Ids>());
    const auto labels = idsTensor(gradCase["labels"].get<Ids>());
    QCOMPARE(labels[0][0].item<std::int64_t>(), std::int64_t(-100));

    struct Run
    {
        double loss = 0;
        int checkpointedLayers = 0; // checkpoint nodes in the autograd graph
        std::map<std::string, torch::Tensor> grads;
    };
    auto run = [&](bool checkpointing) {
        m->zero_grad();
        m->setGradientCheckpointing(checkpointing);
        Run out;
        auto loss = m->loss(ids, labels);
        out.checkpointedLayers = countGraphNodes(loss, "Checkpoint");
        loss.backward();
        out.loss = loss.item<double>();
        for (const auto& p : m->named_parameters())
            out.grads[p.key()] = p.value().grad().defined() ? p.value().grad().clone() : torch::Tensor();
        return out;
    };
    const Run off = run(false);
    const Run on = run(true);
    QVERIFY(m->gradientCheckpointing());
    // Checkpointing really happened (one recompute node per layer), or the comparison below proves nothing.
    QCOMPARE(off.checkpointedLayers, 0);
    QCOMPARE(on.checkpointedLayers, int(m->config().num_hidden_layers));

    QVERIFY2(std::abs(on.loss - off.loss) <= 1e-6,
             qPrintable(QString("loss %1 vs %2").arg(on.loss).arg(off.loss)));
    QCOMPARE(on.grads.size(), off.grads.size());
    for (const auto& [name, gOff] : off.grads) {
        const auto& gOn = on.grads.at(name);
        QVERIFY2(gOff.defined(),
                 qPrintable(QString::fromStdString(name) + ": no gradient without checkpointing"));
        QVERIFY2(gOn.defined(),
                 qPrintable(QString::fromStdString(name) + ": no gradient with checkpointing"));
        const double scale = gOff.abs().max().item<double>();
        QVERIFY2(scale > 0, qPrintable(QString::fromStdString(name) + ": gradient is all zeros"));
        const double diff = maxAbsDiff(gOn, gOff);
        QVERIFY2(diff <= kGradRelTolerance * scale,
                 qPrintable(QString("%1: checkpointed gradient differs by %2 (max |g| %3)")
                                .arg(QString::fromStdString(name))
                                .arg(diff)
                                .arg(scale)));
    }
}

QTEST_GUILESS_MAIN(TestModelGolden)
#include "tst_model_golden.moc"

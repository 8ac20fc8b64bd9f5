// Tests of core/kernels/bf16_gemv: the CPU fast paths for bf16 linears (AVX512-BF16 or AVX2 GEMV for one row,
// the AVX2 skinny GEMM for a few rows, float32 GEMM on widened weights for more rows) against a float64
// product of the same bf16 values.
//
// Both paths accumulate in float32 and round the result to bf16 once, as libtorch's own bf16 linear does, so
// each output must lie within one bf16 rounding (plus float32 accumulation noise) of the exact product. Odd
// sizes exercise the tails of the vector loops; a CPU without AVX2 skips the GEMV cases.
#include <thread>

#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest/QtTest>

#include "kernels/bf16_gemv.h"
#include "kernels/inference_ops.h"
#include "model/rope.h"
#include "kernels/kernel_paths.h"
#include "kernels/thin_products.h"
#include "lora/lora_adapter.h"
#include "util/error.h"
#include "model/layers.h"

class TestBf16Kernels : public QObject
{
    Q_OBJECT

private:
    // kernels/thin_products on one ISA entry point (thinProductsMatchTorch).
    static void thinProductsMatchTorchOn(const std::string& isa)
    {
        lathe::useThinProductsIsa(isa);
        torch::manual_seed(11);
        for (const auto& [M, L, R] : std::vector<std::tuple<int, int, int>>{
                 {1, 7, 1}, {37, 1029, 8}, {256, 300, 19}, {5, 64, 16}, {64, 97, 64}})
            for (const auto type : {torch::kFloat32, torch::kBFloat16}) {
                const auto a = torch::randn({M, L}).to(type), b = torch::randn({R, L}), c = torch::randn({M, R});
                const auto b2 = torch::randn({R, L});
                const auto base = torch::randn({M, L}).to(type);
                const auto a64 = a.to(torch::kDouble);
                auto close = [](const torch::Tensor& got, const torch::Tensor& want, double tolerance = 1e-5) {
                    return (got.to(torch::kDouble) - want).abs().max().item<double>() <=
                           tolerance * (1 + want.abs().max().item<double>());
                };
                const QByteArray where = QString("%1: %2x%3 rank %4, %5")
                                             .arg(QString::fromStdString(isa))
                                             .arg(M)
                                             .arg(L)
                                             .arg(R)
                                             .arg(type == torch::kBFloat16 ? "bf16" : "float32")
                                             .toUtf8();
                QVERIFY2(close(lathe::thinRowDots(a, b, 0.5), 0.5 * a64.mm(b.to(torch::kDouble).t())), where);
                QVERIFY2(close(lathe::thinRowCombos(c, b2, 2.0), 2.0 * c.to(torch::kDouble).mm(b2.to(torch::kDouble))),
                         where);
                QVERIFY2(close(lathe::thinColumnSums(c, a, 3.0), 3.0 * c.to(torch::kDouble).t().mm(a64)), where);
                // PEFT's epilogue: base + scale * (c b), rounded once to the base's type.
                const auto sum = lathe::thinRowCombos(c, b2, 0.25, base, type);
                QCOMPARE(sum.scalar_type(), type);
                const auto want32 = base.to(torch::kFloat32) + c.mm(b2) * 0.25;
                if (type == torch::kFloat32) {
                    QVERIFY2(close(sum, want32.to(torch::kDouble)), where);
                } else {
                    // libtorch's cast of the float32 sum, bit for bit but where the two float32 sums straddle a
                    // rounding boundary; there, one bf16 step apart (near 0, where the sums cancel, the float32
                    // sums' own difference).
                    const auto cast = want32.to(type);
                    const auto differ = sum.ne(cast);
                    QVERIFY2(differ.to(torch::kFloat32).mean().item<double>() < 0.01, where);
                    const auto step = cast.to(torch::kFloat32).abs() / 128 + 1e-5 * (1 + want32.abs().max());
                    QVERIFY2((sum.to(torch::kFloat32) - cast.to(torch::kFloat32)).abs().le(step * 1.01).all().item<bool>(),
                             where);
                }
                const auto rounded = lathe::thinRowCombos(c, b2, 1.0, {}, torch::kBFloat16);
                QCOMPARE(rounded.scalar_type(), torch::kBFloat16);
                QVERIFY2(rounded.ne(c.mm(b2).to(torch::kBFloat16)).to(torch::kFloat32).mean().item<double>() < 0.01,
                         where);
            }
    }

    // |y - exact| <= bf16 half-ulp of |exact| + float32 accumulation slack.
    static void checkAgainstExact(const torch::Tensor& y, const torch::Tensor& x, const torch::Tensor& w,
                                  const torch::Tensor& b)
    {
        QCOMPARE(y.scalar_type(), torch::kBFloat16);
        auto exact = torch::matmul(x.to(torch::kDouble), w.to(torch::kDouble).t());
        if (b.defined())
            exact += b.to(torch::kDouble);
        const auto diff = (y.to(torch::kDouble) - exact.reshape(y.sizes())).abs();
        const auto allowed = exact.reshape(y.sizes()).abs() * (1.0 / 256) + 1e-3;
        const auto worst = (diff - allowed).max().item<double>();
        QVERIFY2(worst <= 0, qPrintable(QStringLiteral("max excess over tolerance %1").arg(worst)));
    }

    // |got - want| within `ulps` roundings of want's dtype (bf16: 2^-8 relative; float32: float32 noise),
    // and most elements equal: the fused ops make the same roundings as libtorch's chains.
    static void checkFused(const torch::Tensor& got, const torch::Tensor& want, const char* what)
    {
        QVERIFY2(got.sizes() == want.sizes(), what);
        QCOMPARE(got.scalar_type(), want.scalar_type());
        const bool bf16 = want.scalar_type() == torch::kBFloat16;
        const auto g = got.to(torch::kDouble), w = want.to(torch::kDouble);
        const auto diff = (g - w).abs();
        const double scale = w.abs().max().item<double>() + 1e-6;
        const double relative = bf16 ? 2.0 / 256 : 2e-6;
        const auto excess = (diff - (w.abs() * relative + scale * (bf16 ? 1e-3 : 1e-6))).max().item<double>();
        QVERIFY2(excess <= 0, qPrintable(QStringLiteral("%1: max excess over tolerance %2").arg(what).arg(excess)));
        const double equal = diff.eq(0).to(torch::kDouble).mean().item<double>();
        QVERIFY2(!bf16 || equal >= 0.9, qPrintable(QStringLiteral("%1: only %2 of bf16 values equal").arg(what).arg(equal)));
    }

    // The libtorch ops model/layers.cpp and model/causal_lm.cpp run when autograd records.
    static torch::Tensor chainRmsNorm(const torch::Tensor& x, const torch::Tensor& w, double eps, bool offset)
    {
        auto h = x.to(torch::kFloat32);
        h = h * torch::rsqrt(h.pow(2).mean(-1, true) + eps);
        if (offset)
            return (h * (1.0 + w.to(torch::kFloat32))).to(x.scalar_type());
        return w * h.to(x.scalar_type());
    }

    static torch::Tensor chainAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                        const torch::Tensor& mask, double scaling, std::optional<double> cap)
    {
        const std::int64_t B = q.size(0), Hq = q.size(1), T = q.size(2), D = q.size(3), KV = k.size(1),
                           S = k.size(2), G = Hq / KV;
        auto scores = torch::matmul(q.reshape({B, KV, G * T, D}), k.transpose(-1, -2)) * scaling;
        if (cap)
            scores = torch::tanh(scores / *cap) * *cap;
        if (mask.defined())
            scores = scores.view({B, KV, G, T, S}) + mask.unsqueeze(1);
        auto probs = torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type()).view({B, KV, G * T, S});
        return torch::matmul(probs, v).view({B, Hq, T, D}).transpose(1, 2).reshape({B, T, Hq * D});
    }

private Q_SLOTS:
    // The kernel files are built with OpenMP: their at::parallel_for ranges use libtorch's threads (without
    // -fopenmp there, the inline template ran every range on the calling thread).
    void kernelsRunOnEveryThread()
    {
        if (std::thread::hardware_concurrency() < 2)
            QSKIP("one core: nothing to split across");
        const int before = torch::get_num_threads();
        torch::set_num_threads(2);
        const int threads = lathe::kernelParallelThreads();
        torch::set_num_threads(before);
        QCOMPARE(threads, 2);
    }

    void gemvMatchesExact_data()
    {
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("cols");
        QTest::addColumn<bool>("withBias");
        QTest::newRow("1024x1024") << 1024 << 1024 << false;
        QTest::newRow("odd 37x1001 with bias") << 37 << 1001 << true;
        QTest::newRow("tail-only 5x7") << 5 << 7 << false;
        QTest::newRow("3x48 (16-multiple, not 32)") << 3 << 48 << true;
    }

    void gemvMatchesExact()
    {
        QFETCH(int, rows);
        QFETCH(int, cols);
        QFETCH(bool, withBias);
        if (!lathe::bf16GemvAvailable())
            QSKIP("this CPU has neither AVX512-BF16 nor AVX2+FMA: the GEMV kernel does not run");
        torch::NoGradGuard noGrad;
        torch::manual_seed(rows * 131 + cols);
        const auto w = torch::randn({rows, cols}).to(torch::kBFloat16);
        const auto x = torch::randn({1, 1, cols}).to(torch::kBFloat16);
        const auto b = withBias ? torch::randn({rows}).to(torch::kBFloat16) : torch::Tensor();
        const auto y = lathe::bf16Gemv(x, w, b);
        QVERIFY(y.defined());
        QCOMPARE(y.sizes().vec(), (std::vector<std::int64_t>{1, 1, rows}));
        checkAgainstExact(y, x.reshape({1, cols}), w, b);
    }

    // Products that share their input in one parallel region: each output is what its own bf16Gemv gives, bit for
    // bit (odd row counts split chunks across weights; K not a multiple of 32 takes the tail path); a weight the
    // kernel does not take turns every output down. sharedInputForward applies a LoRA adapter after.
    void gemvManyIsEachGemv()
    {
        if (!lathe::bf16GemvAvailable())
            QSKIP("this CPU has neither AVX512-BF16 nor AVX2+FMA: the GEMV kernel does not run");
        torch::NoGradGuard noGrad;
        torch::manual_seed(21);
        for (const int K : {1024, 1001}) {
            std::vector<torch::Tensor> weights, biases;
            for (const int N : {130, 37, 1000}) {
                weights.push_back(torch::randn({N, K}).to(torch::kBFloat16));
                biases.push_back(N == 37 ? torch::randn({N}).to(torch::kBFloat16) : torch::Tensor());
            }
            const auto x = torch::randn({1, 1, K}).to(torch::kBFloat16);
            const auto outs = lathe::bf16GemvMany(x, weights, biases);
            QCOMPARE(outs.size(), weights.size());
            for (std::size_t i = 0; i < weights.size(); ++i)
                QVERIFY(torch::equal(outs[i], lathe::bf16Gemv(x, weights[i], biases[i])));
            weights[1] = weights[1].to(torch::kFloat32);
            for (const auto& out : lathe::bf16GemvMany(x, weights, biases))
                QVERIFY(!out.defined());
        }
        lathe::Linear q(96, 130, false, torch::kBFloat16), v(96, 64, true, torch::kBFloat16);
        for (auto* linear : {q.get(), v.get()}) {
            linear->weight.normal_();
            if (linear->bias.defined())
                linear->bias.normal_();
        }
        v->adapter = std::make_shared<lathe::LoraLinearAdapter>(torch::randn({8, 96}) * 0.1, torch::randn({64, 8}) * 0.1,
                                                                torch::Tensor(), 2.0);
        const auto x = torch::randn({1, 1, 96}).to(torch::kBFloat16);
        const auto outs = lathe::sharedInputForward(x, {q.get(), v.get()});
        QVERIFY(torch::equal(outs[0], q->forward(x)));
        QVERIFY(torch::equal(outs[1], v->forward(x)));
    }

    void skinnyGemmMatchesExact_data()
    {
        QTest::addColumn<int>("m");
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("cols");
        QTest::addColumn<bool>("withBias");
        // Every row count up to kMaxSkinnyRows: the 4-row passes and the 1-3 row remainders.
        for (int m = 1; m <= int(lathe::kMaxSkinnyRows); ++m)
            QTest::newRow(qPrintable(QStringLiteral("%1 rows, 300x1024").arg(m))) << m << 300 << 1024 << (m % 2 == 0);
        QTest::newRow("3 rows, odd 37x1001 with bias") << 3 << 37 << 1001 << true;
        QTest::newRow("5 rows, tail-only 5x7") << 5 << 5 << 7 << false;
        QTest::newRow("8 rows, 3x48 (16-multiple, not 32)") << 8 << 3 << 48 << true;
        QTest::newRow("6 rows, 130x3072 (chunks of 64 + tail)") << 6 << 130 << 3072 << false;
    }

    void skinnyGemmMatchesExact()
    {
        QFETCH(int, m);
        QFETCH(int, rows);
        QFETCH(int, cols);
        QFETCH(bool, withBias);
        if (!lathe::bf16GemvAvailable())
            QSKIP("the skinny AVX2 kernel runs only on CPUs with AVX2+FMA");
        torch::NoGradGuard noGrad;
        torch::manual_seed(m * 1009 + rows * 131 + cols);
        const auto w = torch::randn({rows, cols}).to(torch::kBFloat16);
        const auto x = torch::randn({m, 1, cols}).to(torch::kBFloat16); // a decode step of m sequences
        const auto b = withBias ? torch::randn({rows}).to(torch::kBFloat16) : torch::Tensor();
        const auto y = lathe::bf16GemmSkinny(x, w, b);
        QVERIFY(y.defined());
        QCOMPARE(y.sizes().vec(), (std::vector<std::int64_t>{m, 1, rows}));
        checkAgainstExact(y, x.reshape({m, cols}), w, b);
        // Each row equals the one-row kernel's result for it up to float32 accumulation order (a batched
        // decode gives each sequence what it would get alone), allowing one bf16 rounding step.
        for (int r = 0; r < m; ++r) {
            const auto single = lathe::bf16Gemv(x[r], w, b);
            QVERIFY(single.defined());
            const auto diff = (y[r].reshape({rows}).to(torch::kDouble) - single.reshape({rows}).to(torch::kDouble)).abs();
            const auto allowed = single.reshape({rows}).to(torch::kDouble).abs() * (1.0 / 128) + 1e-3;
            QVERIFY((diff - allowed).max().item<double>() <= 0);
        }
    }

    void skinnyGemmDeclines()
    {
        if (!lathe::bf16GemvAvailable())
            QSKIP("the skinny AVX2 kernel runs only on CPUs with AVX2+FMA");
        torch::NoGradGuard noGrad;
        const auto w = torch::randn({8, 32}).to(torch::kBFloat16);
        // More rows than kMaxSkinnyRows (prefill) go to the widened GEMM; float32 is not its business.
        QVERIFY(!lathe::bf16GemmSkinny(torch::randn({lathe::kMaxSkinnyRows + 1, 32}).to(torch::kBFloat16), w, {})
                     .defined());
        QVERIFY(!lathe::bf16GemmSkinny(torch::randn({2, 32}), w.to(torch::kFloat32), {}).defined());
        QVERIFY(!lathe::bf16GemmSkinny(torch::randn({2, 31}).to(torch::kBFloat16), w, {}).defined());
    }

    void gemmViaFloatMatchesExact()
    {
        torch::NoGradGuard noGrad;
        torch::manual_seed(7);
        // Wider than one block of rows, so the blocking and the narrow copies are exercised.
        const std::int64_t K = 96, N = 45000, M = 5;
        const auto w = torch::randn({N, K}).to(torch::kBFloat16);
        const auto x = torch::randn({1, M, K}).to(torch::kBFloat16);
        const auto b = torch::randn({N}).to(torch::kBFloat16);
        const auto y = lathe::bf16LinearViaFloat(x, w, b);
        QVERIFY(y.defined());
        QCOMPARE(y.sizes().vec(), (std::vector<std::int64_t>{1, M, N}));
        checkAgainstExact(y, x.reshape({M, K}), w, b);
    }

    void linearForwardEqualsTorchLinearInFloat()
    {
        // The dispatcher in layers.cpp: whatever paths are in force, results equal the float32 computation
        // rounded to bf16 (up to accumulation order).
        torch::NoGradGuard noGrad;
        torch::manual_seed(3);
        const auto w = torch::randn({300, 256}).to(torch::kBFloat16);
        const lathe::KernelPaths chosen = lathe::kernelPaths();
        for (const char* forced : {"gemm=widened,gemv=lathe", "gemm=native,gemv=native"}) {
            lathe::setKernelPaths(lathe::parseKernelPaths(forced));
            for (std::int64_t rows : {1, 2, 4, 8, 9, 17}) {
                const auto x = torch::randn({rows, 256}).to(torch::kBFloat16);
                checkAgainstExact(lathe::linearForward(x, w), x, w, {});
            }
        }
        lathe::setKernelPaths(chosen);
    }

    // kernels/kernel_paths: the probe times every candidate of every product and picks the fastest it measured;
    // LATHE_KERNELS's syntax is checked.
    void probeChoosesTheFastest()
    {
        const lathe::KernelPaths p = lathe::probeKernelPaths();
        for (const char* product : {"gemm", "grad_input", "lm_head", "attention", "gemv", "lora"}) {
            double best = 0;
            std::string bestName;
            int candidates = 0;
            for (const auto& t : p.timings)
                if (t.product == product) {
                    ++candidates;
                    if (t.gflops > best) {
                        best = t.gflops;
                        bestName = t.candidate;
                    }
                }
            QVERIFY2(candidates == 2, product);
            const std::string chosen = product == std::string("gemm")         ? lathe::pathName(p.gemm)
                                       : product == std::string("grad_input") ? lathe::pathName(p.gradInput)
                                       : product == std::string("lm_head")    ? lathe::pathName(p.lmHead)
                                       : product == std::string("attention")  ? lathe::pathName(p.attention)
                                       : product == std::string("lora")       ? lathe::pathName(p.lora)
                                                                               : lathe::pathName(p.gemv);
            QCOMPARE(QString::fromStdString(chosen), QString::fromStdString(bestName));
        }
        QVERIFY(QString::fromStdString(lathe::describeKernelPaths(p)).contains("gemm "));
    }

    // kernels/thin_products: the LoRA products against libtorch's in float64, odd sizes for the loop tails and
    // ranks that are not a multiple of the rank tile; the long operand in float32 and in bf16 (read as it is);
    // the combination added onto a base and rounded once to the base's type.
    void thinProductsMatchTorch()
    {
        for (const std::string& isa : lathe::useThinProductsIsa(""))
            thinProductsMatchTorchOn(isa);
        lathe::useThinProductsIsa("");
    }

    // A LoRA's output and gradients are the same on both paths (up to float32 summation order).
    void loraProductsOnBothPaths()
    {
        const lathe::KernelPaths chosen = lathe::kernelPaths();
        torch::manual_seed(12);
        const auto x0 = torch::randn({2, 33, 96}), a0 = torch::randn({8, 96}), b0 = torch::randn({130, 8}),
                   g = torch::randn({2, 33, 130});
        std::vector<std::vector<torch::Tensor>> results;
        for (const char* path : {"lora=blas", "lora=lathe"}) {
            lathe::setKernelPaths(lathe::parseKernelPaths(path));
            auto x = x0.clone().requires_grad_(true), a = a0.clone().requires_grad_(true),
                 b = b0.clone().requires_grad_(true);
            const auto y = lathe::loraProducts(x, a, b);
            y.backward(g);
            results.push_back({y.detach(), x.grad(), a.grad(), b.grad()});
        }
        lathe::setKernelPaths(chosen);
        for (std::size_t i = 0; i < results[0].size(); ++i)
            QVERIFY2(torch::allclose(results[0][i], results[1][i], 1e-4, 1e-4), qPrintable(QString::number(i)));
    }

    // A LoRA layer's whole term (base + scaling * B A x) in the model's dtype: the thin kernels reading bf16 x and
    // gradients as they are against PEFT's float32 copies on libtorch's products. Outputs and x's gradient to a
    // bf16 rounding step (most equal), A's and B's gradients to float32 summation order.
    void loraOutputOnBothPaths()
    {
        const lathe::KernelPaths chosen = lathe::kernelPaths();
        for (const auto type : {torch::kBFloat16, torch::kFloat32}) {
            torch::manual_seed(13);
            const auto x0 = torch::randn({2, 33, 96}).to(type), w = (torch::randn({130, 96}) * 0.1).to(type),
                       a0 = torch::randn({8, 96}) * 0.1, b0 = torch::randn({130, 8}) * 0.1,
                       g = torch::randn({2, 33, 130}).to(type);
            std::vector<std::vector<torch::Tensor>> results;
            for (const char* path : {"lora=blas", "lora=lathe"}) {
                lathe::setKernelPaths(lathe::parseKernelPaths(path, chosen));
                auto x = x0.clone().requires_grad_(true);
                lathe::LoraLinearAdapter adapter(a0.clone().requires_grad_(true), b0.clone().requires_grad_(true), {},
                                                 2.0);
                QCOMPARE(lathe::thinLoraOutput(torch::linear(x, w), x, adapter.loraA, adapter.loraB, 2.0).defined(),
                         std::string(path) == "lora=lathe");
                const auto y = adapter.apply(x, w, {}, torch::linear(x, w));
                QCOMPARE(y.scalar_type(), type);
                y.backward(g);
                results.push_back({y.detach(), x.grad(), adapter.loraA.grad(), adapter.loraB.grad()});
            }
            lathe::setKernelPaths(chosen);
            for (int i : {0, 1})
                checkFused(results[1][i], results[0][i], i == 0 ? "output" : "x's gradient");
            for (int i : {2, 3})
                QVERIFY2(torch::allclose(results[0][i], results[1][i], 1e-4, 1e-5), i == 2 ? "A's gradient" : "B's gradient");
        }
    }

    // `lathe env --probe`: measured again, in force, and cached for this machine's key.
    void reprobeWritesTheCache()
    {
        const QByteArray old = qgetenv("XDG_CACHE_HOME");
        QTemporaryDir dir;
        qputenv("XDG_CACHE_HOME", dir.path().toUtf8());
        const lathe::KernelPaths p = lathe::reprobeKernelPaths();
        QVERIFY(QString::fromStdString(p.source).startsWith("measured now"));
        QFile cache(dir.path() + "/lathe/kernel-paths.json");
        QVERIFY(cache.open(QIODevice::ReadOnly));
        const QByteArray text = cache.readAll();
        QVERIFY2(text.contains("\"lm_head\"") && text.contains("threads"), text.constData());
        if (old.isNull())
            qunsetenv("XDG_CACHE_HOME");
        else
            qputenv("XDG_CACHE_HOME", old);
    }

    void kernelPathsSyntax()
    {
        const auto p = lathe::parseKernelPaths("gemm=native,lm_head=widened,attention=native,gemv=native");
        QVERIFY(p.gemm == lathe::Bf16Path::Native && p.lmHead == lathe::Bf16Path::Widened &&
                p.attention == lathe::Bf16Path::Native && p.gemv == lathe::GemvPath::Native);
        QVERIFY(p.gradInput == lathe::Bf16Path::Widened); // unnamed: the base's
        QVERIFY(p.fused && !lathe::parseKernelPaths("fused=torch").fused);
        {
            // fused=torch: the fused ops decline and the model runs libtorch's chains.
            const lathe::KernelPaths chosen = lathe::kernelPaths();
            lathe::setKernelPaths(lathe::parseKernelPaths("fused=torch", chosen));
            torch::NoGradGuard noGrad;
            const bool declined = !lathe::fusedRmsNorm(torch::randn({2, 8}), torch::ones({8}), 1e-6, false).defined();
            lathe::setKernelPaths(chosen);
            QVERIFY(declined);
            QVERIFY(lathe::fusedRmsNorm(torch::randn({2, 8}), torch::ones({8}), 1e-6, false).defined());
            // An UnfusedOpsScope (a training run) stops the inference-only ops, not the norm training uses too.
            const auto q = torch::randn({1, 2, 1, 8}), k = torch::randn({1, 2, 3, 8});
            QVERIFY(lathe::cachedAttention(q, k, k, {}, 1.0, std::nullopt).defined());
            const lathe::UnfusedOpsScope scope;
            QVERIFY(!lathe::cachedAttention(q, k, k, {}, 1.0, std::nullopt).defined());
            QVERIFY(lathe::fusedRmsNorm(torch::randn({2, 8}), torch::ones({8}), 1e-6, false).defined());
            QVERIFY(lathe::fusedActMul(torch::randn({2, 8}), torch::randn({2, 8}), false).defined());
        }
        bool threw = false;
        try {
            lathe::parseKernelPaths("gemm=fast");
        } catch (const lathe::Error& e) {
            threw = QString(e.what()).contains("native and widened");
        }
        QVERIFY(threw);
        threw = false;
        try {
            lathe::parseKernelPaths("matmul=native");
        } catch (const lathe::Error& e) {
            threw = QString(e.what()).contains("unknown product");
        }
        QVERIFY(threw);
    }

    void autogradFallsBackToTorch()
    {
        // Under autograd the fast paths step aside, so gradients flow as libtorch computes them.
        const auto w = torch::randn({8, 16}).to(torch::kBFloat16).requires_grad_(true);
        const auto x = torch::randn({3, 16}).to(torch::kBFloat16);
        QVERIFY(!lathe::bf16LinearViaFloat(x, w, {}).defined());
        lathe::linearForward(x, w).sum().backward();
        QVERIFY(w.grad().defined());
    }

    // kernels/inference_ops: each fused op against the libtorch chain it replaces, in float32 and bf16, with odd
    // sizes for the vector loops' tails.
    void fusedNormsMatchTheChain()
    {
        torch::NoGradGuard noGrad;
        torch::manual_seed(21);
        for (const auto type : {torch::kFloat32, torch::kBFloat16})
            for (const int D : {1024, 37})
                for (const bool offset : {false, true})
                    for (const auto wType : {type, torch::kFloat32}) {
                        const auto x = (3 * torch::randn({2, 5, D})).to(type);
                        const auto w = (1 + 0.1 * torch::randn({D})).to(wType);
                        const auto got = lathe::fusedRmsNorm(x, w, 1e-6, offset);
                        QVERIFY(got.defined());
                        checkFused(got, chainRmsNorm(x, w, 1e-6, offset),
                                   qPrintable(QStringLiteral("rmsnorm D=%1 offset=%2 %3/%4")
                                                  .arg(D).arg(offset).arg(c10::toString(type)).arg(c10::toString(wType))));
                    }
    }

    // Where autograd records (training), the fused RMSNorm is a Function of its own: its input and weight
    // gradients are those of the chain's graph.
    void fusedNormGradientsMatchTheChain()
    {
        torch::manual_seed(25);
        for (const auto type : {torch::kFloat32, torch::kBFloat16})
            for (const bool offset : {false, true})
                for (const auto wType : {type, torch::kFloat32}) {
                    const int D = 96;
                    const auto x0 = (3 * torch::randn({2, 7, D})).to(type), w0 = (1 + 0.1 * torch::randn({D})).to(wType);
                    std::vector<torch::Tensor> grads[2];
                    for (int fused = 0; fused < 2; ++fused) {
                        auto x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
                        const auto y = fused ? lathe::fusedRmsNorm(x, w, 1e-6, offset) : chainRmsNorm(x, w, 1e-6, offset);
                        QVERIFY(y.defined());
                        torch::manual_seed(26);
                        y.backward(torch::randn(y.sizes()).to(y.scalar_type()));
                        grads[fused] = {y.detach(), x.grad(), w.grad()};
                    }
                    const QString what = QStringLiteral("offset=%1 %2/%3").arg(offset).arg(c10::toString(type)).arg(c10::toString(wType));
                    checkFused(grads[1][0], grads[0][0], qPrintable("output " + what));
                    checkFused(grads[1][1], grads[0][1], qPrintable("input gradient " + what));
                    // The weight gradient sums 14 rows of bf16 products: float32 summation order shows at bf16's
                    // last bit more often.
                    const auto dw = (grads[1][2].to(torch::kDouble) - grads[0][2].to(torch::kDouble)).abs().max().item<double>();
                    QVERIFY2(dw <= (wType == torch::kBFloat16 ? 2.0 / 128 : 1e-4) * grads[0][2].abs().max().item<double>(),
                             qPrintable("weight gradient " + what + QString(": %1").arg(dw)));
                }
    }

    void fusedActMulMatchesTheChain()
    {
        torch::NoGradGuard noGrad;
        torch::manual_seed(22);
        for (const auto type : {torch::kFloat32, torch::kBFloat16})
            for (const bool gelu : {false, true}) {
                // Wide range: exp's clamps and silu/gelu's far tails.
                auto gate = (torch::randn({3, 3071}) * 6).to(type);
                const auto up = torch::randn({3, 3071}).to(type);
                gate.index_put_({0, 0}, -120.0);
                gate.index_put_({0, 1}, 95.0);
                const auto got = lathe::fusedActMul(gate, up, gelu);
                QVERIFY(got.defined());
                // The activation exact (float64), rounded once to the dtype. libtorch 1.13 rounds each op of a bf16
                // silu to bf16, and its gelu's 0.5 x (1 + tanh y) cancels to 0 below x = -5; the fused op computes
                // x sigmoid(2y) in float32, the more exact.
                const auto g64 = gate.to(torch::kDouble);
                const auto y = gelu ? 0.7978845608028654 * (g64 + 0.044715 * g64.pow(3)) : 0.5 * g64;
                const auto act = (g64 * torch::sigmoid(2 * y)).to(type);
                const auto want = act * up;
                checkFused(got, want, gelu ? "gelu * up" : "silu * up");
            }
    }

    // Under autograd (training) the fused act * up is a Function of its own: its gradients are those of the
    // graph of the exact activation rounded to the dtype, times up.
    void fusedActMulGradientsMatchTheChain()
    {
        torch::manual_seed(27);
        for (const auto type : {torch::kFloat32, torch::kBFloat16})
            for (const bool gelu : {false, true}) {
                const auto gate0 = (torch::randn({5, 301}) * 4).to(type), up0 = torch::randn({5, 301}).to(type);
                const auto dp = torch::randn({5, 301}).to(type);
                std::vector<torch::Tensor> grads[2];
                for (int fused = 0; fused < 2; ++fused) {
                    auto gate = gate0.clone().requires_grad_(true), up = up0.clone().requires_grad_(true);
                    torch::Tensor p;
                    if (fused) {
                        p = lathe::fusedActMul(gate, up, gelu);
                    } else {
                        const auto g64 = gate.to(torch::kDouble);
                        const auto y = gelu ? 0.7978845608028654 * (g64 + 0.044715 * g64.pow(3)) : 0.5 * g64;
                        p = (g64 * torch::sigmoid(2 * y)).to(type) * up;
                    }
                    QVERIFY(p.defined());
                    p.backward(dp);
                    grads[fused] = {p.detach(), gate.grad(), up.grad()};
                }
                const char* names[] = {"output", "gate gradient", "up gradient"};
                for (int i = 0; i < 3; ++i)
                    checkFused(grads[1][i], grads[0][i],
                               qPrintable(QString("%1 %2 %3").arg(names[i]).arg(gelu ? "gelu" : "silu").arg(c10::toString(type))));
            }
    }

    // PEFT's epilogue base + (lora * s).to(dtype) and its gradients, fused: equal to the chain's (the same
    // roundings; the gradients are a pass-through and a float32 product).
    void fusedScaledAddMatchesTheChain()
    {
        torch::manual_seed(28);
        for (const auto type : {torch::kFloat32, torch::kBFloat16}) {
            const auto base0 = torch::randn({3, 7, 130}).to(type), lora0 = torch::randn({3, 7, 130});
            const auto g = torch::randn({3, 7, 130}).to(type);
            std::vector<torch::Tensor> results[2];
            for (int fused = 0; fused < 2; ++fused) {
                auto base = base0.clone().requires_grad_(true), lora = lora0.clone().requires_grad_(true);
                const auto out = fused ? lathe::fusedScaledAdd(base, lora, 0.75) : (base + lora * 0.75).to(type);
                QVERIFY(out.defined());
                out.backward(g);
                results[fused] = {out.detach(), base.grad(), lora.grad()};
            }
            for (int i = 0; i < 3; ++i)
                QVERIFY2(torch::equal(results[0][i], results[1][i]), qPrintable(QString("%1 %2").arg(i).arg(c10::toString(type))));
        }
    }

    void fusedNormRotaryMatchesTheChain()
    {
        torch::NoGradGuard noGrad;
        torch::manual_seed(23);
        const std::int64_t B = 2, T = 3, H = 4;
        for (const auto type : {torch::kFloat32, torch::kBFloat16})
            for (const auto& [D, rot] : std::vector<std::pair<int, int>>{{128, 128}, {96, 32}, {18, 18}})
                for (const bool interleaved : {false, true})
                    for (const bool norm : {false, true}) {
                        const auto x = torch::randn({B, T, H, D}).to(type);
                        const auto angles = torch::rand({B, T, rot}) * 50;
                        const auto cos = angles.cos().to(type), sin = angles.sin().to(type);
                        const auto w = norm ? (1 + 0.1 * torch::randn({D})).to(type) : torch::Tensor();
                        const auto got = lathe::fusedNormRotary(x, w, 1e-6, false, cos, sin, interleaved);
                        QVERIFY(got.defined());
                        const auto normed = norm ? chainRmsNorm(x, w, 1e-6, false) : x;
                        const auto want = lathe::applyRotary(normed.transpose(1, 2), cos, sin, interleaved);
                        checkFused(got, want.contiguous(),
                                   qPrintable(QStringLiteral("rotary D=%1 rot=%2 interleaved=%3 norm=%4 %5")
                                                  .arg(D).arg(rot).arg(interleaved).arg(norm).arg(c10::toString(type))));
                    }
    }

    // The rotation training uses (fusedRotary, an autograd Function) against applyRotary's graph: output and input
    // gradient, rotate_half and GLM's pairs, whole and partial.
    void fusedRotaryGradientsMatchTheChain()
    {
        torch::manual_seed(29);
        const std::int64_t B = 2, T = 5, H = 3;
        for (const auto type : {torch::kFloat32, torch::kBFloat16})
            for (const auto& [D, rot] : std::vector<std::pair<int, int>>{{64, 64}, {48, 16}})
                for (const bool interleaved : {false, true}) {
                    const auto x0 = torch::randn({B, T, H, D}).to(type);
                    const auto angles = torch::rand({B, T, rot}) * 50;
                    const auto cos = angles.cos().to(type), sin = angles.sin().to(type);
                    const auto dy = torch::randn({B, H, T, D}).to(type);
                    std::vector<torch::Tensor> results[2];
                    for (int fused = 0; fused < 2; ++fused) {
                        auto x = x0.clone().requires_grad_(true);
                        const auto y = fused ? lathe::fusedRotary(x, cos, sin, interleaved)
                                             : lathe::applyRotary(x.transpose(1, 2), cos, sin, interleaved);
                        QVERIFY(y.defined());
                        y.backward(dy);
                        results[fused] = {y.detach().contiguous(), x.grad()};
                    }
                    const QString what = QStringLiteral("D=%1 rot=%2 interleaved=%3 %4").arg(D).arg(rot).arg(interleaved).arg(c10::toString(type));
                    checkFused(results[1][0], results[0][0], qPrintable("rotary output " + what));
                    checkFused(results[1][1], results[0][1], qPrintable("rotary input gradient " + what));
                }
    }

    // The attention's scale + mask + softmax (fusedSoftmax) against the chain, forward and gradient, with a
    // padding mask and without.
    void fusedSoftmaxMatchesTheChain()
    {
        torch::manual_seed(30);
        const std::int64_t B = 2, KV = 2, G = 3, T = 5, S = 37;
        for (const auto type : {torch::kFloat32, torch::kBFloat16})
            for (const bool masked : {false, true}) {
                const auto x0 = (torch::randn({B, KV, G * T, S}) * 4).to(type);
                torch::Tensor mask;
                if (masked) {
                    const auto lowest = type == torch::kBFloat16 ? torch::tensor(-3.38953139e38f).to(type).item()
                                                                 : torch::Scalar(std::numeric_limits<float>::lowest());
                    mask = torch::zeros({B, 1, T, S}, torch::TensorOptions().dtype(type));
                    mask.index_put_({1, 0, torch::indexing::Slice(), torch::indexing::Slice(0, 4)}, lowest);
                    mask.index_put_({torch::indexing::Slice(), 0, 0, torch::indexing::Slice(30, S)}, lowest);
                }
                const auto dp = torch::randn({B, KV, G * T, S}).to(type);
                std::vector<torch::Tensor> results[2];
                for (int fused = 0; fused < 2; ++fused) {
                    auto x = x0.clone().requires_grad_(true);
                    torch::Tensor p;
                    if (fused) {
                        p = lathe::fusedSoftmax(x, mask, 0.125, T);
                    } else {
                        auto scores = x * 0.125;
                        if (masked)
                            scores = scores.view({B, KV, G, T, S}) + mask.unsqueeze(1);
                        p = torch::softmax(scores, -1, torch::kFloat32).to(type).view({B, KV, G * T, S});
                    }
                    QVERIFY(p.defined());
                    p.backward(dp);
                    results[fused] = {p.detach(), x.grad()};
                }
                const QString what = QStringLiteral("masked=%1 %2").arg(masked).arg(c10::toString(type));
                checkFused(results[1][0], results[0][0], qPrintable("softmax " + what));
                checkFused(results[1][1], results[0][1], qPrintable("softmax gradient " + what));
            }
    }

    void cachedAttentionMatchesTheChain()
    {
        torch::NoGradGuard noGrad;
        torch::manual_seed(24);
        for (const auto type : {torch::kFloat32, torch::kBFloat16})
            for (const bool masked : {false, true})
                for (const bool capped : {false, true}) {
                    const std::int64_t B = 2, Hq = 6, KV = 2, T = 2, S = 37, D = 40, capacity = 50;
                    const auto q = torch::randn({B, Hq, T, D}).to(type);
                    // The KV cache's layout: rows of D contiguous, the sequence a narrowed view of a longer buffer.
                    const auto k = torch::randn({B, KV, capacity, D}).to(type).narrow(2, 0, S);
                    const auto v = torch::randn({B, KV, capacity, D}).to(type).narrow(2, 0, S);
                    torch::Tensor mask;
                    if (masked) { // padding on the left of the second sequence, and a causal edge
                        const auto lowest = type == torch::kBFloat16 ? torch::tensor(-3.38953139e38f).to(type).item()
                                                                     : torch::Scalar(std::numeric_limits<float>::lowest());
                        mask = torch::zeros({B, 1, T, S}, torch::TensorOptions().dtype(type));
                        mask.index_put_({1, 0, torch::indexing::Slice(), torch::indexing::Slice(0, 5)}, lowest);
                        mask.index_put_({torch::indexing::Slice(), 0, 0, S - 1}, lowest);
                    }
                    const std::optional<double> cap = capped ? std::optional<double>(5.0) : std::nullopt;
                    const auto got = lathe::cachedAttention(q, k, v, mask, 0.125, cap);
                    QVERIFY(got.defined());
                    checkFused(got, chainAttention(q, k, v, mask, 0.125, cap),
                               qPrintable(QStringLiteral("attention masked=%1 capped=%2 %3")
                                              .arg(masked).arg(capped).arg(c10::toString(type))));
                }
        const auto q = torch::randn({1, 2, 8, 16}), k = torch::randn({1, 2, 8, 16});
        QVERIFY(!lathe::cachedAttention(q, k, k, {}, 1.0, std::nullopt).defined()); // 8 query rows: a prefill
    }
};

QTEST_APPLESS_MAIN(TestBf16Kernels)
#include "tst_bf16_kernels.moc"

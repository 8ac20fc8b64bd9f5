// Tests of core/runtime/device: parsing --device and --dtype, and what the build and machine offer.
//
// The expectations follow the machine: on a CUDA-less machine `auto` is the CPU and `cuda` is a clear
// error; in a build without torch_npu, `npu` says so. Rows for the other case verify the other behaviour.
#include <string>
#include <thread>

#include <torch/cuda.h>
#include <torch/torch.h>

#include <QtTest/QtTest>

#include "error_check.h"
#include "runtime/device.h"
#include "util/cpu_share.h"

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

class TestDevice : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void cpu_data();
    void cpu();
    void autoDevice();
    void cuda();
    void npu();
    void badDevice_data();
    void badDevice();
    void resolveDtype_data();
    void resolveDtype();
    void float16_data();
    void float16();
    void badDtype();
    void dtypeNames();
    void availableDevicesListsCpuFirst();
    void threads();
    void cpuShareSeesOtherProcesses();
};

void TestDevice::cpu_data()
{
    QTest::addColumn<QString>("spec");
    QTest::newRow("cpu") << "cpu";
    QTest::newRow("CPU") << "CPU";
    QTest::newRow("cpu:0") << "cpu:0";
}

void TestDevice::cpu()
{
    QFETCH(QString, spec);
    const auto device = lathe::resolveDevice(spec.toStdString());
    QVERIFY(device.is_cpu());
}

void TestDevice::autoDevice()
{
    for (const char* spec : {"auto", "AUTO", ""}) {
        const auto device = lathe::resolveDevice(spec);
        if (torch::cuda::is_available())
            QCOMPARE(device, torch::Device(torch::kCUDA, 0));
        else if (!lathe::buildHasNpu())
            QVERIFY2(device.is_cpu(), spec); // this machine: no CUDA, no NPU
    }
}

void TestDevice::cuda()
{
    if (torch::cuda::is_available()) {
        QCOMPARE(lathe::resolveDevice("cuda"), torch::Device(torch::kCUDA, 0));
        QCOMPARE(lathe::resolveDevice("cuda:0"), torch::Device(torch::kCUDA, 0));
        QString message;
        LATHE_VERIFY_ERROR(lathe::resolveDevice("cuda:99"), message);
        LATHE_VERIFY_MENTIONS(message, QStringList({"cuda:99", "CUDA"}));
        return;
    }
    for (const char* spec : {"cuda", "cuda:0", "CUDA:1"}) {
        QString message;
        LATHE_VERIFY_ERROR(lathe::resolveDevice(spec), message);
        LATHE_VERIFY_MENTIONS(message, QStringList({spec, "no CUDA device"}));
    }
}

void TestDevice::npu()
{
    if (lathe::buildHasNpu())
        QSKIP("this build has Ascend NPU support; the no-NPU message is not reachable");
    QVERIFY(!lathe::buildHasNpu());
    for (const char* spec : {"npu", "npu:0", "NPU:1"}) {
        QString message;
        LATHE_VERIFY_ERROR(lathe::resolveDevice(spec), message);
        LATHE_VERIFY_MENTIONS(message, QStringList({spec, "no Ascend NPU support", "LATHE_WITH_NPU"}));
    }
}

void TestDevice::badDevice_data()
{
    QTest::addColumn<QString>("spec");
    QTest::addColumn<QStringList>("mentions");
    QTest::newRow("gpu:0") << "gpu:0" << QStringList({"gpu:0", "auto", "cpu", "cuda", "npu"});
    QTest::newRow("gpu") << "gpu" << QStringList({"gpu", "cuda"});
    QTest::newRow("mps") << "mps" << QStringList({"mps"});
    QTest::newRow("cuda:x") << "cuda:x" << QStringList({"cuda:x", "index"});
    QTest::newRow("cuda:") << "cuda:" << QStringList({"cuda:", "index"});
    QTest::newRow("cuda:-1") << "cuda:-1" << QStringList({"cuda:-1"});
    QTest::newRow("cuda:99999999999999999999")
        << "cuda:99999999999999999999" << QStringList({"cuda:99999999999999999999"});
}

void TestDevice::badDevice()
{
    QFETCH(QString, spec);
    QFETCH(QStringList, mentions);
    QString message;
    LATHE_VERIFY_ERROR(lathe::resolveDevice(spec.toStdString()), message);
    LATHE_VERIFY_MENTIONS(message, mentions);
}

void TestDevice::resolveDtype_data()
{
    QTest::addColumn<QString>("spec");
    QTest::addColumn<bool>("onCuda"); // the Device value only; no CUDA needed to resolve a dtype for it
    QTest::addColumn<int>("expected");
    const int f32 = int(torch::kFloat32), bf16 = int(torch::kBFloat16);
    QTest::newRow("fp32") << "fp32" << false << f32;
    QTest::newRow("float32") << "float32" << false << f32;
    QTest::newRow("float") << "float" << false << f32;
    QTest::newRow("FP32") << "FP32" << false << f32;
    QTest::newRow("bf16") << "bf16" << false << bf16;
    QTest::newRow("bfloat16") << "bfloat16" << false << bf16;
    QTest::newRow("BF16 on cuda") << "BF16" << true << bf16;
    QTest::newRow("auto on cpu") << "auto" << false << f32;
    QTest::newRow("empty on cpu") << "" << false << f32;
    QTest::newRow("auto on cuda") << "auto" << true << bf16;
    QTest::newRow("fp32 on cuda") << "fp32" << true << f32;
}

void TestDevice::resolveDtype()
{
    QFETCH(QString, spec);
    QFETCH(bool, onCuda);
    QFETCH(int, expected);
    const torch::Device device = onCuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
    QCOMPARE(int(lathe::resolveDtype(spec.toStdString(), device)), expected);
}

void TestDevice::float16_data()
{
    QTest::addColumn<QString>("spec");
    QTest::newRow("fp16") << "fp16";
    QTest::newRow("float16") << "float16";
    QTest::newRow("half") << "half";
}

void TestDevice::float16()
{
    // float16 on the CPU depends on the libtorch (1.13 has no half matmul there): either it is granted and
    // works, or it is refused up front with a message pointing to bf16/fp32, never a failure mid-forward.
    QFETCH(QString, spec);
    torch::ScalarType type = torch::kFloat32;
    try {
        type = lathe::resolveDtype(spec.toStdString(), torch::kCPU);
    } catch (const lathe::Error& e) {
        const QString message = QString::fromStdString(e.what());
        LATHE_VERIFY_MENTIONS(message, QStringList({spec, "bf16", "fp32"}));
        return;
    }
    QCOMPARE(type, torch::kHalf);
    torch::NoGradGuard noGrad;
    const auto x = torch::ones({2, 4}, torch::kHalf);
    QCOMPARE(torch::linear(x, torch::ones({3, 4}, torch::kHalf)).to(torch::kFloat32).sum().item<float>(),
             24.0f);
}

void TestDevice::badDtype()
{
    for (const char* spec : {"int8", "fp8", "float64", "bf 16"}) {
        QString message;
        LATHE_VERIFY_ERROR(lathe::resolveDtype(spec, torch::kCPU), message);
        LATHE_VERIFY_MENTIONS(message, QStringList({spec, "fp32", "bf16"}));
    }
}

void TestDevice::dtypeNames()
{
    QCOMPARE(QString::fromStdString(lathe::dtypeName(torch::kFloat32)), QString("float32"));
    QCOMPARE(QString::fromStdString(lathe::dtypeName(torch::kBFloat16)), QString("bfloat16"));
    QCOMPARE(QString::fromStdString(lathe::dtypeName(torch::kHalf)), QString("float16"));
    // Every name dtypeName gives is accepted back by resolveDtype (float16 on the CPU: see float16()).
    for (auto type : {torch::kFloat32, torch::kBFloat16})
        QCOMPARE(lathe::resolveDtype(lathe::dtypeName(type), torch::kCPU), type);
}

void TestDevice::availableDevicesListsCpuFirst()
{
    const auto devices = lathe::availableDevices();
    QVERIFY(!devices.empty());
    QCOMPARE(QString::fromStdString(devices.front()), QString("cpu"));
    if (!torch::cuda::is_available() && !lathe::buildHasNpu())
        QCOMPARE(devices.size(), std::size_t(1));
    // Every device listed is accepted by resolveDevice.
    for (const auto& d : devices)
        lathe::resolveDevice(d.substr(0, d.find(' ')));
}

void TestDevice::threads()
{
    const int before = torch::get_num_threads();
    lathe::setThreads(1);
    QCOMPARE(torch::get_num_threads(), 1);
    lathe::setThreads(0); // every core the OS reports
    QCOMPARE(torch::get_num_threads(), int(std::max(1u, std::thread::hardware_concurrency())));
    lathe::setThreads(before);
    QCOMPARE(torch::get_num_threads(), before);
}

// util/cpu_share: another process spinning on a core is seen (at least a third of a core, allowing for a
// busy CI machine), and the threads it leaves are the cores minus the ones it holds. The test's own spinning
// counts as its own, not as others'.
void TestDevice::cpuShareSeesOtherProcesses()
{
    lathe::CpuShare share;
    const pid_t child = fork();
    QVERIFY(child >= 0);
    if (child == 0) {
        volatile std::uint64_t n = 0;
        for (;;)
            n = n + 1;
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1200);
    volatile double x = 1; // our own work meanwhile
    while (std::chrono::steady_clock::now() < until)
        x = x * 1.0000001;
    const double others = share.othersBusyCores(0.5);
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    QVERIFY2(others >= 0.3, qPrintable(QString::number(others)));
    const int cores = int(sysconf(_SC_NPROCESSORS_ONLN));
    if (cores >= 2 && others < 1.4) {
        lathe::CpuShare again;
        QCOMPARE(again.threadsFor(cores, cores, 10.0), cores); // nothing measured yet: as it is
    }
    QCOMPARE(share.othersBusyCores(10.0), -1.0); // too soon to measure again
}

QTEST_GUILESS_MAIN(TestDevice)
#include "tst_device.moc"

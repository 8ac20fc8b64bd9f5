// Data-parallel training on c10d (docs/distributed.md): the collectives of three Gloo workers, where a worker
// stands (torchrun / Slurm variables),
// DeepSpeed configs, and real runs of two CPU workers (Gloo, one thread each) on the tiny model: LoRA and full
// fine-tuning with ZeRO stage 2 reach the losses and weights of one worker with twice the batch; sharding halves
// each worker's optimizer state; a checkpoint resumes with another worker count and the same global batch, and
// is refused with another global batch; a worker killed mid-run stops the other with a clear message, the last
// checkpoint intact.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QtCore/QProcess>
#include <QtTest/QtTest>

#include "dist/communicator.h"
#include "dist/worker_group.h"
#include "dist/worker_place.h"
#include "error_check.h"
#include "io/safetensors.h"
#include "test_support.h"
#include "tiny_model.h"
#include "train/run_settings.h"
#include "train/trainer.h"
#include "util/error.h"
#include "util/file_util.h"

namespace fs = std::filesystem;

/// `statement` throws lathe::Error mentioning `needle`.
#define CHECK_ERROR(statement, needle)                                                                       \
    do {                                                                                                     \
        QString message_;                                                                                    \
        LATHE_VERIFY_ERROR(statement, message_);                                                             \
        LATHE_VERIFY_MENTIONS(message_, QStringList{QString::fromStdString(needle)});                        \
    } while (0)
using json = nlohmann::json;
using namespace lathe;

namespace {

ArgumentSet baseArgs(const fs::path& model, const fs::path& data, const fs::path& out)
{
    ArgumentSet a;
    a.set("model_name_or_path", model.string());
    a.set("stage", "sft");
    a.set("do_train", "true");
    a.set("finetuning_type", "lora");
    a.set("lora_rank", "4");
    a.set("lora_target", "all");
    a.set("lora_dropout", "0");
    a.set("dataset", "qa");
    a.set("dataset_dir", data.string());
    a.set("template", "qwen");
    a.set("cutoff_len", "64");
    a.set("output_dir", out.string());
    a.set("tokenized_path", (out.parent_path() / "cache").string());
    a.set("logging_steps", "1");
    a.set("save_steps", "2");
    a.set("gradient_accumulation_steps", "2");
    a.set("learning_rate", "5e-3");
    a.set("lr_scheduler_type", "cosine");
    a.set("warmup_steps", "1");
    a.set("max_steps", "4");
    a.set("seed", "3");
    a.set("overwrite_output_dir", "true");
    return a;
}

/// Tensors of a safetensors file by name.
std::map<std::string, torch::Tensor> tensorsOf(const fs::path& file)
{
    std::map<std::string, torch::Tensor> out;
    const auto store = WeightStore::openFile(file.string());
    for (const auto& n : store.names())
        out[n] = store.get(n).to(torch::kFloat32);
    return out;
}

double maxDifference(const fs::path& a, const fs::path& b)
{
    const auto x = tensorsOf(a), y = tensorsOf(b);
    if (x.size() != y.size())
        return 1e9;
    double worst = 0;
    for (const auto& [name, t] : x) {
        const auto it = y.find(name);
        if (it == y.end())
            return 1e9;
        worst = std::max(worst, (t - it->second).abs().max().item<double>());
    }
    return worst;
}

std::string readAll(const fs::path& p)
{
    return fs::exists(p) ? readTextFile(p.string()) : std::string();
}

/// "Optimizer state per worker (ZeRO stage N): [a, b] bytes" of a run's log.
std::vector<long long> optimizerStatePerWorker(const fs::path& runningLog)
{
    const std::string text = readAll(runningLog);
    std::smatch m;
    std::vector<long long> out;
    if (std::regex_search(text, m, std::regex(R"(Optimizer state per worker \(ZeRO stage \d\): \[([0-9, ]+)\])"))) {
        std::stringstream list(m[1].str());
        std::string item;
        while (std::getline(list, item, ','))
            out.push_back(std::stoll(item));
    }
    return out;
}

/// `args` of a long run of two local workers written to `<name>.yaml` beside `out`.
fs::path longRunOfTwo(ArgumentSet args, const fs::path& out)
{
    args.set("per_device_train_batch_size", "2");
    args.set("max_steps", "100000");
    args.set("nproc_per_node", "2");
    const fs::path yaml = out.string() + ".yaml";
    writeTextFileAtomic(yaml.string(), args.toYaml());
    return yaml;
}

/// The processes `pid` started (every thread's children).
std::vector<pid_t> childrenOf(qint64 pid)
{
    std::vector<pid_t> found;
    for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
        std::ifstream children(task.path() / "children");
        for (pid_t child = 0; children >> child;)
            found.push_back(child);
    }
    return found;
}

} // namespace

class TestDistributed : public QObject
{
    Q_OBJECT

    fs::path m_root, m_model, m_data;

private Q_SLOTS:
    void initTestCase()
    {
        torch::set_num_threads(1);
        m_root = test::scratchDir("distributed").toStdString();
        m_model = test::makeTinyModel(m_root);
        m_data = m_root / "data";
        std::vector<std::pair<std::string, std::string>> examples;
        for (int i = 0; i < 16; ++i) // even per worker: DistributedSampler repeats nothing
            examples.emplace_back("Question " + std::to_string(i) + (i % 2 ? " long one?" : "?"),
                                  "Answer " + std::string(std::size_t(1 + i % 4), char('a' + i % 3)) + ".");
        test::writeAlpacaDataset(m_data, "qa", examples);
        // Preference pairs for dpo and rm, registered beside qa.
        json pairs = json::array();
        for (int i = 0; i < 16; ++i)
            pairs.push_back({{"instruction", "Pick " + std::to_string(i) + "?"},
                             {"chosen", "Yes " + std::string(std::size_t(1 + i % 3), 'y') + "."},
                             {"rejected", "No " + std::string(std::size_t(1 + i % 4), 'n') + "!"}});
        writeTextFileAtomic((m_data / "pairs.json").string(), pairs.dump(2));
        json info = json::parse(readAll(m_data / "dataset_info.json"));
        info["pairs"] = {{"file_name", "pairs.json"},
                         {"ranking", true},
                         {"columns", {{"prompt", "instruction"}, {"chosen", "chosen"}, {"rejected", "rejected"}}}};
        writeTextFileAtomic((m_data / "dataset_info.json").string(), info.dump(2));
        // Local workers run the lathe program CTest built.
        qputenv("LATHE_WORKER_BINARY", test::latheBinary().toUtf8());
        qputenv("OMP_NUM_THREADS", "1");
    }

    // The collectives of three Gloo workers (forked from this process before it trains anything): the ring
    // reduce-scatter over uneven chunks, all-gather, sum and max all-reduce, broadcast; and solo's identity.
    void collectivesOfThreeWorkers()
    {
        auto solo = soloCommunicator();
        auto t = torch::arange(6, torch::kFloat32);
        auto part = torch::empty({6});
        solo->reduceScatterSum(t, part);
        QVERIFY(torch::equal(part, t));
        const int port = freeTcpPort();
        std::vector<pid_t> children;
        for (int rank = 0; rank < 3; ++rank) {
            const pid_t pid = fork();
            if (pid == 0) {
                int bad = 0;
                try {
                    WorkerPlace place;
                    place.rank = rank;
                    place.worldSize = 3;
                    place.masterPort = port;
                    auto comm = connectWorkers(place, torch::kCPU, std::chrono::seconds(30));
                    // Worker r contributes (r + 1) x [0 .. 8]: chunk k of the sum is 6 x [3k .. 3k + 2].
                    auto in = torch::arange(9, torch::kFloat32) * float(rank + 1);
                    auto mine = torch::empty({3});
                    comm->reduceScatterSum(in, mine);
                    bad += !torch::equal(mine, torch::arange(3 * rank, 3 * rank + 3, torch::kFloat32) * 6);
                    auto all = torch::empty({6});
                    comm->allGather(torch::full({2}, float(rank)), all);
                    bad += !torch::equal(all, torch::tensor({0.f, 0.f, 1.f, 1.f, 2.f, 2.f}));
                    auto sum = torch::full({4}, float(rank + 1));
                    comm->allReduceSumAsync(sum)->wait();
                    bad += !torch::equal(sum, torch::full({4}, 6.f));
                    auto top = torch::tensor({float(rank)});
                    comm->allReduceMax(top);
                    bad += top.item<float>() != 2.f;
                    auto b = torch::full({3}, float(rank == 1 ? 7 : 0));
                    comm->broadcast(b, 1);
                    bad += !torch::equal(b, torch::full({3}, 7.f));
                    comm->barrier();
                    bad += comm->bytesSent() <= 0;
                } catch (const std::exception& e) {
                    std::fprintf(stderr, "rank %d: %s\n", rank, e.what());
                    bad = 1;
                }
                std::fflush(nullptr);
                _exit(bad ? 1 : 0);
            }
            children.push_back(pid);
        }
        for (pid_t pid : children) {
            int status = 0;
            waitpid(pid, &status, 0);
            QVERIFY2(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a worker's collectives gave wrong results");
        }
    }

    // torchrun's, LLaMA-Factory's and Slurm's variables; malformed values named.
    void workerPlace()
    {
        auto p = workerPlaceFromEnvironment({{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"},
                                             {"LOCAL_WORLD_SIZE", "2"}, {"MASTER_ADDR", "10.0.0.1"},
                                             {"MASTER_PORT", "29600"}, {"NNODES", "4"}, {"NODE_RANK", "1"}});
        QCOMPARE(p.rank, 3);
        QCOMPARE(p.worldSize, 8);
        QCOMPARE(p.localRank, 1);
        QCOMPARE(p.nodeRank, 1);
        QCOMPARE(p.masterAddr, std::string("10.0.0.1"));
        QCOMPARE(p.masterPort, 29600);
        QVERIFY(p.distributed());
        p = workerPlaceFromEnvironment({{"SLURM_NTASKS", "4"}, {"SLURM_PROCID", "2"}, {"SLURM_LOCALID", "0"},
                                        {"SLURM_NNODES", "2"}, {"SLURM_NODEID", "1"}, {"HOME", "/"}});
        QCOMPARE(p.source, std::string("slurm"));
        QCOMPARE(p.rank, 2);
        QCOMPARE(p.worldSize, 4);
        QCOMPARE(p.localWorldSize, 2);
        p = workerPlaceFromEnvironment({{"HOME", "/"}, {"NNODES", "2"}, {"NODE_RANK", "1"}});
        QVERIFY(!p.distributed());
        const auto local = localWorkerPlace(p, 4, 3); // LLaMA-Factory's FORCE_TORCHRUN on the second node
        QCOMPARE(local.rank, 7);
        QCOMPARE(local.worldSize, 8);
        QCOMPARE(workerEnvironment(local).at("LOCAL_RANK"), std::string("3"));
        CHECK_ERROR(workerPlaceFromEnvironment({{"RANK", "2"}, {"WORLD_SIZE", "2"}}), "RANK=2");
        CHECK_ERROR(workerPlaceFromEnvironment({{"RANK", "x"}, {"WORLD_SIZE", "2"}}), "RANK=\"x\"");
        CHECK_ERROR(workerPlaceFromEnvironment({{"WORLD_SIZE", "2"}, {"HOME", "/"}}), "without RANK");
    }

    // deepspeed: a config file's stage, LLaMA-Factory's example names, stage 3 refused with its reason.
    void deepSpeedConfigs()
    {
        const fs::path z2 = m_root / "ds_z2.json";
        writeTextFileAtomic(z2.string(), R"({"train_batch_size": "auto", "zero_optimization": {"stage": 2,
            "allgather_partitions": true, "overlap_comm": false, "contiguous_gradients": true}})");
        QCOMPARE(readDeepSpeedConfig(z2.string()).zeroStage, 2);
        QCOMPARE(readDeepSpeedConfig("examples/deepspeed/ds_z0_config.json").zeroStage, 0);
        const auto offload = readDeepSpeedConfig("examples/deepspeed/ds_z2_offload_config.json");
        QCOMPARE(offload.zeroStage, 2);
        QVERIFY(offload.note.find("offload") != std::string::npos);
        CHECK_ERROR(readDeepSpeedConfig("examples/deepspeed/ds_z3_config.json"), "stage 3");
        CHECK_ERROR(readDeepSpeedConfig((m_root / "missing.json").string()), "does not exist");
        // LLaMA-Factory's own example with deepspeed: ds_z3 is refused before anything loads.
        LATHE_REQUIRE_SHARED();
        const auto yaml = test::sharedDir().toStdString() + "/examples/llamafactory/train_lora/qwen3_lora_sft_ds3.yaml";
        auto args = ArgumentSet::fromYamlFile(yaml);
        args.set("model_name_or_path", m_model.string());
        CHECK_ERROR(runTraining(args), "ZeRO stage 3");
    }

    // Two workers with batch 2 each = one worker with batch 4: the same examples per step, the same losses and
    // the same adapter (float32; only the order of additions differs).
    void loraMatchesOneWorker()
    {
        auto one = baseArgs(m_model, m_data, m_root / "lora1");
        one.set("per_device_train_batch_size", "4");
        // Evaluation every 2 steps on a quarter of the data: the first worker evaluates while the other waits.
        for (const auto& [k, v] : {std::pair{"val_size", "0.25"}, {"eval_strategy", "steps"}, {"eval_steps", "2"}})
            one.set(k, v);
        const auto single = runTraining(one);
        auto two = baseArgs(m_model, m_data, m_root / "lora2");
        for (const auto& [k, v] : {std::pair{"val_size", "0.25"}, {"eval_strategy", "steps"}, {"eval_steps", "2"}})
            two.set(k, v);
        two.set("per_device_train_batch_size", "2");
        two.set("nproc_per_node", "2");
        two.set("ddp_bucket_cap_mb", "0.004"); // 4 KiB: four buckets, reduced while the backward pass goes on
        std::vector<std::string> lines;
        TrainCallbacks callbacks;
        callbacks.log = [&](const std::string& line) { lines.push_back(line); };
        const auto parallel = runTraining(two, callbacks);
        QCOMPARE(parallel.rank, 0);
        QCOMPARE(parallel.stepLosses.size(), std::size_t(4));
        QCOMPARE(single.stepLosses.size(), std::size_t(4));
        for (std::size_t i = 0; i < 4; ++i)
            QVERIFY2(std::abs(parallel.stepLosses[i] - single.stepLosses[i]) < 1e-5,
                     qPrintable(QString("step %1: %2 vs %3").arg(i + 1).arg(parallel.stepLosses[i], 0, 'g', 9)
                                    .arg(single.stepLosses[i], 0, 'g', 9)));
        QVERIFY(single.stepLosses[3] < single.stepLosses[0]); // it learned something
        const double diff = maxDifference(m_root / "lora1" / "adapter_model.safetensors",
                                          m_root / "lora2" / "adapter_model.safetensors");
        QVERIFY2(diff < 1e-5, qPrintable(QString("adapter differs by %1").arg(diff)));
        const auto state1 = json::parse(readAll(m_root / "lora1" / "trainer_state.json"));
        const auto state2 = json::parse(readAll(m_root / "lora2" / "trainer_state.json"));
        QCOMPARE(state2["num_input_tokens_seen"], state1["num_input_tokens_seen"]); // tokens summed over workers
        std::vector<double> eval1, eval2;
        for (const auto& e : state1["log_history"])
            if (e.contains("eval_loss"))
                eval1.push_back(e["eval_loss"].get<double>());
        for (const auto& e : state2["log_history"])
            if (e.contains("eval_loss"))
                eval2.push_back(e["eval_loss"].get<double>());
        QCOMPARE(eval2.size(), std::size_t(2));
        QCOMPARE(eval2.size(), eval1.size());
        for (std::size_t i = 0; i < eval1.size(); ++i)
            QVERIFY(std::abs(eval1[i] - eval2[i]) < 1e-4);
        const std::string log = readAll(m_root / "lora2" / "running_log.txt");
        QVERIFY(std::any_of(lines.begin(), lines.end(), [](const std::string& line) {
            return line.find("Data-parallel training: 2 workers through gloo") != std::string::npos;
        }));
        QVERIFY(log.find("Total train batch size (w. parallel, distributed & accumulation) = 8") != std::string::npos);
        QVERIFY(fs::exists(m_root / "lora2" / "checkpoint-2" / "parallel.json"));
        // The worker the run started said nothing but its rank's warnings; its lines come marked.
        for (const auto& line : lines)
            if (line.rfind("[rank ", 0) == 0)
                QVERIFY2(line.rfind("[rank 1] ", 0) == 0, line.c_str());
    }

    // The preference stages weigh each micro-batch's mean loss by 1: two workers' means averaged are the mean of
    // the whole batch. DPO (the reference is the policy with its LoRA off) matches one worker with twice the
    // batch, metrics included. The reward model's value head (trained beside the adapter, saved by rank 0)
    // draws trl's Dropout(0.1) masks per worker, so its losses agree only within that noise.
    void preferenceStagesMatchOneWorker_data()
    {
        QTest::addColumn<QString>("stage");
        QTest::newRow("dpo") << "dpo";
        QTest::newRow("rm") << "rm";
    }
    void preferenceStagesMatchOneWorker()
    {
        QFETCH(QString, stage);
        auto args = [&](const std::string& name, const char* batch) {
            auto a = baseArgs(m_model, m_data, m_root / (stage.toStdString() + name));
            a.set("stage", stage.toStdString());
            a.set("dataset", "pairs");
            a.set("per_device_train_batch_size", batch);
            return a;
        };
        const auto single = runTraining(args("1", "4"));
        auto two = args("2", "2");
        two.set("nproc_per_node", "2");
        const auto parallel = runTraining(two);
        QCOMPARE(parallel.stepLosses.size(), single.stepLosses.size());
        if (stage == "rm") {
            double a = 0, b = 0;
            for (std::size_t i = 0; i < single.stepLosses.size(); ++i) {
                a += single.stepLosses[i];
                b += parallel.stepLosses[i];
            }
            QVERIFY2(std::isfinite(b) && std::abs(a - b) / double(single.stepLosses.size()) < 0.1,
                     qPrintable(QString("mean loss %1 vs %2").arg(b / 4).arg(a / 4)));
            QVERIFY(fs::exists(m_root / "rm2" / "value_head.safetensors"));
            QVERIFY(maxDifference(m_root / "rm1" / "value_head.safetensors", m_root / "rm2" / "value_head.safetensors") < 0.05);
            return;
        }
        for (std::size_t i = 0; i < single.stepLosses.size(); ++i)
            QVERIFY2(std::abs(parallel.stepLosses[i] - single.stepLosses[i]) < 1e-5,
                     qPrintable(QString("step %1: %2 vs %3").arg(i + 1).arg(parallel.stepLosses[i], 0, 'g', 9)
                                    .arg(single.stepLosses[i], 0, 'g', 9)));
        // The logged metrics (rewards/accuracies, margins, ...) are the whole batch's.
        const auto log1 = json::parse(readAll(m_root / (stage.toStdString() + "1") / "trainer_state.json"))["log_history"];
        const auto log2 = json::parse(readAll(m_root / (stage.toStdString() + "2") / "trainer_state.json"))["log_history"];
        QCOMPARE(log2.size(), log1.size());
        int compared = 0;
        for (std::size_t i = 0; i < log1.size(); ++i)
            for (const auto& [key, value] : log1[i].items())
                if (key.find('/') != std::string::npos || key == "accuracy") {
                    QVERIFY2(std::abs(log2[i][key].get<double>() - value.get<double>()) < 1e-5, key.c_str());
                    ++compared;
                }
        QVERIFY(compared >= 4);
        QVERIFY(maxDifference(m_root / "dpo1" / "adapter_model.safetensors", m_root / "dpo2" / "adapter_model.safetensors") <
                1e-5);
    }

    // Full fine-tuning with ZeRO stage 2: gradients reduce-scattered, each worker's AdamW over its half,
    // parameters all-gathered; the same losses and weights as one worker, half the optimizer state each. Then
    // a resume with one worker and the same global batch continues exactly, and another global batch is refused.
    void fullZero2MatchesOneWorker()
    {
        const fs::path z2 = m_root / "ds_z2_config.json";
        writeTextFileAtomic(z2.string(), R"({"zero_optimization": {"stage": 2}})");
        auto full = [&](const fs::path& out, const char* batch) {
            auto a = baseArgs(m_model, m_data, out);
            a.set("finetuning_type", "full");
            a.set("learning_rate", "1e-3");
            a.set("per_device_train_batch_size", batch);
            return a;
        };
        const auto single = runTraining(full(m_root / "full1", "4"));
        const fs::path z1 = m_root / "ds_z1_config.json";
        writeTextFileAtomic(z1.string(), R"({"zero_optimization": {"stage": 1}})");
        for (const auto& [config, out] : {std::pair{z1, m_root / "full2z1"}, std::pair{z2, m_root / "full2"}}) {
            auto two = full(out, "2");
            two.set("nproc_per_node", "2");
            two.set("deepspeed", config.string());
            two.set("ddp_bucket_cap_mb", "0.05"); // three buckets, each split between the workers mid-tensor
            const auto parallel = runTraining(two);
            for (std::size_t i = 0; i < 4; ++i)
                QVERIFY2(std::abs(parallel.stepLosses[i] - single.stepLosses[i]) < 1e-5,
                         qPrintable(QString("%1, step %2: %3 vs %4").arg(config.filename().c_str()).arg(i + 1)
                                        .arg(parallel.stepLosses[i], 0, 'g', 9).arg(single.stepLosses[i], 0, 'g', 9)));
            const double diff = maxDifference(m_root / "full1" / "model.safetensors", out / "model.safetensors");
            QVERIFY2(diff < 1e-5, qPrintable(QString("weights differ by %1").arg(diff)));
        }
        // Half the AdamW moments on each worker: the whole state is 2 float32 moments per trained parameter.
        const auto perWorker = optimizerStatePerWorker(m_root / "full2" / "running_log.txt");
        QCOMPARE(perWorker.size(), std::size_t(2));
        long long parameters = 0;
        for (const auto& [name, t] : tensorsOf(m_root / "full1" / "model.safetensors"))
            parameters += t.numel();
        QVERIFY(parameters > 10000);
        const long long whole = parameters * 8;
        QVERIFY2(perWorker[0] + perWorker[1] == whole && std::llabs(perWorker[0] - whole / 2) <= 64,
                 qPrintable(QString("%1 + %2 of %3").arg(perWorker[0]).arg(perWorker[1]).arg(whole)));
        // The gathered checkpoint state is the one a single worker writes (same names and shapes, near values).
        QVERIFY(maxDifference(m_root / "full1" / "checkpoint-2" / "optimizer.safetensors",
                              m_root / "full2" / "checkpoint-2" / "optimizer.safetensors") < 1e-5);

        // Resume checkpoint-2 of the two workers with one worker of batch 4 (same global batch 8).
        fs::remove_all(m_root / "full2" / "checkpoint-4");
        auto resumed = full(m_root / "full2", "4");
        resumed.set("overwrite_output_dir", "false");
        resumed.set("deepspeed", z2.string());
        const auto continued = runTraining(resumed);
        QVERIFY(continued.resumedFrom.has_value());
        QCOMPARE(continued.stepLosses.size(), std::size_t(2));
        for (std::size_t i = 0; i < 2; ++i)
            QVERIFY(std::abs(continued.stepLosses[i] - single.stepLosses[i + 2]) < 1e-5);
        // Another global batch would cover other examples per step: refused, with the numbers.
        fs::remove_all(m_root / "full2" / "checkpoint-4");
        auto other = full(m_root / "full2", "2");
        other.set("overwrite_output_dir", "false");
        CHECK_ERROR(runTraining(other), "global batch of 8 (2 worker(s) x per_device_train_batch_size 2 x "
                                              "gradient_accumulation_steps 2); this run's is 4");
    }

    // Ctrl-C on the launcher: every worker stops after the same step, which is saved as a checkpoint, and the
    // model is written; the launcher exits with 130 and leaves no worker behind.
    void interruptStopsEveryWorker()
    {
        const fs::path out = m_root / "interrupted";
        auto args = baseArgs(m_model, m_data, out);
        args.set("save_steps", "1000");
        const fs::path yaml = longRunOfTwo(args, out);
        QProcess launcher;
        launcher.start(test::latheBinary(), {"train", QString::fromStdString(yaml.string())});
        QVERIFY(launcher.waitForStarted());
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
        const fs::path log = out / "trainer_log.jsonl";
        while ((!fs::exists(log) || fs::file_size(log) < 600) && std::chrono::steady_clock::now() < deadline &&
               launcher.state() == QProcess::Running)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        const auto workers = childrenOf(launcher.processId());
        QCOMPARE(workers.size(), std::size_t(1));
        ::kill(pid_t(launcher.processId()), SIGINT);
        QVERIFY(launcher.waitForFinished(60000));
        const QString output = launcher.readAllStandardError() + launcher.readAllStandardOutput();
        QVERIFY2(launcher.exitStatus() == QProcess::NormalExit && launcher.exitCode() == 130, qPrintable(output));
        QVERIFY2(output.contains("Training aborted at step"), qPrintable(output));
        QVERIFY2(!output.contains("Warning: worker rank"), qPrintable(output)); // the worker ended cleanly too
        QVERIFY(::kill(workers[0], 0) != 0);                                     // and is gone
        const auto state = json::parse(readAll(out / "trainer_state.json"));
        const auto step = state["global_step"].get<long long>();
        QCOMPARE(lastCheckpoint(out.string()), (out / ("checkpoint-" + std::to_string(step))).string());
        QVERIFY(fs::exists(out / "adapter_model.safetensors"));
    }

    // A worker that stops answering (SIGSTOP: alive, connections open) holds the others only for ddp_timeout:
    // the first worker's collective times out and the launcher ends, never hangs.
    void hungWorkerTimesOut()
    {
        const fs::path out = m_root / "hung";
        auto args = baseArgs(m_model, m_data, out);
        args.set("ddp_timeout", "5");
        const fs::path yaml = longRunOfTwo(args, out);
        QProcess launcher;
        launcher.start(test::latheBinary(), {"train", QString::fromStdString(yaml.string())});
        QVERIFY(launcher.waitForStarted());
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
        while (!fs::exists(out / "checkpoint-2") && std::chrono::steady_clock::now() < deadline &&
               launcher.state() == QProcess::Running)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        const auto workers = childrenOf(launcher.processId());
        QCOMPARE(workers.size(), std::size_t(1));
        ::kill(workers[0], SIGSTOP);
        const auto stoppedAt = std::chrono::steady_clock::now();
        // 5 s of timeout, then the launcher stops the stopped worker (SIGTERM, SIGKILL 10 s later).
        const bool ended = launcher.waitForFinished(90000);
        ::kill(workers[0], SIGKILL); // never leave it behind, whatever happened
        QVERIFY(ended);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - stoppedAt).count();
        const QString output = launcher.readAllStandardError() + launcher.readAllStandardOutput();
        QVERIFY2(launcher.exitCode() != 0, qPrintable(output));
        QVERIFY2(seconds < 60, qPrintable(QString("took %1 s").arg(seconds)));
        QVERIFY2(output.contains("another worker has stopped or cannot be reached"), qPrintable(output));
        QVERIFY2(output.contains("the last complete checkpoint is"), qPrintable(output));
    }

    // A worker killed mid-run: the other stops with a message naming it, well within the time limit; the
    // last complete checkpoint is intact and resumable.
    void killedWorkerStopsTheOther()
    {
        const fs::path out = m_root / "killed";
        auto args = baseArgs(m_model, m_data, out);
        args.set("ddp_timeout", "600"); // a closed connection is noticed at once, not after the timeout
        const fs::path yaml = longRunOfTwo(args, out);
        QProcess launcher;
        launcher.start(test::latheBinary(), {"train", QString::fromStdString(yaml.string())});
        QVERIFY(launcher.waitForStarted());
        // Wait for the second checkpoint, then kill the worker the launcher started.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
        while (!fs::exists(out / "checkpoint-4") && std::chrono::steady_clock::now() < deadline &&
               launcher.state() == QProcess::Running)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        QVERIFY2(fs::exists(out / "checkpoint-4"), launcher.readAllStandardOutput().constData());
        const auto workers = childrenOf(launcher.processId());
        QCOMPARE(workers.size(), std::size_t(1));
        const pid_t worker = workers[0];
        ::kill(worker, SIGKILL);
        const auto killedAt = std::chrono::steady_clock::now();
        QVERIFY(launcher.waitForFinished(60000));
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killedAt).count();
        const QString err = launcher.readAllStandardError() + launcher.readAllStandardOutput();
        QVERIFY2(launcher.exitCode() != 0, qPrintable(err));
        QVERIFY2(seconds < 30, qPrintable(QString("took %1 s").arg(seconds)));
        QVERIFY2(err.contains(QString("worker rank 1 (pid %1) was killed by signal 9").arg(worker)), qPrintable(err));
        QVERIFY2(err.contains("the last complete checkpoint is"), qPrintable(err));
        // The checkpoint is whole: it resumes (one worker, same global batch) for a step.
        const std::string last = lastCheckpoint(out.string());
        QVERIFY(!last.empty());
        QVERIFY(fs::exists(fs::path(last) / "adapter_model.safetensors"));
        auto resume = baseArgs(m_model, m_data, out);
        resume.set("per_device_train_batch_size", "4");
        resume.set("overwrite_output_dir", "false");
        resume.set("max_steps", std::to_string(std::stoll(fs::path(last).filename().string().substr(11)) + 1));
        const auto continued = runTraining(resume);
        QCOMPARE(continued.resumedFrom.value_or(""), last);
        QCOMPARE(continued.stepLosses.size(), std::size_t(1));
    }
};

QTEST_GUILESS_MAIN(TestDistributed)
#include "tst_distributed.moc"

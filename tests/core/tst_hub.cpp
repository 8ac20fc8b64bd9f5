// Models by hub id (core/hub): a local HTTP server on 127.0.0.1, started here, speaks the subset of the Hugging
// Face hub protocol huggingface_hub uses (the revision listing, HEAD/GET on resolve/ with a redirect to the blob for
// LFS files, ranges, ETag / X-Linked-Etag / X-Linked-Size / X-Repo-Commit, bearer auth) and serves the tests' tiny
// model. Checked: a fresh download in huggingface_hub's cache layout, a download cancelled halfway and resumed
// without fetching the first half again, a gated repo without and with a token, a corrupted blob refused, a cache
// written here from the documented layout used without any request, offline mode, and LLaMA-Factory's
// qwen3_lora_sft.yaml trained with only model_name_or_path pointed at a repo id.
#include <atomic>
#include <filesystem>
#include <set>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <httplib.h>
#include <openssl/sha.h>

#include <nlohmann/json.hpp>

#include <QtCore/QProcess>
#include <QtTest/QtTest>

#include "error_check.h"
#include "data/dataset_attr.h"
#include "data/dataset_loader.h"
#include "hub/dataset_card.h"
#include "hub/hub.h"
#include "fake_hub.h"
#include "test_support.h"
#include "tiny_model.h"
#include "util/file_util.h"

using namespace lathe;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

using lathe::test::FakeHub;
using lathe::test::Repo;
using lathe::test::RepoFile;
using lathe::test::readAll;
using lathe::test::sha256Hex;
using lathe::test::tinyRepo;

HubOptions optionsFor(const FakeHub& hub, const fs::path& cache)
{
    HubOptions o;
    o.settings.endpoint = hub.endpoint();
    o.settings.cacheDir = cache;
    o.settings.token.clear();
    o.settings.offline = false;
    return o;
}

} // namespace

class TestHub : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void repoIdsAndFiles()
    {
        QVERIFY(looksLikeRepoId("Qwen/Qwen3-0.6B"));
        QVERIFY(!looksLikeRepoId("./Qwen3-0.6B"));
        QVERIFY(!looksLikeRepoId("/abs/path"));
        QVERIFY(!looksLikeRepoId("a/b/c"));
        QVERIFY(!looksLikeRepoId("../x"));
        const auto files = filesToFetch({"config.json", "model-00001-of-00002.safetensors", "model.safetensors.index.json",
                                         "pytorch_model.bin", "README.md", "onnx/model.onnx", "tokenizer.json", "merges.txt"});
        QCOMPARE(files, (std::vector<std::string>{"config.json", "model-00001-of-00002.safetensors",
                                                  "model.safetensors.index.json", "tokenizer.json", "merges.txt"}));
        QCOMPARE(filesToFetch({"config.json", "pytorch_model.bin"}), (std::vector<std::string>{"config.json", "pytorch_model.bin"}));
    }

    void freshDownloadInTheCacheLayout()
    {
        const fs::path root = lathe::test::scratchDir("hub-fresh").toStdString();
        FakeHub hub;
        hub.repos()["org/tiny"] = tinyRepo(root / "src", 1);
        const HubOptions o = optionsFor(hub, root / "cache");
        std::vector<HubProgress> reports;
        HubOptions withProgress = o;
        withProgress.progress = [&](const HubProgress& p) { reports.push_back(p); };
        const fs::path snap = resolveModelPath("org/tiny", withProgress);
        const Repo& repo = hub.repos()["org/tiny"];
        QCOMPARE(snap, root / "cache" / "models--org--tiny" / "snapshots" / repo.commit);
        QCOMPARE(readAll(root / "cache/models--org--tiny/refs/main"), repo.commit);
        for (const auto& [name, f] : repo.files) {
            const bool wanted = name != "README.md" && name != "pytorch_model.bin" && name != "onnx/model.onnx";
            QCOMPARE(fs::exists(snap / name), wanted);
            if (!wanted)
                continue;
            QVERIFY2(fs::is_symlink(snap / name), name.c_str()); // a relative link into blobs/, as huggingface_hub
            QVERIFY(fs::read_symlink(snap / name).string().rfind("../../blobs/", 0) == 0);
            QCOMPARE(readAll(snap / name), f.content);
        }
        QCOMPARE(readAll(root / "cache/models--org--tiny/blobs" / sha256Hex(repo.files.at("value_head.safetensors").content)),
                 repo.files.at("value_head.safetensors").content);
        QVERIFY(!reports.empty());
        QCOMPARE(reports.back().bytesDone, reports.back().bytesTotal);
        QVERIFY(reports.back().bytesTotal > (6 << 20));

        // A second resolve reads the cache: no request at all.
        const long before = hub.m_requests;
        QCOMPARE(resolveModelPath("org/tiny", o), snap);
        QCOMPARE(hub.m_requests.load(), before);
    }

    void cancelledHalfwayThenResumed()
    {
        const fs::path root = lathe::test::scratchDir("hub-resume").toStdString();
        FakeHub hub;
        hub.repos()["org/tiny"] = tinyRepo(root / "src", 2);
        HubOptions o = optionsFor(hub, root / "cache");
        std::atomic<bool> cancel{false};
        o.cancel = &cancel;
        o.progress = [&](const HubProgress& p) {
            if (p.file == "value_head.safetensors" && p.bytesDone > p.bytesTotal / 2)
                cancel = true;
        };
        QString message;
        LATHE_VERIFY_ERROR(resolveModelPath("org/tiny", o), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"org/tiny", "value_head.safetensors", "cancelled"}));
        const std::string big = hub.repos()["org/tiny"].files["value_head.safetensors"].content;
        const fs::path partial = root / "cache/models--org--tiny/blobs" / (sha256Hex(big) + ".incomplete");
        QVERIFY(fs::exists(partial));
        const std::size_t have = fs::file_size(partial);
        QVERIFY2(have > big.size() / 4 && have < big.size(), qPrintable(QString::number(have)));
        QVERIFY(!fs::exists(root / "cache/models--org--tiny/blobs" / sha256Hex(big))); // never under its final name

        cancel = false;
        o.progress = nullptr;
        std::this_thread::sleep_for(std::chrono::milliseconds(300)); // the server's side of the aborted transfer ends
        hub.m_blobBytes = 0;
        const fs::path snap = resolveModelPath("org/tiny", o);
        QCOMPARE(readAll(snap / "value_head.safetensors"), big);
        QCOMPARE(QString::fromStdString(hub.m_lastRange), QString("bytes=%1-").arg(have));
        // Only the missing part crossed the wire (model.safetensors, listed before it, was complete already).
        QCOMPARE(hub.m_blobBytes.load(), big.size() - have);
        QVERIFY(!fs::exists(partial));
    }

    void gatedRepoNeedsAToken()
    {
        const fs::path root = lathe::test::scratchDir("hub-gated").toStdString();
        FakeHub hub;
        Repo repo = tinyRepo(root / "src", 3);
        repo.gated = true;
        hub.repos()["org/gated"] = repo;
        HubOptions o = optionsFor(hub, root / "cache");
        QString message;
        LATHE_VERIFY_ERROR(resolveModelPath("org/gated", o), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"org/gated", "gated or private", "HF_TOKEN"}));
        o.settings.token = "wrong";
        LATHE_VERIFY_ERROR(resolveModelPath("org/gated", o), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"refuses the token", "401"}));
        o.settings.token = "secret";
        const fs::path snap = resolveModelPath("org/gated", o);
        QVERIFY(fs::exists(snap / "config.json"));

        LATHE_VERIFY_ERROR(resolveModelPath("org/nosuch", o), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"org/nosuch", "no repo"}));
        setKnownRepoIds({"Qwen/Qwen3-0.6B", "Qwen/Qwen3-8B", "meta-llama/Llama-3.2-1B"});
        LATHE_VERIFY_ERROR(resolveModelPath("Qwen/Qwen3-0.6b", o), message); // the catalogue's closest ids
        LATHE_VERIFY_MENTIONS(message, (QStringList{"no repo Qwen/Qwen3-0.6b", "did you mean Qwen/Qwen3-0.6B"}));
        setKnownRepoIds({});
    }

    void corruptedBlobIsRefused()
    {
        const fs::path root = lathe::test::scratchDir("hub-corrupt").toStdString();
        FakeHub hub;
        Repo repo = tinyRepo(root / "src", 4);
        repo.files["value_head.safetensors"].servedSha = sha256Hex("something else");
        hub.repos()["org/corrupt"] = repo;
        QString message;
        LATHE_VERIFY_ERROR(resolveModelPath("org/corrupt", optionsFor(hub, root / "cache")), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"org/corrupt", "value_head.safetensors", "checksum mismatch"}));
        const fs::path blobs = root / "cache/models--org--corrupt/blobs";
        QVERIFY(!fs::exists(blobs / sha256Hex("something else")));
        QVERIFY(!fs::exists(blobs / (sha256Hex("something else") + ".incomplete")));
    }

    // A full disk (issue 18): the blob's partial file is /dev/full, where every write fails with ENOSPC. The message
    // names the repo, the file and the full disk; nothing is left under the blob's or the snapshot's final name.
    void diskFullIsSaid()
    {
        if (!fs::exists("/dev/full"))
            QSKIP("no /dev/full on this system");
        const fs::path root = lathe::test::scratchDir("hub-full").toStdString();
        FakeHub hub;
        hub.repos()["org/full"] = tinyRepo(root / "src", 2);
        const std::string big = hub.repos()["org/full"].files["value_head.safetensors"].content;
        const fs::path blobs = root / "cache/models--org--full/blobs";
        fs::create_directories(blobs);
        fs::create_symlink("/dev/full", blobs / (sha256Hex(big) + ".incomplete"));
        QString message;
        LATHE_VERIFY_ERROR(resolveModelPath("org/full", optionsFor(hub, root / "cache")), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"org/full", "value_head.safetensors", "no space left"}));
        qInfo("%s", qPrintable(message));
        QVERIFY(!fs::exists(blobs / sha256Hex(big)));
        for (const auto& entry : fs::recursive_directory_iterator(root / "cache"))
            QVERIFY2(entry.path().filename() != "value_head.safetensors", entry.path().c_str());
    }

    // A cache written from huggingface_hub's documented layout (refs/main, blobs/, snapshots/<commit>/ links).
    void existingCacheWithoutRequestsAndOffline()
    {
        const fs::path root = lathe::test::scratchDir("hub-cache").toStdString();
        const fs::path model = lathe::test::makeTinyModel(root / "src");
        const fs::path repo = root / "cache/models--someone--cached";
        const std::string commit = "0123456789abcdef0123456789abcdef01234567";
        fs::create_directories(repo / "refs");
        fs::create_directories(repo / "blobs");
        fs::create_directories(repo / "snapshots" / commit);
        writeTextFileAtomic((repo / "refs/main").string(), commit);
        for (const auto& e : fs::directory_iterator(model)) {
            const std::string content = readAll(e.path());
            const std::string blob = sha256Hex(content);
            writeTextFileAtomic((repo / "blobs" / blob).string(), content);
            fs::create_symlink("../../blobs/" + blob, repo / "snapshots" / commit / e.path().filename());
        }
        FakeHub hub; // answers nothing for this repo: any request would fail the resolve
        HubOptions o = optionsFor(hub, root / "cache");
        QCOMPARE(resolveModelPath("someone/cached", o), repo / "snapshots" / commit);
        QCOMPARE(hub.m_requests.load(), 0L);
        o.revision = commit; // a commit as the revision
        QCOMPARE(resolveModelPath("someone/cached", o), repo / "snapshots" / commit);

        o.settings.offline = true;
        o.revision = "main";
        QCOMPARE(resolveModelPath("someone/cached", o), repo / "snapshots" / commit);
        QString message;
        LATHE_VERIFY_ERROR(resolveModelPath("someone/missing", o), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"someone/missing", "HF_HUB_OFFLINE"}));
        QCOMPARE(hub.m_requests.load(), 0L);
    }

    void modelScope()
    {
        const fs::path root = lathe::test::scratchDir("hub-modelscope").toStdString();
        FakeHub hub;
        hub.repos()["org/tiny.v1"] = tinyRepo(root / "src", 6);
        HubOptions o = optionsFor(hub, root / "hf");
        o.settings.hub = HubKind::ModelScope;
        o.settings.msEndpoint = hub.endpoint();
        o.settings.msCacheDir = root / "ms";
        const fs::path dir = resolveModelPath("org/tiny.v1", o); // revision main asks ModelScope for master
        QCOMPARE(dir, root / "ms/models/org/tiny___v1");           // the SDK's layout, '.' as '___'
        for (const auto& [name, f] : hub.repos()["org/tiny.v1"].files)
            if (name.find(".json") != std::string::npos || name.find(".safetensors") != std::string::npos)
                QCOMPARE(readAll(dir / name), f.content);
        QVERIFY(!fs::exists(dir / "README.md"));
        const long before = hub.m_requests;
        QCOMPARE(resolveModelPath("org/tiny.v1", o), dir); // cached: no request
        QCOMPARE(hub.m_requests.load(), before);
        // The SDK's own index (pickles), read back by Python's pickle where python3 exists: `.mdl` names the
        // model, `.msc` lists every file with the commit the listing gave, so the modelscope SDK finds them cached.
        QVERIFY(fs::exists(dir / ".mdl") && fs::exists(dir / ".msc"));
        QProcess python;
        python.start("python3", {"-c", "import json, pickle, sys; d = sys.argv[1]; "
                                        "print(json.dumps([pickle.load(open(d + '/.mdl', 'rb')), "
                                        "pickle.load(open(d + '/.msc', 'rb'))]))",
                                 QString::fromStdString(dir.string())});
        if (!python.waitForStarted(5000))
            QSKIP("python3 is not installed: the pickles were written but not read back");
        QVERIFY(python.waitForFinished(30000));
        QCOMPARE(python.exitCode(), 0);
        const json index = json::parse(python.readAllStandardOutput().toStdString());
        QCOMPARE(index[0], (json{{"id", "org/tiny.v1"}}));
        std::set<std::string> listed;
        for (const auto& entry : index[1]) {
            QCOMPARE(entry["Revision"].get<std::string>(), std::string("abc"));
            QVERIFY(fs::exists(dir / entry["Path"].get<std::string>()));
            listed.insert(entry["Path"].get<std::string>());
        }
        QVERIFY(listed.count("config.json") && listed.count("model.safetensors") && !listed.count("README.md"));
    }

    // Modelers (USE_OPENMIND_HUB), as openmind_hub speaks to it: the folder trees listed, each file's commit and ETag
    // read, LFS files through the redirect to their blob (sha256 checked), small ones checked by git's blob id, all
    // in huggingface_hub's layout under OPENMIND_HUB_CACHE; a second resolve makes no request; a corrupt blob is
    // refused and nothing is left under its name.
    void modelers()
    {
        const fs::path root = lathe::test::scratchDir("hub-modelers").toStdString();
        FakeHub hub;
        hub.repos()["org/tiny"] = tinyRepo(root / "src", 8);
        HubOptions o = optionsFor(hub, root / "hf");
        o.settings.hub = HubKind::Modelers;
        o.settings.omEndpoint = hub.endpoint();
        o.settings.omCacheDir = root / "om";
        const fs::path dir = resolveModelPath("org/tiny", o);
        const Repo& repo = hub.repos()["org/tiny"];
        QCOMPARE(dir, root / "om/models--org--tiny/snapshots" / repo.commit);
        QCOMPARE(readAll(root / "om/models--org--tiny/refs/main"), repo.commit);
        for (const auto& [name, f] : repo.files)
            if (name.find(".json") != std::string::npos || name.find(".safetensors") != std::string::npos) {
                QCOMPARE(readAll(dir / name), f.content);
                QVERIFY(fs::is_symlink(dir / name));
            }
        QVERIFY(!fs::exists(dir / "README.md") && !fs::exists(dir / "onnx") && !fs::exists(dir / "pytorch_model.bin"));
        QVERIFY(fs::exists(root / "om/models--org--tiny/blobs" / sha256Hex(repo.files.at("value_head.safetensors").content)));
        QVERIFY(fs::exists(root / "om/models--org--tiny/blobs" /
                           lathe::hub_detail::gitBlobSha1Hex(repo.files.at("config.json").content)));
        const long before = hub.m_requests;
        QCOMPARE(resolveModelPath("org/tiny", o), dir);
        QCOMPARE(hub.m_requests.load(), before);

        // A small file whose content is not what its git blob id says: refused, nothing under the blob's name.
        hub.repos()["org/bad"] = tinyRepo(root / "src2", 9);
        RepoFile& config = hub.repos()["org/bad"].files["config.json"];
        config.servedSha = lathe::hub_detail::gitBlobSha1Hex(config.content);
        config.content += " ";
        o.settings.omCacheDir = root / "om-bad";
        QString message;
        LATHE_VERIFY_ERROR(resolveModelPath("org/bad", o), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"org/bad", "config.json", "checksum mismatch", "git blob id"}));
        QVERIFY(!fs::exists(root / "om-bad/models--org--bad/blobs" / config.servedSha));
        QVERIFY(!fs::exists(root / "om-bad/models--org--bad/blobs" / (config.servedSha + ".incomplete")));

        // No such repo: named.
        LATHE_VERIFY_ERROR(resolveModelPath("org/missing", o), message);
        LATHE_VERIFY_MENTIONS(message, QStringList{"org/missing"});
    }

    // dataset_info.json entries with hf_hub_url / ms_hub_url: their files downloaded into the caches and read.
    void hubDatasets()
    {
        const fs::path root = lathe::test::scratchDir("hub-datasets").toStdString();
        FakeHub hub;
        Repo data;
        data.commit = "feedfacefeedfacefeedfacefeedfacefeedface";
        data.files["README.md"] = {"# data", false, ""};
        data.files["data/train.json"] = {R"([{"instruction": "Say hi", "input": "", "output": "hi"},
                                               {"instruction": "Say bye", "input": "", "output": "bye"}])", false, ""};
        hub.datasets()["org/greetings"] = data;
        Repo msData = data;
        msData.files["data/train.json"].content = R"([{"instruction": "你好", "input": "", "output": "您好"}])";
        hub.datasets()["org/greetings_zh"] = msData;
        writeTextFileAtomic((root / "dataset_info.json").string(),
                            json{{"greetings", {{"hf_hub_url", "org/greetings"}, {"ms_hub_url", "org/greetings_zh"}}}}.dump());
        qputenv("HF_ENDPOINT", QByteArray::fromStdString(hub.endpoint()));
        qputenv("HF_HUB_CACHE", QByteArray::fromStdString((root / "hf").string()));
        qputenv("MODELSCOPE_DOMAIN", QByteArray::fromStdString(hub.endpoint()));
        qputenv("MODELSCOPE_CACHE", QByteArray::fromStdString((root / "ms").string()));
        const auto registry = DatasetRegistry::load(root.string());
        const auto hf = loadDataset(registry, "greetings");
        QCOMPARE(hf.examples.size(), std::size_t(2));
        QVERIFY2(QString::fromStdString(hf.path).contains("datasets--org--greetings/snapshots/"), hf.path.c_str());
        qputenv("USE_MODELSCOPE_HUB", "1"); // LLaMA-Factory's switch: the ms_hub_url entry wins
        const auto ms = loadDataset(DatasetRegistry::load(root.string()), "greetings");
        QCOMPARE(ms.examples.size(), std::size_t(1));
        QVERIFY2(QString::fromStdString(ms.path).contains("ms/datasets/org/greetings_zh/data"), ms.path.c_str());
        qunsetenv("USE_MODELSCOPE_HUB");
        // om_hub_url with USE_OPENMIND_HUB: from Modelers into its cache, huggingface_hub's layout.
        Repo omData = data;
        omData.files["data/train.json"].content = R"([{"instruction": "a", "input": "", "output": "b"},
            {"instruction": "c", "input": "", "output": "d"}, {"instruction": "e", "input": "", "output": "f"}])";
        hub.datasets()["org/greetings_om"] = omData;
        writeTextFileAtomic((root / "dataset_info.json").string(),
                            json{{"greetings", {{"hf_hub_url", "org/greetings"}, {"om_hub_url", "org/greetings_om"}}}}.dump());
        qputenv("USE_OPENMIND_HUB", "1");
        qputenv("OPENMIND_HUB_ENDPOINT", QByteArray::fromStdString(hub.endpoint()));
        qputenv("OPENMIND_HUB_CACHE", QByteArray::fromStdString((root / "om").string()));
        const auto om = loadDataset(DatasetRegistry::load(root.string()), "greetings");
        QCOMPARE(om.examples.size(), std::size_t(3));
        QVERIFY2(QString::fromStdString(om.path).contains("om/datasets--org--greetings_om/snapshots/"), om.path.c_str());
        for (const char* v : {"HF_ENDPOINT", "HF_HUB_CACHE", "MODELSCOPE_DOMAIN", "MODELSCOPE_CACHE", "USE_MODELSCOPE_HUB",
                              "USE_OPENMIND_HUB", "OPENMIND_HUB_ENDPOINT", "OPENMIND_HUB_CACHE"})
            qunsetenv(v);
    }

    // `subset` as the datasets library reads it: the dataset card's `configs` (README.md front matter) name each
    // configuration's files (LLaMA-Factory's dpo_mix_en / dpo_mix_zh on llamafactory/DPO-En-Zh-20k); without
    // configs, the folder named like the subset; a subset the card does not list is named with those it does.
    void datasetSubsets()
    {
        QVERIFY(globMatch("dpo_en.json", "dpo_en.json") && !globMatch("dpo_en.json", "x/dpo_en.json"));
        QVERIFY(globMatch("data/*.json", "data/a.json") && !globMatch("data/*.json", "data/x/a.json"));
        QVERIFY(globMatch("data/**", "data/x/a.json") && globMatch("**/a.json", "a.json") && globMatch("d?ta/*", "data/b"));
        const fs::path root = lathe::test::scratchDir("hub-subsets").toStdString();
        FakeHub hub;
        Repo dpo;
        dpo.commit = "0123456789abcdef0123456789abcdef01234567";
        auto pairs = [](const std::string& prompt, int n) {
            json rows = json::array();
            for (int i = 0; i < n; ++i)
                rows.push_back({{"prompt", prompt + std::to_string(i)}, {"chosen", "yes"}, {"rejected", "no"}});
            return rows.dump();
        };
        dpo.files["dpo_en.json"] = {pairs("Question ", 3), false, ""};
        dpo.files["dpo_zh.json"] = {pairs("问题", 2), false, ""};
        dpo.files["README.md"] = {"---\nlicense: apache-2.0\nconfigs:\n- config_name: en\n  data_files:\n  - split: train\n"
                                  "    path: dpo_en.json\n- config_name: zh\n  data_files: dpo_zh.json\n---\n# DPO\n",
                                  false, ""};
        hub.datasets()["llamafactory/DPO-En-Zh-20k"] = dpo;
        Repo byFolder;
        byFolder.commit = "89abcdef0123456789abcdef0123456789abcdef";
        byFolder.files["en/train.jsonl"] = {R"({"instruction": "a", "input": "", "output": "b"})", false, ""};
        byFolder.files["zh/train.jsonl"] = {"{\"instruction\": \"甲\", \"input\": \"\", \"output\": \"乙\"}\n"
                                            "{\"instruction\": \"丙\", \"input\": \"\", \"output\": \"丁\"}", false, ""};
        hub.datasets()["org/by_folder"] = byFolder;
        const json columns = {{"prompt", "prompt"}, {"chosen", "chosen"}, {"rejected", "rejected"}};
        writeTextFileAtomic((root / "dataset_info.json").string(),
                            json{{"dpo_mix_en", {{"hf_hub_url", "llamafactory/DPO-En-Zh-20k"}, {"subset", "en"}, {"ranking", true},
                                                 {"columns", columns}}},
                                 {"dpo_mix_zh", {{"hf_hub_url", "llamafactory/DPO-En-Zh-20k"}, {"subset", "zh"}, {"ranking", true},
                                                 {"columns", columns}}},
                                 {"dpo_mix_fr", {{"hf_hub_url", "llamafactory/DPO-En-Zh-20k"}, {"subset", "fr"}, {"ranking", true},
                                                 {"columns", columns}}},
                                 {"folder_zh", {{"hf_hub_url", "org/by_folder"}, {"subset", "zh"}}}}
                                .dump());
        qputenv("HF_ENDPOINT", QByteArray::fromStdString(hub.endpoint()));
        qputenv("HF_HUB_CACHE", QByteArray::fromStdString((root / "hf").string()));
        const auto registry = DatasetRegistry::load(root.string());
        DatasetLoadOptions dpoStage;
        dpoStage.stage = "dpo";
        const auto en = loadDataset(registry, "dpo_mix_en", dpoStage);
        QVERIFY2(en.issues.empty(), en.issues.empty() ? "" : en.issues.front().message.c_str());
        QCOMPARE(en.examples.size(), std::size_t(3));
        QVERIFY2(QString::fromStdString(en.path).endsWith("dpo_en.json"), en.path.c_str());
        const auto zh = loadDataset(registry, "dpo_mix_zh", dpoStage);
        QCOMPARE(zh.examples.size(), std::size_t(2));
        QVERIFY(fs::exists(fs::path(zh.path).parent_path() / "README.md")); // the card is cached with the data
        const auto folder = loadDataset(registry, "folder_zh");
        QCOMPARE(folder.examples.size(), std::size_t(2));
        QString message;
        LATHE_VERIFY_ERROR(loadDataset(registry, "dpo_mix_fr", dpoStage), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"dpo_mix_fr", "no configuration named \"fr\"", "en, zh"}));
        qunsetenv("HF_ENDPOINT");
        qunsetenv("HF_HUB_CACHE");
    }

    // LLaMA-Factory's own example config with only model_name_or_path pointed at a repo id on the local hub.
    void llamaFactoryConfigWithARepoId()
    {
        LATHE_REQUIRE_SHARED();
        const QString root = lathe::test::scratchDir("hub-train");
        FakeHub hub;
        hub.repos()["org/tiny"] = tinyRepo((root + "/src").toStdString(), 5);
        const QString config = lathe::test::sharedDir() + "/examples/llamafactory/train_lora/qwen3_lora_sft.yaml";
        qputenv("HF_ENDPOINT", QByteArray::fromStdString(hub.endpoint()));
        qputenv("HF_HUB_CACHE", (root + "/cache").toUtf8());
        qunsetenv("HF_HUB_OFFLINE");
        const auto r = lathe::test::runLathe(
            {"train", config, "model_name_or_path=org/tiny", "dataset_dir=" + lathe::test::sharedDir() + "/data/llamafactory",
             "output_dir=" + root + "/out", "max_steps=2", "cutoff_len=64", "max_samples=8", "gradient_accumulation_steps=1",
             "bf16=false", "logging_steps=1", "save_steps=100"});
        qunsetenv("HF_ENDPOINT");
        qunsetenv("HF_HUB_CACHE");
        QVERIFY2(r.exitCode == 0, qPrintable(r.err.right(3000)));
        QVERIFY2(r.err.contains("Downloading org/tiny"), qPrintable(r.err.left(2000)));
        QVERIFY(QFile::exists(root + "/out/adapter_model.safetensors"));
        QVERIFY(fs::exists((root + "/cache/models--org--tiny/snapshots/" + QString::fromStdString(hub.repos()["org/tiny"].commit) +
                            "/config.json").toStdString()));
    }
};

QTEST_GUILESS_MAIN(TestHub)
#include "tst_hub.moc"

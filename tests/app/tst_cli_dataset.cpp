// Tests of `lathe dataset ...` through the real executable: exit codes, text and --json output.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include <QtTest/QtTest>

#include "test_support.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using lathe::test::runLathe;

namespace {

void writeFile(const fs::path& path, const std::string& text)
{
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

} // namespace

class TestCliDataset : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void listAndCheckDemoData()
    {
        LATHE_REQUIRE_SHARED();
        const QString dir = lathe::test::sharedDir() + "/data/llamafactory";
        auto r = runLathe({"dataset", "list", "--dataset_dir", dir, "--json"});
        QCOMPARE(r.exitCode, 0);
        const auto list = json::parse(r.out.toStdString());
        QCOMPARE(list.size(), std::size_t(104));
        QCOMPARE(list[1]["name"].get<std::string>(), std::string("alpaca_en_demo"));
        QVERIFY(list[1]["available"].get<bool>());

        r = runLathe({"dataset", "check", "--dataset_dir", dir, "--dataset",
                      "alpaca_en_demo,glaive_toolcall_zh_demo", "--json"});
        QCOMPARE(r.exitCode, 0);
        const auto report = json::parse(r.out.toStdString());
        QCOMPARE(report["usable"].get<int>(), 999 + 300);
        // Pretraining text under stage sft: nothing usable, exit code 1, and the reason is given.
        r = runLathe({"dataset", "check", "--dataset_dir", dir, "--dataset", "c4_demo"});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.out.contains("text-only records are for stage pt"), qPrintable(r.out));
        r = runLathe({"dataset", "check", "--dataset_dir", dir, "--dataset", "c4_demo", "--stage", "pt"});
        QCOMPARE(r.exitCode, 0);
    }

    void previewPages()
    {
        LATHE_REQUIRE_SHARED();
        const QString dir = lathe::test::sharedDir() + "/data/llamafactory";
        auto r = runLathe(
            {"dataset", "preview", "--dataset_dir", dir, "--dataset", "identity", "--page", "45", "--json"});
        QCOMPARE(r.exitCode, 0);
        const auto page = json::parse(r.out.toStdString());
        QCOMPARE(page["count"].get<int>(), 91);
        QCOMPARE(page["samples"].size(), std::size_t(1)); // records 90..91 of 91
    }

    void registerThenPreview()
    {
        const fs::path dir = lathe::test::scratchDir("cli-register").toStdString();
        writeFile(dir / "dataset_info.json", "{\"first\": {\"file_name\": \"f.json\"}}");
        writeFile(dir / "mine.csv", "instruction,input,output\nTranslate,bonjour,hello\nAdd,2+2,4\n");
        auto r = runLathe({"dataset", "register", "--dataset_dir", QString::fromStdString(dir.string()),
                           "--file", "mine.csv"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains("registered in"), qPrintable(r.out));
        // Registering the same name again is refused and leaves the file as it was.
        const auto before = json::parse(std::ifstream(dir / "dataset_info.json"));
        r = runLathe({"dataset", "register", "--dataset_dir", QString::fromStdString(dir.string()), "--file",
                      "mine.csv"});
        QCOMPARE(r.exitCode, 2); // an error, as every lathe::Error
        QVERIFY2(r.err.contains("already exists"), qPrintable(r.err));
        QCOMPARE(json::parse(std::ifstream(dir / "dataset_info.json")), before);
        QCOMPARE(before.begin().key(), std::string("first"));
        r = runLathe({"dataset", "check", "--dataset_dir", QString::fromStdString(dir.string()), "--dataset",
                      "mine", "--json"});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(json::parse(r.out.toStdString())["usable"].get<int>(), 2);
    }

    void unknownDatasetSuggestsName()
    {
        LATHE_REQUIRE_SHARED();
        const QString dir = lathe::test::sharedDir() + "/data/llamafactory";
        const auto r = runLathe({"dataset", "preview", "--dataset_dir", dir, "--dataset", "alpaca_en_dmo"});
        QVERIFY(r.exitCode != 0);
        QVERIFY2(r.err.contains("did you mean alpaca_en_demo"), qPrintable(r.err));
    }
};

QTEST_APPLESS_MAIN(TestCliDataset)
#include "tst_cli_dataset.moc"

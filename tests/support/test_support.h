// Helpers shared by the tests: where the reference fixtures are, scratch folders, running `lathe`.
#pragma once

#include <string>
#include <vector>

#include <QString>
#include <QStringList>

namespace lathe::test {

/// The shared/ folder (reference docs, data, fixtures), or an empty string when it is absent.
QString sharedDir();

/// shared/fixtures/hf/<name>, or empty when shared/ is absent.
QString hfFixture(const QString& name);

/// The folders of shared/fixtures/<group> holding an expected.json, sorted (tests discover them instead of
/// naming them, so that added fixtures are tested too); empty when shared/ is absent.
std::vector<std::string> fixtureFolders(const QString& group);

/// The real Qwen3 tokenizer installed by CTest's tokenizer_data fixture (LATHE_TOKENIZER_DATA), or an empty
/// string with `why` set.
QString qwen3TokenizerDir(QString& why);

/// A fresh, empty scratch folder for one test (under the build tree).
QString scratchDir(const QString& name);

/// Path of the built `lathe` executable (set by CTest in LATHE_BINARY).
QString latheBinary();

struct ProcessResult
{
    int exitCode = -1;
    QString out;
    QString err;
};

/// Runs `lathe <args>` and waits for it (timeout in milliseconds).
ProcessResult runLathe(const QStringList& args, int timeoutMs = 300000);

} // namespace lathe::test

/// Skips the current test when shared/ is missing.
#define LATHE_REQUIRE_SHARED()                                                                                      \
    do {                                                                                                           \
        if (lathe::test::sharedDir().isEmpty())                                                                    \
            QSKIP("shared/ reference fixtures not found (set LATHE_SHARED_DIR); skipping oracle test");            \
    } while (0)

// Finds the checkpoints of previous runs (see checkpoint_lister.h).
#include "checkpoint_lister.h"

#include <algorithm>

#include <QDir>
#include <QFileInfo>

namespace lathe {

namespace {

// "Natural" order: runs of digits compare as numbers, so checkpoint-20 sorts before checkpoint-100.
// (QCollator's numeric mode needs ICU and a real locale, which a C-locale session lacks.)
bool naturalLess(const QString& a, const QString& b)
{
    int i = 0;
    int j = 0;
    while (i < a.size() && j < b.size()) {
        if (a.at(i).isDigit() && b.at(j).isDigit()) {
            int iEnd = i;
            int jEnd = j;
            while (iEnd < a.size() && a.at(iEnd).isDigit())
                ++iEnd;
            while (jEnd < b.size() && b.at(jEnd).isDigit())
                ++jEnd;
            // Compare digit runs by value: drop leading zeros, then the longer run is the larger.
            QStringView x = QStringView(a).mid(i, iEnd - i);
            QStringView y = QStringView(b).mid(j, jEnd - j);
            while (x.size() > 1 && x.front() == QLatin1Char('0'))
                x = x.mid(1);
            while (y.size() > 1 && y.front() == QLatin1Char('0'))
                y = y.mid(1);
            if (x.size() != y.size())
                return x.size() < y.size();
            if (const int c = x.compare(y); c != 0)
                return c < 0;
            i = iEnd;
            j = jEnd;
        } else {
            if (a.at(i) != b.at(j))
                return a.at(i) < b.at(j);
            ++i;
            ++j;
        }
    }
    return a.size() - i < b.size() - j;
}

} // namespace

QString CheckpointLister::saveDir(const QString& savesRoot, const QString& modelName,
                                  const QString& finetuningType)
{
    QString model = modelName;
    model.remove(QLatin1Char(' '));
    if (model.isEmpty()) // a typed path without a catalogue name: the window saves such runs under "Custom"
        model = QStringLiteral("Custom");
    return QDir(savesRoot).filePath(model + QLatin1Char('/') + finetuningType);
}

bool CheckpointLister::isCheckpoint(const QString& dir)
{
    // LLaMA-Factory's CHECKPOINT_NAMES.
    static const char* const names[] = {"adapter_model.safetensors",    "adapter_model.bin",
                                        "model.safetensors.index.json", "model.safetensors",
                                        "pytorch_model.bin.index.json", "pytorch_model.bin"};
    const QDir d(dir);
    return std::any_of(std::begin(names), std::end(names),
                       [&](const char* name) { return QFileInfo(d.filePath(QLatin1String(name))).isFile(); });
}

QStringList CheckpointLister::list(const QString& savesRoot, const QString& modelName,
                                   const QString& finetuningType)
{
    QStringList found;
    if (finetuningType.isEmpty())
        return found; // an empty model name is "Custom" (saveDir)
    const QDir root(saveDir(savesRoot, modelName, finetuningType));
    const auto folders = QDir::Dirs | QDir::NoDotAndDotDot;
    for (const QString& run : root.entryList(folders)) {
        const QString runPath = root.filePath(run);
        if (isCheckpoint(runPath))
            found.append(run);
        for (const QString& sub : QDir(runPath).entryList(folders)) {
            if (isCheckpoint(QDir(runPath).filePath(sub)))
                found.append(run + QLatin1Char('/') + sub);
        }
    }
    std::sort(found.begin(), found.end(), naturalLess);
    return found;
}

} // namespace lathe

// What the top bar selects (see model_selection.h).
#include "model_selection.h"

#include <QDir>

#include "checkpoint_lister.h"
#include "top_bar.h"

namespace lathe {

ModelSelection modelSelection(const TopBar* bar)
{
    ModelSelection s;
    if (!bar)
        return s;
    s.finetuningType = bar->finetuningType();
    s.templateName = bar->chatTemplate();
    s.modelPath = bar->modelPath();
    s.ropeScaling = bar->ropeScaling();
    s.device = bar->computeDevice();
    s.workers = bar->workers();
    const QString name = bar->modelName().isEmpty() ? QStringLiteral("Custom") : bar->modelName();
    QStringList checkpoints;
    const QDir saveDir(CheckpointLister::saveDir(bar->savesRoot(), name, s.finetuningType));
    for (const QString& c : bar->checkpoints()) {
        // A listed name ("run" or "run/checkpoint-N") is under the save folder; other relative paths are
        // taken from the working folder.
        const bool listed = QDir::isRelativePath(c) && (!c.contains(QLatin1Char('/')) || saveDir.exists(c));
        checkpoints << (listed ? saveDir.filePath(c) : c);
    }
    if (s.finetuningType == QLatin1String("lora"))
        s.adapters = checkpoints;
    else if (!checkpoints.isEmpty())
        s.modelPath = checkpoints.last();
    return s;
}

} // namespace lathe

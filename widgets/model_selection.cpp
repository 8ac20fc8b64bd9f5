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
    const QString name = bar->modelName().isEmpty() ? QStringLiteral("Custom") : bar->modelName();
    QStringList checkpoints;
    for (const QString& part : bar->checkpointPath().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        const QString c = part.trimmed();
        if (c.isEmpty())
            continue;
        checkpoints << (QDir::isRelativePath(c) && !c.contains(QLatin1Char('/'))
                            ? QDir(CheckpointLister::saveDir(bar->savesRoot(), name, s.finetuningType)).filePath(c)
                            : c);
    }
    if (s.finetuningType == QLatin1String("lora"))
        s.adapters = checkpoints;
    else if (!checkpoints.isEmpty())
        s.modelPath = checkpoints.last();
    return s;
}

} // namespace lathe

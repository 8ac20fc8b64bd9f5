#include "runs_model.h"

#include <algorithm>

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>

#include "train/trainer.h"

namespace lathe {

bool readRun(const QString& dir, RunInfo& run)
{
    QFile log(dir + "/trainer_log.jsonl");
    if (!log.open(QIODevice::ReadOnly))
        return false;
    run.path = dir;
    run.modified = QFileInfo(log).lastModified();
    QJsonObject last;
    while (!log.atEnd()) {
        const QByteArray line = log.readLine().trimmed();
        if (line.isEmpty())
            continue;
        const QJsonObject record = QJsonDocument::fromJson(line).object();
        if (record.isEmpty())
            continue; // a line being written
        last = record;
        for (const char* key : {"rewards/accuracies", "accuracy"})
            if (record.contains(key))
                run.rewardAccuracy = record.value(key).toDouble();
        if (record.contains("rewards/margins"))
            run.rewardMargin = record.value("rewards/margins").toDouble();
        if (record.contains("loss")) {
            run.finalLoss = record.value("loss").toDouble();
            run.loss.append(QPointF(record.value("current_steps").toDouble(), run.finalLoss));
        }
    }
    QFile args(dir + "/training_args.yaml");
    if (args.open(QIODevice::ReadOnly))
        while (!args.atEnd()) {
            const QByteArray line = args.readLine().trimmed();
            if (line.startsWith("stage:"))
                run.stage = QString::fromUtf8(line.mid(6)).trimmed();
        }
    run.step = last.value("current_steps").toInteger();
    run.totalSteps = last.value("total_steps").toInteger();
    run.elapsed = last.value("elapsed_time").toString();
    if (QFile::exists(dir + "/train_results.json") || QFile::exists(dir + "/predict_results.json"))
        run.status = QStringLiteral("finished");
    else if (run.modified.secsTo(QDateTime::currentDateTime()) < 60)
        run.status = QStringLiteral("running");
    else
        run.status = QStringLiteral("stopped");
    return true;
}

bool readBenchmark(const QString& dir, BenchmarkInfo& info)
{
    QFile file(dir + "/results_summary.json");
    if (!file.open(QIODevice::ReadOnly))
        return false;
    const QJsonObject summary = QJsonDocument::fromJson(file.readAll()).object();
    if (summary.isEmpty() || !summary.contains("task"))
        return false;
    info.path = dir;
    info.task = summary.value("task").toString();
    info.average = summary.value("categories").toObject().value("Average").toDouble();
    info.modelPath = summary.value("model_name_or_path").toString();
    info.seconds = summary.value("seconds").toDouble();
    info.modified = QFileInfo(file).lastModified();
    for (const QString& a : summary.value("adapter_name_or_path").toString().split(QLatin1Char(','), Qt::SkipEmptyParts))
        info.adapters << a.trimmed();
    return true;
}

RunsModel::RunsModel(QObject* parent) : QAbstractTableModel(parent) {}

void RunsModel::scan(const QString& root)
{
    beginResetModel();
    m_runs.clear();
    const QDir base(root);
    QDirIterator it(root, {QStringLiteral("trainer_log.jsonl")}, QDir::Files, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString dir = QFileInfo(it.next()).absolutePath();
        if (base.relativeFilePath(dir).count(QLatin1Char('/')) > 3 || dir.contains(QStringLiteral("/checkpoint-")))
            continue;
        RunInfo run;
        if (readRun(dir, run)) {
            run.name = base.relativeFilePath(dir);
            m_runs.append(run);
        }
    }
    // Benchmarks, newest first, beside the run they evaluated.
    QVector<BenchmarkInfo> benchmarks;
    QDirIterator results(root, {QStringLiteral("results_summary.json")}, QDir::Files, QDirIterator::Subdirectories);
    while (results.hasNext()) {
        const QString dir = QFileInfo(results.next()).absolutePath();
        BenchmarkInfo info;
        if (base.relativeFilePath(dir).count(QLatin1Char('/')) <= 4 && readBenchmark(dir, info))
            benchmarks.append(info);
    }
    std::sort(benchmarks.begin(), benchmarks.end(),
              [](const BenchmarkInfo& a, const BenchmarkInfo& b) { return a.modified > b.modified; });
    auto canonical = [](const QString& path) {
        const QString c = QFileInfo(path).canonicalFilePath();
        return c.isEmpty() ? QDir::cleanPath(QFileInfo(path).absoluteFilePath()) : c;
    };
    for (const BenchmarkInfo& b : benchmarks) {
        const QString label = QStringLiteral("%1 %2").arg(b.task).arg(b.average, 0, 'f', 2);
        RunInfo* owner = nullptr;
        const QString where = canonical(b.path);
        for (RunInfo& run : m_runs) {
            const QString runPath = canonical(run.path);
            bool match = where.startsWith(runPath + QLatin1Char('/'));
            for (const QString& adapter : b.adapters)
                match = match || canonical(adapter) == runPath || canonical(adapter).startsWith(runPath + QStringLiteral("/checkpoint-"));
            if (match) {
                owner = &run;
                break;
            }
        }
        if (owner) {
            owner->benchmarks << label;
            continue;
        }
        RunInfo row;
        row.path = b.path;
        row.name = base.relativeFilePath(b.path);
        row.stage = QStringLiteral("benchmark");
        row.status = QStringLiteral("finished");
        row.modified = b.modified;
        row.elapsed = QString::fromStdString(formatElapsed(b.seconds));
        row.benchmarks << label;
        m_runs.append(row);
    }
    std::sort(m_runs.begin(), m_runs.end(), [](const RunInfo& a, const RunInfo& b) { return a.modified > b.modified; });
    endResetModel();
}

int RunsModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_runs.size()); }

int RunsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant RunsModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= m_runs.size() || index.column() >= ColumnCount)
        return {};
    const RunInfo& r = m_runs.at(index.row());
    if (role == Qt::ToolTipRole)
        return r.path;
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case Name: return r.name;
    case Status:
        return r.status == QLatin1String("finished") ? tr("finished")
               : r.status == QLatin1String("running") ? tr("running")
                                                      : tr("stopped");
    case Steps: return r.totalSteps ? QVariant(QStringLiteral("%1/%2").arg(r.step).arg(r.totalSteps)) : QVariant();
    case FinalLoss: return r.finalLoss < 0 ? QVariant() : QVariant(QString::number(r.finalLoss, 'f', 4));
    case Stage: return r.stage;
    case RewardAccuracy:
        return std::isnan(r.rewardAccuracy) ? QVariant() : QVariant(QString::number(r.rewardAccuracy, 'f', 3));
    case RewardMargin:
        return std::isnan(r.rewardMargin) ? QVariant() : QVariant(QString::number(r.rewardMargin, 'f', 4));
    case Benchmarks: return r.benchmarks.join(QStringLiteral("; "));
    case Duration: return r.elapsed;
    default: return {};
    }
}

QVariant RunsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Name: return tr("Run");
    case Status: return tr("Status");
    case Steps: return tr("Steps");
    case FinalLoss: return tr("Final loss");
    case Stage: return tr("Stage");
    case RewardAccuracy: return tr("Reward accuracy");
    case RewardMargin: return tr("Reward margin");
    case Benchmarks: return tr("Benchmarks (average %)");
    case Duration: return tr("Duration");
    default: return {};
    }
}

} // namespace lathe

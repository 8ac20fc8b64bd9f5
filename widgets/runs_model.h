// The runs under a saves/ folder (beyond LLaMA-Board, which forgets a run once its page is closed): every folder
// holding a trainer_log.jsonl, however it was started (this window, `lathe train`, LLaMA-Factory itself), with
// its status, steps, final loss and duration, read from the files alone. Table model for the Runs panel.
//
// Benchmark results (results_summary.json of `lathe eval` / the Evaluate tab's Benchmark stage) are listed
// beside the training run they evaluated: the run whose folder is one of their adapter_name_or_path, or that
// holds them. A benchmark of no run found (a base model) is a row of its own, stage "benchmark".
#pragma once

#include <cmath>

#include <QAbstractTableModel>
#include <QDateTime>
#include <QPointF>
#include <QString>
#include <QVector>

namespace lathe {

/// One run as its files describe it.
struct RunInfo
{
    QString path;          ///< the output_dir
    QString name;          ///< path relative to the scanned root
    QString status;        ///< "finished", "running" (log written in the last minute), "stopped"
    qint64 step = 0, totalSteps = 0;
    double finalLoss = -1; ///< last logged loss, -1 when none
    QString stage;         ///< `stage` of training_args.yaml (sft, dpo, ...), empty when unknown
    /// Preference stages: the last logged reward accuracy (rewards/accuracies, or the reward model's accuracy)
    /// and reward margin (rewards/margins); NaN when the run logs none.
    double rewardAccuracy = std::nan(""), rewardMargin = std::nan("");
    QString elapsed;       ///< elapsed_time of the last record ("0:04:11")
    QDateTime modified;    ///< of trainer_log.jsonl
    QVector<QPointF> loss; ///< (step, loss) of every record with a loss
    QStringList benchmarks; ///< "<task> <average accuracy>" of each benchmark of this run, newest first
};

/// One benchmark result as its results_summary.json describes it.
struct BenchmarkInfo
{
    QString path;        ///< the save_dir
    QString task;        ///< mmlu_test, ...
    double average = 0;  ///< accuracy in percent
    QStringList adapters; ///< adapter_name_or_path, split at commas
    QString modelPath;
    double seconds = 0;
    QDateTime modified;
};

/// Reads results_summary.json of `dir`; false when it is missing or unreadable.
bool readBenchmark(const QString& dir, BenchmarkInfo& info);

/// Reads one run folder; false when it has no readable trainer_log.jsonl.
bool readRun(const QString& dir, RunInfo& run);

class RunsModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { Name, Stage, Status, Steps, FinalLoss, RewardAccuracy, RewardMargin, Benchmarks, Duration, ColumnCount };

    explicit RunsModel(QObject* parent = nullptr);

    /// Scans `root` (up to 4 levels: saves/<model>/<method>/<run>) and replaces the rows; newest run first.
    void scan(const QString& root);
    const RunInfo& run(int row) const { return m_runs.at(row); }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QVector<RunInfo> m_runs;
};

} // namespace lathe

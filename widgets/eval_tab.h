// The Evaluate & Predict tab (LLaMA-Board's eval.*): generates answers for a dataset with the model and
// checkpoint chosen in the top bar and scores them (BLEU-4, ROUGE-1/2/L), through the same predict run as
// `lathe predict` (runTraining with do_predict + predict_with_generate, on TrainRunner's worker thread). The
// results and a table of predictions against labels are shown when the run ends.
//
// The Benchmark stage runs `lathe eval`'s multiple-choice evaluation (task, task_dir, n_shot, lang, eval_mode;
// core/eval/benchmark_runner) and shows the accuracy per category as bars and per subject in the table, from
// the results_summary.json the run writes into its output folder.
#pragma once

#include <QWidget>

#include "config/argument_schema.h"

class QChartView;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace lathe {

class TopBar;
class TrainRunner;
struct TrainProgress;

class EvalTab : public QWidget
{
    Q_OBJECT
public:
    explicit EvalTab(QWidget* parent = nullptr);

    void setTopBar(TopBar* topBar);
    /// The arguments Start would run.
    ArgumentSet arguments() const;
    /// sft (generate and score), or the preference stage evaluated (rm, dpo, kto).
    QString stage() const;
    QComboBox* stageCombo() const { return m_stage; }
    /// Re-reads dataset_info.json of the dataset folder.
    void refreshDatasets();

    QLineEdit* datasetDirEdit() const { return m_datasetDir; }
    QComboBox* datasetCombo() const { return m_dataset; }
    QSpinBox* maxSamplesSpin() const { return m_maxSamples; }
    QSpinBox* batchSizeSpin() const { return m_batchSize; }
    QSpinBox* maxNewTokensSpin() const { return m_maxNewTokens; }
    QLineEdit* outputDirEdit() const { return m_outputDir; }
    /// The folder Start writes to: a bare name is a folder of the current model and method under the saves
    /// root, as in LLaMA-Board's get_save_dir.
    QString outputDir() const;
    QComboBox* taskCombo() const { return m_task; }
    QLineEdit* taskDirEdit() const { return m_taskDir; }
    QSpinBox* nShotSpin() const { return m_nShot; }
    QComboBox* langCombo() const { return m_lang; }
    QComboBox* evalModeCombo() const { return m_evalMode; }
    /// The benchmark's accuracy per category (Average first), drawn when a benchmark run ends.
    QChartView* categoryChart() const { return m_chart; }
    QPushButton* startButton() const { return m_start; }
    QPushButton* abortButton() const { return m_abort; }
    QLabel* resultsLabel() const { return m_results; }
    QTableWidget* predictionsTable() const { return m_table; }
    TrainRunner* runner() const { return m_runner; }

Q_SIGNALS:
    /// The run ended: ok, and the error message otherwise.
    void runFinished(bool ok, const QString& error);

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslateUi();
    void start();
    void onProgress(const TrainProgress& p);
    void onSucceeded(const QString& outputDir, bool aborted);
    void setRunning(bool running);
    void updateStageFields();
    void showBenchmarkResults(const QString& outputDir);

    TopBar* m_topBar = nullptr;
    TrainRunner* m_runner = nullptr;
    QComboBox* m_stage;
    QLabel* m_stageLabel;
    QLabel *m_datasetDirLabel, *m_datasetLabel, *m_cutoffLabel, *m_maxSamplesLabel, *m_batchSizeLabel,
        *m_maxNewTokensLabel, *m_topPLabel, *m_temperatureLabel, *m_outputDirLabel;
    QLineEdit* m_datasetDir;
    QComboBox* m_dataset;
    QSpinBox *m_cutoff, *m_maxSamples, *m_batchSize, *m_maxNewTokens;
    QDoubleSpinBox *m_topP, *m_temperature;
    QLineEdit* m_outputDir;
    QLabel *m_taskLabel, *m_taskDirLabel, *m_nShotLabel, *m_langLabel, *m_evalModeLabel;
    QComboBox* m_task;
    QLineEdit* m_taskDir;
    QSpinBox* m_nShot;
    QComboBox *m_lang, *m_evalMode;
    QChartView* m_chart;
    QPushButton *m_start, *m_abort;
    QProgressBar* m_progress;
    QLabel* m_results;
    QTableWidget* m_table;
};

} // namespace lathe

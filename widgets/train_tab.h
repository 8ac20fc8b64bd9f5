// The Train tab (LLaMA-Board's train.*): stage, data folder and datasets, the hyperparameter form generated
// from the argument schema, the output folder, Preview command / Save / Load arguments, Start and Abort, and
// the run: progress bar, running log, live loss and learning-rate charts.
//
// The tab is an adapter on the engine: arguments() builds the same ArgumentSet `lathe train` reads from a
// YAML file (model, method, template and checkpoint from the top bar), and Start hands it to runTraining()
// in a worker thread (TrainRunner).
#pragma once

#include <QString>
#include <QStringList>
#include <QWidget>

#include "config/argument_schema.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QListWidgetItem;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QTimer;
class QToolButton;

namespace lathe {

class ArgumentForm;
class TopBar;
class TrainCharts;
class TrainRunner;
struct TrainProgress;

class TrainTab : public QWidget
{
    Q_OBJECT
public:
    explicit TrainTab(QWidget* parent = nullptr);
    ~TrainTab() override;

    /// Stages in LLaMA-Board's order ("sft", "rm", "ppo", "dpo", "kto", "pt").
    static QStringList stages();
    /// Whether the engine trains `stage` (the others are listed, disabled).
    static bool isStageSupported(const QString& stage);

    /// The top bar whose model, method, checkpoint and template the run uses (not owned; may be null).
    void setTopBar(TopBar* topBar);

    QString stage() const;
    QString datasetDir() const;
    /// The chosen datasets, in the order they were chosen.
    QStringList datasets() const;
    void setDatasets(const QStringList& names);
    /// The datasets of the data folder offered for the stage (LLaMA-Board's list_datasets).
    QStringList availableDatasets() const;
    /// The run folder: the output-dir field as is when it is a path, else saves/<model>/<method>/<name>.
    QString outputDir() const;

    /// The run's arguments: tab, top bar and form. Throws lathe::Error for an invalid form value.
    ArgumentSet arguments() const;
    /// Shows `args` in the tab, the form and the top bar (Load arguments).
    void loadArguments(const ArgumentSet& args);
    /// What keeps Start from running: missing model, dataset or output folder, invalid values, and the
    /// schema's cross-field checks. Marks invalid form fields.
    QStringList problems();

    /// Writes arguments() as YAML; false with a message in the status line on failure.
    bool saveArguments(const QString& path);
    /// Reads a YAML file into the tab; false with a message in the status line on failure.
    bool loadArgumentsFile(const QString& path);
    /// The YAML and `lathe train` command line of arguments() (Preview command), shown in the output box.
    QString previewCommand();

    bool isRunning() const;

    ArgumentForm* form() const { return m_form; }
    TrainCharts* charts() const { return m_charts; }
    TrainRunner* runner() const { return m_runner; }
    QComboBox* stageCombo() const { return m_stage; }
    QLineEdit* datasetDirEdit() const { return m_datasetDir; }
    QListWidget* datasetList() const { return m_datasetList; }
    QLineEdit* outputDirEdit() const { return m_outputDir; }
    QPushButton* previewButton() const { return m_preview; }
    QPushButton* saveButton() const { return m_save; }
    QPushButton* loadButton() const { return m_load; }
    QPushButton* startButton() const { return m_start; }
    QPushButton* abortButton() const { return m_abort; }
    QProgressBar* progressBar() const { return m_progress; }
    QLabel* statusLabel() const { return m_status; }
    QLabel* statsLabel() const { return m_stats; }
    /// The memory the run needs, estimated before Start from config.json and the arguments (and the
    /// memory available), updated as the form, the model or the method change.
    QLabel* memoryLabel() const { return m_memory; }
    /// Why no dataset is offered (no dataset_info.json, none for the stage), or empty.
    QLabel* datasetNoteLabel() const { return m_datasetNote; }
    QPlainTextEdit* outputBox() const { return m_output; }
    QWidget* existingRunBar() const { return m_existingRun; }
    QLabel* existingRunLabel() const { return m_existingRunLabel; }
    QPushButton* resumeButton() const { return m_resume; }
    QPushButton* overwriteButton() const { return m_overwrite; }
    QPushButton* newRunButton() const { return m_newRun; }

    /// LLaMA-Board's config path field: the file Save and Load use; the folder of bare names.
    QString configPath() const;
    QComboBox* configPathCombo() const { return m_configPath; }
    static QString configDir();
    void refreshConfigPaths();

public Q_SLOTS:
    /// Reads dataset_info.json of the data folder again, keeping the chosen datasets.
    void refreshDatasets();
    /// The Preview dialog for the first chosen dataset (or the one under the cursor), with the top bar's model.
    void previewDataset();
    /// The Register dataset dialog on the dataset folder; a registered dataset is listed and chosen.
    void registerDataset();
    /// Checks the arguments and starts the run; false (and a message) when something is wrong.
    bool start();
    /// When the output folder already holds a run, shows the choice LLaMA-Board leaves implicit (its users'
    /// "Output directory already exists" confusion): Resume (its arguments reloaded, training continues from
    /// its last checkpoint), Overwrite, or a New run folder. Hidden otherwise.
    void checkOutputDir();
    /// Reloads the existing run's training_args.yaml (keeping its folder) so Start continues it.
    void resumeExistingRun();
    /// Keeps the arguments and sets overwrite_output_dir: Start trains from scratch into the folder.
    void overwriteExistingRun();
    /// Puts a fresh train_<time> name in the output folder field.
    void startNewRun();
    /// Estimates the run's memory from config.json and the arguments into memoryLabel(); called soon after
    /// each edit of the form, the model or the method, and when arguments are loaded.
    void updateMemoryEstimate();
    void abort();

Q_SIGNALS:
    void runStarted(const QString& outputDir);
    /// The run ended: it finished, was aborted (and saved), or failed with `error`.
    void runFinished(bool ok, bool aborted, const QString& error);

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslateUi();
    void applyLlamaBoardDefaults();
    void setRunning(bool running);
    /// Before a resumed run starts: its earlier steps into the charts.
    void drawEarlierSteps(const ArgumentSet& args);
    /// Applies the Extra arguments field (a JSON object of YAML keys, LLaMA-Board's extra_args) to `args`;
    /// the problem in words when it is not valid.
    QString applyExtraArguments(ArgumentSet& args) const;
    /// Clears a shown problem once problems() finds none.
    void clearFixedProblem();
    void showProblem(const QString& message, bool dialog);
    void showMemoryEstimate();
    void onProgress(const TrainProgress& p);
    void onLogLine(const QString& line);
    void onDatasetItemChanged(QListWidgetItem* item);

    TopBar* m_topBar = nullptr;
    TrainRunner* m_runner = nullptr;
    QStringList m_chosenDatasets;
    QString m_runOutputDir;
    QString m_lastError;
    QString m_memoryEstimate; ///< the estimate for the current arguments, or why there is none
    bool m_memoryWarning = false; ///< the estimate exceeds the memory available
    QTimer* m_estimateTimer = nullptr;
    bool m_aborting = false;
    qint64 m_lastTotalSteps = 0; ///< of the last progress report (the bar's end text)
    QString m_lastElapsed;
    QLineEdit* m_extraArgs = nullptr;
    QComboBox* m_configPath = nullptr;
    QLabel* m_configPathLabel = nullptr;
    QLabel* m_extraArgsLabel = nullptr;

    QLabel* m_stageLabel = nullptr;
    QComboBox* m_stage = nullptr;
    QLabel* m_datasetDirLabel = nullptr;
    QLineEdit* m_datasetDir = nullptr;
    QLabel* m_datasetLabel = nullptr;
    QListWidget* m_datasetList = nullptr;
    QToolButton* m_refreshDatasets = nullptr;
    QPushButton* m_previewDataset = nullptr;
    QPushButton* m_registerDataset = nullptr;
    QLabel* m_datasetNote = nullptr;
    ArgumentForm* m_form = nullptr;
    QPushButton* m_preview = nullptr;
    QPushButton* m_save = nullptr;
    QPushButton* m_load = nullptr;
    QPushButton* m_start = nullptr;
    QPushButton* m_abort = nullptr;
    QLabel* m_outputDirLabel = nullptr;
    QLineEdit* m_outputDir = nullptr;
    QLabel* m_memory = nullptr;
    QWidget* m_existingRun = nullptr;
    QLabel* m_existingRunLabel = nullptr;
    QPushButton* m_resume = nullptr;
    QPushButton* m_overwrite = nullptr;
    QPushButton* m_newRun = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_stats = nullptr;
    QLabel* m_status = nullptr;
    QPlainTextEdit* m_output = nullptr;
    TrainCharts* m_charts = nullptr;
};

} // namespace lathe

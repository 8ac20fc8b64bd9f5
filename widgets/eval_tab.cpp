#include "eval_tab.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QJsonArray>
#include <QDateTime>
#include <QDir>
#include <QDoubleSpinBox>
#include <QEvent>
#include <QFile>
#include <QFileInfo>
#include <QGridLayout>
#include <QHeaderView>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QValueAxis>

#include "checkpoint_lister.h"
#include "config/stages.h"
#include "data/dataset_attr.h"
#include "model_arguments.h"
#include "top_bar.h"
#include "train_charts.h"
#include "train/trainer.h"
#include "train_runner.h"
#include "util/error.h"

namespace lathe {

namespace {

QSpinBox* spin(int min, int max, int value, QWidget* parent)
{
    auto* s = new QSpinBox(parent);
    s->setRange(min, max);
    s->setValue(value);
    return s;
}

QDoubleSpinBox* doubleSpin(double min, double max, double value, double step, QWidget* parent)
{
    auto* s = new QDoubleSpinBox(parent);
    s->setRange(min, max);
    s->setDecimals(2);
    s->setSingleStep(step);
    s->setValue(value);
    return s;
}

} // namespace

EvalTab::EvalTab(QWidget* parent) : QWidget(parent), m_runner(new TrainRunner(this))
{
    // LLaMA-Board's eval tab defaults: cutoff 1024, max samples 100000, batch 8, 512 new tokens, top-p 0.7,
    // temperature 0.95.
    // What to evaluate: generation scored by BLEU/ROUGE (sft, LLaMA-Board's Evaluate), or a preference
    // stage's loss and reward metrics on pairs / feedback data (rm, dpo, kto).
    m_stage = new QComboBox(this);
    for (const char* code : {"sft", "rm", "dpo", "kto", "benchmark"})
        m_stage->addItem(QString(), QString::fromLatin1(code));
    m_datasetDir = new QLineEdit(QStringLiteral("data"), this);
    m_dataset = new QComboBox(this);
    m_dataset->setMinimumContentsLength(24); // names readable, not a 70 px box (issue 23, item 10)
    m_dataset->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_cutoff = spin(4, 131072, 1024, this);
    m_maxSamples = spin(1, 100000000, 100000, this);
    m_batchSize = spin(1, 1024, 8, this);
    m_maxNewTokens = spin(8, 4096, 512, this);
    m_topP = doubleSpin(0.01, 1.0, 0.7, 0.01, this);
    m_temperature = doubleSpin(0.0, 1.5, 0.95, 0.01, this);
    m_outputDir = new QLineEdit(QStringLiteral("eval_") + QDateTime::currentDateTime().toString("yyyy-MM-dd-HH-mm-ss"), this);
    // The benchmark's fields (LLaMA-Factory's EvaluationArguments).
    m_task = new QComboBox(this);
    m_task->setEditable(true);
    m_task->addItems({QStringLiteral("mmlu_test"), QStringLiteral("cmmlu_test"), QStringLiteral("ceval_validation")});
    m_taskDir = new QLineEdit(QStringLiteral("evaluation"), this);
    m_nShot = spin(0, 64, 5, this);
    m_lang = new QComboBox(this);
    m_lang->addItems({QStringLiteral("en"), QStringLiteral("zh")});
    m_evalMode = new QComboBox(this);
    m_evalMode->addItem(QString(), QStringLiteral("logits"));
    m_evalMode->addItem(QString(), QStringLiteral("ppl"));
    m_chart = new QChartView(new QChart, this);
    m_chart->setMinimumHeight(180);
    m_chart->chart()->legend()->hide();
    m_chart->setVisible(false);
    m_start = new QPushButton(this);
    m_start->setDefault(true);
    m_abort = new QPushButton(this);
    m_abort->setEnabled(false);
    m_progress = new QProgressBar(this);
    m_progress->setTextVisible(true);
    m_results = new QLabel(this);
    m_results->setWordWrap(true);
    m_results->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_table = new QTableWidget(0, 3, this);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setWordWrap(true);

    auto label = [this](QWidget* buddy) {
        auto* l = new QLabel(this);
        l->setBuddy(buddy);
        return l;
    };
    m_stageLabel = label(m_stage);
    m_datasetDirLabel = label(m_datasetDir);
    m_datasetLabel = label(m_dataset);
    m_cutoffLabel = label(m_cutoff);
    m_maxSamplesLabel = label(m_maxSamples);
    m_batchSizeLabel = label(m_batchSize);
    m_maxNewTokensLabel = label(m_maxNewTokens);
    m_topPLabel = label(m_topP);
    m_temperatureLabel = label(m_temperature);
    m_outputDirLabel = label(m_outputDir);
    m_taskLabel = label(m_task);
    m_taskDirLabel = label(m_taskDir);
    m_nShotLabel = label(m_nShot);
    m_langLabel = label(m_lang);
    m_evalModeLabel = label(m_evalMode);

    auto* grid = new QGridLayout;
    const std::pair<QLabel*, QWidget*> fields[] = {
        {m_stageLabel, m_stage},
        {m_datasetDirLabel, m_datasetDir}, {m_datasetLabel, m_dataset},       {m_cutoffLabel, m_cutoff},
        {m_maxSamplesLabel, m_maxSamples}, {m_batchSizeLabel, m_batchSize},   {m_maxNewTokensLabel, m_maxNewTokens},
        {m_topPLabel, m_topP},             {m_temperatureLabel, m_temperature}, {m_outputDirLabel, m_outputDir},
        {m_taskLabel, m_task},             {m_taskDirLabel, m_taskDir},       {m_nShotLabel, m_nShot},
        {m_langLabel, m_lang},             {m_evalModeLabel, m_evalMode}};
    int column = 0, row = 0;
    for (const auto& [l, w] : fields) {
        grid->addWidget(l, row, column);
        grid->addWidget(w, row + 1, column);
        if (++column == 3) {
            column = 0;
            row += 2;
        }
    }
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_start, 1);
    buttons->addWidget(m_abort, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(grid);
    layout->addLayout(buttons);
    layout->addWidget(m_progress);
    layout->addWidget(m_results);
    layout->addWidget(m_chart, 1);
    layout->addWidget(m_table, 1);

    connect(m_datasetDir, &QLineEdit::editingFinished, this, &EvalTab::refreshDatasets);
    connect(m_stage, &QComboBox::currentIndexChanged, this, [this] {
        refreshDatasets();
        updateStageFields();
    });
    // C-Eval and CMMLU are Chinese: their prompt is the zh template, as LLaMA-Factory's configs set it.
    connect(m_task, &QComboBox::currentTextChanged, this, [this](const QString& task) {
        m_lang->setCurrentText(task.startsWith(QLatin1String("ceval")) || task.startsWith(QLatin1String("cmmlu"))
                                   ? QStringLiteral("zh")
                                   : QStringLiteral("en"));
    });
    connect(m_start, &QPushButton::clicked, this, &EvalTab::start);
    connect(m_abort, &QPushButton::clicked, m_runner, &TrainRunner::abort);
    connect(m_runner, &TrainRunner::progress, this, &EvalTab::onProgress);
    connect(m_runner, &TrainRunner::succeeded, this,
            [this](const QString& dir, bool aborted, qint64) { onSucceeded(dir, aborted); });
    connect(m_runner, &TrainRunner::failed, this, [this](const QString& message) {
        setRunning(false);
        m_results->setText(tr("Failed: %1").arg(message));
        Q_EMIT runFinished(false, message);
    });
    retranslateUi();
    refreshDatasets();
    updateStageFields();
}

void EvalTab::updateStageFields()
{
    const QString code = stage();
    const bool benchmark = code == QLatin1String("benchmark");
    // Generation settings mean nothing to a preference stage's evaluation; datasets nothing to a benchmark.
    for (QWidget* w : std::initializer_list<QWidget*>{m_maxNewTokens, m_topP, m_temperature})
        w->setEnabled(code == QLatin1String("sft"));
    for (QWidget* w : std::initializer_list<QWidget*>{m_datasetDir, m_datasetDirLabel, m_dataset, m_datasetLabel, m_cutoff,
                                                      m_cutoffLabel, m_maxSamples, m_maxSamplesLabel, m_maxNewTokens,
                                                      m_maxNewTokensLabel, m_topP, m_topPLabel, m_temperature,
                                                      m_temperatureLabel})
        w->setVisible(!benchmark);
    for (QWidget* w : std::initializer_list<QWidget*>{m_task, m_taskLabel, m_taskDir, m_taskDirLabel, m_nShot, m_nShotLabel,
                                                      m_lang, m_langLabel, m_evalMode, m_evalModeLabel})
        w->setVisible(benchmark);
    m_chart->setVisible(benchmark && !m_chart->chart()->series().isEmpty());
}

void EvalTab::setTopBar(TopBar* topBar) { m_topBar = topBar; }

void EvalTab::refreshDatasets()
{
    const QString current = m_dataset->currentText();
    m_dataset->clear();
    try {
        const auto registry = DatasetRegistry::load(m_datasetDir->text().toStdString());
        // LLaMA-Board's rule: pairs ("ranking") for rm and dpo, the others for the rest.
        const bool ranking = stageUsesRanking(stage().toStdString());
        for (const auto& name : registry.names())
            if (registry.get(name).ranking == ranking)
                m_dataset->addItem(QString::fromStdString(name));
    } catch (const Error&) {
        // No dataset_info.json there (yet): the list stays empty and Start says why.
    }
    const int at = m_dataset->findText(current);
    if (at >= 0)
        m_dataset->setCurrentIndex(at);
}

QString EvalTab::stage() const
{
    return m_stage->currentData().toString();
}

QString EvalTab::outputDir() const
{
    const QString text = m_outputDir->text().trimmed();
    if (text.isEmpty() || !m_topBar || text.contains(QLatin1Char('/')) || text.contains(QDir::separator()))
        return text;
    const QString model = m_topBar->modelName().isEmpty() ? QStringLiteral("Custom") : m_topBar->modelName();
    return QDir(CheckpointLister::saveDir(m_topBar->savesRoot(), model, m_topBar->finetuningType())).filePath(text);
}

ArgumentSet EvalTab::arguments() const
{
    ArgumentSet args;
    if (stage() == QLatin1String("benchmark")) {
        args.setValue("do_train", false, "form");
        addModelArguments(m_topBar, args);
        args.setValue("task", m_task->currentText().trimmed().toStdString(), "form");
        args.setValue("task_dir", m_taskDir->text().trimmed().toStdString(), "form");
        args.setValue("n_shot", m_nShot->value(), "form");
        args.setValue("lang", m_lang->currentText().toStdString(), "form");
        args.setValue("eval_mode", m_evalMode->currentData().toString().toStdString(), "form");
        args.setValue("batch_size", m_batchSize->value(), "form");
        args.setValue("save_dir", outputDir().toStdString(), "form");
        return args;
    }
    const bool generating = stage() == QLatin1String("sft");
    args.setValue("stage", stage().toStdString(), "form");
    args.setValue("do_train", false, "form");
    if (generating) {
        args.setValue("do_predict", true, "form");
        args.setValue("predict_with_generate", true, "form");
    } else {
        args.setValue("do_eval", true, "form");
    }
    addModelArguments(m_topBar, args);
    args.setValue("dataset_dir", m_datasetDir->text().toStdString(), "form");
    if (!m_dataset->currentText().isEmpty())
        args.setValue("eval_dataset", m_dataset->currentText().toStdString(), "form");
    args.setValue("cutoff_len", m_cutoff->value(), "form");
    args.setValue("max_samples", m_maxSamples->value(), "form");
    args.setValue("per_device_eval_batch_size", m_batchSize->value(), "form");
    if (generating) {
        args.setValue("max_new_tokens", m_maxNewTokens->value(), "form");
        args.setValue("top_p", m_topP->value(), "form");
        args.setValue("temperature", m_temperature->value(), "form");
        args.setValue("do_sample", m_temperature->value() > 0, "form");
    }
    args.setValue("output_dir", outputDir().toStdString(), "form");
    args.setValue("overwrite_output_dir", true, "form");
    return args;
}

void EvalTab::start()
{
    const bool benchmark = stage() == QLatin1String("benchmark");
    if (benchmark && m_task->currentText().trimmed().isEmpty()) {
        m_results->setText(tr("Choose a benchmark task, such as mmlu_test."));
        return;
    }
    if (benchmark && QFileInfo::exists(outputDir())) {
        m_results->setText(tr("Output dir already exists: %1. A benchmark never overwrites results: choose a new folder.")
                               .arg(outputDir()));
        return;
    }
    if (!benchmark && m_dataset->currentText().isEmpty()) {
        m_results->setText(tr("Choose a dataset: none is registered in %1.").arg(m_datasetDir->text()));
        return;
    }
    if (m_outputDir->text().trimmed().isEmpty()) {
        m_results->setText(tr("Choose an output folder."));
        return;
    }
    m_table->setRowCount(0);
    m_chart->chart()->removeAllSeries();
    m_chart->setVisible(false);
    m_results->setText(stage() == QLatin1String("sft") ? tr("Generating...") : tr("Evaluating..."));
    m_progress->setRange(0, 0);
    if (m_runner->start(arguments()))
        setRunning(true);
}

void EvalTab::onProgress(const TrainProgress& p)
{
    if (p.totalSteps > 0) {
        m_progress->setRange(0, static_cast<int>(p.totalSteps));
        m_progress->setValue(static_cast<int>(p.step));
    }
    m_progress->setFormat(tr("Running %1/%2: %3 < %4")
                              .arg(p.step)
                              .arg(p.totalSteps)
                              .arg(QString::fromStdString(formatElapsed(p.elapsedSeconds)),
                                   QString::fromStdString(formatElapsed(p.remainingSeconds))));
}

void EvalTab::onSucceeded(const QString& outputDir, bool aborted)
{
    setRunning(false);
    if (aborted) {
        m_results->setText(tr("Aborted: nothing was written."));
        Q_EMIT runFinished(false, tr("aborted"));
        return;
    }
    if (stage() == QLatin1String("benchmark")) {
        showBenchmarkResults(outputDir);
        Q_EMIT runFinished(true, QString());
        return;
    }
    if (stage() != QLatin1String("sft")) {
        // The stage's loss and metrics under LLaMA-Factory's names (eval_results.json), in the table too.
        QFile file(outputDir + "/eval_results.json");
        QJsonObject metrics;
        if (file.open(QIODevice::ReadOnly))
            metrics = QJsonDocument::fromJson(file.readAll()).object();
        auto value = [&](const char* key) { return metrics.value(key).toDouble(); };
        if (stage() == QLatin1String("rm"))
            m_results->setText(tr("Loss %1, accuracy %2. Saved in %3.")
                                   .arg(value("eval_loss"), 0, 'f', 4)
                                   .arg(value("eval_accuracy"), 0, 'f', 4)
                                   .arg(outputDir));
        else
            m_results->setText(tr("Loss %1, reward accuracy %2, reward margin %3 (chosen %4, rejected %5). Saved in %6.")
                                   .arg(value("eval_loss"), 0, 'f', 4)
                                   .arg(value("eval_rewards/accuracies"), 0, 'f', 4)
                                   .arg(value("eval_rewards/margins"), 0, 'f', 4)
                                   .arg(value("eval_rewards/chosen"), 0, 'f', 4)
                                   .arg(value("eval_rewards/rejected"), 0, 'f', 4)
                                   .arg(outputDir));
        m_table->setHorizontalHeaderLabels({tr("Metric"), tr("Value"), QString()});
        for (auto it = metrics.begin(); it != metrics.end(); ++it) {
            const int row = m_table->rowCount();
            m_table->insertRow(row);
            m_table->setItem(row, 0, new QTableWidgetItem(it.key()));
            m_table->setItem(row, 1, new QTableWidgetItem(QString::number(it.value().toDouble(), 'g', 8)));
        }
        Q_EMIT runFinished(true, QString());
        return;
    }
    m_table->setHorizontalHeaderLabels({tr("Prompt"), tr("Prediction"), tr("Label")});
    QFile results(outputDir + "/predict_results.json");
    QJsonObject metrics;
    if (results.open(QIODevice::ReadOnly))
        metrics = QJsonDocument::fromJson(results.readAll()).object();
    m_results->setText(tr("BLEU-4 %1, ROUGE-1 %2, ROUGE-2 %3, ROUGE-L %4; %5 samples in %6 s. Saved in %7.")
                           .arg(metrics.value("predict_bleu-4").toDouble(), 0, 'f', 2)
                           .arg(metrics.value("predict_rouge-1").toDouble(), 0, 'f', 2)
                           .arg(metrics.value("predict_rouge-2").toDouble(), 0, 'f', 2)
                           .arg(metrics.value("predict_rouge-l").toDouble(), 0, 'f', 2)
                           .arg(qRound(metrics.value("predict_samples_per_second").toDouble() *
                                       metrics.value("predict_runtime").toDouble()))
                           .arg(metrics.value("predict_runtime").toDouble(), 0, 'f', 1)
                           .arg(outputDir));
    QFile predictions(outputDir + "/generated_predictions.jsonl");
    if (predictions.open(QIODevice::ReadOnly)) {
        while (!predictions.atEnd()) {
            const QJsonObject line = QJsonDocument::fromJson(predictions.readLine()).object();
            if (line.isEmpty())
                continue;
            const int row = m_table->rowCount();
            m_table->insertRow(row);
            int column = 0;
            for (const char* key : {"prompt", "predict", "label"})
                m_table->setItem(row, column++, new QTableWidgetItem(line.value(key).toString()));
        }
    }
    m_table->resizeRowsToContents();
    Q_EMIT runFinished(true, QString());
}

void EvalTab::showBenchmarkResults(const QString& outputDir)
{
    QFile file(outputDir + "/results_summary.json");
    QJsonObject summary;
    if (file.open(QIODevice::ReadOnly))
        summary = QJsonDocument::fromJson(file.readAll()).object();
    const QJsonObject categories = summary.value("categories").toObject();
    m_results->setText(tr("%1: average accuracy %2% over %3 questions (%4-shot) in %5 s. Saved in %6.")
                           .arg(summary.value("task").toString())
                           .arg(categories.value("Average").toDouble(), 0, 'f', 2)
                           .arg(summary.value("questions").toInt())
                           .arg(summary.value("n_shot").toInt())
                           .arg(summary.value("seconds").toDouble(), 0, 'f', 1)
                           .arg(outputDir));
    // Bars: the categories with questions, Average first (results.log's order).
    auto* set = new QBarSet(tr("Accuracy"));
    QStringList names;
    for (const char* c : {"Average", "STEM", "Social Sciences", "Humanities", "Other"}) {
        if (!categories.contains(c))
            continue;
        *set << categories.value(c).toDouble();
        names << QString::fromLatin1(c);
    }
    auto* series = new QBarSeries;
    series->append(set);
    series->setLabelsVisible(true);
    series->setLabelsFormat(QStringLiteral("@value"));
    series->setLabelsPrecision(4);
    QChart* chart = m_chart->chart();
    chart->removeAllSeries();
    for (QAbstractAxis* axis : chart->axes())
        chart->removeAxis(axis);
    chart->addSeries(series);
    auto* x = new QBarCategoryAxis;
    x->append(names);
    auto* y = new QValueAxis;
    y->setRange(0, 100);
    y->setTickCount(6);
    y->setLabelFormat(QStringLiteral("%d"));
    y->setTitleText(tr("Accuracy (%)"));
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    series->attachAxis(x);
    series->attachAxis(y);
    followPalette(chart, palette());
    m_chart->setVisible(true);

    // The table: one row per subject.
    m_table->setHorizontalHeaderLabels({tr("Subject"), tr("Category"), tr("Accuracy (%)")});
    const QJsonObject subjects = summary.value("subjects").toObject();
    for (auto it = subjects.begin(); it != subjects.end(); ++it) {
        const QJsonObject s = it.value().toObject();
        const int row = m_table->rowCount();
        m_table->insertRow(row);
        m_table->setItem(row, 0, new QTableWidgetItem(s.value("name").toString()));
        m_table->setItem(row, 1, new QTableWidgetItem(s.value("category").toString()));
        m_table->setItem(row, 2, new QTableWidgetItem(QStringLiteral("%1 (%2/%3)")
                                                          .arg(s.value("accuracy").toDouble(), 0, 'f', 2)
                                                          .arg(s.value("correct").toInt())
                                                          .arg(s.value("total").toInt())));
    }
}

void EvalTab::setRunning(bool running)
{
    m_start->setEnabled(!running);
    m_abort->setEnabled(running);
    if (!running && m_progress->maximum() == 0)
        m_progress->setRange(0, 1);
}

void EvalTab::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

void EvalTab::retranslateUi()
{
    m_stageLabel->setText(tr("Stage"));
    m_stage->setItemText(0, tr("Supervised Fine-Tuning"));
    m_stage->setItemText(1, tr("Reward Modeling"));
    m_stage->setItemText(2, tr("DPO"));
    m_stage->setItemText(3, tr("KTO"));
    m_stage->setItemText(4, tr("Benchmark (MMLU, C-Eval, CMMLU)"));
    m_stage->setToolTip(tr("Supervised: generate answers and score them with BLEU and ROUGE (jieba words, as "
                           "LLaMA-Factory). Reward Modeling, DPO, KTO: the stage's loss and reward metrics on the "
                           "dataset. Benchmark: multiple-choice accuracy per subject and category."));
    m_taskLabel->setText(tr("Task"));
    m_task->setToolTip(tr("<name>_<split>: mmlu_test, cmmlu_test, ceval_validation"));
    m_taskDirLabel->setText(tr("Task dir"));
    m_taskDir->setToolTip(tr("The folder holding <name>/mapping.json and the subjects' CSV splits (LLaMA-Factory's "
                             "evaluation folder, extracted)"));
    m_nShotLabel->setText(tr("Few-shot examples"));
    m_langLabel->setText(tr("Prompt language"));
    m_evalModeLabel->setText(tr("Scoring"));
    m_evalMode->setItemText(0, tr("Answer letter logits"));
    m_evalMode->setItemText(1, tr("Lowest answer perplexity"));
    m_evalMode->setToolTip(tr("Answer letter logits: LLaMA-Factory's way. Lowest answer perplexity: the choice whose "
                              "completed answer the model finds most likely, as OpenCompass scores base models."));
    m_datasetDirLabel->setText(tr("Data dir"));
    m_datasetLabel->setText(tr("Dataset"));
    m_cutoffLabel->setText(tr("Cutoff length"));
    m_maxSamplesLabel->setText(tr("Max samples"));
    m_batchSizeLabel->setText(tr("Batch size"));
    m_maxNewTokensLabel->setText(tr("Maximum new tokens"));
    m_topPLabel->setText(tr("Top-p"));
    m_temperatureLabel->setText(tr("Temperature"));
    m_outputDirLabel->setText(tr("Output dir"));
    m_start->setText(tr("Start"));
    m_abort->setText(tr("Abort"));
    if (m_table->rowCount() == 0)
        m_table->setHorizontalHeaderLabels({tr("Prompt"), tr("Prediction"), tr("Label")});
}

} // namespace lathe

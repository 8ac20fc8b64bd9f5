// The hyperparameter form generated from the argument schema (see argument_form.h).
#include "argument_form.h"

#include "config/stages.h"

#include <algorithm>
#include <limits>
#include <set>
#include <string>

#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QEvent>
#include <QGridLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>

#include "util/error.h"

namespace lathe {

using json = nlohmann::json;

namespace {

constexpr int kColumns = 4;
const char* const kContext = "lathe::ArgumentForm";

// Where LLaMA-Board puts an argument outside the section of its schema group.
const std::set<std::string> basicArguments = {
    "learning_rate", "num_train_epochs", "max_grad_norm", "seed", "max_samples", "bf16", "fp16", "pure_bf16",
    "cutoff_len", "per_device_train_batch_size", "gradient_accumulation_steps", "val_size",
    "lr_scheduler_type", "max_steps"};
// The RLHF section: every argument a stage lists as its own (config/stages.cpp).
bool isStageArgument(const std::string& name)
{
    for (const StageInfo& stage : trainingStages())
        if (std::find(stage.keys.begin(), stage.keys.end(), name) != stage.keys.end())
            return true;
    return false;
}
// Set by the top bar (model, method, checkpoint, template, RoPE scaling, device) or the tab itself (stage, data, output folder),
// or not about training (evaluation, chat and export arguments).
const std::set<std::string> shownElsewhere = {
    "model_name_or_path", "adapter_name_or_path", "template", "finetuning_type", "stage", "dataset",
    "dataset_dir", "output_dir", "do_train", "do_eval", "do_predict", "predict_with_generate", "infer_dtype",
    "rope_scaling", "device", "nproc_per_node"};
const std::set<std::string> otherGroups = {"generation", "export", "benchmark"};

// LLaMA-Board's labels (llamaboard_locales.json) for its own fields, and Lathe's for the others; a key without one
// is labelled by its YAML key.
struct Label
{
    const char* name;
    const char* text;
};
const Label labels[] = {
    {"learning_rate", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Learning rate")},
    {"num_train_epochs", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Epochs")},
    {"max_grad_norm", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Maximum gradient norm")},
    {"seed", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Seed")},
    {"max_samples", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Max samples")},
    {"cutoff_len", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Cutoff length")},
    {"per_device_train_batch_size", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Batch size")},
    {"gradient_accumulation_steps", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Gradient accumulation")},
    {"val_size", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Val size")},
    {"lr_scheduler_type", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "LR scheduler")},
    {"logging_steps", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Logging steps")},
    {"save_steps", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Save steps")},
    {"warmup_steps", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Warmup steps")},
    {"neftune_noise_alpha", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "NEFTune alpha")},
    {"deepspeed", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "DeepSpeed config (ZeRO stage)")},
    {"ddp_timeout", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Worker timeout (s)")},
    {"ddp_bucket_cap_mb", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Gradient bucket (MB)")},
    {"packing", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Pack sequences")},
    {"neat_packing", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Use neat packing")},
    {"train_on_prompt", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Train on prompt")},
    {"mask_history", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Mask history")},
    {"enable_thinking", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Enable thinking")},
    {"report_to", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Enable external logger")},
    {"freeze_trainable_layers", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Trainable layers")},
    {"freeze_trainable_modules", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Trainable modules")},
    {"freeze_extra_modules", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Extra modules (optional)")},
    {"lora_rank", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "LoRA rank")},
    {"lora_alpha", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "LoRA alpha")},
    {"lora_dropout", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "LoRA dropout")},
    {"create_new_adapter", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Create new adapter")},
    {"use_rslora", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Use rslora")},
    {"use_dora", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Use DoRA")},
    {"lora_target", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "LoRA modules (optional)")},
    {"additional_target", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Additional modules (optional)")},
    {"pref_beta", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Beta value")},
    {"pref_ftx", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Ftx gamma")},
    {"pref_loss", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Loss type")},
    {"reward_model", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Reward model")},
    // Lathe's words for the keys LLaMA-Board has no field for (the YAML key stays in each tooltip).
    {"model_revision", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Model revision")},
    {"train_from_scratch", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Train from scratch")},
    {"dpo_label_smoothing", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "DPO label smoothing")},
    {"simpo_gamma", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "SimPO gamma")},
    {"ld_alpha", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "LD-DPO alpha")},
    {"pref_bco_weight", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "BCO weight")},
    {"kto_chosen_weight", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "KTO desirable weight")},
    {"kto_rejected_weight", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "KTO undesirable weight")},
    {"ref_model", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Reference model")},
    {"ref_model_adapters", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Reference model adapters")},
    {"eval_dataset", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Evaluation dataset")},
    {"preprocessing_num_workers", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Preprocessing workers")},
    {"overwrite_cache", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Overwrite the token cache")},
    {"default_system", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Default system prompt")},
    {"tool_format", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Tool format")},
    {"save_total_limit", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Checkpoints kept")},
    {"plot_loss", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Plot the loss")},
    {"overwrite_output_dir", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Overwrite output dir")},
    {"save_only_model", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Save only the model")},
    {"max_steps", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Max steps")},
    {"warmup_ratio", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Warmup ratio")},
    {"weight_decay", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Weight decay")},
    {"adam_beta1", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Adam beta1")},
    {"adam_beta2", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Adam beta2")},
    {"adam_epsilon", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Adam epsilon")},
    {"bf16", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "bf16 mixed precision")},
    {"fp16", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "fp16 mixed precision")},
    {"pure_bf16", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Pure bf16 training")},
    {"optim", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Optimizer")},
    {"disable_gradient_checkpointing", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Disable gradient checkpointing")},
    {"resume_from_checkpoint", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Resume from checkpoint")},
    {"tokenized_path", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Tokenized data path")},
    {"per_device_eval_batch_size", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Eval batch size")},
    {"eval_strategy", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Evaluation strategy")},
    {"eval_steps", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Eval steps")},
    {"load_best_model_at_end", QT_TRANSLATE_NOOP("lathe::ArgumentForm", "Load the best model at the end")},
};

QString labelOf(const ArgSpec& spec)
{
    for (const Label& l : labels)
        if (spec.name == l.name)
            return QCoreApplication::translate(kContext, l.text);
    return QString::fromStdString(spec.name);
}

bool nullable(const ArgSpec& spec)
{
    return spec.defaultValue.is_null();
}

int clampToInt(double v)
{
    return int(std::clamp(v, double(std::numeric_limits<int>::min() + 1), double(std::numeric_limits<int>::max())));
}

// The shortest text that reads back as the same double ("5e-05", "3.0").
QString numberText(double v)
{
    return QString::fromStdString(json(v).dump());
}

} // namespace

ArgumentForm::ArgumentForm(QWidget* parent) : QWidget(parent)
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    for (int s = 0; s < SectionCount; ++s) {
        SectionUi& ui = m_sections[s];
        ui.frame = new QWidget(this);
        auto* frameLayout = new QVBoxLayout(ui.frame);
        frameLayout->setContentsMargins(0, 0, 0, 0);
        ui.content = new QWidget(ui.frame);
        if (s != BasicSection) {
            // LLaMA-Board's accordions: a header that opens and closes the section, closed at first.
            ui.header = new QToolButton(ui.frame);
            ui.header->setCheckable(true);
            ui.header->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
            ui.header->setAutoRaise(true);
            ui.header->setArrowType(Qt::RightArrow);
            frameLayout->addWidget(ui.header);
            ui.content->setVisible(false);
            connect(ui.header, &QToolButton::toggled, this,
                    [this, s](bool on) { setSectionExpanded(Section(s), on); });
        }
        frameLayout->addWidget(ui.content);
        auto* grid = new QGridLayout(ui.content);
        grid->setContentsMargins(s == BasicSection ? 0 : 16, 4, 0, 8);
        grid->setHorizontalSpacing(12);
        for (int c = 0; c < kColumns; ++c)
            grid->setColumnStretch(c, 1);
        layout->addWidget(ui.frame);
    }

    int counts[SectionCount] = {};
    for (const ArgSpec& spec : argumentSchema()) {
        const int section = sectionOf(spec);
        if (section < 0)
            continue;
        Field field;
        field.spec = &spec;
        field.section = section;
        field.editor = createEditor(spec);
        field.editor->setObjectName(QString::fromStdString(spec.name));
        auto* cell = new QWidget(m_sections[section].content);
        auto* cellLayout = new QVBoxLayout(cell);
        cellLayout->setContentsMargins(0, 0, 0, 0);
        cellLayout->setSpacing(2);
        // bf16 / fp16 / pure_bf16 are one choice, as LLaMA-Board's compute type (issue 23, item 10): their check
        // boxes stay (hidden) and carry the values; the combo in bf16's cell sets them.
        const bool precision = spec.name == "bf16" || spec.name == "fp16" || spec.name == "pure_bf16";
        if (precision && spec.name == "bf16") {
            m_computeTypeLabel = new QLabel(cell);
            m_computeType = new QComboBox(cell);
            for (const char* t : {"fp32", "bf16", "fp16", "pure_bf16"})
                m_computeType->addItem(QString::fromLatin1(t), QString::fromLatin1(t));
            m_computeTypeLabel->setBuddy(m_computeType);
            cellLayout->addWidget(m_computeTypeLabel);
            cellLayout->addWidget(m_computeType);
        } else if (!qobject_cast<QCheckBox*>(field.editor)) {
            field.label = new QLabel(cell);
            field.label->setBuddy(field.editor);
            cellLayout->addWidget(field.label);
        } else {
            cellLayout->addStretch(1);
        }
        field.editor->setParent(cell);
        cellLayout->addWidget(field.editor);
        if (precision)
            field.editor->hide();
        auto* grid = static_cast<QGridLayout*>(m_sections[section].content->layout());
        if (precision && spec.name != "bf16") {
            cell->hide(); // kept for its (hidden) check box, not laid out
        } else {
            const int n = counts[section]++;
            grid->addWidget(cell, n / kColumns, n % kColumns);
        }
        m_index.insert(QString::fromStdString(spec.name), int(m_fields.size()));
        m_fields.push_back(field);
    }
    for (int i = 0; i < int(m_fields.size()); ++i) {
        setValue(QString::fromStdString(m_fields[std::size_t(i)].spec->name),
                 m_fields[std::size_t(i)].spec->defaultValue);
        connectEditor(i);
    }
    if (m_computeType) {
        connect(m_computeType, &QComboBox::currentIndexChanged, this, [this] {
            if (m_syncingPrecision)
                return;
            const QString t = m_computeType->currentData().toString();
            m_syncingPrecision = true;
            for (const char* name : {"bf16", "fp16", "pure_bf16"})
                if (auto* box = qobject_cast<QCheckBox*>(editor(QString::fromLatin1(name))))
                    box->setChecked(t == QLatin1String(name));
            m_syncingPrecision = false;
            Q_EMIT edited();
        });
        for (const char* name : {"bf16", "fp16", "pure_bf16"})
            if (auto* box = qobject_cast<QCheckBox*>(editor(QString::fromLatin1(name))))
                connect(box, &QCheckBox::toggled, this, &ArgumentForm::syncComputeType);
        syncComputeType();
    }
    retranslateUi();
    setStage(QStringLiteral("sft"));
}

void ArgumentForm::syncComputeType()
{
    if (!m_computeType || m_syncingPrecision)
        return;
    auto checked = [this](const char* name) {
        auto* box = qobject_cast<QCheckBox*>(editor(QString::fromLatin1(name)));
        return box && box->isChecked();
    };
    const char* t = checked("pure_bf16") ? "pure_bf16" : checked("bf16") ? "bf16" : checked("fp16") ? "fp16" : "fp32";
    m_syncingPrecision = true;
    m_computeType->setCurrentIndex(m_computeType->findData(QString::fromLatin1(t)));
    m_syncingPrecision = false;
}

bool ArgumentForm::forStage(const Field& f) const
{
    if (f.section != RlhfSection)
        return true;
    const StageInfo* info = findStage(m_stage.toStdString());
    return info && std::find(info->keys.begin(), info->keys.end(), f.spec->name) != info->keys.end();
}

void ArgumentForm::setStage(const QString& stage)
{
    m_stage = stage;
    // Lay the RLHF section out again with the chosen stage's arguments only; hide it when it has none.
    auto* grid = static_cast<QGridLayout*>(m_sections[RlhfSection].content->layout());
    int n = 0;
    for (const Field& f : m_fields) {
        if (f.section != RlhfSection)
            continue;
        QWidget* cell = f.editor->parentWidget();
        grid->removeWidget(cell);
        const bool shown = forStage(f);
        cell->setVisible(shown);
        if (shown) {
            grid->addWidget(cell, n / kColumns, n % kColumns);
            ++n;
        }
    }
    m_sections[RlhfSection].frame->setVisible(n > 0);
}

QString ArgumentForm::stage() const
{
    return m_stage;
}

int ArgumentForm::sectionOf(const ArgSpec& spec)
{
    // gradient_checkpointing is transformers' switch, read from YAML; the form offers LLaMA-Factory's own
    // disable_gradient_checkpointing only, not both (issue 23, item 10).
    if (shownElsewhere.count(spec.name) || otherGroups.count(spec.group) || spec.name == "gradient_checkpointing")
        return -1;
    if (basicArguments.count(spec.name))
        return BasicSection;
    if (isStageArgument(spec.name))
        return RlhfSection;
    if (spec.group == "freeze")
        return FreezeSection;
    if (spec.group == "lora")
        return LoraSection;
    return ExtraSection;
}

QWidget* ArgumentForm::createEditor(const ArgSpec& spec)
{
    switch (spec.type) {
    case ArgType::Bool: {
        if (nullable(spec)) {
            // A boolean whose unset value means something (packing: on for pt, off for sft) is a choice of three
            // words, not a half-ticked box (issue 23, item 10). Texts in retranslateUi.
            auto* combo = new QComboBox;
            combo->addItem(QString(), QVariant());
            combo->addItem(QString(), QStringLiteral("true"));
            combo->addItem(QString(), QStringLiteral("false"));
            return combo;
        }
        return new QCheckBox;
    }
    case ArgType::Int: {
        auto* spin = new QSpinBox;
        int lo = spec.minimum ? clampToInt(*spec.minimum) : std::numeric_limits<int>::min() + 1;
        const int hi = spec.maximum ? clampToInt(*spec.maximum) : std::numeric_limits<int>::max();
        if (nullable(spec))
            --lo; // the lowest value stands for "unset" and shows specialValueText
        spin->setRange(lo, hi);
        spin->setAccelerated(true);
        return spin;
    }
    case ArgType::Choice: {
        auto* combo = new QComboBox;
        if (nullable(spec))
            combo->addItem(QStringLiteral("none"), QVariant());
        for (const std::string& c : spec.choices)
            combo->addItem(QString::fromStdString(c), QString::fromStdString(c));
        return combo;
    }
    case ArgType::Float:
    case ArgType::String:
        break;
    }
    auto* edit = new QLineEdit;
    edit->setClearButtonEnabled(spec.type == ArgType::String);
    return edit;
}

void ArgumentForm::connectEditor(int index)
{
    QWidget* w = m_fields[std::size_t(index)].editor;
    auto changed = [this, index] {
        checkField(index);
        Q_EMIT edited();
    };
    if (auto* box = qobject_cast<QCheckBox*>(w))
        connect(box, &QCheckBox::stateChanged, this, changed);
    else if (auto* spin = qobject_cast<QSpinBox*>(w))
        connect(spin, &QSpinBox::valueChanged, this, changed);
    else if (auto* combo = qobject_cast<QComboBox*>(w))
        connect(combo, &QComboBox::currentIndexChanged, this, changed);
    else if (auto* edit = qobject_cast<QLineEdit*>(w))
        connect(edit, &QLineEdit::textChanged, this, changed);
}

QStringList ArgumentForm::argumentNames() const
{
    QStringList names;
    for (const Field& f : m_fields)
        names << QString::fromStdString(f.spec->name);
    return names;
}

QWidget* ArgumentForm::editor(const QString& name) const
{
    const auto it = m_index.constFind(name);
    return it == m_index.constEnd() ? nullptr : m_fields[std::size_t(*it)].editor;
}

QStringList ArgumentForm::sectionArguments(Section section) const
{
    QStringList names;
    for (const Field& f : m_fields)
        if (f.section == section)
            names << QString::fromStdString(f.spec->name);
    return names;
}

bool ArgumentForm::isSectionExpanded(Section section) const
{
    return section == BasicSection || m_sections[section].header->isChecked();
}

void ArgumentForm::setSectionExpanded(Section section, bool expanded)
{
    const SectionUi& ui = m_sections[section];
    if (!ui.header)
        return;
    const QSignalBlocker blocker(ui.header);
    ui.header->setChecked(expanded);
    ui.header->setArrowType(expanded ? Qt::DownArrow : Qt::RightArrow);
    ui.content->setVisible(expanded);
}

QToolButton* ArgumentForm::sectionHeader(Section section) const
{
    return m_sections[section].header;
}

json ArgumentForm::value(const QString& name) const
{
    const auto it = m_index.constFind(name);
    if (it == m_index.constEnd())
        fail("internal error: the form has no argument \"", name.toStdString(), "\"");
    const Field& f = m_fields[std::size_t(*it)];
    const ArgSpec& spec = *f.spec;
    if (auto* box = qobject_cast<QCheckBox*>(f.editor)) {
        if (box->checkState() == Qt::PartiallyChecked)
            return nullptr;
        return box->isChecked();
    }
    if (auto* spin = qobject_cast<QSpinBox*>(f.editor)) {
        if (nullable(spec) && spin->value() == spin->minimum())
            return nullptr;
        return static_cast<long long>(spin->value());
    }
    if (auto* combo = qobject_cast<QComboBox*>(f.editor)) {
        const QVariant data = combo->currentData();
        if (!data.isValid())
            return nullptr;
        if (spec.type == ArgType::Bool)
            return data.toString() == QLatin1String("true");
        return data.toString().toStdString();
    }
    const QString text = static_cast<QLineEdit*>(f.editor)->text().trimmed();
    if (text.isEmpty()) {
        if (spec.type == ArgType::Float && !nullable(spec))
            fail(spec.name, ": a number is required");
        return spec.defaultValue; // an empty name list means the default ("all" modules, ...)
    }
    if (spec.type == ArgType::String)
        return text.toStdString();
    // Parsed and range-checked by the schema itself, with its messages.
    ArgumentSet probe;
    probe.set(spec.name, text.toStdString(), "form");
    return probe.get(spec.name);
}

void ArgumentForm::setValue(const QString& name, const json& v)
{
    const auto it = m_index.constFind(name);
    if (it == m_index.constEnd())
        return;
    const Field& f = m_fields[std::size_t(*it)];
    const ArgSpec& spec = *f.spec;
    const json shown = v.is_null() && !nullable(spec) ? spec.defaultValue : v;
    if (auto* box = qobject_cast<QCheckBox*>(f.editor)) {
        box->setCheckState(shown.is_null() ? Qt::PartiallyChecked
                                           : shown.get<bool>() ? Qt::Checked : Qt::Unchecked);
    } else if (auto* spin = qobject_cast<QSpinBox*>(f.editor)) {
        spin->setValue(shown.is_null() ? spin->minimum() : clampToInt(shown.get<double>()));
    } else if (auto* combo = qobject_cast<QComboBox*>(f.editor)) {
        const int index = shown.is_null()      ? combo->findData(QVariant())
                          : shown.is_boolean() ? combo->findData(shown.get<bool>() ? QStringLiteral("true") : QStringLiteral("false"))
                                               : combo->findData(QString::fromStdString(shown.get<std::string>()));
        combo->setCurrentIndex(std::max(index, 0));
    } else if (auto* edit = qobject_cast<QLineEdit*>(f.editor)) {
        if (shown.is_null())
            edit->clear();
        else if (shown.is_number())
            edit->setText(numberText(shown.get<double>()));
        else
            edit->setText(QString::fromStdString(shown.is_string() ? shown.get<std::string>() : shown.dump()));
    }
}

void ArgumentForm::writeTo(ArgumentSet& args) const
{
    for (const Field& f : m_fields) {
        if (!forStage(f))
            continue; // another stage's argument (pref_beta in an sft run)
        const json v = value(QString::fromStdString(f.spec->name));
        if (v != f.spec->defaultValue)
            args.setValue(f.spec->name, v, "form");
    }
}

void ArgumentForm::load(const ArgumentSet& args)
{
    for (const Field& f : m_fields)
        setValue(QString::fromStdString(f.spec->name), args.get(f.spec->name));
}

QStringList ArgumentForm::validate()
{
    QStringList problems;
    for (int i = 0; i < int(m_fields.size()); ++i) {
        checkField(i);
        if (!m_fields[std::size_t(i)].problem.isEmpty())
            problems << m_fields[std::size_t(i)].problem;
    }
    return problems;
}

void ArgumentForm::checkField(int index)
{
    Field& f = m_fields[std::size_t(index)];
    QString problem;
    try {
        ArgumentSet probe;
        probe.setValue(f.spec->name, value(QString::fromStdString(f.spec->name)), "form");
    } catch (const Error& e) {
        problem = QString::fromUtf8(e.what());
        if (problem.startsWith(QLatin1String("form: ")))
            problem = problem.mid(6);
    }
    if (problem == f.problem)
        return;
    f.problem = problem;
    f.editor->setProperty("invalid", !problem.isEmpty());
    f.editor->setStyleSheet(problem.isEmpty() ? QString() : QStringLiteral("border: 1px solid #d93025;"));
    retranslateUi(); // the tooltip names the problem
}

void ArgumentForm::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

void ArgumentForm::retranslateUi()
{
    // The schema has each help text in English and Chinese; this string tells which language is shown.
    const bool chinese = tr("en", "code of the interface language") == QLatin1String("zh");
    for (Field& f : m_fields) {
        const ArgSpec& spec = *f.spec;
        const std::string& help = chinese && !spec.helpZh.empty() ? spec.helpZh : spec.help;
        QString tip = QString::fromStdString(help) + QStringLiteral("\n(") + QString::fromStdString(spec.name) +
                      QLatin1Char(')');
        if (!f.problem.isEmpty())
            tip += QLatin1Char('\n') + f.problem;
        f.editor->setToolTip(tip);
        if (m_computeType && spec.name == "bf16") {
            m_computeTypeLabel->setText(tr("Compute type"));
            m_computeType->setToolTip(tr("Whether to use mixed precision training.") + QStringLiteral("\n(bf16, fp16, pure_bf16)"));
        }
        if (auto* combo = qobject_cast<QComboBox*>(f.editor); combo && spec.type == ArgType::Bool) {
            combo->setItemText(0, spec.name == "packing" ? tr("Auto (on for pre-training)") : tr("Auto"));
            combo->setItemText(1, tr("On"));
            combo->setItemText(2, tr("Off"));
        }
        if (f.label)
            f.label->setText(labelOf(spec));
        else
            static_cast<QCheckBox*>(f.editor)->setText(labelOf(spec));
        if (auto* spin = qobject_cast<QSpinBox*>(f.editor); spin && nullable(spec))
            spin->setSpecialValueText(tr("auto"));
    }
    m_sections[ExtraSection].header->setText(tr("Extra configurations"));
    m_sections[FreezeSection].header->setText(tr("Freeze tuning configurations"));
    m_sections[LoraSection].header->setText(tr("LoRA configurations"));
    m_sections[RlhfSection].header->setText(tr("RLHF configurations"));
}

} // namespace lathe

// The Train tab's hyperparameter form, generated from the argument schema (core/config/argument_schema.h):
// one editor per argument, chosen by its type (a spin box with the schema's range for integers, a checked
// text field for numbers, a check box for booleans, a drop-down for choices, a line edit otherwise), its
// tooltip the schema's help text (Chinese when the interface is), placed in LLaMA-Board's sections: the
// basic row, then the collapsible "Extra", "Freeze", "LoRA" and "RLHF" configurations.
//
// Nothing here is written per argument except where it goes and, for LLaMA-Board's own fields, its label;
// a new schema entry shows up in the form by itself. Arguments set elsewhere (model, method and template
// from the top bar; stage, datasets and output folder from the tab; chat, evaluation and export ones) are
// left out, see sectionOf().
//
// Values are the schema's JSON values; a value equal to the schema default is "not set", so the form writes
// only what differs (as a hand-written YAML would) and load() of that set shows the same form again.
#pragma once

#include <vector>

#include <QHash>
#include <QString>
#include <QStringList>
#include <QWidget>

#include <nlohmann/json.hpp>

#include "config/argument_schema.h"

class QComboBox;
class QLabel;
class QToolButton;

namespace lathe {

class ArgumentForm : public QWidget
{
    Q_OBJECT
public:
    /// LLaMA-Board's groups of the Train tab, in order.
    enum Section
    {
        BasicSection,
        ExtraSection,
        FreezeSection,
        LoraSection,
        RlhfSection,
        SectionCount,
    };

    explicit ArgumentForm(QWidget* parent = nullptr);

    /// The section an argument is shown in, or -1 for an argument the form does not show.
    static int sectionOf(const ArgSpec& spec);

    /// Names of the arguments with an editor, in schema order.
    QStringList argumentNames() const;
    /// The editor of `name` (QSpinBox, QLineEdit, QCheckBox or QComboBox), or nullptr.
    QWidget* editor(const QString& name) const;
    /// LLaMA-Board's compute type (fp32, bf16, fp16, pure_bf16): one choice for the bf16 / fp16 / pure_bf16 flags.
    QComboBox* computeTypeCombo() const { return m_computeType; }
    /// Names shown in one section.
    QStringList sectionArguments(Section section) const;

    /// The collapsible sections (every one but the basic row) start closed, as in LLaMA-Board.
    bool isSectionExpanded(Section section) const;
    void setSectionExpanded(Section section, bool expanded);
    /// The clickable header of a collapsible section (nullptr for the basic row).
    QToolButton* sectionHeader(Section section) const;

    /// The value `name`'s editor holds, typed as the schema says (null when unset). Throws lathe::Error with
    /// the schema's message for text that is not a valid value.
    nlohmann::json value(const QString& name) const;
    /// Shows `v` in `name`'s editor (null: the "unset" state, or the default where there is none).
    void setValue(const QString& name, const nlohmann::json& v);

    /// Sets in `args` every shown argument whose value differs from the schema default. Throws lathe::Error
    /// for the first invalid value.
    void writeTo(ArgumentSet& args) const;
    /// Shows `args`: every editor gets args.get(name), so arguments not set show their defaults.
    void load(const ArgumentSet& args);

    /// The training stage the form is for: the RLHF section shows that stage's own arguments only
    /// (config/stages.h) and is hidden when it has none; writeTo() leaves the other stages' out.
    void setStage(const QString& stage);
    QString stage() const;

    /// Checks every editor against the schema, marks the invalid ones (a red frame, property "invalid") and
    /// returns one message per invalid value.
    QStringList validate();

Q_SIGNALS:
    /// The user changed a value.
    void edited();

protected:
    void changeEvent(QEvent* event) override;

private:
    void syncComputeType();
    QComboBox* m_computeType = nullptr;
    QLabel* m_computeTypeLabel = nullptr;
    bool m_syncingPrecision = false;

    struct Field
    {
        const ArgSpec* spec = nullptr;
        QWidget* editor = nullptr;
        QLabel* label = nullptr; ///< nullptr for a check box, which carries its own text
        int section = -1;
        QString problem; ///< why the value is invalid, empty when it is fine
    };
    struct SectionUi
    {
        QWidget* frame = nullptr;
        QToolButton* header = nullptr;
        QWidget* content = nullptr;
    };

    QWidget* createEditor(const ArgSpec& spec);
    bool forStage(const Field& field) const;
    void connectEditor(int index);
    void checkField(int index);
    void retranslateUi();

    std::vector<Field> m_fields;
    QHash<QString, int> m_index;
    QString m_stage;
    SectionUi m_sections[SectionCount];
};

} // namespace lathe

// The common look of a tab whose controls are not built yet: a card saying what the tab will do.
//
// Subclasses word the card in retranslateUi(), which runs on construction and on every language change.
#pragma once

#include <QWidget>

class QLabel;

namespace lathe {

class PlaceholderPage : public QWidget
{
    Q_OBJECT
public:
    explicit PlaceholderPage(QWidget* parent = nullptr);

    QString heading() const;
    QString description() const;

protected:
    /// Sets the card's texts (already translated).
    void setTexts(const QString& heading, const QString& description);
    /// Re-reads the translated texts; subclasses call setTexts() here and call it from their constructor.
    virtual void retranslateUi() = 0;

    void changeEvent(QEvent* event) override;

private:
    QLabel* m_heading = nullptr;
    QLabel* m_description = nullptr;
    QLabel* m_note = nullptr;
};

} // namespace lathe

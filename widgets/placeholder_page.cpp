// A tab whose controls are not built yet (see placeholder_page.h).
#include "placeholder_page.h"

#include <QEvent>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

namespace lathe {

PlaceholderPage::PlaceholderPage(QWidget* parent) : QWidget(parent)
{
    auto* card = new QFrame(this);
    card->setObjectName(QStringLiteral("placeholderCard"));
    card->setFrameShape(QFrame::StyledPanel);
    card->setMaximumWidth(760);

    m_heading = new QLabel(card);
    m_heading->setTextFormat(Qt::PlainText);
    QFont headingFont = m_heading->font();
    headingFont.setPointSizeF(headingFont.pointSizeF() * 1.3);
    headingFont.setBold(true);
    m_heading->setFont(headingFont);

    m_description = new QLabel(card);
    m_description->setWordWrap(true);
    m_description->setTextFormat(Qt::PlainText);
    m_description->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_note = new QLabel(card);
    m_note->setWordWrap(true);
    m_note->setTextFormat(Qt::PlainText);
    m_note->setForegroundRole(QPalette::PlaceholderText);

    auto* cardLayout = new QVBoxLayout(card);
    cardLayout->setContentsMargins(24, 20, 24, 20);
    cardLayout->setSpacing(10);
    cardLayout->addWidget(m_heading);
    cardLayout->addWidget(m_description);
    cardLayout->addWidget(m_note);

    // Centred by stretches rather than an alignment flag: an aligned widget is held at its size hint, and
    // the word-wrapped labels would then be squeezed into a narrow column.
    auto* row = new QHBoxLayout;
    row->addStretch(1);
    row->addWidget(card, 4);
    row->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(24, 32, 24, 24);
    layout->addLayout(row);
    layout->addStretch(1);
}

QString PlaceholderPage::heading() const
{
    return m_heading->text();
}

QString PlaceholderPage::description() const
{
    return m_description->text();
}

void PlaceholderPage::setTexts(const QString& heading, const QString& description)
{
    m_heading->setText(heading);
    m_description->setText(description);
    m_note->setText(tr("This tab is not available yet; it arrives in a later version of Lathe. "
                       "The model, method and template chosen above will apply to it."));
}

void PlaceholderPage::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

} // namespace lathe

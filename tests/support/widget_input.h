// What a user does to a widget, as QTest key and mouse events (not the widgets' own setters), for the widget
// tests: typing replaces a field's text through the keyboard, a button is clicked with the mouse, a combo box entry
// is picked with the keyboard, a wizard goes on with its Next (or Commit) button. A disabled or read-only widget
// ignores them, as it ignores the user.
#pragma once

#include <QAbstractButton>
#include <QAbstractSpinBox>
#include <QCheckBox>
#include <QRadioButton>
#include <QComboBox>
#include <QListWidget>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QTextEdit>
#include <QWizard>
#include <QtTest/QtTest>

namespace lathe::test {

/// Shows the widget's window, as the user sees it before using it (events reach only shown widgets).
inline void showWindowOf(QWidget* widget)
{
    QWidget* window = widget->window();
    if (!window->isVisible()) {
        window->show();
        (void)QTest::qWaitForWindowExposed(window);
    }
}

/// Selects everything in the focused text widget and types `text` over it (an empty text deletes it).
template <typename W>
void typeOver(W* widget, const QString& text)
{
    showWindowOf(widget);
    widget->setFocus(Qt::OtherFocusReason);
    QTest::keyClick(widget, Qt::Key_A, Qt::ControlModifier);
    if (text.isEmpty())
        QTest::keyClick(widget, Qt::Key_Delete);
    else
        QTest::keyClicks(widget, text);
}

inline void typeInto(QLineEdit* edit, const QString& text) { typeOver(edit, text); }
inline void typeInto(QPlainTextEdit* edit, const QString& text) { typeOver(edit, text); }
inline void typeInto(QTextEdit* edit, const QString& text) { typeOver(edit, text); }

/// Types a number into a spin box (keyboard tracking emits valueChanged as the digits arrive; no Enter, which a
/// dialog would take for its default button).
inline void typeInto(QAbstractSpinBox* spin, const QString& text) { typeOver(spin, text); }

/// A left click in the middle of the button.
/// A left click on the button: on its indicator for a check box or radio button (whose click area is the indicator
/// and label, not the whole width a layout gives it), in the middle for others.
inline void clickOn(QAbstractButton* button)
{
    showWindowOf(button);
    const bool indicator = qobject_cast<QCheckBox*>(button) || qobject_cast<QRadioButton*>(button);
    const QPoint at = indicator ? QPoint(qMin(6, button->width() - 1), button->height() / 2) : button->rect().center();
    QTest::mouseClick(button, Qt::LeftButton, Qt::NoModifier, at);
}

/// Clicks a check box or radio button when its state is not `checked` already.
inline void clickTo(QAbstractButton* button, bool checked)
{
    if (button->isChecked() != checked)
        clickOn(button);
}

/// Picks the entry `text` of a combo box with the keyboard: an editable one gets the text typed over its edit
/// text; a list gets it typed (keyboard search selects the first entry starting with it), which must then be
/// the current entry.
inline void chooseIn(QComboBox* combo, const QString& text)
{
    if (combo->isEditable()) {
        typeOver(combo->lineEdit(), text);
        return;
    }
    showWindowOf(combo);
    combo->setFocus(Qt::OtherFocusReason);
    QTest::keyClick(combo, Qt::Key_Home);
    if (combo->currentText() == text)
        return;
    // Down through the list (keyboard search would stop at the first entry with the text as a prefix).
    for (int i = 0; i < combo->count() && combo->currentText() != text; ++i)
        QTest::keyClick(combo, Qt::Key_Down);
    QVERIFY2(combo->currentText() == text, qPrintable("no entry \"" + text + "\" in the list"));
}

/// Picks entry `index` of a combo box: a list with Home and Down (which skip disabled entries, as for the user),
/// an editable one by typing the entry's text.
inline void chooseIndex(QComboBox* combo, int index)
{
    if (combo->isEditable()) {
        typeOver(combo->lineEdit(), combo->itemText(index));
        return;
    }
    showWindowOf(combo);
    combo->setFocus(Qt::OtherFocusReason);
    QTest::keyClick(combo, Qt::Key_Home);
    for (int i = 0; i < combo->count() && combo->currentIndex() < index; ++i)
        QTest::keyClick(combo, Qt::Key_Down);
    QVERIFY2(combo->currentIndex() == index, qPrintable("entry " + QString::number(index) + " cannot be chosen"));
}

/// Ticks exactly the entries `names` of a list of check boxes: each entry to change is clicked (made current)
/// and Space toggles it, as with the keyboard.
inline void tickOnly(QListWidget* list, const QStringList& names)
{
    showWindowOf(list);
    for (int i = 0; i < list->count(); ++i) {
        QListWidgetItem* item = list->item(i);
        const bool want = names.contains(item->text());
        if ((item->checkState() == Qt::Checked) == want)
            continue;
        list->scrollToItem(item);
        const QRect r = list->visualItemRect(item);
        QTest::mouseClick(list->viewport(), Qt::LeftButton, Qt::NoModifier, QPoint(r.right() - 4, r.center().y()));
        QTest::keyClick(list, Qt::Key_Space);
    }
    for (int i = 0; i < list->count(); ++i)
        QVERIFY2((list->item(i)->checkState() == Qt::Checked) == names.contains(list->item(i)->text()),
                 qPrintable(list->item(i)->text()));
}

/// The wizard's Next button, or Commit on its commit page, clicked.
inline void pressNext(QWizard& wizard)
{
    QAbstractButton* commit = wizard.button(QWizard::CommitButton);
    clickOn(commit->isVisibleTo(&wizard) && commit->isEnabled() ? commit : wizard.button(QWizard::NextButton));
}

} // namespace lathe::test

// Checks shared by the engine tests: "this must throw lathe::Error, and the message must name these things".
//
// An engine call on bad input may only ever throw lathe::Error (a message for the user). Anything else,
// a c10::Error from deep inside libtorch, a std::out_of_range, or no exception at all, fails the test.
#pragma once

#include <exception>
#include <string>

#include <QString>
#include <QStringList>
#include <QtTest/QtTest>

#include "util/error.h"

/// Runs `statement`, which must throw lathe::Error; stores its message in the QString `message`.
#define LATHE_VERIFY_ERROR(statement, message)                                                               \
    do {                                                                                                     \
        bool threw_ = false;                                                                                 \
        try {                                                                                                \
            statement;                                                                                       \
        } catch (const lathe::Error& e_) {                                                                   \
            threw_ = true;                                                                                   \
            (message) = QString::fromStdString(e_.what());                                                   \
        } catch (const std::exception& e_) {                                                                 \
            QFAIL(qPrintable(QStringLiteral("expected lathe::Error, got another exception: ") +              \
                             QString::fromStdString(e_.what())));                                            \
        }                                                                                                    \
        if (!threw_)                                                                                         \
            QFAIL("expected lathe::Error, but nothing was thrown");                                          \
    } while (0)

/// Runs `statement`, which must not throw; a lathe::Error (or anything else) fails the test with its message
/// instead of aborting the whole test program.
#define LATHE_VERIFY_NO_ERROR(statement)                                                                     \
    do {                                                                                                     \
        try {                                                                                                \
            statement;                                                                                       \
        } catch (const std::exception& e_) {                                                                 \
            QFAIL(qPrintable(QStringLiteral("unexpected exception: ") + QString::fromStdString(e_.what()))); \
        }                                                                                                    \
    } while (0)

/// Fails unless `message` contains every string of `needles` (each is reported when missing).
#define LATHE_VERIFY_MENTIONS(message, needles)                                                              \
    do {                                                                                                     \
        for (const QString& needle_ : QStringList(needles))                                                  \
            QVERIFY2(                                                                                        \
                (message).contains(needle_),                                                                 \
                qPrintable(                                                                                  \
                    QStringLiteral("error message does not mention \"%1\": %2").arg(needle_, message)));     \
    } while (0)

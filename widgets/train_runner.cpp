// Runs one training in a worker thread (see train_runner.h).
#include "train_runner.h"

#include <exception>

#include "plot/loss_plot.h"
#include "util/error.h"

namespace lathe {

TrainRunner::TrainRunner(QObject* parent) : QObject(parent)
{
    qRegisterMetaType<lathe::TrainProgress>();
}

TrainRunner::~TrainRunner()
{
    m_abort = true;
    if (m_thread.joinable())
        m_thread.join();
}

bool TrainRunner::start(const ArgumentSet& args)
{
    if (m_running)
        return false;
    if (m_thread.joinable())
        m_thread.join();
    m_abort = false;
    m_running = true;
    m_thread = std::thread([this, args] {
        // Everything the worker reports is posted to the runner's (GUI) thread and emitted there.
        auto post = [this](auto fn) { QMetaObject::invokeMethod(this, fn, Qt::QueuedConnection); };
        TrainCallbacks callbacks;
        callbacks.log = [&](const std::string& line) {
            post([this, text = QString::fromStdString(line)] { Q_EMIT logLine(text); });
        };
        callbacks.progress = [&](const TrainProgress& p) { post([this, p] { Q_EMIT progress(p); }); };
        callbacks.abort = &m_abort;
        try {
            const TrainResult result = runTraining(args, callbacks);
            const QString outputDir = QString::fromStdString(result.outputDir);
            const bool plot = args.getBool("plot_loss");
            post([this, outputDir, plot, aborted = result.aborted, step = qint64(result.globalStep)] {
                // As `lathe train` does after a run: the loss figures in the run folder. Drawn here in the
                // GUI thread, where text rendering is always allowed (a fraction of a second, once).
                if (plot) {
                    const auto plotted = plotLoss(outputDir, {QStringLiteral("loss"), QStringLiteral("eval_loss")});
                    for (const QString& w : plotted.warnings)
                        Q_EMIT logLine(w);
                }
                Q_EMIT succeeded(outputDir, aborted, step);
                finish();
            });
        } catch (const std::exception& e) {
            // lathe::Error carries a message for the user; anything else (a libtorch error) is shown too.
            const bool ours = dynamic_cast<const Error*>(&e) != nullptr;
            const QString message = ours ? QString::fromUtf8(e.what())
                                         : tr("Unexpected error: %1").arg(QString::fromUtf8(e.what()));
            post([this, message] {
                Q_EMIT failed(message);
                finish();
            });
        }
    });
    return true;
}

void TrainRunner::abort()
{
    if (m_running)
        m_abort = true;
}

void TrainRunner::finish()
{
    // Runs in the GUI thread once the worker has posted its last event, so the join is immediate.
    if (m_thread.joinable())
        m_thread.join();
    m_running = false;
    Q_EMIT finished();
}

} // namespace lathe

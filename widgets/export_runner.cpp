// Runs one export in a worker thread (see export_runner.h).
#include "export_runner.h"

#include <chrono>
#include <exception>

namespace lathe {

ExportRunner::ExportRunner(QObject* parent) : QObject(parent)
{
    qRegisterMetaType<lathe::ExportJobSummary>();
}

ExportRunner::~ExportRunner()
{
    m_cancel = true;
    if (m_thread.joinable())
        m_thread.join();
}

bool ExportRunner::start(const ExportJobOptions& options)
{
    if (m_running)
        return false;
    if (m_thread.joinable())
        m_thread.join();
    m_cancel = false;
    m_running = true;
    m_thread = std::thread([this, options] {
        auto post = [this](auto fn) { QMetaObject::invokeMethod(this, fn, Qt::QueuedConnection); };
        auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
        auto onProgress = [&](std::int64_t done, std::int64_t total, const std::string& what) {
            // At most ~20 updates a second reach the GUI.
            const auto now = std::chrono::steady_clock::now();
            if (now - last < std::chrono::milliseconds(50) && done + 1 < total)
                return;
            last = now;
            post([this, done, total, name = QString::fromStdString(what)] {
                Q_EMIT progress(done, total, name);
            });
        };
        try {
            const ExportJobSummary summary = runExportJob(options, onProgress, &m_cancel);
            post([this, summary] {
                Q_EMIT succeeded(summary);
                finish();
            });
        } catch (const std::exception& e) {
            const bool cancelled = m_cancel.load();
            post([this, message = QString::fromUtf8(e.what()), cancelled] {
                Q_EMIT failed(message, cancelled);
                finish();
            });
        }
    });
    return true;
}

void ExportRunner::cancel()
{
    if (m_running)
        m_cancel = true;
}

void ExportRunner::finish()
{
    if (m_thread.joinable())
        m_thread.join();
    m_running = false;
    Q_EMIT finished();
}

} // namespace lathe

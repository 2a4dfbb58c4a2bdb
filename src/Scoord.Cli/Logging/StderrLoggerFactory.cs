using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Scoord.Cli.Logging;

/// <summary>
/// scoord's log: one line per message on stderr (stdout belongs to the command's output and to the traced
/// app), in the console logger's single-line form: <c>HH:mm:ss.fffzzz level: Category[EventId] message</c>,
/// an exception on the lines after. Written synchronously under a lock (messages are few and short).
/// It replaces Microsoft.Extensions.Logging's console logger, whose dependency-injection container,
/// options and background thread cost a fair part of every command's start-up (docs/performance.md).
/// </summary>
internal sealed class StderrLoggerFactory(LogLevel minimum, TextWriter stderr) : ILoggerFactory
{
    private readonly Lock _gate = new();

    public ILogger CreateLogger(string categoryName) => new StderrLogger(this, categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
        lock (_gate)
        {
            stderr.Flush();
        }
    }

    private void Write(LogLevel level, string category, EventId id, string message, Exception? exception)
    {
        var line = new StringBuilder(64 + message.Length);
        line.Append(DateTime.Now.ToString("HH:mm:ss.fffzzz", CultureInfo.InvariantCulture)).Append(' ')
            .Append(Short(level)).Append(": ").Append(category).Append('[')
            .Append(id.Id.ToString(CultureInfo.InvariantCulture)).Append("] ").Append(message);
        if (exception is not null)
        {
            line.Append('\n').Append(exception);
        }

        line.Append('\n');
        lock (_gate)
        {
            stderr.Write(line.ToString());
            stderr.Flush();
        }
    }

    private static string Short(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };

    private sealed class StderrLogger(StderrLoggerFactory factory, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= factory._minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                factory.Write(logLevel, category, eventId, formatter(state, exception), exception);
            }
        }
    }

    private readonly LogLevel _minimum = minimum;
}

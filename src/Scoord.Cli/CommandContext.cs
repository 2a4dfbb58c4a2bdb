using System.CommandLine;
using Microsoft.Extensions.Logging;
using Scoord.Cli.Logging;
using Scoord.Cli.Output;

namespace Scoord.Cli;

/// <summary>What one command invocation needs: the journal directory, logging, stdout.</summary>
internal sealed class CommandContext : IDisposable
{
    private StdoutWriter? _stdout;

    private CommandContext(string journalDirectory, LogLevel level, ILoggerFactory loggerFactory)
    {
        JournalDirectory = journalDirectory;
        LogLevel = level;
        LoggerFactory = loggerFactory;
        Logger = loggerFactory.CreateLogger("scoord");
    }

    public string JournalDirectory { get; }

    public LogLevel LogLevel { get; }

    public ILoggerFactory LoggerFactory { get; }

    public ILogger Logger { get; }

    /// <summary>Buffered stdout, created on first use (so `run` never touches the app's stdout).</summary>
    public StdoutWriter Stdout => _stdout ??= StdoutWriter.OpenStandardOutput();

    public static CommandContext Create(ParseResult parseResult, GlobalOptions globals)
    {
        LogLevel level = globals.ResolveLogLevel(parseResult);
        string journal = globals.ResolveJournalDirectory(parseResult);
        return new CommandContext(journal, level, CreateLoggerFactory(level));
    }

    /// <summary>A context for <see cref="CliApplication.ValidateOnly"/>: the global options checked, nothing logged.</summary>
    public static CommandContext CreateForValidation(ParseResult parseResult, GlobalOptions globals)
    {
        LogLevel level = globals.ResolveLogLevel(parseResult);
        string journal = globals.ResolveJournalDirectory(parseResult);
        return new CommandContext(journal, level, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
    }

    /// <summary>Logging to stderr only: stdout belongs to the command's output (and to the traced app).</summary>
    public static ILoggerFactory CreateLoggerFactory(LogLevel level) => new StderrLoggerFactory(level, Console.Error);

    /// <summary>Flushes stdout if anything was written to it.</summary>
    public void FlushOutput() => _stdout?.Flush();

    public void Dispose()
    {
        try
        {
            _stdout?.Flush();
        }
        catch (OutputClosedException)
        {
            // The reader went away; nothing more to say.
        }

        _stdout?.Dispose();
        // Disposing the factory drains the console logger's queue to stderr.
        LoggerFactory.Dispose();
    }
}

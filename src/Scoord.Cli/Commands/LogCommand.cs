using Scoord.Coordinator;
using System.CommandLine;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using Scoord.Cli.Filtering;
using Scoord.Cli.Logging;
using Scoord.Cli.Output;
using Scoord.Journal;
using Scoord.Journal.Undo;

namespace Scoord.Cli.Commands;

/// <summary>`scoord log`: the journal as a table or JSON Lines, filtered, optionally followed.</summary>
internal sealed class LogCommand
{
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(200);

    private readonly CliApplication _app;
    private readonly Option<bool> _json = new("--json") { Description = "JSON Lines: one object per operation, every key on every line" };
    private readonly Option<string?> _pid = new("--pid") { Description = "Only operations of process P", HelpName = "P" };
    private readonly Option<string?> _path = new("--path") { Description = "Only operations whose path or path2 matches GLOB (*, **, ?, [...])", HelpName = "GLOB" };
    private readonly Option<string[]> _op = new("--op") { Description = "Only these operations (syscall names, comma-separated)", HelpName = "OP" };
    private readonly Option<bool> _failed = new("--failed") { Description = "Only failed operations" };
    private readonly Option<bool> _follow = new("--follow", "-f") { Description = "Keep printing new operations while a coordinator runs" };
    private readonly Option<string?> _sinceSeq = new("--since-seq") { Description = "Only operations after sequence number N", HelpName = "N" };
    private readonly Option<bool> _undo = new("--undo") { Description = "Also print each operation's undo items (state before, pre-images, post-state), one indented line each" };

    public LogCommand(CliApplication app)
    {
        _app = app;
        Command = new Command("log", "Print the journal")
        {
            _json,
            _pid,
            _path,
            _op,
            _failed,
            _follow,
            _sinceSeq,
            _undo,
        };
        Command.SetAction(parseResult => _app.Execute(parseResult, "log", context => Execute(parseResult, context), _ => BuildFilter(parseResult, out ulong _)));
    }

    public Command Command { get; }

    private int Execute(ParseResult parseResult, CommandContext context)
    {
        LogFilter filter = BuildFilter(parseResult, out ulong from);
        bool json = parseResult.GetValue(_json);
        if (parseResult.GetValue(_undo) && (json || parseResult.GetValue(_follow)))
        {
            throw new UsageException("--undo: only in the table form (not with --json or --follow)");
        }

        using IEntryWriter writer = json ? new LogJsonWriter(context.Stdout) : new LogTableWriter(context.Stdout);
        if (parseResult.GetValue(_follow))
        {
            return Follow(context, filter, from, writer);
        }

        using JournalStore store = JournalStore.OpenReadOnly(context.JournalDirectory);
        long read = 0, printed = 0;
        using IEnumerator<UndoItem>? undo = parseResult.GetValue(_undo) ? store.Reader.ReadUndo(from, ulong.MaxValue, skipBulkData: true).GetEnumerator() : null;
        bool haveUndo = undo?.MoveNext() ?? false;
        foreach (JournalEntry e in store.Reader.Read(from))
        {
            read++;
            bool match = filter.IsMatch(e);
            if (match)
            {
                writer.Write(e);
                printed++;
            }

            while (haveUndo && undo!.Current.Seq <= e.Seq)
            {
                if (match && undo.Current.Seq == e.Seq)
                {
                    writer.Flush();
                    context.Stdout.WriteLine(UndoText.Describe(undo.Current));
                }

                haveUndo = undo.MoveNext();
            }
        }

        writer.Flush();
        context.Logger.LogPrinted(printed, read);
        return ExitCodes.Success;
    }

    /// <summary>The filter options and the first sequence number to read; a <see cref="UsageException"/> for bad ones.</summary>
    private LogFilter BuildFilter(ParseResult parseResult, out ulong from)
    {
        string? glob = parseResult.GetValue(_path);
        var filter = new LogFilter
        {
            Pid = ParseNumber<int>("--pid", parseResult.GetValue(_pid), "a process id"),
            Path = glob is null ? null : ParseGlob(glob),
            Ops = LogFilter.ParseOps(parseResult.GetValue(_op)),
            FailedOnly = parseResult.GetValue(_failed),
        };
        from = (ParseNumber<ulong>("--since-seq", parseResult.GetValue(_sinceSeq), "a sequence number") ?? 0) + 1;
        return filter;
    }

    private static T? ParseNumber<T>(string option, string? text, string what)
        where T : struct, IBinaryInteger<T>
    {
        if (text is null)
        {
            return null;
        }

        if (!T.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out T value) || value < T.Zero || (value == T.Zero && option == "--pid"))
        {
            throw new UsageException($"{option}: '{text}' is not {what}");
        }

        return value;
    }

    /// <summary>
    /// Prints what is there, then polls (CatchUp every 200 ms) while a coordinator runs. An operation
    /// without a result is held back until it completes, so it is printed once, with its result; when
    /// the coordinator has gone, the journal is read once more without it (a plain read-only open)
    /// and whatever is still pending is printed as pending.
    /// </summary>
    private static int Follow(CommandContext context, LogFilter filter, ulong from, IEntryWriter writer)
    {
        string dir = context.JournalDirectory;
        using var interrupted = new ManualResetEventSlim();
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, signal =>
        {
            signal.Cancel = true;
            interrupted.Set();
        });

        // Every seq below `next` has been printed, except those in `held` (pending when last seen).
        ulong next = from;
        var held = new SortedSet<ulong>();
        JournalStore store = JournalStore.OpenReadOnly(dir);
        try
        {
            while (true)
            {
                bool running = JournalStore.IsCoordinatorRunning(dir, out _);
                if (!running && store.IsSecondary)
                {
                    // The coordinator closed the journal: read the final state directly.
                    store.Dispose();
                    store = JournalStore.OpenReadOnly(dir);
                }

                store.CatchUp();
                next = PrintNew(store, filter, writer, next, held, holdPending: running);
                writer.Flush();
                context.Logger.FollowPoll(running ? "running" : "stopped", next - 1);
                if (!running)
                {
                    return ExitCodes.Success;
                }

                if (interrupted.Wait(s_pollInterval))
                {
                    context.Logger.FollowInterrupted();
                    return ExitCodes.Interrupted;
                }
            }
        }
        finally
        {
            store.Dispose();
        }
    }

    private static ulong PrintNew(JournalStore store, LogFilter filter, IEntryWriter writer, ulong next, SortedSet<ulong> held, bool holdPending)
    {
        ulong start = held.Count > 0 ? Math.Min(held.Min, next) : next;
        foreach (JournalEntry e in store.Reader.Read(start))
        {
            bool seen = e.Seq < next;
            if (seen && !held.Contains(e.Seq))
            {
                continue;
            }

            if (!filter.IsMatch(e) && e.Status != EntryStatus.Pending)
            {
                held.Remove(e.Seq);
            }
            else if (e.Status == EntryStatus.Pending && holdPending)
            {
                held.Add(e.Seq);
            }
            else
            {
                held.Remove(e.Seq);
                if (filter.IsMatch(e))
                {
                    writer.Write(e);
                }
            }

            if (e.Seq >= next)
            {
                next = e.Seq + 1;
            }
        }

        return next;
    }

    private static PathGlob ParseGlob(string glob)
    {
        try
        {
            return PathGlob.Parse(glob);
        }
        catch (ArgumentException)
        {
            throw new UsageException("--path: empty pattern");
        }
    }
}

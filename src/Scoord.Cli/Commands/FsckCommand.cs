using System.CommandLine;
using System.Globalization;
using Scoord.Journal.Checking;

namespace Scoord.Cli.Commands;

/// <summary>
/// `scoord fsck`: checks every record of the journal and the references between families; prints one
/// line per damage, then a summary. Exit 0 when clean, 1 when damaged (or when the journal cannot be opened).
/// </summary>
internal sealed class FsckCommand
{
    private readonly CliApplication _app;

    public FsckCommand(CliApplication app)
    {
        _app = app;
        Command = new Command("fsck", "Check every record of the journal; report each damage on one line");
        Command.SetAction(parseResult => _app.Execute(parseResult, "fsck", Execute));
    }

    public Command Command { get; }

    private static int Execute(CommandContext context)
    {
        JournalCheckReport r = JournalChecker.Check(context.JournalDirectory);
        foreach (string d in r.Damage)
        {
            context.Stdout.WriteLine("damaged: " + d);
        }

        CultureInfo c = CultureInfo.InvariantCulture;
        if (r.RingRecords >= 0)
        {
            context.Stdout.WriteLine(string.Format(
                c,
                "fast path ring of a run that did not end: {0} records, not yet in the journal (the next `scoord run`, `checkpoint`, `rollback` or `log` applies them)",
                r.RingRecords));
        }

        // The counts add up to the total; records in none of them (undecodable ones) are counted as such.
        string unaccounted = r.Unaccounted > 0 ? string.Format(c, ", {0} undecodable", r.Unaccounted) : string.Empty;
        context.Stdout.WriteLine(string.Format(
            c,
            "journal {0}: {1} records ({2} intents, {3} completions, {4} undo items, {5} process events, {6} process index rows, {7} checkpoints, {8} checkpoint events, {9} meta records{10}), last seq {11}: {12}",
            r.Directory,
            r.Records,
            r.Intents,
            r.Completions,
            r.UndoItems,
            r.ProcessEvents,
            r.ProcessIndexRows,
            r.Checkpoints,
            r.CheckpointEvents,
            r.MetaRecords,
            unaccounted,
            r.LastSeq,
            r.IsClean ? "clean" : r.Damage.Count.ToString(c) + " damaged"));
        return r.IsClean ? ExitCodes.Success : ExitCodes.Failure;
    }
}

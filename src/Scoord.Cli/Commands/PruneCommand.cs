using System.CommandLine;
using System.Globalization;
using Scoord.Cli.Output;
using Scoord.Journal;

namespace Scoord.Cli.Commands;

/// <summary>
/// `scoord prune --keep N`: keeps the N newest checkpoints and drops the undo data only older ones
/// need; the disk space comes back (range delete, flush, compaction).
/// </summary>
internal sealed class PruneCommand
{
    private readonly CliApplication _app;
    private readonly Option<int> _keep = new("--keep") { Description = "How many of the newest checkpoints stay reachable (at least 1)", Required = true };

    public PruneCommand(CliApplication app)
    {
        _app = app;
        Command = new Command("prune", "Drop the undo data of all but the newest N checkpoints") { _keep };
        Command.SetAction(parseResult => _app.Execute(parseResult, "prune", context => Execute(parseResult, context)));
    }

    public Command Command { get; }

    private static int Execute(ParseResult parseResult, CommandContext context)
    {
        if (JournalStore.IsCoordinatorRunning(context.JournalDirectory, out int pid))
        {
            throw new ScoordException($"journal {context.JournalDirectory} is in use by a running scoord (pid {pid}); prune it when the run has ended");
        }

        int keep = parseResult.GetValue<int>("--keep");
        PruneResult r;
        using (JournalStore store = JournalStore.OpenForWriting(context.JournalDirectory))
        {
            r = JournalPruner.Prune(store, keep);
        }

        CultureInfo c = CultureInfo.InvariantCulture;
        context.Stdout.WriteLine(r.CheckpointsDropped == 0
            ? string.Format(c, "nothing to prune: {0} checkpoint(s) or fewer", keep)
            : string.Format(c, "pruned {0} checkpoint(s); the oldest reachable is now {1}; undo data dropped {2}; journal {3} -> {4}",
                r.CheckpointsDropped, r.OldestKeptId, SizeText.Human(r.UndoBytesDropped), SizeText.Human(r.BytesBefore), SizeText.Human(r.BytesAfter))
              + (r.ImagesMerged + r.ImagesDropped + r.PagesDropped == 0 ? "" : string.Format(c, "; memory images made full {0}, dropped {1}; pages dropped {2}",
                r.ImagesMerged, r.ImagesDropped, r.PagesDropped)));
        return ExitCodes.Success;
    }
}

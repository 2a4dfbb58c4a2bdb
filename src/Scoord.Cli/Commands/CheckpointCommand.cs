using System.CommandLine;
using System.Globalization;
using Scoord.Cli.Logging;
using Scoord.Coordinator.Control;
using Scoord.Journal;

namespace Scoord.Cli.Commands;

/// <summary>
/// `scoord checkpoint [--name NAME]`: takes a checkpoint and prints its id. With a coordinator running
/// (from inside the app or outside it) the request goes through DIR/control.sock and the coordinator
/// takes it as a barrier; with nothing running the record is written into the journal directly.
/// </summary>
internal sealed class CheckpointCommand
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan s_exitWait = TimeSpan.FromSeconds(10);

    private readonly CliApplication _app;
    private readonly Option<string?> _name = new("--name") { Description = "Name of the checkpoint (default ckpt-ID); unique, not all digits", HelpName = "NAME" };

    public CheckpointCommand(CliApplication app)
    {
        _app = app;
        Command = new Command("checkpoint", "Take a checkpoint (a rollback point) and print its id") { _name };
        Command.SetAction(parseResult => _app.Execute(parseResult, "checkpoint", context => Execute(parseResult, context), _ => ValidateName(parseResult.GetValue(_name))));
    }

    public Command Command { get; }

    private int Execute(ParseResult parseResult, CommandContext context)
    {
        string? name = parseResult.GetValue(_name);
        ValidateName(name);

        CheckpointInfo taken = Take(context, name);
        context.Logger.CheckpointTaken(taken.Id, taken.Name, taken.Seq);
        context.Stdout.WriteLine(taken.Id.ToString(CultureInfo.InvariantCulture));
        return ExitCodes.Success;
    }

    private static void ValidateName(string? name)
    {
        if (name is not null && CheckpointNames.Validate(name) is { } invalid)
        {
            throw new UsageException("--name: " + invalid);
        }
    }

    private static CheckpointInfo Take(CommandContext context, string? name)
    {
        string dir = context.JournalDirectory;
        for (int attempt = 0; ; attempt++)
        {
            bool last = attempt >= 2;
            if (JournalStore.IsCoordinatorRunning(dir, out int pid))
            {
                context.Logger.CheckpointThroughCoordinator(pid);
                try
                {
                    return ControlClient.Checkpoint(dir, name, s_timeout);
                }
                catch (CoordinatorLostException e) when (!last && JournalStore.WaitForCoordinatorExit(dir, pid, s_exitWait))
                {
                    // It exited before it answered (between the probe and the request, or killed during the
                    // barrier): once every file of it is closed, take the checkpoint without it.
                    context.Logger.CheckpointRetry(e.Message);
                    continue;
                }
            }

            // Nothing runs. A foreign or damaged journal is reported by the read-only open before
            // anything is written; a missing one is created, so that a checkpoint can be taken before
            // the first run (`scoord checkpoint --name clean; scoord run -- make; scoord rollback clean`).
            if (Directory.Exists(dir))
            {
                using (JournalStore.OpenReadOnly(dir))
                {
                }
            }

            context.Logger.CheckpointOffline();
            try
            {
                using JournalStore store = JournalStore.OpenForWriting(dir, context.Logger);
                CheckpointInfo c = store.Writer.AppendCheckpoint(name, NowNs());
                store.Writer.Commit(sync: true);
                return c;
            }
            catch (JournalException e) when (!last && JournalStore.IsCoordinatorRunning(dir, out _))
            {
                // A coordinator started meanwhile and holds the journal: ask it instead.
                context.Logger.CheckpointRetry(e.Message);
            }
        }
    }

    private static long NowNs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
}

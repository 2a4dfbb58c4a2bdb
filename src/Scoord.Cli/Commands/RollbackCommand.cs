using System.CommandLine;
using System.Globalization;
using Scoord.Coordinator.Rollback;
using Scoord.Journal;

namespace Scoord.Cli.Commands;

/// <summary>
/// `scoord rollback CKPT [--dry-run] [--force]`: restores the files to a checkpoint. Exit 0 when
/// everything was restored, 3 when a conflict (a change made outside the journal) was left alone,
/// 1 when an action failed.
/// </summary>
internal sealed class RollbackCommand
{
    public const int ConflictExitCode = 3;

    private readonly CliApplication _app;
    private readonly Argument<string> _checkpoint = new("CKPT") { Description = "Checkpoint id (all digits) or name" };
    private readonly Option<bool> _dryRun = new("--dry-run", "-n") { Description = "List what would change; change nothing" };
    private readonly Option<bool> _force = new("--force") { Description = "Also restore objects changed outside the journal" };
    private readonly Option<bool> _stop = new("--stop") { Description = "If the application runs, stop it first (SIGTERM, then SIGKILL after 30 s)" };

    public RollbackCommand(CliApplication app)
    {
        _app = app;
        Command = new Command("rollback", "Roll the files back to a checkpoint") { _checkpoint, _dryRun, _force, _stop };
        Command.SetAction(parseResult => _app.Execute(parseResult, "rollback", context => Execute(parseResult, context)));
    }

    public Command Command { get; }

    private int Execute(ParseResult parseResult, CommandContext context)
    {
        string checkpoint = parseResult.GetValue(_checkpoint)!;
        bool dryRun = parseResult.GetValue(_dryRun);
        if (parseResult.GetValue(_stop) && !dryRun)
        {
            StopCoordinator(context.JournalDirectory);
        }

        using var progress = new TerminalProgress();
        RollbackResult r = RollbackEngine.Run(context.JournalDirectory, checkpoint, dryRun, parseResult.GetValue(_force), progress.Enabled ? progress : null);
        progress.Clear();

        foreach (string c in r.Conflicts)
        {
            Console.Error.WriteLine("scoord: " + c);
        }

        foreach (string e in r.Errors)
        {
            Console.Error.WriteLine("scoord: " + e);
        }

        CultureInfo ci = CultureInfo.InvariantCulture;
        string name = r.Checkpoint.Name;
        if (dryRun)
        {
            foreach (string line in r.Planned)
            {
                context.Stdout.WriteLine(line);
            }

            context.Stdout.WriteLine(string.Create(ci, $"dry run: {r.Planned.Count} change(s) to roll back to checkpoint {r.Checkpoint.Id} ({name}); nothing changed"));
        }
        else if (r.Actions == 0 && r.Errors.Count == 0)
        {
            context.Stdout.WriteLine(string.Create(ci, $"checkpoint {r.Checkpoint.Id} ({name}): the files the journal knows are already as they were; nothing to do"));
            if (r.ConflictsLeftAlone > 0)
            {
                context.Stdout.WriteLine(string.Create(ci, $"{r.ConflictsLeftAlone} conflict(s) left alone: rerun with --force to restore them too"));
            }
        }
        else
        {
            context.Stdout.WriteLine(string.Create(ci,
                $"rolled back to checkpoint {r.Checkpoint.Id} ({name}): {r.Removed} removed, {r.Recreated} recreated, {r.Renamed} renamed, {r.ContentRestored} content restored, {r.MetadataRestored} metadata restored, {r.Actions} actions journaled"));
            if (r.BeforeRollback is { } before)
            {
                context.Stdout.WriteLine(string.Create(ci, $"the state before this rollback is checkpoint {before.Id} ({before.Name})"));
                context.Stdout.WriteLine(string.Create(ci, $"undo this rollback with: scoord rollback {before.Id}"));
            }
            if (r.ConflictsLeftAlone > 0)
            {
                context.Stdout.WriteLine(string.Create(ci, $"{r.ConflictsLeftAlone} conflict(s) left alone: rerun with --force to restore them too"));
            }
        }

        Console.Error.Flush();
        return r.ExitCode switch
        {
            0 => ExitCodes.Success,
            3 => ConflictExitCode,
            _ => ExitCodes.Failure,
        };
    }

    /// <summary>"rolling back: 1200/5000" on stderr, only when stderr is a terminal.</summary>
    private sealed class TerminalProgress : IProgress<RollbackProgress>, IDisposable
    {
        private long _lastTicks;
        private bool _shown;

        public bool Enabled { get; } = !Console.IsErrorRedirected;

        public void Report(RollbackProgress value)
        {
            long now = Environment.TickCount64;
            if (now - _lastTicks < 200)
            {
                return;
            }

            _lastTicks = now;
            _shown = true;
            Console.Error.Write(string.Create(CultureInfo.InvariantCulture, $"\r{value.Phase}: {value.Done}/{value.Total}\u001b[K"));
        }

        public void Clear()
        {
            if (_shown)
            {
                Console.Error.Write("\r\u001b[K");
                _shown = false;
            }
        }

        public void Dispose() => Clear();
    }

    /// <summary>
    /// --stop: the running `scoord run` passes SIGTERM on to the application; when the application
    /// has exited the coordinator releases the journal. After 30 s, SIGKILL (the app dies with it).
    /// </summary>
    private static void StopCoordinator(string dir)
    {
        if (!JournalStore.IsCoordinatorRunning(dir, out int pid) || pid <= 0)
        {
            return;
        }

        Signal(pid, 15); // SIGTERM: scoord passes it on to the application and ends with it
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (JournalStore.IsCoordinatorRunning(dir, out _))
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(30))
            {
                Signal(pid, 9); // SIGKILL: the traced application dies with it (PTRACE_O_EXITKILL)
            }

            if (sw.Elapsed > TimeSpan.FromSeconds(40))
            {
                throw new ScoordException($"the running scoord (pid {pid}) did not stop");
            }

            Thread.Sleep(50);
        }
    }

    private static int Signal(int pid, int sig) => Scoord.Interceptors.Interop.Libc.kill(pid, sig);
}

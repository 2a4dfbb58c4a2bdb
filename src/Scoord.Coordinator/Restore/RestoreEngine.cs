using System.Globalization;
using Microsoft.Extensions.Logging;
using Scoord.Coordinator.Rollback;
using Scoord.Journal;

namespace Scoord.Coordinator.Restore;

/// <summary>What `scoord restore CKPT [--force] [-- COMMAND]` was asked.</summary>
public sealed record RestoreRequest
{
    public required string JournalDirectory { get; init; }

    /// <summary>An id if all digits, else a name.</summary>
    public required string Checkpoint { get; init; }

    /// <summary>The command to relaunch; null or empty: the recorded command line, in its recorded cwd and environment.</summary>
    public IReadOnlyList<string>? Command { get; init; }

    /// <summary>Passed to the rollback: also restore objects changed outside the journal.</summary>
    public bool Force { get; init; }
}

/// <summary>What a restore will relaunch, decided before anything is changed.</summary>
public sealed record RestorePlan(CheckpointInfo Checkpoint, RunRecord? Run, RunOptions Options, string? Cwd, IReadOnlyDictionary<string, string>? Environment);

/// <summary>
/// `scoord restore CKPT`: storage rollback to CKPT, then the memory half. With the app's own checkpoints
/// (or none) the memory half is a relaunch of the application under scoord, on the same journal and with
/// the same run options, in the foreground; it finds its own checkpoint file, which the rollback brought
/// back to the one that belongs to CKPT. See docs/synchronizer.md, "Restore".
/// </summary>
public static partial class RestoreEngine
{
    /// <summary>Exit status when conflicts were left alone (as `scoord rollback`): nothing is relaunched.</summary>
    public const int ConflictExitCode = 3;

    /// <summary>
    /// Decides what to relaunch: refuses while a coordinator runs on the journal; finds CKPT and the
    /// newest run record that began before it. Changes nothing. Throws <see cref="ScoordException"/>.
    /// </summary>
    public static RestorePlan Plan(RestoreRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        string dir = Path.GetFullPath(request.JournalDirectory);
        RefuseIfRunning(dir);
        CheckpointInfo ckpt;
        RunRecord? run;
        bool explicitCommand = request.Command is { Count: > 0 };
        bool restoreMemory = false;
        using (JournalStore ro = JournalStore.OpenReadOnly(dir))
        {
            ckpt = ro.Reader.FindCheckpoint(request.Checkpoint);
            run = ro.RunBefore(ckpt.Seq);
            if (!explicitCommand && run is not null && RunRecorder.ToRunOptions(run, dir, run.Argv).Memory == MemoryProvider.Scoord)
            {
                // The image is read and checked now: a restore it could not finish is refused before the rollback.
                _ = Memory.RestoreSource.Load(ro, ckpt.Id);
                restoreMemory = true;
            }
        }

        if (!explicitCommand && run is null)
        {
            throw new ScoordException(string.Create(CultureInfo.InvariantCulture,
                $"no run of the journal began before checkpoint {ckpt.Id} ({ckpt.Name}), so there is no command line to relaunch: give one, `scoord restore {request.Checkpoint} -- COMMAND`"));
        }

        IReadOnlyList<string> command = explicitCommand ? request.Command! : run!.Argv;
        RunOptions options = run is null
            ? new RunOptions { JournalDirectory = dir, Command = command }
            : RunRecorder.ToRunOptions(run, dir, command);
        options = options with { RestoredFrom = ckpt.Id, RestoreMemory = restoreMemory };
        if (options.Memory == MemoryProvider.Criu)
        {
            throw new ScoordException("the run used --memory criu, and the CRIU restore is not implemented (criu cannot run on this machine; docs/synchronizer.md)");
        }

        return explicitCommand
            ? new RestorePlan(ckpt, run, options, Cwd: null, Environment: null)
            : new RestorePlan(ckpt, run, options, run!.Cwd, run.Environment);
    }

    /// <summary>
    /// The whole restore: <see cref="Plan"/>, rollback (conflict and error lines go to <paramref name="stderr"/> as
    /// `scoord: ...`), then the relaunch in the foreground. Returns the relaunched program's exit status, or
    /// 3 (conflicts left alone) / 1 (the rollback failed) without relaunching.
    /// </summary>
    public static int Run(RestoreRequest request, ILoggerFactory loggerFactory, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(stderr);
        ILogger logger = loggerFactory.CreateLogger("Scoord.Coordinator.Restore");
        RestorePlan plan = Plan(request);
        string dir = plan.Options.JournalDirectory;

        RollbackResult r = RollbackEngine.Run(dir, plan.Checkpoint.Id.ToString(CultureInfo.InvariantCulture), dryRun: false, request.Force, progress: null);
        foreach (string c in r.Conflicts)
        {
            stderr.WriteLine("scoord: " + c);
        }

        foreach (string e in r.Errors)
        {
            stderr.WriteLine("scoord: " + e);
        }

        LogRolledBack(logger, r.Checkpoint.Id, r.Checkpoint.Name, r.Actions);
        if (r.ExitCode != 0)
        {
            stderr.WriteLine(r.ExitCode == ConflictExitCode
                ? string.Create(CultureInfo.InvariantCulture, $"scoord: restore: {r.ConflictsLeftAlone} conflict(s) left alone, so the app was not restarted: rerun with --force to restore them too")
                : "scoord: restore: the rollback failed, so the app was not restarted");
            stderr.Flush();
            return r.ExitCode == ConflictExitCode ? ConflictExitCode : 1;
        }

        stderr.Flush();
        if (plan.Cwd is not null)
        {
            EnterRecordedContext(plan.Cwd, plan.Environment!);
        }

        LogRelaunching(logger, string.Join(' ', plan.Options.Command), Environment.CurrentDirectory);
        return Runner.Run(plan.Options, loggerFactory);
    }

    private static void RefuseIfRunning(string dir)
    {
        if (JournalStore.IsCoordinatorRunning(dir, out int pid))
        {
            throw new ScoordException(pid > 0
                ? $"journal {dir} is in use by a running scoord (pid {pid}); stop it before restoring"
                : $"journal {dir} is in use by a running scoord; stop it before restoring");
        }
    }

    /// <summary>Makes this process's cwd and environment those of the recorded run: the relaunched program inherits them.</summary>
    private static void EnterRecordedContext(string cwd, IReadOnlyDictionary<string, string> environment)
    {
        try
        {
            Directory.SetCurrentDirectory(cwd);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ScoordException($"cannot enter the recorded working directory {cwd}: {e.Message}");
        }

        foreach (System.Collections.DictionaryEntry kv in Environment.GetEnvironmentVariables())
        {
            string key = (string)kv.Key;
            if (!environment.ContainsKey(key))
            {
                Environment.SetEnvironmentVariable(key, null);
            }
        }

        foreach ((string key, string value) in environment)
        {
            if (key.Length > 0 && !key.Contains('=', StringComparison.Ordinal))
            {
                Environment.SetEnvironmentVariable(key, value.Length == 0 ? null : value);
            }
        }
    }

    [LoggerMessage(EventId = 250, Level = LogLevel.Information, Message = "restore: rolled back to checkpoint {Id} '{Name}' ({Actions} actions)")]
    private static partial void LogRolledBack(ILogger logger, int id, string name, long actions);

    [LoggerMessage(EventId = 251, Level = LogLevel.Information, Message = "restore: relaunching {Command} in {Cwd}")]
    private static partial void LogRelaunching(ILogger logger, string command, string cwd);
}

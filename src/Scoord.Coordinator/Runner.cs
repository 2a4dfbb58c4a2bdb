using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Scoord.Coordinator.Control;
using Scoord.Coordinator.Launch;
using Scoord.Coordinator.Restore;
using Scoord.Coordinator.Tracing;
using Scoord.Interceptors;
using Scoord.Interceptors.Seccomp;
using Scoord.Journal;

namespace Scoord.Coordinator;

/// <summary>Entry point of `scoord run`.</summary>
public static partial class Runner
{
    /// <summary>
    /// Runs the command under the tracer and returns its exit status (128+N when killed by signal N).
    /// Throws <see cref="ScoordException"/> (one-line message) for bad input: program not found,
    /// journal in use, corrupt or foreign journal.
    /// </summary>
    public static int Run(RunOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ILogger logger = loggerFactory.CreateLogger("Scoord.Coordinator");
        if (options.Command.Count == 0)
        {
            throw new ScoordException("no program given: use `scoord run -- PROGRAM ARGS`");
        }

        string program = Launcher.ResolveProgram(options.Command[0], Environment.GetEnvironmentVariable("PATH"));
        string launcherPath = Launcher.LocateLauncher();
        string journalDir = Path.GetFullPath(options.JournalDirectory);
        // Synchronizer: the memory provider must be usable (--memory criu runs `criu check`) before anything starts.
        MemoryProviderCheck.Ensure(options);

        using JournalStore store = JournalStore.OpenForWriting(journalDir, logger);
        // Synchronizer: what is run, where, with which environment and options, for `scoord restore`.
        RunRecord runRecord = RunRecorder.Begin(store, options);
        TracerOptions tracerOptions = BuildTracerOptions(journalDir, options);
        var tracer = new Tracer(store.Writer, tracerOptions, logger);

        // Checkpoints of the running app (control socket and --checkpoint-every) go through the tracer's barrier.
        ICheckpointTaker checkpointTaker = tracer;
        using ControlServer server = ControlServer.Start(journalDir, checkpointTaker, logger);
        var filterOptions = new FilterOptions
        {
            StdioFastFds = StdioFastFds(),
            TraceSyncs = options.Durability != Durability.Process,
            TraceCloses = options.AppCheckpoint.Count > 0,
        };

        // Orphaned (daemonized) descendants are re-parented to scoord and so stay traced and waited for.
        Interop.Libc.prctl(Interop.Libc.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

        int exitStatus = 1;
        Exception? failure = null;
        int mainPid = 0;
        // Ctrl-C, Ctrl-\ and a hangup reach the app through the terminal's process group; scoord
        // stays alive to journal what the app does about them. SIGTERM sent to scoord is passed on.
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => c.Cancel = true);
        using PosixSignalRegistration sigquit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, c => c.Cancel = true);
        using PosixSignalRegistration sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => c.Cancel = true);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            if (Volatile.Read(ref mainPid) > 0)
            {
                Interop.Libc.kill(mainPid, Interop.Libc.SIGTERM);
            }
        });

        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry kv in Environment.GetEnvironmentVariables())
        {
            environment[(string)kv.Key] = (string?)kv.Value ?? string.Empty;
        }

        environment["SCOORD_JOURNAL"] = journalDir;
        var thread = new Thread(() =>
        {
            try
            {
                using var launcher = new Launcher();
                launcher.Spawn(launcherPath, program, options.Command, environment);
                Volatile.Write(ref mainPid, launcher.Pid);
                exitStatus = tracer.Run(launcher, filterOptions);
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        })
        {
            Name = "scoord-tracer",
            IsBackground = false,
        };
        thread.Start();
        CheckpointTimer? timer = options.CheckpointEvery is { } every && options.CheckpointSignal is null
            ? CheckpointTimer.Start(every, checkpointTaker, () => [.. store.Reader.ListCheckpoints().Select(c => c.Name)], logger)
            : null;
        // Synchronizer: --checkpoint-signal asks the app instead; its checkpoint file (--app-checkpoint) is the rollback point.
        CheckpointSignalTimer? signalTimer = options.CheckpointEvery is { } interval && options.CheckpointSignal is { } signal
            ? CheckpointSignalTimer.Start(interval, options.CheckpointTimeout, signal, () => Volatile.Read(ref mainPid), store.Reader.ListCheckpoints, Console.Error, logger)
            : null;
        thread.Join();
        timer?.Dispose();
        signalTimer?.Dispose();
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        }

        try
        {
            RunRecorder.End(store, runRecord, exitStatus);
        }
        catch (JournalException e)
        {
            // The app has run and its status is what `run` returns; a journal that cannot take the
            // end-of-run record (e.g. it is full) loses only that record.
            LogRunEndNotRecorded(logger, e.Message);
        }

        LogFinished(logger, exitStatus);
        return exitStatus;
    }

    private static int StdioFastFds()
    {
        int mask = 0;
        for (int fd = 0; fd < 3; fd++)
        {
            if (!IsRegularFile(fd))
            {
                mask |= 1 << fd;
            }
        }

        return mask;
    }

    private static unsafe bool IsRegularFile(int fd)
    {
        Interop.Stat st;
        return Interop.Libc.fstat(fd, &st) == 0 && (st.st_mode & Interop.Libc.S_IFMT) == Interop.Libc.S_IFREG;
    }

    private static TracerOptions BuildTracerOptions(string journalDir, RunOptions options)
    {
        string canonical = RealPath(journalDir);
        var protectedDirs = new HashSet<(ulong, ulong)>();
        AddIdentity(protectedDirs, canonical);
        foreach (string dir in Directory.EnumerateDirectories(canonical, "*", SearchOption.AllDirectories))
        {
            AddIdentity(protectedDirs, dir);
        }

        var ancestors = new HashSet<(ulong, ulong)>();
        for (string? p = Path.GetDirectoryName(canonical); p is not null; p = Path.GetDirectoryName(p))
        {
            AddIdentity(ancestors, p);
        }

        return new TracerOptions
        {
            JournalPath = Encoding.UTF8.GetBytes(canonical),
            ProtectedDirs = protectedDirs,
            JournalAncestors = ancestors,
            Only = ScopePaths(options.Only),
            Exclude = ScopePaths(options.Exclude),
            Durability = options.Durability,
            AppCheckpointGlobs = [.. options.AppCheckpoint.Select(g => PathGlob.Parse(g.StartsWith('/') || g.StartsWith("**", StringComparison.Ordinal) ? g : Path.GetFullPath(g)))],
            OnCheckpoint = options.OnCheckpoint,
        };
    }

    private static byte[][] ScopePaths(IReadOnlyList<string> paths)
    {
        var result = new byte[paths.Count][];
        for (int i = 0; i < paths.Count; i++)
        {
            string full = Path.GetFullPath(paths[i]);
            string real = Path.Exists(full) ? RealPath(full) : full.TrimEnd('/');
            result[i] = Encoding.UTF8.GetBytes(real.Length == 0 ? "/" : real);
        }

        return result;
    }

    private static unsafe void AddIdentity(HashSet<(ulong, ulong)> set, string path)
    {
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        Interop.Stat st;
        fixed (byte* pp = p)
        {
            if (Interop.Libc.fstatat(Interop.Libc.AT_FDCWD, pp, &st, 0) == 0)
            {
                set.Add((st.st_dev, st.st_ino));
            }
        }
    }

    internal static unsafe string RealPath(string path)
    {
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        byte* buf = stackalloc byte[4097];
        fixed (byte* pp = p)
        {
            byte* r = Interop.Libc.realpath(pp, buf);
            return r == null ? path : Marshal.PtrToStringUTF8((nint)r) ?? path;
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "traced program finished with status {Status}")]
    private static partial void LogFinished(ILogger logger, int status);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "the end of the run was not recorded: {Reason}")]
    private static partial void LogRunEndNotRecorded(ILogger logger, string reason);
}

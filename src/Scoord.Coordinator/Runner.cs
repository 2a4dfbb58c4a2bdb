using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Scoord.Coordinator.Control;
using Scoord.Coordinator.FastPath;
using Scoord.Coordinator.Launch;
using Scoord.Coordinator.Restore;
using Scoord.Coordinator.Tracing;
using Scoord.Interceptors;
using Scoord.Interceptors.Decoding;
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
        // Application groups: a coordinator already runs on this journal, so the program joins its group.
        for (int attempt = 0; JournalStore.IsCoordinatorRunning(journalDir, out int coordinatorPid) && coordinatorPid != Environment.ProcessId; attempt++)
        {
            try
            {
                return JoinGroup(journalDir, program, options, coordinatorPid, logger);
            }
            catch (JoinClient.GroupEndedException) when (attempt < 100)
            {
                Thread.Sleep(50); // the coordinator is finishing: wait for its lock to go, then run on our own
            }
            catch (JoinClient.GroupEndedException e)
            {
                throw new ScoordException($"journal {journalDir} is in use by scoord (pid {coordinatorPid}) and it does not take this program: {e.Message}");
            }
        }

        // Synchronizer: the memory provider must be usable (--memory criu runs `criu check`) before anything starts.
        MemoryProviderCheck.Ensure(options);

        using JournalStore store = JournalStore.OpenForWriting(journalDir, logger);
        // Synchronizer: what is run, where, with which environment and options, for `scoord restore`.
        Task<RunRecord> runRecord = RunRecorder.BeginInBackground(store, options);
        using var recordWritten = new WaitOnDispose(runRecord); // before the store closes, whatever happens
        // Synchronizer: `scoord restore` of a memory image brings the process back instead of launching the command.
        Memory.RestoreSource? restoreSource = options.RestoreMemory && options.RestoredFrom is int from ? Memory.RestoreSource.Load(store, from) : null;
        TracerOptions tracerOptions = BuildTracerOptions(journalDir, options);
        int stdioFast = StdioFastFds(options.JournalStdio);
        using FastPathSession? fastPath = StartFastPath(store, options, tracerOptions, stdioFast, logger);
        tracerOptions.FastPath = fastPath;
        var tracer = new Tracer(store.Writer, tracerOptions, logger);

        // Checkpoints of the running app (control socket and --checkpoint-every) go through the tracer's barrier.
        ICheckpointTaker checkpointTaker = tracer.Checkpoints;
        using ControlServer server = ControlServer.Start(journalDir, checkpointTaker, logger, tracer.Group);
        var filterOptions = new FilterOptions
        {
            StdioFastFds = stdioFast,
            TraceSyncs = options.Durability != Durability.Process,
            TraceCloses = options.AppCheckpoint.Count > 0,
            FastPathStub = fastPath is null ? 0 : Journal.Ring.RingLayout.StubAddress,
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

            tracer.Group.SignalJoinedApplications(Interop.Libc.SIGTERM); // the whole group ends, not only the first program
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
                launcher.Spawn(launcherPath, program, options.Command, environment,
                    protectDirectory: ProtectByMountNamespace(options) ? tracerOptions.JournalPathText : null,
                    debug: logger.IsEnabled(LogLevel.Debug),
                    fastPath: fastPath is null ? null : (fastPath.LibraryPath, fastPath.Directory),
                    restorePid: restoreSource?.FirstPid ?? 0);
                if (restoreSource is not null)
                {
                    Volatile.Write(ref mainPid, restoreSource.MainPid);
                    exitStatus = tracer.RunRestored(launcher, filterOptions, restoreSource);
                }
                else
                {
                    Volatile.Write(ref mainPid, launcher.Pid);
                    exitStatus = tracer.Run(launcher, filterOptions);
                }
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
            RunRecorder.End(store, runRecord.GetAwaiter().GetResult(), exitStatus);
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

    private static int JoinGroup(string journalDir, string program, RunOptions options, int coordinatorPid, ILogger logger)
    {
        if (IgnoredWhenJoining(options) is { } ignored)
        {
            LogJoinIgnores(logger, coordinatorPid, ignored);
        }

        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry kv in Environment.GetEnvironmentVariables())
        {
            environment[(string)kv.Key] = (string?)kv.Value ?? string.Empty;
        }

        var request = new JoinRequest(program, [.. options.Command], Environment.CurrentDirectory, environment, IgnoredSignals());
        int status = JoinClient.Run(journalDir, request, (app, pid) => LogJoined(logger, coordinatorPid, app, pid));
        LogFinished(logger, status);
        return status;
    }

    /// <summary>
    /// The signals this process has ignored (SigIgn of /proc/self/status: what it inherited, e.g. SIGHUP under
    /// nohup, plus SIGPIPE, which .NET ignores and the launcher resets); null when it cannot be read.
    /// </summary>
    private static ulong? IgnoredSignals()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("SigIgn:", StringComparison.Ordinal)
                    && ulong.TryParse(line.AsSpan(7).Trim(), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out ulong mask))
                {
                    return mask;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    /// <summary>Options that belong to the running coordinator and so have no effect on a joining program.</summary>
    private static string? IgnoredWhenJoining(RunOptions o)
    {
        var names = new List<string>();
        if (o.Durability != Durability.Process)
        {
            names.Add("--durability");
        }

        if (o.CheckpointEvery is not null)
        {
            names.Add("--checkpoint-every");
        }

        if (o.CheckpointSignal is not null)
        {
            names.Add("--checkpoint-signal");
        }

        if (o.AppCheckpoint.Count > 0)
        {
            names.Add("--app-checkpoint");
        }

        if (o.OnCheckpoint is not null)
        {
            names.Add("--on-checkpoint");
        }

        if (o.Only.Count > 0 || o.Exclude.Count > 0)
        {
            names.Add("--only/--exclude");
        }

        return names.Count == 0 ? null : string.Join(", ", names);
    }

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "joining the application group of the running coordinator (pid {Pid}): its options apply, {Options} ignored")]
    private static partial void LogJoinIgnores(ILogger logger, int pid, string options);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "joined the application group of coordinator {Coordinator} as application {App} (pid {Pid})")]
    private static partial void LogJoined(ILogger logger, int coordinator, int app, int pid);

    /// <summary>
    /// The launcher makes the journal read-only for the app in a private mount namespace (root only;
    /// it falls back to the tracer's path checks elsewhere). Not under CRIU: a dump of a tree in a
    /// mount namespace of its own would have to dump and restore that namespace too.
    /// </summary>
    private static bool ProtectByMountNamespace(RunOptions options)
        => options.Memory != MemoryProvider.Criu && Environment.GetEnvironmentVariable("SCOORD_NO_MOUNT_PROTECTION") is null;

    /// <summary>
    /// The in-process fast path, on by default. Off with --no-fastpath, SCOORD_NO_FASTPATH or SCOORD_FASTPATH=0 (FastPathSession.DisabledByEnvironment), and where it
    /// cannot keep a promise the ptrace way keeps: --durability strict (an fsync per operation), the
    /// --app-checkpoint close checks, CRIU dumps (the tree would carry the ring's mapping), scoord's own
    /// memory images (--memory scoord, and so the restore of one: the interposer's ring and stub page would
    /// be in the image, and a restore does not reattach rings). When the library
    /// is missing or the ring cannot be made, the run goes on with ptrace only (and says so under -v).
    /// </summary>
    private static FastPathSession? StartFastPath(JournalStore store, RunOptions options, TracerOptions tracerOptions, int stdioFast, ILogger logger)
    {
        string? why = options.NoFastPath || FastPathSession.DisabledByEnvironment() ? "--no-fastpath"
            : options.Durability == Durability.Strict ? "--durability strict"
            : options.AppCheckpoint.Count > 0 ? "--app-checkpoint"
            : options.Memory == MemoryProvider.Criu ? "--memory criu"
            : options.Memory == MemoryProvider.Scoord || options.RestoreMemory ? "--memory scoord"
            : null;
        string? library = why is null ? FastPathSession.LocateLibrary() : null;
        if (why is null && library is null)
        {
            why = "libscoord-fast.so is missing next to scoord";
        }
        else if (library is not null && (library.Contains(':', StringComparison.Ordinal) || library.Contains(' ', StringComparison.Ordinal)))
        {
            why = "scoord's directory has a ':' or a space in its path (LD_PRELOAD cannot name it)";
        }

        if (why is not null)
        {
            LogFastPathOff(logger, why);
            return null;
        }

        try
        {
            return FastPathSession.Start(store, tracerOptions.Policy, library!, (uint)stdioFast, options.Durability == Durability.SyncPoints, tracerOptions.Policy.Untracked, logger);
        }
        catch (Exception e) when (e is ScoordException or IOException or UnauthorizedAccessException)
        {
            LogFastPathOff(logger, e.Message);
            return null;
        }
    }

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "fast path off ({Reason}): every call goes the ptrace way")]
    private static partial void LogFastPathOff(ILogger logger, string reason);

    /// <summary>
    /// Which of fds 0-2 may be written without a stop: all of them when the files there are the caller's
    /// (left out of the journal); with --journal-stdio only those that are not regular files.
    /// </summary>
    private static int StdioFastFds(bool journalStdio) => journalStdio ? Stdio.NonRegularMask([0, 1, 2]) : 0b111;

    /// <summary>The regular files on our fds 0-2: the caller's, left out of the journal unless --journal-stdio.</summary>
    private static HashSet<(ulong, ulong)> CallerStdio(bool journalStdio)
    {
        var set = new HashSet<(ulong, ulong)>();
        if (!journalStdio)
        {
            Stdio.AddRegularFiles([0, 1, 2], set);
        }

        return set;
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

        // Files hard-linked out of the journal before the run (nlink > 1) are protected by identity:
        // a read-only mount does not cover their other names. Links made during the run are refused
        // (linkat from the journal directory is).
        foreach (string file in Directory.EnumerateFiles(canonical, "*", SearchOption.AllDirectories))
        {
            AddIdentity(protectedDirs, file, multiplyLinkedOnly: true);
        }

        var ancestors = new HashSet<(ulong, ulong)>();
        for (string? p = Path.GetDirectoryName(canonical); p is not null; p = Path.GetDirectoryName(p))
        {
            AddIdentity(ancestors, p);
        }

        return new TracerOptions
        {
            Policy = new DecodePolicy
            {
                JournalPath = Encoding.UTF8.GetBytes(canonical),
                ProtectedDirs = protectedDirs,
                JournalAncestors = ancestors,
                Only = ScopePaths(options.Only),
                Exclude = ScopePaths(options.Exclude),
                Untracked = CallerStdio(options.JournalStdio),
            },
            JournalStdio = options.JournalStdio,
            JournalPathText = canonical,
            Durability = options.Durability,
            AppCheckpointGlobs = [.. options.AppCheckpoint.Select(g => PathGlob.Parse(g.StartsWith('/') || g.StartsWith("**", StringComparison.Ordinal) ? g : Path.GetFullPath(g)))],
            OnCheckpoint = options.OnCheckpoint,
            Command = [.. options.Command],
            MountProtect = ProtectByMountNamespace(options) ? canonical : null,
            MemoryImages = options.Memory == MemoryProvider.Scoord,
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

    private static unsafe void AddIdentity(HashSet<(ulong, ulong)> set, string path, bool multiplyLinkedOnly = false)
    {
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        Interop.Stat st;
        fixed (byte* pp = p)
        {
            if (Interop.Libc.fstatat(Interop.Libc.AT_FDCWD, pp, &st, multiplyLinkedOnly ? Interop.Libc.AT_SYMLINK_NOFOLLOW : 0) == 0
                && (!multiplyLinkedOnly || st.st_nlink > 1))
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

    /// <summary>Waits for a background write to the journal before the journal closes (its failure is reported where its result is used).</summary>
    private sealed class WaitOnDispose(Task task) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                task.Wait();
            }
            catch (AggregateException)
            {
            }
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "traced program finished with status {Status}")]
    private static partial void LogFinished(ILogger logger, int status);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "the end of the run was not recorded: {Reason}")]
    private static partial void LogRunEndNotRecorded(ILogger logger, string reason);
}

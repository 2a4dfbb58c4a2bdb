using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Scoord.Coordinator.Control;
using Scoord.Coordinator.Launch;
using Scoord.Interceptors;
using Scoord.Interceptors.Seccomp;
using Scoord.Journal;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// Application groups: a later `scoord run` on the same journal hands its program, argv, cwd,
/// environment and stdio to this coordinator (control socket, SCM_RIGHTS), and the tracer thread
/// starts it as one more traced application. Like checkpoints, the request is queued and the
/// doorbell wakes the tracer thread, the only thread allowed to seize. Every process remembers the
/// application it belongs to (inherited at fork) for `scoord status`; the exit of an application's
/// main process completes its <see cref="JoinedApplication.Exit"/>.
/// </summary>
internal sealed unsafe partial class ApplicationGroup(TracerOptions options, TraceeTable tracees, Doorbell doorbell, ILogger logger) : IApplicationGroup
{
    private readonly ConcurrentQueue<WorkItem> _work = new();
    private readonly Dictionary<int, Application> _appsByPid = new();
    private readonly List<Application> _apps = new();
    // Joined applications still running, by pid (= process group): read by the SIGTERM handler's thread.
    private readonly ConcurrentDictionary<int, int> _runningJoined = new();
    private FilterOptions _filterOptions;
    private string _launcherPath = string.Empty;
    private int _nextAppId = 1;

    private sealed class Application
    {
        public int Id;
        public int Pid;
        public string[] Argv = [];
        public string Cwd = string.Empty;
        public long StartNs;
        public int? ExitStatus;
        public readonly TaskCompletionSource<int> Exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A piece of work for the tracer thread, queued by another thread.</summary>
    private sealed class WorkItem(Func<object> run)
    {
        public Func<object> Run { get; } = run;
        public TaskCompletionSource<object> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public JoinedApplication Join(JoinRequest request, int[] stdio)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(stdio);
        var app = (Application)OnTracerThread(() => LaunchJoined(request, stdio));
        return new JoinedApplication(app.Id, app.Pid, app.Exit.Task);
    }

    public string StatusJson() => (string)OnTracerThread(BuildStatusJson);

    /// <summary>Sends <paramref name="signal"/> to the process group of every joined application still running (any thread).</summary>
    public void SignalJoinedApplications(int signal)
    {
        foreach (int pid in _runningJoined.Keys)
        {
            kill(-pid, signal);
        }
    }

    /// <summary>Runs <paramref name="run"/> on the tracer thread (woken by the doorbell) and returns its result.</summary>
    private object OnTracerThread(Func<object> run)
    {
        var item = new WorkItem(run);
        if (!doorbell.TryEnqueue(_work, item))
        {
            throw new ScoordException(JoinRequest.GroupEndedMessage);
        }

        return doorbell.RingUntil(item.Done.Task);
    }

    /// <summary>On the tracer thread, at a doorbell stop outside a barrier.</summary>
    public void ServeWork()
    {
        while (_work.TryDequeue(out WorkItem? item))
        {
            try
            {
                item.Done.TrySetResult(item.Run());
            }
            catch (Exception e)
            {
                // Whatever went wrong belongs to the requester; the tracer goes on.
                item.Done.TrySetException(e is ScoordException ? e : new ScoordException($"internal error: {e.GetType().Name}: {e.Message}"));
            }
        }
    }

    /// <summary>The group has ended: work still queued fails.</summary>
    public void FailWork(string message)
    {
        while (_work.TryDequeue(out WorkItem? item))
        {
            item.Done.TrySetException(new ScoordException(message));
        }
    }

    /// <summary>Records the program `scoord run` itself started as application 1.</summary>
    public void RegisterPrimary(TracedProcess main, FilterOptions filterOptions, string launcherPath)
    {
        _filterOptions = filterOptions;
        _launcherPath = launcherPath;
        var app = new Application
        {
            Id = _nextAppId++,
            Pid = main.Tgid,
            Argv = [.. options.Command],
            Cwd = Environment.CurrentDirectory,
            StartNs = Clock.NowNs(),
        };
        main.App = app.Id;
        _apps.Add(app);
        _appsByPid[app.Pid] = app;
    }

    private Application LaunchJoined(JoinRequest request, int[] stdio)
    {
        var environment = new Dictionary<string, string>(request.Environment, StringComparer.Ordinal)
        {
            ["SCOORD_JOURNAL"] = System.Text.Encoding.UTF8.GetString(options.Policy.JournalPath),
        };
        // The hooks learnt the files left out of the journal when the ring was made: a joiner whose own
        // stdio brings new ones runs ptrace only, so that its writes to them stay unjournaled as the tracer's are.
        bool hooks = options.FastPath is not null && (options.JournalStdio || !Stdio.HasNewRegularFiles(stdio, options.Policy.Untracked));
        using var launcher = new Launch.Launcher();
        launcher.Spawn(_launcherPath, request.Program, request.Argv, environment,
            protectDirectory: options.MountProtect, debug: logger.IsEnabled(LogLevel.Debug), joined: new Launch.JoinedStdio(stdio, request.Cwd, request.IgnoredSignals),
            fastPath: hooks && options.FastPath is { } fp ? (fp.LibraryPath, fp.Directory) : null);
        int pid = launcher.Pid;
        // Its stdio is not the first program's: the hooks classify its writes to fds 0-2 (the filter decides by its own).
        options.FastPath?.StdioGuarded(pid);
        if (ptrace(PTRACE_SEIZE, pid, 0, Tracer.PtraceOptions) != 0)
        {
            Errno e = Interop.LastErrno;
            kill(pid, SIGKILL); // reaped by the loop's waitpid: it is our child
            throw new ScoordException($"cannot trace {request.Argv[0]} (ptrace: {e})");
        }

        var app = new Application
        {
            Id = _nextAppId++,
            Pid = pid,
            Argv = [.. request.Argv],
            Cwd = request.Cwd,
            StartNs = Clock.NowNs(),
        };
        tracees.AddLaunched(pid, app.Id);
        _apps.Add(app);
        _appsByPid[pid] = app;
        _runningJoined[pid] = app.Id;
        // Its own stdio decides which of fds 0-2 may be written without a stop (regular files may not).
        if (!options.JournalStdio)
        {
            Stdio.AddRegularFiles(stdio, options.Policy.Untracked); // the joining caller's files, as the first run's
        }

        launcher.SendFilter(FilterGenerator.Build(_filterOptions with { StdioFastFds = options.JournalStdio ? Stdio.NonRegularMask(stdio) : 0b111 }));
        Log.Joined(logger, app.Id, pid, request.Argv[0]);
        return app;
    }

    /// <summary>A process ended: if it was an application's main process, its exit status goes to whoever waits.</summary>
    public void ProcessExited(int tgid, int status)
    {
        if (_appsByPid.Remove(tgid, out Application? app))
        {
            _runningJoined.TryRemove(tgid, out _);
            int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            app.ExitStatus = code;
            app.Exit.TrySetResult(code);
        }
    }

    private object BuildStatusJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("applications");
            foreach (Application app in _apps)
            {
                w.WriteStartObject();
                w.WriteNumber("id", app.Id);
                w.WriteNumber("pid", app.Pid);
                w.WriteStartArray("argv");
                foreach (string a in app.Argv)
                {
                    w.WriteStringValue(a);
                }

                w.WriteEndArray();
                w.WriteString("cwd", app.Cwd);
                w.WriteNumber("start_ns", app.StartNs);
                if (app.ExitStatus is { } code)
                {
                    w.WriteString("state", "exited");
                    w.WriteNumber("exit_status", code);
                }
                else
                {
                    w.WriteString("state", "running");
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("processes");
            foreach (TracedProcess p in tracees.Processes.Values.OrderBy(p => p.Tgid))
            {
                w.WriteStartObject();
                w.WriteNumber("pid", p.Tgid);
                w.WriteNumber("ppid", p.Ppid);
                w.WriteNumber("app", p.App);
                w.WriteNumber("threads", p.Threads);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 140, Level = LogLevel.Information, Message = "application {App} joined the group: pid {Pid}, {Program}")]
        public static partial void Joined(ILogger logger, int app, int pid, string program);
    }
}

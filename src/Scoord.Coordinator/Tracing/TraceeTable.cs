namespace Scoord.Coordinator.Tracing;

/// <summary>
/// The traced threads (by tid) and processes (by tgid). A thread is known from its first stop; a
/// process from its first thread. Exits seen recently are remembered for a while, because a child's
/// stops (and its exit) may reach the tracer before its parent's fork event.
/// </summary>
internal sealed class TraceeTable
{
    private readonly Dictionary<int, Tracee> _tracees = new();
    private readonly Dictionary<int, TracedProcess> _processes = new();
    private readonly HashSet<int> _recentExits = new();
    private readonly byte[] _proc = new byte[64];
    private readonly byte[] _io = new byte[4096 * 4];

    public int Count => _tracees.Count;

    public Dictionary<int, Tracee>.ValueCollection Threads => _tracees.Values;

    public Dictionary<int, TracedProcess> Processes => _processes;

    public bool TryGet(int tid, out Tracee tracee) => _tracees.TryGetValue(tid, out tracee!);

    public bool Contains(int tid) => _tracees.ContainsKey(tid);

    /// <summary>A process scoord started itself (seized before it ran): its first thread, already started.</summary>
    public TracedProcess AddLaunched(int pid, int app)
    {
        var process = new TracedProcess { Tgid = pid, Ppid = Environment.ProcessId, Threads = 1, App = app, Launched = true };
        _processes[pid] = process;
        _tracees[pid] = new Tracee { Tid = pid, Process = process, Started = true };
        return process;
    }

    public Tracee GetOrAdd(int tid)
    {
        if (_tracees.TryGetValue(tid, out Tracee? t))
        {
            return t;
        }

        // A child's first stop can arrive before its parent's fork event.
        int tgid = ProcStatus.ReadTgid(tid, _proc, _io);
        if (tgid <= 0)
        {
            tgid = tid;
        }

        if (!_processes.TryGetValue(tgid, out TracedProcess? p))
        {
            p = new TracedProcess { Tgid = tgid, Ppid = ProcStatus.ReadPpid(tid, _proc, _io) };
            _processes[tgid] = p;
        }

        p.Threads++;
        _recentExits.Remove(tid); // a new thread or process with a reused tid
        t = new Tracee { Tid = tid, Process = p };
        _tracees[tid] = t;
        return t;
    }

    /// <summary>A thread exited: forgets it (returned) and remembers the exit.</summary>
    public bool RemoveExited(int tid, out Tracee tracee)
    {
        if (_recentExits.Count > 4096)
        {
            _recentExits.Clear();
        }

        _recentExits.Add(tid);
        return _tracees.Remove(tid, out tracee!);
    }

    /// <summary>A non-leader thread exec'd: its old tid is gone silently (the thread now has the leader's).</summary>
    public bool RemoveFormer(int tid, out Tracee tracee) => _tracees.Remove(tid, out tracee!);

    /// <summary>
    /// True (once) when <paramref name="tid"/> exited before the fork event that announces it: the
    /// child stopped, ran and exited before its parent's event reached the tracer.
    /// </summary>
    public bool ExitedUnannounced(int tid) => !_tracees.ContainsKey(tid) && _recentExits.Remove(tid);

    public void RemoveProcess(int tgid) => _processes.Remove(tgid);

    /// <summary>/proc/PID/exe and /proc/PID/cmdline of an exec: the path into <paramref name="exe"/>, the argv (NUL-separated) returned.</summary>
    public ReadOnlySpan<byte> ReadExec(int tid, byte[] exe, out int exeLen)
    {
        exeLen = Interceptors.Decoding.ProcPath.ReadLink(_proc.AsSpan(0, Interceptors.Decoding.ProcPath.Format(_proc, tid, "exe"u8) + 1), exe);
        int argvLen = ProcStatus.ReadFile(tid, "cmdline"u8, _proc, _io);
        if (argvLen <= 0)
        {
            return default;
        }

        return _io.AsSpan(0, _io[argvLen - 1] == 0 ? argvLen - 1 : argvLen);
    }
}

using Scoord.Interceptors;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator;

/// <summary>
/// While it traces, the coordinator (every thread of scoord, and its doorbell) runs at a nice value
/// <see cref="Boost"/> below the one scoord was started with, where the system allows it (root or
/// CAP_SYS_NICE; otherwise nothing changes). Every call of the traced tree waits for the coordinator,
/// directly (a ptrace stop) or at the next barrier (the rings it must drain): with the tree's processes
/// all runnable on few cores, at equal weight its threads got a core only one turn in N, and a
/// checkpoint request waited for each of its hops (control socket, doorbell, tracer, drain) in turn.
/// Processes scoord starts (the program, a joined group, the --on-checkpoint hook, criu) start at
/// scoord's own nice value: on Linux a child takes the nice value of the thread that forks it, so
/// every spawn goes through <see cref="AtBase"/>.
/// </summary>
internal static class CoordinatorPriority
{
    /// <summary>How much higher (in nice steps) than scoord's own the coordinator runs.</summary>
    public const int Boost = 10;

    private static readonly Lock Gate = new();
    private static int _base;
    private static volatile bool _raised;

    /// <summary>scoord's nice value at start: the one every process it starts gets.</summary>
    public static int Base => _base;

    private static int Raised => Math.Max(_base - Boost, -20);

    /// <summary>
    /// Raises every thread scoord has now (threads made later take their creator's value); false, with
    /// nothing changed, without the right to. Idempotent.
    /// </summary>
    public static bool RaiseProcess()
    {
        lock (Gate)
        {
            if (_raised)
            {
                return true;
            }

            int now = getpriority(PRIO_PROCESS, 0);
            _base = now == -1 && Interop.LastErrno != Errno.None ? 0 : now;
            if (setpriority(PRIO_PROCESS, 0, Raised) != 0)
            {
                return false;
            }

            foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
            {
                if (uint.TryParse(Path.GetFileName(task), out uint tid))
                {
                    setpriority(PRIO_PROCESS, tid, Raised); // a thread gone meanwhile: nothing to do
                }
            }

            _raised = true;
            return true;
        }
    }

    /// <summary>
    /// Lends the coordinator's value to a thread of the tree the coordinator waits for (a barrier waits for
    /// threads in a journaled call, each on its way to a stop); the value it had, to put back with
    /// <see cref="Restore"/>, or null when nothing changed.
    /// </summary>
    public static int? Lend(int tid)
    {
        if (!_raised)
        {
            return null;
        }

        int old = getpriority(PRIO_PROCESS, (uint)tid);
        if ((old == -1 && Interop.LastErrno != Errno.None) || old <= Raised)
        {
            return null;
        }

        return setpriority(PRIO_PROCESS, (uint)tid, Raised) == 0 ? old : null;
    }

    /// <summary>Gives a thread lent the coordinator's value its own back.</summary>
    public static void Restore(int tid, int nice) => setpriority(PRIO_PROCESS, (uint)tid, nice);

    /// <summary>Raises a helper process of scoord's own (the doorbell), started at the base value like every child.</summary>
    public static void Raise(int pid)
    {
        if (_raised && pid > 0)
        {
            setpriority(PRIO_PROCESS, (uint)pid, Raised);
        }
    }

    /// <summary>Until disposed, the calling thread runs at scoord's own nice value: a child it starts meanwhile starts there.</summary>
    public static BaseScope AtBase()
    {
        if (!_raised)
        {
            return default;
        }

        setpriority(PRIO_PROCESS, 0, _base);
        return new BaseScope(true);
    }

    /// <summary>Puts the calling thread back to the coordinator's value when disposed.</summary>
    public readonly struct BaseScope(bool lowered) : IDisposable
    {
        public void Dispose()
        {
            if (lowered)
            {
                setpriority(PRIO_PROCESS, 0, Raised);
            }
        }
    }
}

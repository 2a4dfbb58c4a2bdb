using Scoord.Interceptors;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator;

/// <summary>
/// The coordinator's threads that the traced tree waits for run at a nice value <see cref="Boost"/> below
/// scoord's own, where the system allows it (root or CAP_SYS_NICE; otherwise nothing changes): the tracer,
/// the ring drain, the control socket's threads and the doorbell, and for the length of a barrier the
/// threads of the tree it waits for (lent). With 50 writers runnable on 2 cores, at equal weight the drain
/// fell 100-150 ms of records behind and each hop of a checkpoint request (socket, doorbell, tracer) waited
/// for a core. Not raised: RocksDB's background threads, the runtime's own (GC, finalizer). A child takes
/// the nice value of the thread that forks it, so every spawn goes through <see cref="AtBase"/>: the
/// program, a joined group, the --on-checkpoint hook and criu start at scoord's own value.
/// </summary>
internal static class CoordinatorPriority
{
    /// <summary>How much higher (in nice steps) than scoord's own the raised threads run.</summary>
    public const int Boost = 10;

    private static readonly int s_base = ReadBase();

    [ThreadStatic]
    private static bool t_raised;

    /// <summary>scoord's nice value at start: the one every process it starts gets.</summary>
    public static int Base => s_base;

    private static int Raised => Math.Max(s_base - Boost, -20);

    private static int ReadBase()
    {
        int now = getpriority(PRIO_PROCESS, 0);
        return now == -1 && Interop.LastErrno != Errno.None ? 0 : now;
    }

    /// <summary>Raises the calling thread (idempotent); false, with nothing changed, without the right to.</summary>
    public static bool RaiseCurrentThread()
    {
        if (!t_raised)
        {
            t_raised = setpriority(PRIO_PROCESS, 0, Raised) == 0;
        }

        return t_raised;
    }

    /// <summary>Puts the calling thread back to scoord's own value.</summary>
    public static void LowerCurrentThread()
    {
        if (t_raised)
        {
            setpriority(PRIO_PROCESS, 0, s_base);
            t_raised = false;
        }
    }

    /// <summary>Raises a helper process of scoord's own (the doorbell), started at the base value like every child.</summary>
    public static void Raise(int pid)
    {
        if (pid > 0)
        {
            setpriority(PRIO_PROCESS, (uint)pid, Raised);
        }
    }

    /// <summary>
    /// Lends the raised value to a thread of the tree the coordinator waits for (a barrier waits for
    /// threads in a journaled call, each on its way to a stop); the value it had, to put back with
    /// <see cref="Restore"/>, or null when nothing changed.
    /// </summary>
    public static int? Lend(int tid)
    {
        int old = getpriority(PRIO_PROCESS, (uint)tid);
        if ((old == -1 && Interop.LastErrno != Errno.None) || old <= Raised)
        {
            return null;
        }

        return setpriority(PRIO_PROCESS, (uint)tid, Raised) == 0 ? old : null;
    }

    /// <summary>Gives a thread lent the raised value its own back.</summary>
    public static void Restore(int tid, int nice) => setpriority(PRIO_PROCESS, (uint)tid, nice);

    /// <summary>Until disposed, the calling thread runs at scoord's own nice value: a child it starts meanwhile starts there.</summary>
    public static BaseScope AtBase()
    {
        if (!t_raised)
        {
            return default;
        }

        setpriority(PRIO_PROCESS, 0, s_base);
        return new BaseScope(true);
    }

    /// <summary>Puts the calling thread back to the raised value when disposed.</summary>
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

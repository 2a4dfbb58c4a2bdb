using Microsoft.Extensions.Logging;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// Rebuilds a memory image's whole process tree (`scoord restore`), from the first root the launcher made with its
/// pid. The pipes are made first, in scoord (<see cref="RestoredPipes"/>). Then every process, parents before
/// children, is prepared (<see cref="ProcessRestorer.Prepare"/>): while still bare it makes its children with
/// their pids (clone3 set_tid; the first root also makes the other roots, with CLONE_PARENT), so each process
/// has the parent it had, and every one is traced from birth. Then the process groups (leaders first, once
/// every process exists), and last the credentials and registers. Nothing runs before all are built.
/// </summary>
internal static class TreeRestorer
{
    /// <summary>One rebuilt process: its pid, its parent's (0: scoord), its other threads, whether it has the stdio guard filter again.</summary>
    internal readonly record struct Rebuilt(int Pid, int Ppid, List<int> Threads, bool StdioGuarded);

    /// <summary>
    /// Builds the tree into <paramref name="firstPid"/> (in its first stop) and the processes it makes. Every pid
    /// made is added to <paramref name="made"/> at once, so that a caller can kill them all when this throws
    /// (<see cref="InjectionException"/>, naming the process and the step).
    /// </summary>
    public static List<Rebuilt> Build(int firstPid, RestoreSource source, ILogger logger, List<int> made)
    {
        using var pipes = new RestoredPipes(source.Image);
        var restorers = new List<ProcessRestorer>();
        try
        {
            foreach (ProcessSource p in source.Processes)
            {
                ProcessRestorer r = Step(p.Pid, "preparing", () => new ProcessRestorer(p.Pid, source, p, pipes, logger));
                restorers.Add(r);
                List<ProcessSource> siblings = p.Pid == firstPid ? source.Roots.GetRange(1, source.Roots.Count - 1) : [];
                Step(p.Pid, "rebuilding", () => r.Prepare(siblings, made));
            }

            // Group leaders before their members.
            foreach (bool leaders in (bool[])[true, false])
            {
                foreach (ProcessRestorer r in restorers)
                {
                    ProcessSource p = source.Processes.Find(s => s.Pid == r.Pid)!;
                    if ((p.Image.Pgid == p.Pid) == leaders)
                    {
                        Step(p.Pid, "setting its process group", r.JoinGroup);
                    }
                }
            }

            var rebuilt = new List<Rebuilt>();
            foreach (ProcessRestorer r in restorers)
            {
                Step(r.Pid, "finishing", r.Finish);
                ProcessSource p = source.Processes.Find(s => s.Pid == r.Pid)!;
                rebuilt.Add(new Rebuilt(r.Pid, p.Image.Ppid, r.ThreadIds, p.Image.StdioGuarded));
            }

            return rebuilt;
        }
        finally
        {
            foreach (ProcessRestorer r in restorers)
            {
                r.Dispose();
            }
        }
    }

    private static T Step<T>(int pid, string what, Func<T> step)
    {
        try
        {
            return step();
        }
        catch (InjectionException e)
        {
            throw new InjectionException($"pid {pid} ({what}): {e.Message}");
        }
    }

    private static void Step(int pid, string what, Action step) => Step(pid, what, () =>
    {
        step();
        return 0;
    });
}

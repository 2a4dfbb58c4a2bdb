using Scoord.Coordinator;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal;

namespace Scoord.Cli.Filtering;

/// <summary>The `scoord log` filters, combined with AND.</summary>
internal sealed class LogFilter
{
    public int? Pid { get; init; }

    public PathGlob? Path { get; init; }

    /// <summary>Null: every op.</summary>
    public IReadOnlySet<OpCode>? Ops { get; init; }

    public bool FailedOnly { get; init; }

    public bool IsMatch(JournalEntry e)
    {
        if (Pid is int pid && e.Pid != pid)
        {
            return false;
        }

        if (Ops is not null && !Ops.Contains(e.Op))
        {
            return false;
        }

        if (FailedOnly && e.Status != EntryStatus.Failed)
        {
            return false;
        }

        if (Path is not null)
        {
            string? p1 = e.PathText;
            string? p2 = e.Path2Text;
            if (!(p1 is not null && Path.IsMatch(p1)) && !(p2 is not null && Path.IsMatch(p2)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Parses `--op` values: names separated by commas, the option possibly repeated.</summary>
    public static HashSet<OpCode>? ParseOps(IEnumerable<string>? values)
    {
        if (values is null)
        {
            return null;
        }

        HashSet<OpCode>? ops = null;
        foreach (string value in values)
        {
            foreach (string part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!OpNames.TryParse(part, out OpCode op))
                {
                    throw new UsageException($"--op: unknown operation '{part}' (use syscall names such as openat, write, renameat2, or fork, exec, exit)");
                }

                (ops ??= []).Add(op);
            }
        }

        return ops;
    }
}

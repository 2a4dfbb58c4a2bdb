namespace Scoord.Journal;

/// <summary>
/// The one source of journal sequence numbers. Every event (intent, process event, and later
/// checkpoints) takes its number here, whoever produces it: the ptrace tracer today, an in-process
/// fast path later. Thread-safe. Numbers start at 1; a number taken but never committed (crash, or a
/// batch that failed) leaves a gap, which readers accept: order, not density, is the contract.
/// </summary>
public sealed class SequenceAllocator
{
    private ulong _last;

    /// <param name="last">The highest sequence number already in the journal (0 for an empty journal).</param>
    public SequenceAllocator(ulong last) => _last = last;

    /// <summary>Takes the next number.</summary>
    public ulong Next() => Interlocked.Increment(ref _last);

    /// <summary>The last number handed out.</summary>
    public ulong Last => Interlocked.Read(ref _last);
}

namespace Scoord.Journal;

/// <summary>
/// The one source of journal sequence numbers. Every event (intent, process event, checkpoint) takes its
/// number here, whoever produces it: the ptrace tracer, and the in-process fast path, whose hooks take
/// theirs from the same counter in the shared ring file (<see cref="Share"/>). Thread-safe. Numbers start
/// at 1; a number taken but never committed (crash, or a batch that failed) leaves a gap, which readers
/// accept: order, not density, is the contract.
/// </summary>
public sealed unsafe class SequenceAllocator
{
    private ulong _last;
    private ulong* _shared;

    /// <param name="last">The highest sequence number already in the journal (0 for an empty journal).</param>
    public SequenceAllocator(ulong last) => _last = last;

    /// <summary>Takes the next number.</summary>
    public ulong Next() => _shared != null ? Interlocked.Increment(ref *_shared) : Interlocked.Increment(ref _last);

    /// <summary>The last number handed out.</summary>
    public ulong Last => _shared != null ? Interlocked.Read(ref *_shared) : Interlocked.Read(ref _last);

    /// <summary>Never hands out <paramref name="seq"/> or anything below it (numbers recovered from a ring are taken).</summary>
    public void AtLeast(ulong seq)
    {
        ref ulong counter = ref _shared != null ? ref *_shared : ref _last;
        ulong cur = Interlocked.Read(ref counter);
        while (cur < seq)
        {
            ulong seen = Interlocked.CompareExchange(ref counter, seq, cur);
            if (seen == cur)
            {
                return;
            }

            cur = seen;
        }
    }

    /// <summary>
    /// From now on the counter lives at <paramref name="counter"/> (shared memory every producer maps):
    /// it continues after the last number handed out here. <see cref="Unshare"/> takes it back.
    /// </summary>
    public void Share(ulong* counter)
    {
        ulong last = Interlocked.Read(ref _last);
        if (*counter < last)
        {
            *counter = last;
        }

        _shared = counter;
    }

    /// <summary>The counter is private again, continuing after every number handed out while shared.</summary>
    public void Unshare()
    {
        if (_shared != null)
        {
            _last = Math.Max(_last, Interlocked.Read(ref *_shared));
            _shared = null;
        }
    }
}

using Microsoft.Extensions.Logging;

namespace Scoord.Journal.Ring;

/// <summary>
/// A ring left in DIR/fastpath by a run that died (scoord killed, the machine's power kept): every record
/// published there was let through by its hook, so the next open for writing applies them all (the same
/// translation the live drain makes; records applied before are applied again to the same keys), commits
/// with a WAL fsync, and removes the ring. Intents without a DONE stay pending, as after any crash.
/// </summary>
public static unsafe partial class RingRecovery
{
    /// <summary>Applies a leftover ring to <paramref name="store"/>; returns the records recovered.</summary>
    public static long Recover(JournalStore store, ILogger logger)
    {
        string dir = Path.Combine(store.Directory, RingLayout.DirectoryName);
        using RingFile? ring = RingFile.OpenExisting(store.Directory, writable: true);
        if (ring is null)
        {
            return 0;
        }

        var stats = default(RingDrainStats);
        if (ring.Header.Magic == RingLayout.Magic)
        {
            JournalWriter writer = store.Writer;
            byte[] buffer = new byte[RingLayout.MaxRecord];
            uint hwm = ring.SlotHighWater;
            ulong[] tails = new ulong[hwm];
            var walk = new RingReader.WalkState();
            for (uint i = 0; i < hwm; i++)
            {
                RingSlot* s = ring.Slot(i);
                ulong head = Volatile.Read(ref s->Head);
                ulong tail = Volatile.Read(ref s->Tail);
                ulong skipped = 0;
                tails[i] = RingReader.DrainSlot(ring, i, tail, head, buffer, writer, ref stats, ref skipped, walk);
            }

            store.Sequences.AtLeast(ring.Header.Seq);
            writer.Commit(sync: true); // throws (and keeps the ring for the next try) when the journal cannot take it
            for (uint i = 0; i < hwm; i++)
            {
                ring.Slot(i)->Tail = tails[i];
            }
        }

        ring.Dispose();
        RingFile.Remove(dir);
        if (stats.Records > 0 || stats.Malformed > 0)
        {
            LogRecovered(logger, store.Directory, stats.Records, stats.Malformed);
        }

        return stats.Records;
    }

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning, Message = "journal {Directory}: recovered {Records} records from the fast path's ring of a run that did not end ({Malformed} malformed, skipped)")]
    private static partial void LogRecovered(ILogger logger, string directory, long records, long malformed);
}

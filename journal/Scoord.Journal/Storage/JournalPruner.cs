using Scoord.Journal.Rocks;
using Scoord.Journal.Codec;
using Scoord.Journal.Undo;

namespace Scoord.Journal;

/// <summary>What <see cref="JournalPruner.Prune"/> did.</summary>
public sealed record PruneResult(int CheckpointsDropped, int OldestKeptId, long BytesBefore, long BytesAfter, long UndoBytesDropped,
    int ImagesMerged = 0, int ImagesDropped = 0, long PagesDropped = 0);

/// <summary>
/// `scoord prune --keep N`: keeps the N newest checkpoints and drops what only older ones need.
/// Rolling back to checkpoint K needs the undo data of the records after K, so undo items of
/// records up to the oldest kept checkpoint's seq are deleted (one RocksDB range delete), the
/// older checkpoints are removed from the list (their events stay in the log), and the undo
/// column family is compacted with every memtable flushed so that the space really comes back
/// (the deleted data may also sit in WAL files, which RocksDB removes once flushed). Memory images
/// (--memory scoord) are merged: every kept checkpoint's image becomes full, the dropped ones' images and the
/// pages no kept image refers to are deleted (<see cref="Memory.MemoryImagePruner"/>), in the same batch.
/// </summary>
public static class JournalPruner
{
    public static PruneResult Prune(JournalStore store, int keep)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (keep < 1)
        {
            throw new JournalException("prune --keep needs at least 1: the newest checkpoint is always kept");
        }

        IReadOnlyList<CheckpointInfo> all = store.Reader.ListCheckpoints();
        long before = JournalReader.DirectorySizeOf(store.Directory);
        if (all.Count <= keep)
        {
            return new PruneResult(0, all.Count > 0 ? all[0].Id : 0, before, before, 0);
        }

        CheckpointInfo oldestKept = all[all.Count - keep];
        long undoDropped = store.Reader.UndoBytes(0, oldestKept.Seq);
        RocksDb db = store.Db;
        ColumnFamilyHandle undo = store.Family(JournalLayout.UndoFamily);
        ColumnFamilyHandle checkpoints = store.Family(JournalLayout.CheckpointsFamily);
        Memory.ImagePruneResult images;
        using (var batch = new WriteBatch())
        {
            var kept = new HashSet<int>();
            for (int i = all.Count - keep; i < all.Count; i++)
            {
                kept.Add(all[i].Id);
            }

            images = Memory.MemoryImagePruner.Plan(store, kept, batch);
            byte[] from = new byte[12];
            byte[] to = new byte[12];
            UndoCodec.WriteKey(from, 0, 0);
            UndoCodec.WriteKey(to, oldestKept.Seq + 1, 0); // exclusive end: every item of seq <= the kept checkpoint
            batch.DeleteRange(from, (ulong)from.Length, to, (ulong)to.Length, undo);
            byte[] key = new byte[CheckpointCodec.KeySize];
            for (int i = 0; i < all.Count - keep; i++)
            {
                CheckpointCodec.WriteKey(key, all[i].Id);
                batch.Delete(key, checkpoints);
            }

            try
            {
                db.Write(batch, new WriteOptions().SetSync(true));
            }
            catch (RocksDbException e)
            {
                ThrowHelper.ThrowRocksDb(store.Directory, "prune", e);
            }
        }

        Reclaim(store);
        long after = JournalReader.DirectorySizeOf(store.Directory);
        return new PruneResult(all.Count - keep, oldestKept.Id, before, after, undoDropped, images.ImagesMerged, images.ImagesDropped, images.PagesDropped);
    }

    /// <summary>Flushes every column family (so WAL files holding deleted data can go) and compacts the undo family.</summary>
    private static void Reclaim(JournalStore store)
    {
        RocksDb db = store.Db;
        foreach (string name in JournalLayout.Families)
        {
            if (store.OptionalFamily(name) is { } family) // a journal older than the memory family may lack it
            {
                db.Flush(family);
            }
        }

        db.CompactRange(store.Family(JournalLayout.UndoFamily));
        if (store.OptionalFamily(JournalLayout.MemoryFamily) is { } memory)
        {
            db.CompactRange(memory); // the dropped images and pages
        }
    }
}

using Scoord.Journal.Rocks;

namespace Scoord.Journal.Memory;

/// <summary>
/// The memory images' part of `scoord prune`: every kept checkpoint's image becomes full (an incremental image's
/// pages are resolved through its bases and written into its own page maps; its processes get base 0 and the
/// tracker `full`), the images of dropped checkpoints are deleted (they are no one's base any more), and the
/// pages no kept image refers to are deleted. Everything goes into the caller's batch, so that prune's one
/// synced write moves the journal from the old state to the new one at once (a crash leaves one or the other).
/// </summary>
public static class MemoryImagePruner
{
    /// <summary>Reads what it needs now (before the batch is written) and adds the changes to <paramref name="batch"/>.</summary>
    public static ImagePruneResult Plan(JournalStore store, IReadOnlySet<int> kept, WriteBatch batch)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(kept);
        ArgumentNullException.ThrowIfNull(batch);
        ColumnFamilyHandle? family = store.OptionalFamily(JournalLayout.MemoryFamily);
        if (family is null)
        {
            return new ImagePruneResult(0, 0, 0);
        }

        var images = new MemoryImageStore(store);
        var referenced = new HashSet<Hash>();
        int merged = 0, dropped = 0;
        foreach (int id in images.ListImages())
        {
            if (!kept.Contains(id))
            {
                DropImage(id, family, batch);
                dropped++;
                continue;
            }

            MemoryImage image = images.ReadImage(id)!;
            bool incremental = false;
            foreach (ProcessRef r in image.Processes)
            {
                incremental |= Merge(images, image, r, family, batch, referenced);
            }

            foreach (SharedMemoryObject shm in image.SharedMemory)
            {
                foreach (PageMapWindow w in images.ReadWindows(id, ImageKeys.SharedOwner(shm.Id)).Values)
                {
                    foreach ((int _, byte[] hash) in w.Entries)
                    {
                        referenced.Add(new Hash(hash));
                    }
                }
            }

            if (incremental)
            {
                batch.Put(ImageKeys.Image(id), ImageCodec.Encode(image), family);
                merged++;
            }
        }

        long pages = DropUnreferencedPages(store, family, referenced, batch);
        return new ImagePruneResult(merged, dropped, pages);
    }

    /// <summary>
    /// One process of a kept image: its page maps list every content page with its hash (resolved through its
    /// bases when the image was incremental). True when it was incremental and was rewritten.
    /// </summary>
    private static bool Merge(MemoryImageStore images, MemoryImage image, ProcessRef r, ColumnFamilyHandle family, WriteBatch batch, HashSet<Hash> referenced)
    {
        int id = image.CheckpointId;
        SortedDictionary<ulong, byte[]> pages = images.ResolvePages(id, r.Pid, r.BaseCheckpoint);
        foreach (byte[] hash in pages.Values)
        {
            referenced.Add(new Hash(hash));
        }

        if (r.BaseCheckpoint == 0)
        {
            return false;
        }

        foreach (PageMapWindow w in images.ReadWindows(id, r.Pid).Values)
        {
            w.Entries.Clear();
            ulong start = w.StartAddress;
            foreach ((int first, int count) in w.Runs)
            {
                for (int page = first; page < first + count; page++)
                {
                    w.Entries.Add((page, pages[start + ((ulong)page << PageMapWindow.PageShift)]));
                }
            }

            batch.Put(ImageKeys.PageMap(id, r.Pid, w.Window), ImageCodec.Encode(w), family);
        }

        ProcessImage p = images.ReadProcess(id, r.Pid);
        p.BaseCheckpoint = 0;
        p.Tracker = PageTracker.Full;
        batch.Put(ImageKeys.Process(id, r.Pid), ImageCodec.Encode(p), family);
        r.BaseCheckpoint = 0;
        r.Tracker = PageTracker.Full;
        r.ListedPages = r.ContentPages;
        return true;
    }

    /// <summary>The image record, process records and page maps of checkpoint <paramref name="id"/> (three range deletes).</summary>
    private static void DropImage(int id, ColumnFamilyHandle family, WriteBatch batch)
    {
        batch.Delete(ImageKeys.Image(id), family);
        foreach (byte prefix in (byte[])[ImageKeys.ProcessPrefix, ImageKeys.PageMapPrefix])
        {
            byte[] from = [prefix, 0, 0, 0, 0];
            byte[] to = [prefix, 0, 0, 0, 0];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(from.AsSpan(1), (uint)id);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(to.AsSpan(1), (uint)id + 1);
            batch.DeleteRange(from, (ulong)from.Length, to, (ulong)to.Length, family);
        }
    }

    /// <summary>Pages no kept image refers to (of dropped images, or written for a checkpoint that then failed).</summary>
    private static long DropUnreferencedPages(JournalStore store, ColumnFamilyHandle family, HashSet<Hash> referenced, WriteBatch batch)
    {
        long n = 0;
        using Iterator it = store.Db.NewIterator(family, store.ReadOptions);
        for (it.Seek([ImageKeys.PagePrefix]); it.Valid(); it.Next())
        {
            ReadOnlySpan<byte> key = it.GetKeySpan();
            if (key.Length != ImageKeys.PageKeySize || key[0] != ImageKeys.PagePrefix)
            {
                break;
            }

            if (!referenced.Contains(new Hash(key[1..].ToArray())))
            {
                batch.Delete(key, family);
                n++;
            }
        }

        return n;
    }

    /// <summary>A page hash as a set member (by content).</summary>
    private readonly struct Hash(byte[] bytes) : IEquatable<Hash>
    {
        private readonly byte[] _bytes = bytes;

        public bool Equals(Hash other) => _bytes.AsSpan().SequenceEqual(other._bytes);

        public override bool Equals(object? obj) => obj is Hash h && Equals(h);

        public override int GetHashCode() => BitConverter.ToInt32(_bytes, 0);
    }
}

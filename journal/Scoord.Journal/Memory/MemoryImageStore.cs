using System.Security.Cryptography;
using Scoord.Journal.Rocks;
using Scoord.Journal.Codec;

namespace Scoord.Journal.Memory;

/// <summary>
/// Reads memory images from a journal (docs/journal-format.md, "Memory images"), resolves an incremental
/// image's pages through its base images, and checks each page against its hash as it is read. Damage is
/// reported as a damaged journal, never skipped.
/// </summary>
public sealed class MemoryImageStore
{
    private readonly JournalStore _store;
    private readonly ColumnFamilyHandle? _family;

    public MemoryImageStore(JournalStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _family = store.OptionalFamily(JournalLayout.MemoryFamily);
    }

    private string Dir => _store.Directory;

    /// <summary>The image of checkpoint <paramref name="checkpoint"/>, or null when it has none.</summary>
    public MemoryImage? ReadImage(int checkpoint)
    {
        byte[]? value = Get(ImageKeys.Image(checkpoint));
        if (value is null)
        {
            return null;
        }

        if (!ImageCodec.TryDecode(value, out MemoryImage? image, out DecodeError error) || image!.CheckpointId != checkpoint)
        {
            ThrowHelper.ThrowDamaged(Dir, $"the memory image of checkpoint {checkpoint} is damaged ({DecodeErrors.Describe(error == DecodeError.None ? DecodeError.InvalidValue : error)})");
        }

        return image;
    }

    /// <summary>Ids of the checkpoints that have an image, ascending.</summary>
    public List<int> ListImages()
    {
        var ids = new List<int>();
        if (_family is null)
        {
            return ids;
        }

        using Iterator it = _store.Db.NewIterator(_family, _store.ReadOptions);
        for (it.Seek([ImageKeys.ImagePrefix]); it.Valid(); it.Next())
        {
            ReadOnlySpan<byte> key = it.GetKeySpan();
            if (key.Length != ImageKeys.ImageKeySize || key[0] != ImageKeys.ImagePrefix)
            {
                break;
            }

            ids.Add((int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(key[1..]));
        }

        return ids;
    }

    public ProcessImage ReadProcess(int checkpoint, int pid)
    {
        byte[]? value = Get(ImageKeys.Process(checkpoint, pid));
        if (value is null)
        {
            ThrowHelper.ThrowDamaged(Dir, $"the memory image of checkpoint {checkpoint} names pid {pid}, whose process image is missing");
        }

        if (!ImageCodec.TryDecode(value, out ProcessImage? p, out DecodeError error) || p!.Pid != pid)
        {
            ThrowHelper.ThrowDamaged(Dir, $"the process image of pid {pid} in checkpoint {checkpoint} is damaged ({DecodeErrors.Describe(error == DecodeError.None ? DecodeError.InvalidValue : error)})");
        }

        return p;
    }

    /// <summary>The PAGE_MAP windows of one owner (a pid, or <see cref="ImageKeys.SharedOwner"/>) in one image, by window.</summary>
    public SortedDictionary<ulong, PageMapWindow> ReadWindows(int checkpoint, int owner)
    {
        var windows = new SortedDictionary<ulong, PageMapWindow>();
        if (_family is null)
        {
            return windows;
        }

        byte[] prefix = ImageKeys.PageMap(checkpoint, owner, 0);
        using Iterator it = _store.Db.NewIterator(_family, _store.ReadOptions);
        for (it.Seek(prefix); it.Valid(); it.Next())
        {
            ReadOnlySpan<byte> key = it.GetKeySpan();
            if (key.Length != ImageKeys.PageMapKeySize || !key[..9].SequenceEqual(prefix.AsSpan(0, 9)))
            {
                break;
            }

            ulong window = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(key[9..]);
            if (!ImageCodec.TryDecode(it.GetValueSpan(), out PageMapWindow? w, out DecodeError error) || w!.Window != window)
            {
                ThrowHelper.ThrowDamaged(Dir, $"a page map of owner {owner} in checkpoint {checkpoint} is damaged ({DecodeErrors.Describe(error == DecodeError.None ? DecodeError.InvalidValue : error)})");
            }

            windows[window] = w;
        }

        return windows;
    }

    /// <summary>
    /// Every content page of <paramref name="owner"/> in checkpoint <paramref name="checkpoint"/>'s image with its
    /// hash, by address: the image's own entries first, then its base image's, and so on down to a full image.
    /// </summary>
    public SortedDictionary<ulong, byte[]> ResolvePages(int checkpoint, int owner, int baseCheckpoint)
    {
        var result = new SortedDictionary<ulong, byte[]>();
        SortedDictionary<ulong, PageMapWindow> top = ReadWindows(checkpoint, owner);
        var missing = new List<ulong>();
        foreach (PageMapWindow w in top.Values)
        {
            ulong start = w.StartAddress;
            int e = 0;
            foreach ((int first, int count) in w.Runs)
            {
                for (int page = first; page < first + count; page++)
                {
                    while (e < w.Entries.Count && w.Entries[e].Page < page)
                    {
                        e++;
                    }

                    ulong address = start + ((ulong)page << PageMapWindow.PageShift);
                    if (e < w.Entries.Count && w.Entries[e].Page == page)
                    {
                        result[address] = w.Entries[e].Hash;
                    }
                    else
                    {
                        missing.Add(address);
                    }
                }
            }
        }

        int current = checkpoint;
        int next = baseCheckpoint;
        for (int depth = 0; missing.Count > 0; depth++)
        {
            if (next == 0 || depth > 100_000)
            {
                ThrowHelper.ThrowDamaged(Dir, $"the memory image of checkpoint {checkpoint} refers to pages of owner {owner} that no base image holds (from checkpoint {current})");
            }

            SortedDictionary<ulong, PageMapWindow> windows = ReadWindows(next, owner);
            var still = new List<ulong>();
            foreach (ulong address in missing)
            {
                ulong window = address >> PageMapWindow.WindowShift;
                int page = (int)((address >> PageMapWindow.PageShift) & (PageMapWindow.PagesPerWindow - 1));
                if (windows.TryGetValue(window, out PageMapWindow? w) && FindEntry(w, page) is { } hash)
                {
                    result[address] = hash;
                }
                else
                {
                    still.Add(address);
                }
            }

            missing = still;
            current = next;
            next = missing.Count == 0 ? 0 : BaseOf(next, owner);
        }

        return result;
    }

    /// <summary>The base checkpoint of <paramref name="owner"/>'s image in <paramref name="checkpoint"/> (0: full).</summary>
    private int BaseOf(int checkpoint, int owner)
    {
        if (owner < 0)
        {
            return 0; // shared memory objects are always stored whole
        }

        MemoryImage? image = ReadImage(checkpoint);
        if (image is null)
        {
            ThrowHelper.ThrowDamaged(Dir, $"checkpoint {checkpoint} is the base of a memory image but has none (was it pruned?)");
        }

        foreach (ProcessRef p in image!.Processes)
        {
            if (p.Pid == owner)
            {
                return p.BaseCheckpoint;
            }
        }

        ThrowHelper.ThrowDamaged(Dir, $"the memory image of checkpoint {checkpoint} is the base for pid {owner} but does not hold it");
        return 0;
    }

    private static byte[]? FindEntry(PageMapWindow w, int page)
    {
        int lo = 0;
        int hi = w.Entries.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            int p = w.Entries[mid].Page;
            if (p == page)
            {
                return w.Entries[mid].Hash;
            }

            if (p < page)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return null;
    }

    /// <summary>The 4096 bytes stored under <paramref name="hash"/>, checked against it.</summary>
    public void ReadPage(ReadOnlySpan<byte> hash, Span<byte> destination)
    {
        byte[]? value = Get(ImageKeys.Page(hash));
        Span<byte> check = stackalloc byte[PageMapWindow.HashSize];
        if (value is null || value.Length != PageMapWindow.PageSize)
        {
            ThrowHelper.ThrowDamaged(Dir, $"memory page {Convert.ToHexStringLower(hash)} is {(value is null ? "missing" : "damaged (wrong size)")}");
        }

        SHA256.HashData(value, check);
        if (!check.SequenceEqual(hash))
        {
            ThrowHelper.ThrowDamaged(Dir, $"memory page {Convert.ToHexStringLower(hash)} is damaged (its content does not match its hash)");
        }

        value.CopyTo(destination);
    }

    private byte[]? Get(byte[] key)
    {
        if (_family is null)
        {
            return null;
        }

        try
        {
            return _store.Db.Get(key, _family, _store.ReadOptions);
        }
        catch (RocksDbException e)
        {
            ThrowHelper.ThrowRocksDb(Dir, "reading a memory image", e);
            return null;
        }
    }
}

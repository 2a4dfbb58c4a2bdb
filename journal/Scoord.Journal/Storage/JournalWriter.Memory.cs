using Scoord.Journal.Rocks;
using Scoord.Journal.Memory;

namespace Scoord.Journal;

/// <summary>
/// Memory images (--memory scoord). Page content goes into the "memory" family in batches of its own, before
/// the checkpoint: a page is keyed by its hash, so writing it early changes nothing a reader sees (no
/// record refers to it yet) and a checkpoint that fails later only leaves unreferenced pages, which prune
/// removes. The image's records (MEMORY_IMAGE, PROCESS_IMAGE, PAGE_MAP) go into the checkpoint's own batch,
/// so that the checkpoint and its image are committed together (one synced write).
/// </summary>
public sealed partial class JournalWriter
{
    private const long PageBatchLimit = 32L * 1024 * 1024;

    private ColumnFamilyHandle? _memory;
    private WriteBatch? _pageBatch;
    private long _pageBatchBytes;
    private readonly byte[] _pageKey = new byte[ImageKeys.PageKeySize];

    private ColumnFamilyHandle MemoryFamily => _memory ??= _db.GetColumnFamily(JournalLayout.MemoryFamily);

    /// <summary>Buffers a page under its hash; written with <see cref="FlushPages"/> (or when the buffer is large).</summary>
    public void PutPage(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> content)
    {
        _pageBatch ??= new WriteBatch();
        ImageKeys.Page(_pageKey, hash);
        _pageBatch.Put(_pageKey, content, MemoryFamily);
        _pageBatchBytes += _pageKey.Length + content.Length;
        if (_pageBatchBytes >= PageBatchLimit)
        {
            FlushPages();
        }
    }

    /// <summary>Writes the pages buffered (unsynced: the checkpoint's synced commit makes the WAL durable up to it).</summary>
    public void FlushPages()
    {
        if (_pageBatch is null || _pageBatchBytes == 0)
        {
            return;
        }

        try
        {
            _db.Write(_pageBatch, _noSync);
            _bytesWritten += _pageBatchBytes;
        }
        catch (RocksDbException e)
        {
            ThrowHelper.ThrowRocksDb(_dir, "writing memory pages", e);
        }
        finally
        {
            _pageBatch.Clear();
            _pageBatchBytes = 0;
        }
    }

    /// <summary>Buffers an image record (already encoded) into the current batch: it is committed with the checkpoint record.</summary>
    public void AppendImageRecord(ReadOnlySpan<byte> key, ReadOnlySpan<byte> record)
    {
        _batch.Put(key, record, MemoryFamily);
        _pending++;
        _batchBytes += key.Length + record.Length;
    }
}

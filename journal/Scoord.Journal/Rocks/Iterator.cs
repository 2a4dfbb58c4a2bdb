using static Scoord.Journal.Rocks.RocksNative;

namespace Scoord.Journal.Rocks;

/// <summary>rocksdb_iterator_t over one column family. Key and value spans are valid until the next move.</summary>
public sealed unsafe class Iterator : IDisposable
{
    private nint _handle;

    internal Iterator(nint handle) => _handle = handle;

    public nint Handle => _handle;

    public bool Valid() => rocksdb_iter_valid(_handle) != 0;

    public void SeekToFirst() => rocksdb_iter_seek_to_first(_handle);

    public void SeekToLast() => rocksdb_iter_seek_to_last(_handle);

    public void Seek(ReadOnlySpan<byte> key)
    {
        fixed (byte* k = key)
        {
            rocksdb_iter_seek(_handle, k, (nuint)key.Length);
        }
    }

    public void Next() => rocksdb_iter_next(_handle);

    public void Prev() => rocksdb_iter_prev(_handle);

    public ReadOnlySpan<byte> GetKeySpan()
    {
        nuint n;
        byte* k = rocksdb_iter_key(_handle, &n);
        return new ReadOnlySpan<byte>(k, (int)n);
    }

    public ReadOnlySpan<byte> GetValueSpan()
    {
        nuint n;
        byte* v = rocksdb_iter_value(_handle, &n);
        return new ReadOnlySpan<byte>(v, (int)n);
    }

    public byte[] Key() => GetKeySpan().ToArray();

    public byte[] Value() => GetValueSpan().ToArray();

    /// <summary>Throws <see cref="RocksDbException"/> when the iteration stopped on an error (a block checksum, I/O).</summary>
    public void CheckError()
    {
        nint err = 0;
        rocksdb_iter_get_error(_handle, &err);
        Rocks.Check(err);
    }

    public void Dispose()
    {
        if (_handle != 0)
        {
            rocksdb_iter_destroy(_handle);
            _handle = 0;
        }
    }
}

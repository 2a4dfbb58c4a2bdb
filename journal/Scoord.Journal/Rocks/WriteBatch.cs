using static Scoord.Journal.Rocks.RocksNative;

namespace Scoord.Journal.Rocks;

/// <summary>rocksdb_writebatch_t: puts and deletes applied atomically by <see cref="RocksDb.Write"/>.</summary>
public sealed unsafe class WriteBatch : IDisposable
{
    private nint _handle = rocksdb_writebatch_create();

    public nint Handle => _handle;

    public void Put(byte* key, ulong keyLength, byte* value, ulong valueLength, ColumnFamilyHandle cf)
        => rocksdb_writebatch_put_cf(_handle, cf.Handle, key, (nuint)keyLength, value, (nuint)valueLength);

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ColumnFamilyHandle cf)
    {
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            rocksdb_writebatch_put_cf(_handle, cf.Handle, k, (nuint)key.Length, v, (nuint)value.Length);
        }
    }

    public void Delete(byte* key, ulong keyLength, ColumnFamilyHandle cf)
        => rocksdb_writebatch_delete_cf(_handle, cf.Handle, key, (nuint)keyLength);

    public void Delete(ReadOnlySpan<byte> key, ColumnFamilyHandle cf)
    {
        fixed (byte* k = key)
        {
            rocksdb_writebatch_delete_cf(_handle, cf.Handle, k, (nuint)key.Length);
        }
    }

    public void DeleteRange(byte[] start, ulong startLength, byte[] end, ulong endLength, ColumnFamilyHandle cf)
    {
        fixed (byte* s = start)
        fixed (byte* e = end)
        {
            rocksdb_writebatch_delete_range_cf(_handle, cf.Handle, s, (nuint)startLength, e, (nuint)endLength);
        }
    }

    public void Clear() => rocksdb_writebatch_clear(_handle);

    /// <summary>Marks the batch as it is now; <see cref="RollbackToSavePoint"/> drops what is appended after it.</summary>
    public void SetSavePoint() => rocksdb_writebatch_set_save_point(_handle);

    /// <summary>Drops the records appended since the last save point, and that save point.</summary>
    public void RollbackToSavePoint()
    {
        nint err = 0;
        rocksdb_writebatch_rollback_to_save_point(_handle, &err);
        Rocks.Check(err);
    }

    /// <summary>Forgets the last save point, keeping what was appended.</summary>
    public void PopSavePoint()
    {
        nint err = 0;
        rocksdb_writebatch_pop_save_point(_handle, &err);
        Rocks.Check(err);
    }

    public void Dispose()
    {
        if (_handle != 0)
        {
            rocksdb_writebatch_destroy(_handle);
            _handle = 0;
        }
    }
}

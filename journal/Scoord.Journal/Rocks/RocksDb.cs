using System.Text;
using static Scoord.Journal.Rocks.RocksNative;

namespace Scoord.Journal.Rocks;

/// <summary>rocksdb_t opened with column families: the journal's whole use of the database.</summary>
public sealed unsafe class RocksDb : IDisposable
{
    private readonly Dictionary<string, ColumnFamilyHandle> _families;
    private nint _handle;

    private RocksDb(nint handle, Dictionary<string, ColumnFamilyHandle> families)
    {
        _handle = handle;
        _families = families;
    }

    public nint Handle => _handle;

    public static RocksDb Open(DbOptions options, string path, ColumnFamilies families)
        => OpenWith(path, families, (p, n, names, cfo, handles, err) => rocksdb_open_column_families(options.Handle, p, n, names, cfo, handles, err));

    public static RocksDb OpenReadOnly(DbOptions options, string path, ColumnFamilies families, bool errorIfLogFileExists)
        => OpenWith(path, families, (p, n, names, cfo, handles, err) =>
            rocksdb_open_for_read_only_column_families(options.Handle, p, n, names, cfo, handles, errorIfLogFileExists ? (byte)1 : (byte)0, err));

    public static RocksDb OpenAsSecondary(DbOptions options, string path, string secondaryPath, ColumnFamilies families)
    {
        byte[] secondary = Encoding.UTF8.GetBytes(secondaryPath + "\0");
        return OpenWith(path, families, (p, n, names, cfo, handles, err) =>
        {
            fixed (byte* s = secondary)
            {
                return rocksdb_open_as_secondary_column_families(options.Handle, p, s, n, names, cfo, handles, err);
            }
        });
    }

    private delegate nint Opener(byte* path, int count, byte** names, nint* cfOptions, nint* handles, nint* err);

    private static RocksDb OpenWith(string path, ColumnFamilies families, Opener open)
    {
        // The default family first, then the others, as RocksDB requires every family of the database named.
        var all = new List<(string Name, ColumnFamilyOptions Options)> { ("default", new ColumnFamilyOptions()) };
        all.AddRange(families.Where(f => f.Name != "default"));
        int n = all.Count;
        byte[][] names = all.Select(f => Encoding.UTF8.GetBytes(f.Name + "\0")).ToArray();
        var pins = new System.Runtime.InteropServices.GCHandle[n];
        byte** namePtrs = stackalloc byte*[n];
        nint* cfOptions = stackalloc nint[n];
        nint* handles = stackalloc nint[n];
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        try
        {
            for (int i = 0; i < n; i++)
            {
                pins[i] = System.Runtime.InteropServices.GCHandle.Alloc(names[i], System.Runtime.InteropServices.GCHandleType.Pinned);
                namePtrs[i] = (byte*)pins[i].AddrOfPinnedObject();
                cfOptions[i] = all[i].Options.Handle;
                handles[i] = 0;
            }

            nint err = 0;
            nint db;
            fixed (byte* pp = p)
            {
                db = open(pp, n, namePtrs, cfOptions, handles, &err);
            }

            Rocks.Check(err);
            var map = new Dictionary<string, ColumnFamilyHandle>(StringComparer.Ordinal);
            for (int i = 0; i < n; i++)
            {
                map[all[i].Name] = new ColumnFamilyHandle(all[i].Name, handles[i]);
            }

            GC.KeepAlive(all);
            return new RocksDb(db, map);
        }
        finally
        {
            foreach (System.Runtime.InteropServices.GCHandle h in pins)
            {
                if (h.IsAllocated)
                {
                    h.Free();
                }
            }
        }
    }

    public ColumnFamilyHandle GetColumnFamily(string name)
        => _families.TryGetValue(name, out ColumnFamilyHandle? cf) ? cf : throw new RocksDbException($"no column family {name}");

    /// <summary>A family the database was opened with, if it was (a journal older than the memory family lacks it).</summary>
    public bool TryGetColumnFamily(string name, out ColumnFamilyHandle handle)
    {
        bool found = _families.TryGetValue(name, out ColumnFamilyHandle? cf);
        handle = cf!;
        return found;
    }

    /// <summary>The names of the column families of the database at <paramref name="path"/> (rocksdb_list_column_families).</summary>
    public static string[] ListColumnFamilies(DbOptions options, string path)
    {
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        nint err = 0;
        nuint count = 0;
        byte** list;
        fixed (byte* pp = p)
        {
            list = rocksdb_list_column_families(options.Handle, pp, &count, &err);
        }

        GC.KeepAlive(options);
        Rocks.Check(err);
        try
        {
            var names = new string[(int)count];
            for (int i = 0; i < names.Length; i++)
            {
                names[i] = System.Runtime.InteropServices.Marshal.PtrToStringUTF8((nint)list[i]) ?? string.Empty;
            }

            return names;
        }
        finally
        {
            if (list != null)
            {
                rocksdb_list_column_families_destroy(list, count);
            }
        }
    }

    public byte[]? Get(ReadOnlySpan<byte> key, ColumnFamilyHandle cf, ReadOptions? options = null)
    {
        ReadOptions ro = options ?? DefaultRead;
        nint err = 0;
        nuint len;
        nint value;
        fixed (byte* k = key)
        {
            value = rocksdb_get_cf(_handle, ro.Handle, cf.Handle, k, (nuint)key.Length, &len, &err);
        }

        GC.KeepAlive(ro);
        Rocks.Check(err);
        if (value == 0)
        {
            return null;
        }

        byte[] result = new ReadOnlySpan<byte>((void*)value, (int)len).ToArray();
        rocksdb_free(value);
        return result;
    }

    /// <summary>
    /// The value under <paramref name="key"/> read in place (RocksDB's pinned slice: no copy out of its
    /// block cache or memtable); <see cref="PinnedValue.Found"/> is false when there is none. Dispose it
    /// before the database.
    /// </summary>
    public PinnedValue GetPinned(ReadOnlySpan<byte> key, ColumnFamilyHandle cf, ReadOptions? options = null)
    {
        ReadOptions ro = options ?? DefaultRead;
        nint err = 0;
        nint slice;
        fixed (byte* k = key)
        {
            slice = rocksdb_get_pinned_cf(_handle, ro.Handle, cf.Handle, k, (nuint)key.Length, &err);
        }

        GC.KeepAlive(ro);
        Rocks.Check(err);
        return new PinnedValue(slice);
    }

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ColumnFamilyHandle cf, WriteOptions? options = null)
    {
        options ??= DefaultWrite;
        nint err = 0;
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            rocksdb_put_cf(_handle, options.Handle, cf.Handle, k, (nuint)key.Length, v, (nuint)value.Length, &err);
        }

        GC.KeepAlive(options);
        Rocks.Check(err);
    }

    public void Write(WriteBatch batch, WriteOptions options)
    {
        nint err = 0;
        rocksdb_write(_handle, options.Handle, batch.Handle, &err);
        GC.KeepAlive(options);
        Rocks.Check(err);
    }

    public Iterator NewIterator(ColumnFamilyHandle cf, ReadOptions options)
    {
        var it = new Iterator(rocksdb_create_iterator_cf(_handle, options.Handle, cf.Handle));
        GC.KeepAlive(options);
        return it;
    }

    /// <summary>FlushWAL: with <paramref name="sync"/>, fsyncs the WAL.</summary>
    public void FlushWal(bool sync)
    {
        nint err = 0;
        rocksdb_flush_wal(_handle, sync ? (byte)1 : (byte)0, &err);
        Rocks.Check(err);
    }

    /// <summary>Flushes a family's memtable to an SST file (waiting for it).</summary>
    public void Flush(ColumnFamilyHandle cf)
    {
        nint fo = rocksdb_flushoptions_create();
        try
        {
            rocksdb_flushoptions_set_wait(fo, 1);
            nint err = 0;
            rocksdb_flush_cf(_handle, fo, cf.Handle, &err);
            Rocks.Check(err);
        }
        finally
        {
            rocksdb_flushoptions_destroy(fo);
        }
    }

    /// <summary>Compacts the whole key range of a family.</summary>
    public void CompactRange(ColumnFamilyHandle cf) => rocksdb_compact_range_cf(_handle, cf.Handle, null, 0, null, 0);

    public void TryCatchUpWithPrimary()
    {
        nint err = 0;
        rocksdb_try_catch_up_with_primary(_handle, &err);
        Rocks.Check(err);
    }

    public void Dispose()
    {
        if (_handle == 0)
        {
            return;
        }

        foreach (ColumnFamilyHandle cf in _families.Values)
        {
            rocksdb_column_family_handle_destroy(cf.Handle);
        }

        rocksdb_close(_handle);
        _handle = 0;
    }

    private static readonly ReadOptions DefaultRead = new();
    private static readonly WriteOptions DefaultWrite = new();
}

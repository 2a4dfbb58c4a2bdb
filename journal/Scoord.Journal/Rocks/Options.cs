using static Scoord.Journal.Rocks.RocksNative;

namespace Scoord.Journal.Rocks;

/// <summary>rocksdb_options_t. Freed in the finalizer (options outlive every database opened with them).</summary>
public sealed class DbOptions
{
    public DbOptions() => Handle = rocksdb_options_create();

    ~DbOptions() => rocksdb_options_destroy(Handle);

    public nint Handle { get; }

    public DbOptions SetCreateIfMissing(bool v = true)
    {
        rocksdb_options_set_create_if_missing(Handle, v ? (byte)1 : (byte)0);
        return this;
    }

    public DbOptions SetCreateMissingColumnFamilies(bool v = true)
    {
        rocksdb_options_set_create_missing_column_families(Handle, v ? (byte)1 : (byte)0);
        return this;
    }

    public DbOptions SetParanoidChecks(bool v = true)
    {
        rocksdb_options_set_paranoid_checks(Handle, v ? (byte)1 : (byte)0);
        return this;
    }

    public DbOptions SetWalRecoveryMode(Recovery mode)
    {
        rocksdb_options_set_wal_recovery_mode(Handle, (int)mode);
        return this;
    }

    public DbOptions SetKeepLogFileNum(ulong n)
    {
        rocksdb_options_set_keep_log_file_num(Handle, (nuint)n);
        return this;
    }

    public DbOptions SetAllowFallocate(bool v)
    {
        rocksdb_options_set_allow_fallocate(Handle, v ? (byte)1 : (byte)0);
        return this;
    }

    public DbOptions SetAvoidFlushDuringRecovery(bool v)
    {
        rocksdb_options_set_avoid_flush_during_recovery(Handle, v ? 1 : 0);
        return this;
    }

    public DbOptions SetMaxOpenFiles(int n)
    {
        rocksdb_options_set_max_open_files(Handle, n);
        return this;
    }
}

/// <summary>rocksdb_options_t of one column family (the defaults).</summary>
public sealed class ColumnFamilyOptions
{
    public ColumnFamilyOptions() => Handle = rocksdb_options_create();

    ~ColumnFamilyOptions() => rocksdb_options_destroy(Handle);

    public nint Handle { get; }
}

/// <summary>The column families to open, by name (the default family is always first).</summary>
public sealed class ColumnFamilies : List<(string Name, ColumnFamilyOptions Options)>
{
    public void Add(string name, ColumnFamilyOptions options) => Add((name, options));
}

/// <summary>rocksdb_readoptions_t.</summary>
public sealed class ReadOptions
{
    public ReadOptions() => Handle = rocksdb_readoptions_create();

    ~ReadOptions() => rocksdb_readoptions_destroy(Handle);

    public nint Handle { get; }

    public ReadOptions SetVerifyChecksums(bool v)
    {
        rocksdb_readoptions_set_verify_checksums(Handle, v ? (byte)1 : (byte)0);
        return this;
    }
}

/// <summary>rocksdb_writeoptions_t.</summary>
public sealed class WriteOptions
{
    public WriteOptions() => Handle = rocksdb_writeoptions_create();

    ~WriteOptions() => rocksdb_writeoptions_destroy(Handle);

    public nint Handle { get; }

    public WriteOptions SetSync(bool v)
    {
        rocksdb_writeoptions_set_sync(Handle, v ? (byte)1 : (byte)0);
        return this;
    }
}

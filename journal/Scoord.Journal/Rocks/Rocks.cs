using System.Runtime.InteropServices;

namespace Scoord.Journal.Rocks;

/// <summary>How a failed RocksDB call becomes a <see cref="RocksDbException"/> (the message RocksDB gives, freed).</summary>
internal static class Rocks
{
    public static void Check(nint err)
    {
        if (err != 0)
        {
            Throw(err);
        }
    }

    private static void Throw(nint err)
    {
        string message = Marshal.PtrToStringUTF8(err) ?? "unknown RocksDB error";
        RocksNative.rocksdb_free(err);
        throw new RocksDbException(message);
    }
}

/// <summary>A RocksDB call failed; the message is RocksDB's.</summary>
public sealed class RocksDbException : Exception
{
    public RocksDbException()
    {
    }

    public RocksDbException(string message)
        : base(message)
    {
    }

    public RocksDbException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>WALRecoveryMode (rocksdb/options.h).</summary>
public enum Recovery
{
    TolerateCorruptedTailRecords = 0,
    AbsoluteConsistency = 1,
    PointInTime = 2,
    SkipAnyCorruptedRecords = 3,
}

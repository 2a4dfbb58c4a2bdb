using static Scoord.Journal.Rocks.RocksNative;

namespace Scoord.Journal.Rocks;

/// <summary>A value RocksDB keeps pinned for the reader (rocksdb_pinnableslice_t): its bytes are valid until <see cref="Dispose"/>.</summary>
public unsafe struct PinnedValue : IDisposable
{
    private nint _slice;

    internal PinnedValue(nint slice) => _slice = slice;

    public readonly bool Found => _slice != 0;

    /// <summary>The value's bytes (empty when not found).</summary>
    public readonly ReadOnlySpan<byte> Span
    {
        get
        {
            if (_slice == 0)
            {
                return default;
            }

            nuint len;
            byte* p = rocksdb_pinnableslice_value(_slice, &len);
            return p is null ? default : new ReadOnlySpan<byte>(p, checked((int)len));
        }
    }

    public void Dispose()
    {
        if (_slice != 0)
        {
            rocksdb_pinnableslice_destroy(_slice);
            _slice = 0;
        }
    }
}

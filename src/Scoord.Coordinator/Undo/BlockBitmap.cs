namespace Scoord.Coordinator.Undo;

/// <summary>A growable bitmap of block indices.</summary>
public sealed class BlockBitmap
{
    private ulong[] _bits = new ulong[4];

    public bool Contains(long block)
    {
        long word = block >> 6;
        return word < _bits.Length && (_bits[word] & (1UL << (int)(block & 63))) != 0;
    }

    public void Add(long block)
    {
        long word = block >> 6;
        if (word >= _bits.Length)
        {
            Array.Resize(ref _bits, (int)Math.Max(word + 1, _bits.Length * 2L));
        }

        _bits[word] |= 1UL << (int)(block & 63);
    }
}

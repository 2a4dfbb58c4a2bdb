using System.Buffers.Binary;
using System.Numerics;

namespace Scoord.Journal.Codec;

/// <summary>CRC-32C (Castagnoli), standard form: initial value and final xor 0xFFFFFFFF ("123456789" → 0xE3069283).</summary>
public static class Crc32C
{
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (byte b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }
}

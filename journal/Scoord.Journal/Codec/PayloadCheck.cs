namespace Scoord.Journal.Codec;

/// <summary>
/// The checks every record decoder makes before it reads a field: the frame's type, the payload's size,
/// the reserved fields. Each sets <c>error</c> (None when the check passes) and never throws, so a
/// decoder reads as one chain of checks and then its fields.
/// </summary>
internal static class PayloadCheck
{
    /// <summary>A frame that passes <see cref="RecordCodec.TryReadFrame"/> and holds a record of type <paramref name="expected"/>.</summary>
    public static bool TryReadFrameOf(ReadOnlySpan<byte> input, RecordType expected, out ReadOnlySpan<byte> payload, out DecodeError error)
    {
        if (!RecordCodec.TryReadFrame(input, out RecordType type, out _, out payload, out error))
        {
            return false;
        }

        return Check(type == expected, DecodeError.WrongType, out error);
    }

    /// <summary>A payload with variable parts after <paramref name="fixedSize"/> bytes.</summary>
    public static bool AtLeast(ReadOnlySpan<byte> payload, int fixedSize, out DecodeError error)
        => Check(payload.Length >= fixedSize, DecodeError.PayloadTooShort, out error);

    /// <summary>A payload of exactly <paramref name="size"/> bytes.</summary>
    public static bool Exactly(ReadOnlySpan<byte> payload, int size, out DecodeError error)
        => AtLeast(payload, size, out error) && Check(payload.Length == size, DecodeError.TrailingBytes, out error);

    /// <summary>Reserved fields are zero in every version so far: a reader rejects anything else.</summary>
    public static bool Reserved(bool allZero, out DecodeError error)
        => Check(allZero, DecodeError.ReservedNotZero, out error);

    private static bool Check(bool ok, DecodeError failure, out DecodeError error)
    {
        error = ok ? DecodeError.None : failure;
        return ok;
    }
}

namespace Scoord.Journal.Codec;

/// <summary>Which check a record failed. Decoders return it instead of throwing.</summary>
public enum DecodeError
{
    None = 0,
    /// <summary>Shorter than a header plus checksum.</summary>
    Truncated,
    /// <summary>The header's payload length does not match the bytes present.</summary>
    LengthMismatch,
    /// <summary>The CRC32C over header and payload does not match.</summary>
    ChecksumMismatch,
    /// <summary>A record type this reader does not know.</summary>
    UnknownType,
    /// <summary>Record format version 0 (never written).</summary>
    InvalidVersion,
    /// <summary>A record written by a newer scoord.</summary>
    NewerVersion,
    /// <summary>Header flags that version 1 does not define.</summary>
    UnknownFlags,
    /// <summary>A valid record, but not of the type the caller asked for.</summary>
    WrongType,
    /// <summary>The payload is shorter than the type's fixed fields.</summary>
    PayloadTooShort,
    /// <summary>A length-prefixed byte string runs past the payload.</summary>
    StringOutOfBounds,
    /// <summary>Bytes left over after the last field.</summary>
    TrailingBytes,
    /// <summary>A reserved field is not zero.</summary>
    ReservedNotZero,
    /// <summary>A field holds a value its record type does not allow (e.g. checkpoint id 0).</summary>
    InvalidValue,
}

/// <summary>Human text for <see cref="DecodeError"/>, used in one-line error messages.</summary>
public static class DecodeErrors
{
    public static string Describe(DecodeError error) =>
        error switch
        {
            DecodeError.None => "no error",
            DecodeError.Truncated => "truncated",
            DecodeError.LengthMismatch => "length mismatch",
            DecodeError.ChecksumMismatch => "checksum mismatch",
            DecodeError.UnknownType => "unknown record type",
            DecodeError.InvalidVersion => "invalid record version",
            DecodeError.NewerVersion => "record written by a newer scoord",
            DecodeError.UnknownFlags => "unknown header flags",
            DecodeError.WrongType => "unexpected record type",
            DecodeError.PayloadTooShort => "payload too short",
            DecodeError.StringOutOfBounds => "string length out of bounds",
            DecodeError.TrailingBytes => "trailing bytes",
            DecodeError.ReservedNotZero => "reserved field not zero",
            DecodeError.InvalidValue => "invalid field value",
            _ => "unknown decode error",
        };
}

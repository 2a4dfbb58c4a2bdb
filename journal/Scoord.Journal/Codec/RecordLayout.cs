namespace Scoord.Journal.Codec;

/// <summary>
/// Sizes and offsets of the record format, version 1 (docs/journal-format.md, "Records").
/// All integers little-endian.
/// </summary>
public static class RecordLayout
{
    /// <summary>The record format version this build writes and the newest it reads.</summary>
    public const byte Version = 1;

    /// <summary>[u8 type][u8 version][u16 flags][u32 payloadLength].</summary>
    public const int HeaderSize = 8;

    /// <summary>u32 CRC32C over header and payload.</summary>
    public const int ChecksumSize = 4;

    /// <summary>Header plus checksum: the size of a record with an empty payload.</summary>
    public const int FrameSize = HeaderSize + ChecksumSize;

    /// <summary>u32 length before each byte string.</summary>
    public const int StringPrefixSize = 4;

    /// <summary>Fixed part of an intent payload; then path and path2 as length-prefixed strings.</summary>
    public const int IntentFixedSize = 84;

    /// <summary>Whole completion payload.</summary>
    public const int CompletionSize = 40;

    /// <summary>Fixed part of a process payload; then path (exe) and argv as length-prefixed strings.</summary>
    public const int ProcessFixedSize = 40;

    /// <summary>Whole meta payload.</summary>
    public const int MetaSize = 32;

    /// <summary>Largest record the writer accepts (sanity bound; paths are at most PATH_MAX in practice).</summary>
    public const int MaxRecordSize = 64 * 1024 * 1024;

    public static int IntentRecordSize(int pathLength, int path2Length) =>
        checked(FrameSize + IntentFixedSize + StringPrefixSize + pathLength + StringPrefixSize + path2Length);

    public static int ProcessRecordSize(int pathLength, int argvLength) =>
        checked(FrameSize + ProcessFixedSize + StringPrefixSize + pathLength + StringPrefixSize + argvLength);

    public const int CompletionRecordSize = FrameSize + CompletionSize;

    public const int MetaRecordSize = FrameSize + MetaSize;
}

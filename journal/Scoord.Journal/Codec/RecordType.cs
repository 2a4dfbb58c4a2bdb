namespace Scoord.Journal.Codec;

/// <summary>First byte of every stored value. Part of the on-disk format: never renumber.</summary>
public enum RecordType : byte
{
    Intent = 1,
    Completion = 2,
    Process = 3,
    Meta = 4,

    // Reserved by docs/journal-format.md for later issues; not decoded by format 1 readers.
    Checkpoint = 5,
    Undo = 6,
    Rollback = 7,
    // Memory images ("memory" column family; Memory/ImageCodec decodes them).
    MemoryImage = 8,
    ProcessImage = 9,
    PageMap = 10,
}

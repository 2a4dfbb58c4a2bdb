using System.Buffers.Binary;

namespace Scoord.Journal;

/// <summary>Names and constants of the journal directory (docs/journal-format.md, "Directory layout").</summary>
internal static class JournalLayout
{
    /// <summary>The journal format version this build writes and the newest it reads.</summary>
    public const int FormatVersion = 1;

    public const string MarkerFileName = "SCOORD";
    public const string MarkerText = "scoord journal\nformat 1\n";
    public const string MarkerFirstLine = "scoord journal";
    public const string DbDirectoryName = "db";
    public const string LockFileName = "scoord.lock";

    /// <summary>
    /// Keeps the journal out of git when it lies inside a work tree (the default ./.scoord does): "*"
    /// ignores every entry of the directory, this file included. Without it `git add -A` under
    /// `scoord run` hashes the journal and the fast path's ring while they are written.
    /// </summary>
    public const string GitIgnoreFileName = ".gitignore";
    public const string GitIgnoreText = "# scoord's journal: not part of the tree it journals (written by scoord)\n*\n";

    public const string DefaultFamily = "default";
    public const string MetaFamily = "meta";
    public const string OpsFamily = "ops";
    public const string ResultsFamily = "results";
    public const string ProcsFamily = "procs";
    public const string CheckpointsFamily = "checkpoints";
    public const string UndoFamily = "undo";
    /// <summary>Memory images (--memory scoord). Added after format 1 was first released: a journal gets it at its first writable open.</summary>
    public const string MemoryFamily = "memory";

    public static readonly string[] Families =
        [DefaultFamily, MetaFamily, OpsFamily, ResultsFamily, ProcsFamily, CheckpointsFamily, UndoFamily, MemoryFamily];

    /// <summary>meta key of the format version: a bare u32 little-endian, frozen in every format version.</summary>
    public static ReadOnlySpan<byte> FormatKey => "format"u8;

    /// <summary>meta key of the META record (journal id, creation time).</summary>
    public static ReadOnlySpan<byte> JournalKey => "journal"u8;

    public const int SeqKeySize = 8;
    public const int ProcsKeySize = 12;

    public static void WriteSeqKey(Span<byte> key, ulong seq) => BinaryPrimitives.WriteUInt64BigEndian(key, seq);

    public static ulong ReadSeqKey(ReadOnlySpan<byte> key) => BinaryPrimitives.ReadUInt64BigEndian(key);

    public static void WriteProcsKey(Span<byte> key, int pid, ulong seq)
    {
        BinaryPrimitives.WriteUInt32BigEndian(key, unchecked((uint)pid));
        BinaryPrimitives.WriteUInt64BigEndian(key[4..], seq);
    }
}

using System.Diagnostics.CodeAnalysis;
using Scoord.Interceptors;
using Scoord.Journal.Codec;

namespace Scoord.Journal;

/// <summary>
/// Every throw of the journal lives here, so the hot methods that call these stay small and inlinable.
/// Messages are one line; a RocksDB message is flattened onto that line.
/// </summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowNoJournal(string dir) =>
        throw new JournalException($"no journal at {dir} (run `scoord run` first, or pass --journal)");

    [DoesNotReturn]
    public static void ThrowNotAJournal(string dir) =>
        throw new JournalException($"{dir} is not a scoord journal");

    [DoesNotReturn]
    public static void ThrowNewerFormat(string dir, long version) =>
        throw new JournalException(
            $"journal at {dir} has format version {version}; this scoord reads up to {JournalLayout.FormatVersion}");

    [DoesNotReturn]
    public static void ThrowInUse(string dir, int pid) =>
        throw new JournalException(pid > 0
            ? $"journal {dir} is in use by scoord (pid {pid})"
            : $"journal {dir} is in use by scoord");

    [DoesNotReturn]
    public static void ThrowDamaged(string dir, string what) =>
        throw new JournalException($"journal {dir}: {what}");

    [DoesNotReturn]
    public static void ThrowDamagedRecord(string dir, ulong seq, string family, DecodeError error) =>
        throw new JournalException(
            $"journal {dir}: record seq {seq} in {family} is damaged ({DecodeErrors.Describe(error)})");

    [DoesNotReturn]
    public static void ThrowRocksDb(string dir, string action, Exception inner) =>
        throw new JournalException($"journal {dir}: {action} failed: {OneLine(inner.Message)}", inner);

    [DoesNotReturn]
    public static void ThrowIo(string dir, string action, Exception inner) =>
        throw new JournalException($"journal {dir}: {action} failed: {OneLine(inner.Message)}", inner);

    [DoesNotReturn]
    public static void ThrowErrno(string dir, string action, Errno errno) =>
        throw new JournalException($"journal {dir}: {action} failed: {ErrnoNames.NameOrNumber((int)errno)}");

    [DoesNotReturn]
    public static void ThrowNotWritable() =>
        throw new InvalidOperationException("this journal store was opened read-only; it has no writer");

    [DoesNotReturn]
    public static void ThrowRecordTooLarge(int size) =>
        throw new ArgumentException($"journal record of {size} bytes exceeds the format's limit");

    [DoesNotReturn]
    public static void ThrowArgumentOutOfRange(string paramName) =>
        throw new ArgumentOutOfRangeException(paramName);

    internal static string OneLine(string message) =>
        message.ReplaceLineEndings(" ").Trim();
}

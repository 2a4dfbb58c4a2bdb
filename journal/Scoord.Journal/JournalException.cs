namespace Scoord.Journal;

/// <summary>
/// The journal cannot be used: missing, foreign, newer format, in use, damaged, or a RocksDB error.
/// </summary>
public sealed class JournalException : ScoordException
{
    public JournalException()
    {
    }

    public JournalException(string message)
        : base(message)
    {
    }

    public JournalException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

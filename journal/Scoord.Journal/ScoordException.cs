namespace Scoord.Journal;

/// <summary>
/// Base of every error scoord reports to its user. The message is one clear line meant for
/// stderr (no stack trace, no newline): the CLI prints <c>scoord: {Message}</c> and exits non-zero.
/// </summary>
public class ScoordException : Exception
{
    public ScoordException()
    {
    }

    public ScoordException(string message)
        : base(message)
    {
    }

    public ScoordException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

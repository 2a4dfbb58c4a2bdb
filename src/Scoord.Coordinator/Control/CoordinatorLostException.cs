using Scoord.Journal;

namespace Scoord.Coordinator.Control;

/// <summary>
/// The coordinator went away during a request: the connection was refused, reset or closed before
/// an answer came. Unlike an answer that reports an error, the request may be retried once the
/// coordinator has released the journal.
/// </summary>
public sealed class CoordinatorLostException : ScoordException
{
    public CoordinatorLostException()
    {
    }

    public CoordinatorLostException(string message)
        : base(message)
    {
    }

    public CoordinatorLostException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

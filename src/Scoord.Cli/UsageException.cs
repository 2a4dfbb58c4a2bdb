using Scoord.Journal;

namespace Scoord.Cli;

/// <summary>The command line itself is wrong (bad option value, missing program): exit code 2.</summary>
internal sealed class UsageException : ScoordException
{
    public UsageException()
    {
    }

    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

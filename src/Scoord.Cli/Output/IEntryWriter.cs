using Scoord.Journal;

namespace Scoord.Cli.Output;

/// <summary>How `scoord log` prints an entry: a table row or a JSON line.</summary>
internal interface IEntryWriter : IDisposable
{
    void Write(JournalEntry entry);

    void Flush();
}

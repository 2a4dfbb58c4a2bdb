namespace Scoord.Journal.Model;

/// <summary>The META record: which journal this is and which format it is written in.</summary>
public struct JournalMeta
{
    public uint FormatVersion;
    public Guid JournalId;
    public long CreatedNs;   // CLOCK_REALTIME, ns since the epoch
}

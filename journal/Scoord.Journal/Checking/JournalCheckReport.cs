namespace Scoord.Journal.Checking;

/// <summary>What `scoord fsck` found: counts, and one line per damage (<c>FAMILY WHERE: WHAT</c>).</summary>
public sealed class JournalCheckReport
{
    public string Directory { get; internal set; } = string.Empty;

    public List<string> Damage { get; } = new();

    public long Records { get; internal set; }

    public long Intents { get; internal set; }

    public long Completions { get; internal set; }

    public long Checkpoints { get; internal set; }

    public long UndoItems { get; internal set; }

    public ulong LastSeq { get; internal set; }

    public bool IsClean => Damage.Count == 0;
}

namespace Scoord.Coordinator.Rollback;

/// <summary>What kind of change `scoord diff` reports for a path.</summary>
public enum ChangeKind
{
    Created,
    Modified,
    Deleted,
    Renamed,
    Metadata,
}

/// <summary>
/// One line of `scoord diff`: a path created (A), modified (M, with byte counts), deleted (D), renamed
/// (R old -> new) or changed in metadata only (m), since a checkpoint.
/// </summary>
public sealed record PathChange(ChangeKind Kind, string Path, string? Path2, long? Bytes, string Detail, bool IsDirectory)
{
    public char Code => Kind switch
    {
        ChangeKind.Created => 'A',
        ChangeKind.Modified => 'M',
        ChangeKind.Deleted => 'D',
        ChangeKind.Renamed => 'R',
        _ => 'm',
    };

    public string Word => Kind switch
    {
        ChangeKind.Created => "created",
        ChangeKind.Modified => "modified",
        ChangeKind.Deleted => "deleted",
        ChangeKind.Renamed => "renamed",
        _ => "metadata",
    };

    /// <summary>"M /t/f (+3 bytes)", "R /t/d -> /t/e".</summary>
    public string ToText()
    {
        string slash = IsDirectory ? "/" : string.Empty;
        string text = Kind == ChangeKind.Renamed ? $"{Code} {Path}{slash} -> {Path2}{slash}" : $"{Code} {Path}{slash}";
        return Detail.Length > 0 ? $"{text} ({Detail})" : text;
    }
}

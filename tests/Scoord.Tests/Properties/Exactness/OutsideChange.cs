namespace Scoord.Tests.Properties.Exactness;

/// <summary>A change made outside scoord (plain python3, not traced) before `rollback --force`.</summary>
public enum OutsideKind
{
    Overwrite,
    Append,
    Truncate,
    Create,
    Delete,
    Chmod,
    Utime,
    SetXattr,
    RemoveXattr,
}

/// <summary>
/// One outside change: <see cref="Pick"/> chooses, among the paths where the change is fair (see
/// <see cref="OutsideChanges"/>), the one to change; the other fields are its operands.
/// </summary>
public sealed record OutsideChange(OutsideKind Kind, int Pick, int Off = 0, int Len = 1, int Seed = 1);

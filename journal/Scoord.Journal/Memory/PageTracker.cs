namespace Scoord.Journal.Memory;

/// <summary>
/// How a process image found the pages it stores (docs/journal-format.md, "Memory images"). Part of the
/// on-disk format: never renumber.
/// </summary>
public enum PageTracker : byte
{
    /// <summary>Every content page is stored: the process's first image, or tracking was not possible.</summary>
    Full = 1,

    /// <summary>Pages written since the last image, from userfaultfd write-protection (async mode) read with PAGEMAP_SCAN.</summary>
    UffdWp = 2,

    /// <summary>Pages written since the last image, from the soft-dirty bit of /proc/PID/pagemap.</summary>
    SoftDirty = 3,

    /// <summary>Every content page read and hashed; only those whose hash changed are stored.</summary>
    ContentHash = 4,
}

/// <summary>Text forms of <see cref="PageTracker"/> (`scoord image`, SCOORD_MEMORY_TRACKER).</summary>
public static class PageTrackers
{
    public static string Name(PageTracker t) => t switch
    {
        PageTracker.Full => "full",
        PageTracker.UffdWp => "uffd-wp",
        PageTracker.SoftDirty => "soft-dirty",
        PageTracker.ContentHash => "hash",
        _ => "unknown",
    };

    public static bool TryParse(string? text, out PageTracker tracker)
    {
        tracker = text switch
        {
            "full" => PageTracker.Full,
            "uffd-wp" => PageTracker.UffdWp,
            "soft-dirty" => PageTracker.SoftDirty,
            "hash" => PageTracker.ContentHash,
            _ => 0,
        };
        return tracker != 0;
    }
}

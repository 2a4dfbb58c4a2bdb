namespace Scoord.Coordinator.Restore;

/// <summary>
/// Where the memory half of a checkpoint comes from (`scoord run --memory`, docs/synchronizer.md).
/// The storage half (the rollback point) is always scoord's own.
/// </summary>
public enum MemoryProvider
{
    /// <summary>No memory checkpoint: `scoord restore` rolls the files back and starts the program afresh.</summary>
    None,

    /// <summary>
    /// The application checkpoints itself into files (`--app-checkpoint GLOB`); `scoord restore` rolls the files
    /// back to the rollback point taken when such a file was finished and relaunches the program, which
    /// resumes from its own checkpoint file.
    /// </summary>
    App,

    /// <summary>CRIU dumps the process tree inside the barrier. Only checked for (`criu check`), see docs/synchronizer.md.</summary>
    Criu,

    /// <summary>
    /// scoord dumps every process of the group itself, inside the barrier, into the journal (src/Scoord.Coordinator/Memory);
    /// `scoord restore` brings the process tree back at that instant (docs/synchronizer.md, "scoord's own memory images").
    /// </summary>
    Scoord,
}

/// <summary>Text forms of <see cref="MemoryProvider"/> as the command line and run records spell them.</summary>
public static class MemoryProviders
{
    public static string Name(MemoryProvider p) => p switch
    {
        MemoryProvider.App => "app",
        MemoryProvider.Criu => "criu",
        MemoryProvider.Scoord => "scoord",
        _ => "none",
    };

    public static bool TryParse(string? text, out MemoryProvider provider)
    {
        switch (text)
        {
            case "none":
                provider = MemoryProvider.None;
                return true;
            case "app":
                provider = MemoryProvider.App;
                return true;
            case "criu":
                provider = MemoryProvider.Criu;
                return true;
            case "scoord":
                provider = MemoryProvider.Scoord;
                return true;
            default:
                provider = MemoryProvider.None;
                return false;
        }
    }
}

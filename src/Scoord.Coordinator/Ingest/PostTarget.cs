namespace Scoord.Coordinator.Ingest;

/// <summary>A path (kernel-resolvable and display form) whose state is recorded at the exit stop.</summary>
internal sealed class PostTarget
{
    public byte[] Stat = [];
    public int StatLen;
    public byte[] Display = [];
    public int DisplayLen;
    public bool Follow;
    public bool Active;

    /// <summary>The display path (kept after the post-state is recorded: the app-checkpoint check reads a rename's new name).</summary>
    public ReadOnlySpan<byte> DisplayPath => Display.AsSpan(0, DisplayLen);

    /// <summary>The kernel-resolvable path, NUL included.</summary>
    public ReadOnlySpan<byte> StatPath => Stat.AsSpan(0, StatLen + 1);

    public void Set(ReadOnlySpan<byte> stat, ReadOnlySpan<byte> display, bool follow)
    {
        if (Stat.Length < stat.Length + 1)
        {
            Stat = new byte[Math.Max(stat.Length + 1, 4160)];
            Display = new byte[Math.Max(display.Length, 4160)];
        }

        if (Display.Length < display.Length)
        {
            Display = new byte[display.Length];
        }

        stat.CopyTo(Stat);
        Stat[stat.Length] = 0;
        StatLen = stat.Length;
        display.CopyTo(Display);
        DisplayLen = display.Length;
        Follow = follow;
        Active = true;
    }
}

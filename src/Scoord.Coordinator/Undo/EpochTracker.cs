namespace Scoord.Coordinator.Undo;

/// <summary>
/// What has been captured in the current checkpoint epoch: the objects whose state was recorded
/// (first touch) and, per file, the blocks whose pre-image was recorded. A checkpoint (or a
/// rollback, or a new run) starts a new epoch: everything is captured afresh. A program that
/// rewrites the same 1 MiB a thousand times in one epoch so costs about 1 MiB of undo data.
/// </summary>
public sealed class EpochTracker
{
    private readonly HashSet<(ulong Dev, ulong Ino)> _touched = new();
    private readonly Dictionary<(ulong Dev, ulong Ino), BlockBitmap> _blocks = new();
    private readonly HashSet<(ulong Dev, ulong Ino)> _born = new();

    public ulong Epoch { get; private set; }

    /// <summary>True the first time (dev, ino) is seen in this epoch.</summary>
    public bool FirstTouch(ulong dev, ulong ino) => _touched.Add((dev, ino));

    /// <summary>True when (dev, ino) has already been recorded in this epoch (no syscall needed to know).</summary>
    public bool IsTouched(ulong dev, ulong ino) => _touched.Contains((dev, ino));

    /// <summary>
    /// The object was created in this epoch: it did not exist at the last checkpoint, so no
    /// rollback needs its bytes or its content when it is removed (undoing its creation removes it).
    /// </summary>
    public void MarkBorn(ulong dev, ulong ino)
    {
        _born.Add((dev, ino));
        _touched.Add((dev, ino));
    }

    public bool IsBorn(ulong dev, ulong ino) => _born.Count > 0 && _born.Contains((dev, ino));

    public BlockBitmap Blocks(ulong dev, ulong ino)
    {
        if (!_blocks.TryGetValue((dev, ino), out BlockBitmap? b))
        {
            b = new BlockBitmap();
            _blocks[(dev, ino)] = b;
        }

        return b;
    }

    /// <summary>Forgets an identity (its inode number may be reused by a new file in this epoch).</summary>
    public void Forget(ulong dev, ulong ino)
    {
        _touched.Remove((dev, ino));
        _blocks.Remove((dev, ino));
        _born.Remove((dev, ino));
    }

    /// <summary>
    /// Forgets everything captured in this epoch, keeping its number: after a journal commit failed, the
    /// captures of the discarded batch are not in the journal, so every object is captured afresh.
    /// Capturing more than needed is harmless (the earliest item wins at rollback); less never is.
    /// </summary>
    public void ForgetAll()
    {
        _touched.Clear();
        _blocks.Clear();
        _born.Clear();
    }

    public void NewEpoch()
    {
        Epoch++;
        _touched.Clear();
        _blocks.Clear();
        _born.Clear();
    }
}

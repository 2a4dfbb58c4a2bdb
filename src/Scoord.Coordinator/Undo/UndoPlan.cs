using System.Runtime.CompilerServices;
using Scoord.Journal.Undo;

namespace Scoord.Coordinator.Undo;

/// <summary>
/// The undo items a call needs, as a list of captures to make (<see cref="UndoPlanner"/> decides, the
/// journal ingest makes them under the call's sequence number), and what to record when the call
/// completes. A value: no allocation, no reference to the call.
/// </summary>
internal struct UndoPlan
{
    public const int MaxSteps = 6;

    public Steps Items;
    public int Count;

    /// <summary>Record the post-state through the fd (scoord's copy is kept open until the exit stop).</summary>
    public bool PostFromFd;

    /// <summary>Record the post-state of the first path, following a final symlink when <see cref="Post1Follow"/>.</summary>
    public bool Post1;
    public bool Post1Follow;

    /// <summary>Record the post-state of the second path (rename, link: the new name).</summary>
    public bool Post2;

    /// <summary>The call creates the object of the first path: at its exit it is "born" in the epoch.</summary>
    public bool Creates;

    /// <summary>A writable shared mapping: remembered at the exit stop, re-captured at checkpoints.</summary>
    public bool Mapping;

    public void Add(in UndoStep step) => Items[Count++] = step;

    [InlineArray(MaxSteps)]
    public struct Steps
    {
        private UndoStep _first;
    }
}

/// <summary>What kind of capture an <see cref="UndoStep"/> is.</summary>
internal enum UndoStepKind : byte
{
    /// <summary>The object's state (type, mode, owner, size, times, xattrs, symlink target), or its absence.</summary>
    State,
    /// <summary>An object the call removes or replaces, kept whole (the graveyard copy); if absent, optionally recorded as absent.</summary>
    Removed,
    /// <summary>The state of the path's parent directory, once per epoch.</summary>
    Parent,
    /// <summary>Pre-images of the blocks from <see cref="UndoStep.Offset"/> to the end (truncation by path, O_TRUNC).</summary>
    BlocksByPath,
    /// <summary>The state of the file behind the call's fd, once per epoch.</summary>
    FdState,
    /// <summary>Pre-images of the blocks [Offset, Offset + Length) of the file behind the call's fd (Length -1: to the end).</summary>
    FdBlocks,
}

/// <summary>One capture of an <see cref="UndoPlan"/>.</summary>
internal struct UndoStep
{
    public UndoStepKind Kind;
    public UndoRole Role;
    /// <summary>Which path of the call: false the first, true the second.</summary>
    public bool Second;
    public bool Follow;
    public bool FirstTouchOnly;
    public bool RecordAbsent;
    /// <summary>
    /// Skip the step when this identity is already recorded in the epoch, checked when the step runs (an
    /// earlier step of the same call may have recorded it: the two parents of a rename in one directory).
    /// (0, 0): no such check.
    /// </summary>
    public (ulong Dev, ulong Ino) SkipIfTouched;
    public long Offset;
    public long Length;
}

using Scoord.Journal.Undo;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Rollback.Model;

/// <summary>
/// A name in a directory of the model: the directory's object id and the entry's name. An object's
/// names in the checkpoint tree and in the current tree are both sets of slots, so a directory renamed
/// carries its entries with it without touching them.
/// </summary>
internal readonly record struct NameSlot(int Dir, string Name);

/// <summary>Where an object of the model comes from.</summary>
internal enum ObjectOrigin
{
    /// <summary>Existed at the checkpoint: rollback brings it back, at its checkpoint names, with its checkpoint state.</summary>
    Original,

    /// <summary>Made by a journaled operation after the checkpoint: rollback removes it.</summary>
    Created,

    /// <summary>Appeared without a journaled operation that made it (a change outside the journal).</summary>
    Foreign,
}

/// <summary>
/// A byte source for the content an original file had at the checkpoint: one pre-image range (Blocks
/// item, data or hole) or a whole copy taken when the file was removed or replaced (Content items; a
/// gap between them is a hole). The earliest source covering a byte tells what it held at the checkpoint.
/// </summary>
internal sealed record ContentSource(ulong Seq, bool Whole, long Size, IReadOnlyList<UndoItem> Items);

/// <summary>
/// One file system object as the journal knows it between a checkpoint and now: whether it existed at
/// the checkpoint, where it was then and where it is now (as name slots), its state then (first state
/// the journal recorded after the checkpoint) and now (last post-state), and where its bytes at the
/// checkpoint can be found. Identity on disk is (dev, ino) now; an inode number reused by a new file is
/// a new object, because every creation makes one.
/// </summary>
internal sealed class TrackedObject
{
    public TrackedObject(int id, ObjectOrigin origin)
    {
        Id = id;
        Origin = origin;
    }

    public int Id { get; }

    public ObjectOrigin Origin { get; set; }

    public bool Original => Origin == ObjectOrigin.Original;

    /// <summary>(dev, ino) now; unknown (0) for a directory only ever seen as a component of a path.</summary>
    public FileId Disk { get; set; }

    /// <summary>S_IFMT bits when known, else 0.</summary>
    public uint Type { get; set; }

    public bool IsDirectory => Type == S_IFDIR;

    /// <summary>Its state at the checkpoint (originals): the first ObjectState recorded after it.</summary>
    public UndoItem? AtCheckpoint { get; set; }

    /// <summary>The last state an operation left (what the disk should show now).</summary>
    public UndoItem? LastPost { get; set; }

    /// <summary>An operation whose outcome is unknown (pending) or a live writable mapping touched it since its last post-state.</summary>
    public bool StateUnknown { get; set; }

    /// <summary>Its ctime moved without a post-state of it (one of its hard links was made or removed by name).</summary>
    public bool CtimeUnknown { get; set; }

    /// <summary>Writable shared mappings made and not yet seen to go.</summary>
    public int LiveMappings { get; set; }

    /// <summary>Names it had that no journaled operation ever used (its link count said so): at the checkpoint too.</summary>
    public int UnknownNames { get; set; }

    /// <summary>Only seen as a directory on the way to something else: no state of its own was recorded.</summary>
    public bool Implicit { get; set; }

    /// <summary>Where it was at the checkpoint (originals; several for hard links).</summary>
    public List<NameSlot> CheckpointNames { get; } = new();

    /// <summary>Where it is now, per the journal.</summary>
    public List<NameSlot> CurrentNames { get; } = new();

    /// <summary>Pre-images and whole copies, in seq order.</summary>
    public List<ContentSource> Sources { get; } = new();

    public bool Alive => CurrentNames.Count > 0;

    public override string ToString() => $"#{Id} {Origin} {Disk.Dev}:{Disk.Ino}";
}

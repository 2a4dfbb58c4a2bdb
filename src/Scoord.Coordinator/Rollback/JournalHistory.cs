using Scoord.Journal;
using Scoord.Journal.Model;
using Scoord.Journal.Undo;
using Scoord.Interceptors.Syscalls;

namespace Scoord.Coordinator.Rollback;

/// <summary>What a journaled operation did to names and content, for the rollback's purposes.</summary>
internal enum OpClass
{
    /// <summary>Metadata or content only: undone per object, not by replay.</summary>
    Other,
    /// <summary>Made a new object (O_CREAT of a new file, mkdir, mknod, bind, symlink).</summary>
    Create,
    /// <summary>Made a new name for an existing object (link: path2).</summary>
    Link,
    /// <summary>Removed a name (unlink, unlinkat, rmdir).</summary>
    Remove,
    /// <summary>rename, renameat, renameat2.</summary>
    Rename,
}

/// <summary>One journaled operation after the checkpoint with its undo items.</summary>
internal sealed class HistoryOp
{
    public required JournalEntry Entry { get; init; }
    public required List<UndoItem> Items { get; init; }
    public OpClass Class { get; set; }

    public ulong Seq => Entry.Seq;
    public string Path => Entry.PathText ?? string.Empty;
    public string Path2 => Entry.Path2Text ?? string.Empty;
    public bool Pending => Entry.Status == EntryStatus.Pending;

    public bool Failed => Entry.Status == EntryStatus.Failed;
    public bool IsExchange => Class == OpClass.Rename && Entry.Op == OpCode.Renameat2 && (Entry.OpFlags & 2) != 0;

    public UndoItem? Find(UndoKind kind, UndoRole role) => Items.Find(i => i.Kind == kind && i.Role == role);

    /// <summary>History identities of <see cref="Items"/>, index by index (set when the history is indexed).</summary>
    public ObjKey[] ItemKeys { get; set; } = [];

    /// <summary>History identity of the intent's object (its identity before the op).</summary>
    public ObjKey EntryKey { get; set; }

    public ObjKey CreatedKey { get; set; }

    public ObjKey MovedKey { get; set; }

    public ObjKey Key(UndoItem i) => ItemKeys[Items.IndexOf(i)];

    /// <summary>The object created by a Create op (post-state, else the completion's identity).</summary>
    public FileId CreatedId
    {
        get
        {
            UndoItem? post = Items.Find(i => i.Kind == UndoKind.PostState && i.Role == UndoRole.Object && i.Existed);
            return post is not null ? Id(post) : new FileId(Entry.DevAfter, Entry.InoAfter);
        }
    }

    /// <summary>The object a rename moved (its identity before the op).</summary>
    public FileId MovedId
    {
        get
        {
            if (Entry.Ino != 0)
            {
                return new FileId(Entry.Dev, Entry.Ino);
            }

            UndoItem? s = Items.Find(i => i.Kind == UndoKind.ObjectState && i.Role == UndoRole.Object && i.Existed);
            s ??= Items.Find(i => i.Kind == UndoKind.PostState && i.Role == UndoRole.Second && i.Existed);
            return s is null ? default : Id(s);
        }
    }

    public static FileId Id(UndoItem i) => new(i.Dev, i.Ino);
}

/// <summary>A rename as the path mapping needs it.</summary>
internal readonly record struct RenameStep(ulong Seq, string Old, string New, bool Exchange);

/// <summary>
/// The journal after a checkpoint, read once: the operations (completed or pending; failed, refused,
/// process events and scoord's own markers left out) with their undo items, and what follows from
/// them per object: its state at the checkpoint, whether it was created after, its last post-state.
/// </summary>
internal sealed class JournalHistory
{
    private static readonly OpCode[] s_createOps = [OpCode.Mkdir, OpCode.Mkdirat, OpCode.Mknod, OpCode.Mknodat, OpCode.Bind, OpCode.Symlink, OpCode.Symlinkat];
    private static readonly OpCode[] s_openOps = [OpCode.Open, OpCode.Openat, OpCode.Openat2, OpCode.Creat];

    private JournalHistory(ulong checkpointSeq) => CheckpointSeq = checkpointSeq;

    public ulong CheckpointSeq { get; }

    /// <summary>Operations in seq order.</summary>
    public List<HistoryOp> Ops { get; } = new();

    /// <summary>Completed renames in seq order.</summary>
    public List<RenameStep> Renames { get; } = new();

    /// <summary>Per object: its earliest ObjectState that says it existed (the state before its first change).</summary>
    public Dictionary<ObjKey, UndoItem> Earliest { get; } = new();

    /// <summary>Per object made after the checkpoint: the seq of its creation.</summary>
    public Dictionary<ObjKey, ulong> CreatedAt { get; } = new();

    /// <summary>Per object: its last post-state.</summary>
    public Dictionary<ObjKey, UndoItem> LastPost { get; } = new();

    /// <summary>Per object: the pre-image items of its content (Blocks), in seq order.</summary>
    public Dictionary<ObjKey, List<UndoItem>> Blocks { get; } = new();

    /// <summary>Every path the journal knows for an object (for relinking hard links).</summary>
    public Dictionary<ObjKey, HashSet<string>> Names { get; } = new();

    public static JournalHistory Load(JournalReader reader, ulong checkpointSeq)
    {
        var h = new JournalHistory(checkpointSeq);
        var bySeq = new Dictionary<ulong, HistoryOp>();
        foreach (JournalEntry e in reader.Read(checkpointSeq + 1))
        {
            if (e.IsProcessEvent || e.Op is OpCode.Checkpoint or OpCode.Rollback || (e.IntentFlags & IntentFlags.Refused) != 0)
            {
                continue;
            }

            // A failed op changed nothing, but the states captured before it are true states of their
            // objects, and the first touch of an epoch may be recorded only there: kept (never replayed).

            var op = new HistoryOp { Entry = e, Items = new List<UndoItem>() };
            h.Ops.Add(op);
            bySeq[e.Seq] = op;
        }

        foreach (UndoItem item in reader.ReadUndo(checkpointSeq + 1))
        {
            if (bySeq.TryGetValue(item.Seq, out HistoryOp? op))
            {
                op.Items.Add(item);
            }
        }

        foreach (HistoryOp op in h.Ops)
        {
            h.Index(op);
        }

        return h;
    }

    private readonly Dictionary<FileId, int> _gens = new();

    private ObjKey KeyOf(FileId id) => new(id.Dev, id.Ino, id.IsKnown ? _gens.GetValueOrDefault(id) : 0);

    private void Index(HistoryOp op)
    {
        JournalEntry e = op.Entry;
        op.Class = e.Status == EntryStatus.Failed ? OpClass.Other : Classify(op);
        op.EntryKey = KeyOf(new FileId(e.Dev, e.Ino));
        op.MovedKey = KeyOf(op.MovedId);
        if (op.Class == OpClass.Create && op.CreatedId is { IsKnown: true } made)
        {
            // A new object: if its inode number was seen before, it is a new generation of that number.
            if (_seen.Contains(made))
            {
                _gens[made] = _gens.GetValueOrDefault(made) + 1;
            }

            op.CreatedKey = KeyOf(made);
            CreatedAt.TryAdd(op.CreatedKey, op.Seq);
        }
        else if (op.Class == OpClass.Create && op.Pending)
        {
            // scoord died (or the tracee was killed) after the syscall and before its completion: the
            // created object's identity is unknown. The first object later seen at that path is it.
            _pendingCreations[op.Path] = op.Seq;
        }

        op.ItemKeys = new ObjKey[op.Items.Count];
        for (int n = 0; n < op.Items.Count; n++)
        {
            op.ItemKeys[n] = KeyOf(HistoryOp.Id(op.Items[n]));
            if (op.Items[n].Ino != 0)
            {
                _seen.Add(HistoryOp.Id(op.Items[n]));
            }
        }

        if (e.Ino != 0)
        {
            _seen.Add(new FileId(e.Dev, e.Ino));
        }

        for (int n = 0; n < op.Items.Count; n++)
        {
            UndoItem i = op.Items[n];
            ObjKey id = op.ItemKeys[n];
            switch (i.Kind)
            {
                case UndoKind.ObjectState when i.Existed:
                    if (Earliest.TryAdd(id, i) && _pendingCreations.Count > 0
                        && _pendingCreations.Remove(PathText.ToText(i.Path), out ulong createdAt) && createdAt < op.Seq)
                    {
                        CreatedAt.TryAdd(id, createdAt);
                    }

                    AddName(id, i.Path);
                    break;
                case UndoKind.PostState when i.Existed:
                    LastPost[id] = i;
                    AddName(id, i.Path);
                    break;
                case UndoKind.Blocks:
                    if (!Blocks.TryGetValue(id, out List<UndoItem>? list))
                    {
                        Blocks[id] = list = new List<UndoItem>();
                    }

                    list.Add(i);
                    break;
            }
        }

        if (op.Class == OpClass.Rename && e.Status == EntryStatus.Completed)
        {
            Renames.Add(new RenameStep(op.Seq, op.Path, op.Path2, op.IsExchange));
        }
    }

    private readonly HashSet<FileId> _seen = new();
    private readonly Dictionary<string, ulong> _pendingCreations = new(StringComparer.Ordinal);

    /// <summary>Every name the journal recorded for each object up to the checkpoint (read only when needed).</summary>
    public static Dictionary<FileId, HashSet<string>> NamesBefore(JournalReader reader, ulong checkpointSeq)
    {
        var names = new Dictionary<FileId, HashSet<string>>();
        void Add(ulong dev, ulong ino, byte[]? path)
        {
            if (ino == 0 || path is null || path.Length == 0)
            {
                return;
            }

            var id = new FileId(dev, ino);
            if (!names.TryGetValue(id, out HashSet<string>? set))
            {
                names[id] = set = new HashSet<string>(StringComparer.Ordinal);
            }

            set.Add(PathText.ToText(path));
        }

        foreach (JournalEntry e in reader.Read(1))
        {
            if (e.Seq >= checkpointSeq)
            {
                break;
            }

            if (!e.IsProcessEvent && e.Status == EntryStatus.Completed)
            {
                Add(e.Dev, e.Ino, e.Path);
                if (e.Op is OpCode.Link or OpCode.Linkat)
                {
                    Add(e.Dev, e.Ino, e.Path2);
                }
            }
        }

        foreach (UndoItem i in reader.ReadUndo(1, checkpointSeq))
        {
            if (i.Kind is UndoKind.ObjectState or UndoKind.PostState && i.Existed)
            {
                Add(i.Dev, i.Ino, i.Path);
            }
        }

        return names;
    }

    private void AddName(ObjKey id, byte[] path)
    {
        if (path.Length == 0)
        {
            return;
        }

        if (!Names.TryGetValue(id, out HashSet<string>? set))
        {
            Names[id] = set = new HashSet<string>(StringComparer.Ordinal);
        }

        set.Add(PathText.ToText(path));
    }

    private static OpClass Classify(HistoryOp op)
    {
        OpCode code = op.Entry.Op;
        if (Array.IndexOf(s_createOps, code) >= 0)
        {
            return OpClass.Create;
        }

        if (Array.IndexOf(s_openOps, code) >= 0)
        {
            // O_CREAT of a name that did not exist: the tracer records the object as absent.
            return op.Items.Exists(i => i.Kind == UndoKind.ObjectState && i.Role == UndoRole.Object && !i.Existed)
                ? OpClass.Create
                : OpClass.Other;
        }

        return code switch
        {
            OpCode.Link or OpCode.Linkat => OpClass.Link,
            OpCode.Unlink or OpCode.Unlinkat or OpCode.Rmdir => OpClass.Remove,
            OpCode.Rename or OpCode.Renameat or OpCode.Renameat2 => IsNoOpRename(op) ? OpClass.Other : OpClass.Rename,
            _ => OpClass.Other,
        };
    }

    /// <summary>
    /// A rename whose two names are the same object (`mv d d`, or two hard links of one inode) does
    /// nothing (rename(2): "If oldpath and newpath are existing hard links referring to the same file,
    /// rename() does nothing"): both names stay, so there is nothing to rename back or to recreate.
    /// </summary>
    private static bool IsNoOpRename(HistoryOp op)
    {
        if ((op.Entry.OpFlags & 2) != 0)
        {
            return false; // RENAME_EXCHANGE of one object with itself is a no-op too, and exchanging again undoes it
        }

        if (op.Path.Length > 0 && op.Path == op.Path2)
        {
            return true;
        }

        FileId moved = op.MovedId;
        if (!moved.IsKnown)
        {
            return false;
        }

        // After a real rename the old name is gone; after a no-op it still names the object.
        UndoItem? postOld = op.Find(UndoKind.PostState, UndoRole.Object);
        if (postOld is { Existed: true } && HistoryOp.Id(postOld) == moved)
        {
            return true;
        }

        // Journals written before the tracer knew: the "replaced" destination was the object itself.
        UndoItem? replaced = op.Find(UndoKind.ObjectState, UndoRole.Target);
        return replaced is { Existed: true } && HistoryOp.Id(replaced) == moved;
    }

    /// <summary>True when the object existed at the checkpoint (it has an earlier state than any creation of it).</summary>
    public bool ExistedAtCheckpoint(ObjKey id, out UndoItem state)
    {
        if (!Earliest.TryGetValue(id, out state!))
        {
            return false;
        }

        return !CreatedAt.TryGetValue(id, out ulong created) || created > state.Seq;
    }

    /// <summary>
    /// The path <paramref name="path"/> (as seen just before op <paramref name="seq"/>) had at the
    /// checkpoint: the renames between the checkpoint and <paramref name="seq"/> applied backwards.
    /// </summary>
    public string MapBack(string path, ulong seq)
    {
        for (int i = Renames.Count - 1; i >= 0; i--)
        {
            RenameStep r = Renames[i];
            if (r.Seq >= seq)
            {
                continue;
            }

            if (Under(path, r.New, out string rest))
            {
                path = r.Old + rest;
            }
            else if (r.Exchange && Under(path, r.Old, out rest))
            {
                path = r.New + rest;
            }
        }

        return path;
    }

    /// <summary>The path the object at <paramref name="path"/> (just after op <paramref name="seq"/>) has at the journal's end.</summary>
    public string MapForward(string path, ulong seq)
    {
        foreach (RenameStep r in Renames)
        {
            if (r.Seq <= seq)
            {
                continue;
            }

            if (Under(path, r.Old, out string rest))
            {
                path = r.New + rest;
            }
            else if (r.Exchange && Under(path, r.New, out rest))
            {
                path = r.Old + rest;
            }
        }

        return path;
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="dir"/> or below it; <paramref name="rest"/> is what follows.</summary>
    public static bool Under(string path, string dir, out string rest)
    {
        rest = string.Empty;
        if (dir.Length == 0 || !path.StartsWith(dir, StringComparison.Ordinal))
        {
            return false;
        }

        if (path.Length == dir.Length)
        {
            return true;
        }

        if (path[dir.Length] != '/')
        {
            return false;
        }

        rest = path[dir.Length..];
        return true;
    }
}

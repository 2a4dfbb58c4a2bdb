using Scoord.Interceptors.Decoding;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal;
using Scoord.Journal.Model;
using Scoord.Journal.Undo;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Rollback.Model;

/// <summary>What a journaled operation did to names, for the model.</summary>
internal enum OpClass
{
    /// <summary>Content or metadata only.</summary>
    Other,
    /// <summary>Made a new object (O_CREAT of a new name, mkdir, mknod, bind, symlink).</summary>
    Create,
    /// <summary>Made a new name for an existing object (link: path2).</summary>
    Link,
    /// <summary>Removed a name (unlink, unlinkat, rmdir).</summary>
    Remove,
    /// <summary>rename, renameat, renameat2 (not one whose two names are the same object).</summary>
    Rename,
}

/// <summary>
/// Builds a <see cref="CheckpointModel"/> by walking the operations after a checkpoint in journal
/// order. Every undo item is an observation of the tree at a moment: an ObjectState says what a name
/// held just before an operation (or that it was absent), a PostState what it held just after. A name
/// met for the first time was not changed by any journaled operation since the checkpoint, so what it
/// holds then is what it held at the checkpoint: that is how the checkpoint tree is learnt, lazily, for
/// exactly the names the journal touched. Operations then move objects between names (creations make
/// new objects, removals take names away, renames move a slot's object, links add a name).
/// <para>
/// Pending operations (intent journaled, completion lost: scoord was killed, or the tracee died in the
/// syscall) are decided from the next observation of their names in the journal, else from the disk
/// now (<see cref="PendingResolver"/>): nothing a crash left behind is taken for an outside change.
/// </para>
/// </summary>
internal sealed class ModelBuilder
{
    private static readonly OpCode[] s_createOps = [OpCode.Mkdir, OpCode.Mkdirat, OpCode.Mknod, OpCode.Mknodat, OpCode.Bind, OpCode.Symlink, OpCode.Symlinkat];
    private static readonly OpCode[] s_openOps = [OpCode.Open, OpCode.Openat, OpCode.Openat2, OpCode.Creat];

    private readonly CheckpointModel _m;
    private ulong _seq;

    private ModelBuilder(CheckpointModel model) => _m = model;

    /// <summary>The model of everything after the checkpoint with seq <paramref name="checkpointSeq"/>.</summary>
    public static CheckpointModel Load(JournalReader reader, ulong checkpointSeq)
    {
        var ops = new List<HistoryOp>();
        var bySeq = new Dictionary<ulong, HistoryOp>();
        var settled = new List<(ulong Target, ulong At)>();
        foreach (JournalEntry e in reader.Read(checkpointSeq + 1))
        {
            if (e.Op == OpCode.Rollback && e.Status == EntryStatus.Completed && e.Result == 0)
            {
                // A rollback that finished leaving no conflict alone (with --force, or with none to leave)
                // made every name it saw the journal's again: what it found changed outside is settled.
                settled.Add(((ulong)e.Length, e.Seq));
            }

            if (e.IsProcessEvent || e.Op is OpCode.Checkpoint or OpCode.Rollback || (e.IntentFlags & IntentFlags.Refused) != 0)
            {
                continue;
            }

            var op = new HistoryOp(e);
            ops.Add(op);
            bySeq[e.Seq] = op;
        }

        foreach (UndoItem item in reader.ReadUndo(checkpointSeq + 1, ulong.MaxValue, skipBulkData: true))
        {
            if (bySeq.TryGetValue(item.Seq, out HistoryOp? op))
            {
                op.Items.Add(item);
            }
        }

        var model = new CheckpointModel(checkpointSeq) { Reader = reader, OperationCount = ops.Count };
        var builder = new ModelBuilder(model);
        var resolver = new PendingResolver(ops);
        for (int i = 0; i < ops.Count; i++)
        {
            HistoryOp op = ops[i];
            op.Class = op.Entry.Status == EntryStatus.Failed ? OpClass.Other : Classify(op);
            OpOutcome outcome = op.Entry.Status switch
            {
                EntryStatus.Completed => OpOutcome.Completed,
                EntryStatus.Failed => OpOutcome.Failed,
                _ => resolver.Decide(i, op),
            };
            builder.Apply(op, outcome, resolver.ResolvedId);
        }

        builder.Finish();
        model.Anomalies.RemoveAll(a => settled.Exists(r => a.Seq > r.Target && a.Seq < r.At));
        if (Environment.GetEnvironmentVariable("SCOORD_DEBUG_MODEL") == "1")
        {
            Console.Error.Write(model.Dump());
        }

        return model;
    }

    private void Apply(HistoryOp op, OpOutcome outcome, FileId resolvedId)
    {
        JournalEntry e = op.Entry;
        _seq = e.Seq;
        bool byId = IsIdentityOp(e);
        string? path = e.PathText;

        // 1. What the names held before the operation.
        foreach (UndoItem it in op.Items)
        {
            if (it.Kind != UndoKind.ObjectState)
            {
                continue;
            }

            string p = PathText.ToText(it.Path);
            if (it.Role == UndoRole.Parent && it.Existed && (it.Mode & S_IFMT) != S_IFDIR)
            {
                continue; // a "parent" that is not a directory (a symlink to a file on the way): the op failed with ENOTDIR
            }

            if (!it.Existed)
            {
                if (it.Role != UndoRole.Object || !FollowsFinalSymlink(e))
                {
                    ObserveAbsent(p);
                }
            }
            else if (byId && it.Role == UndoRole.Object && _m.ById.TryGetValue(Id(it), out TrackedObject? known))
            {
                FillState(known, it);
            }
            else if (byId && it.Role == UndoRole.Object && Deleted(e))
            {
                // The name it was opened by is gone, so nothing is learnt about names; but the object is
                // known from now on, by identity, with its state (its names come later, or are searched).
                Adopt(Id(it), it);
            }
            else
            {
                Observe(p, Id(it), it);
            }
        }

        TrackedObject? obj = null;
        if (byId)
        {
            var id = new FileId(e.Dev, e.Ino);
            // A munmap event's path is the name the file had when it was mapped: by now it may name
            // something else, so it says nothing about names.
            if (!_m.ById.TryGetValue(id, out obj) && !Deleted(e) && id.IsKnown && e.Op != OpCode.Munmap)
            {
                obj = Observe(path, id, null);
            }
        }
        else if (!string.IsNullOrEmpty(path))
        {
            if (e.Ino != 0)
            {
                obj = Observe(path, new FileId(e.Dev, e.Ino), null);
            }
            else if (e.Kind == ObjectKind.Absent && !FollowsFinalSymlink(e))
            {
                ObserveAbsent(path);
            }
        }

        // Pre-images are the first capture of their blocks in the epoch even when the op then failed
        // (later ops do not capture those blocks again): they belong to the history whatever happened.
        foreach (UndoItem it in op.Items)
        {
            if (it.Kind == UndoKind.Blocks && Known(Id(it)) is { } owner)
            {
                owner.Sources.Add(new ContentSource(it.Seq, Whole: false, it.Size, [it]));
            }
        }

        if (outcome is OpOutcome.Failed or OpOutcome.DidNotHappen)
        {
            return;
        }

        bool pending = outcome == OpOutcome.Happened;
        if (pending && (ThroughNonDirectory(path) || ThroughNonDirectory(e.Path2Text)))
        {
            return; // an op of unknown outcome whose path goes through a file or symlink failed with ENOTDIR
        }

        // 2. What the operation did to names.
        switch (op.Class)
        {
            case OpClass.Create:
            {
                UndoItem? post = op.Find(UndoKind.PostState, UndoRole.Object);
                FileId made = post is { Existed: true } ? Id(post) : pending ? resolvedId : new FileId(e.DevAfter, e.InoAfter);
                TrackedObject created = NewObject(ObjectOrigin.Created, made);
                created.Type = post is { Existed: true } ? post.Mode & S_IFMT : TypeOfCreation(e);
                created.StateUnknown = pending;
                Place(path, created);
                break;
            }

            case OpClass.Link:
            {
                TrackedObject? src = At(path) ?? Known(new FileId(e.Dev, e.Ino));
                if (src is not null)
                {
                    Place(e.Path2Text, src);
                    src.CtimeUnknown |= pending;
                }

                break;
            }

            case OpClass.Remove:
            {
                UndoItem? target = op.Find(UndoKind.ObjectState, UndoRole.Target);
                TrackedObject? victim = At(path) ?? (target is { Existed: true } ? Known(Id(target)) : null);
                Unplace(path);
                if (victim is not null && target is { Existed: true })
                {
                    Removed(victim, target, op);
                }

                break;
            }

            case OpClass.Rename:
                Rename(op, pending);
                break;

            default:
                // A pending op's path may go through a directory gone since its decode: looked up, not made.
                obj ??= byId ? null : pending ? AtKnown(path) : At(path);
                if (obj is not null)
                {
                    if (e.Op == OpCode.Mmap && e.Fd >= 0)
                    {
                        obj.LiveMappings++;
                    }

                    obj.StateUnknown |= pending;
                }

                break;
        }

        // 4. What the operation left.
        bool mappingPosted = false;
        foreach (UndoItem it in op.Items)
        {
            if (it.Kind != UndoKind.PostState || !it.Existed)
            {
                continue;
            }

            TrackedObject? o = Known(Id(it));
            if (o is null && it.Path.Length > 0 && it.Role != UndoRole.Parent && !byId)
            {
                o = Observe(PathText.ToText(it.Path), Id(it), null);
            }

            if (o is null)
            {
                continue;
            }

            o.LastPost = it;
            o.Type = it.Mode & S_IFMT;
            o.StateUnknown = false;
            o.CtimeUnknown = false;
            if (e.Op == OpCode.Munmap && o.Disk == new FileId(e.Dev, e.Ino))
            {
                mappingPosted = true;
            }
        }

        if (e.Op == OpCode.Munmap && Known(new FileId(e.Dev, e.Ino)) is { } mapped)
        {
            mapped.LiveMappings = Math.Max(0, mapped.LiveMappings - 1);
            if (!mappingPosted)
            {
                // The mapping's path names something else by now: its own last state is not known.
                mapped.StateUnknown = true;
            }
        }
    }

    private void Rename(HistoryOp op, bool pending)
    {
        JournalEntry e = op.Entry;
        string? from = e.PathText, to = e.Path2Text;
        if (op.IsExchange)
        {
            // A name the journal had not seen yet held, before the exchange, what the other name holds after it.
            if (At(to) is null && op.Find(UndoKind.PostState, UndoRole.Object) is { Existed: true } nowAtFrom)
            {
                Observe(to, Id(nowAtFrom), null);
            }

            if (At(from) is null && op.Find(UndoKind.PostState, UndoRole.Second) is { Existed: true } nowAtTo)
            {
                Observe(from, Id(nowAtTo), null);
            }
        }

        TrackedObject? moved = At(from) ?? Known(op.MovedId);
        if (op.IsExchange)
        {
            TrackedObject? other = At(to);
            NameSlot? a = SlotOf(from), b = SlotOf(to);
            if (a is null || b is null)
            {
                return;
            }

            Unplace(from);
            Unplace(to);
            if (other is not null)
            {
                Place(from, other);
                other.CtimeUnknown |= pending; // an exchange moves both: their post-states died with the coordinator
            }

            if (moved is not null)
            {
                Place(to, moved);
                moved.CtimeUnknown |= pending;
            }

            return;
        }

        UndoItem? target = op.Find(UndoKind.ObjectState, UndoRole.Target);
        TrackedObject? victim = At(to);
        if (victim is not null && victim != moved)
        {
            Unplace(to);
            if (target is { Existed: true })
            {
                Removed(victim, target, op);
            }
        }

        Unplace(from);
        if (moved is not null)
        {
            Place(to, moved);
            moved.CtimeUnknown |= pending;
        }
    }

    /// <summary>A name of <paramref name="victim"/> was removed (unlink, rmdir, or replaced by a rename): its whole copy, its other names.</summary>
    private static void Removed(TrackedObject victim, UndoItem target, HistoryOp op)
    {
        if ((target.Flags & UndoFlags.HasContent) != 0)
        {
            var chunks = op.Items.FindAll(i => i.Kind == UndoKind.Content && i.Dev == target.Dev && i.Ino == target.Ino);
            victim.Sources.Add(new ContentSource(op.Seq, Whole: true, target.Size, chunks));
        }

        if ((target.Mode & S_IFMT) != S_IFDIR)
        {
            // Link count before the removal minus the names the journal knows (this one included): names
            // no journaled operation ever used, which it therefore had at the checkpoint too.
            int unknown = (int)target.Nlink - (victim.CurrentNames.Count + 1);
            if (unknown > victim.UnknownNames)
            {
                victim.UnknownNames = unknown;
            }

            if (target.Nlink > 1)
            {
                victim.CtimeUnknown = true; // its other names stay; its ctime moved without a post-state of it
            }
        }
    }

    private void Finish()
    {
        foreach (TrackedObject o in _m.Objects)
        {
            if (o.LiveMappings > 0)
            {
                o.StateUnknown = true; // memory writes through a mapping not yet seen to go
            }
        }
    }

    // ---- observations ----

    /// <summary>
    /// The name <paramref name="path"/> holds the object with identity <paramref name="id"/> (and, when
    /// given, state <paramref name="state"/>). Learns the name's checkpoint occupant on first sight.
    /// </summary>
    private TrackedObject? Observe(string? path, FileId id, UndoItem? state)
    {
        if (SlotOf(path) is not { } slot)
        {
            return Known(id);
        }

        if (_m.Current.TryGetValue(slot, out TrackedObject? occupant))
        {
            if (occupant is not null)
            {
                if (!occupant.Disk.IsKnown && id.IsKnown && !_m.ById.ContainsKey(id))
                {
                    occupant.Disk = id;
                    _m.ById[id] = occupant;
                }

                if (!id.IsKnown || occupant.Disk == id)
                {
                    FillState(occupant, state);
                    return occupant;
                }

                Anomaly(path!, $"holds inode {id.Ino}, not inode {occupant.Disk.Ino} as the journal expects");
                Evict(slot, occupant);
            }
            else
            {
                Anomaly(path!, "exists, but the journal expects nothing there");
            }

            TrackedObject found = id.IsKnown && _m.ById.TryGetValue(id, out TrackedObject? k) ? k : NewObject(ObjectOrigin.Foreign, id);
            Bind(slot, found, checkpointToo: false);
            FillState(found, state);
            return found;
        }

        // First sight of this name: no journaled operation changed it since the checkpoint.
        TrackedObject dir = _m.Get(slot.Dir);
        TrackedObject o;
        if (id.IsKnown && _m.ById.TryGetValue(id, out TrackedObject? same))
        {
            o = same; // another name of an object the journal knows (a hard link it had not seen)
            if (o.UnknownNames > 0)
            {
                o.UnknownNames--;
            }
        }
        else
        {
            o = NewObject(dir.Original ? ObjectOrigin.Original : ObjectOrigin.Foreign, id);
        }

        // An object that cannot have been there at the checkpoint (in a directory made since, or made since
        // itself) leaves the name's checkpoint occupant unknown: rollback then leaves that name alone.
        Bind(slot, o, checkpointToo: o.Original && dir.Original);
        FillState(o, state);
        return o;
    }

    private void ObserveAbsent(string? path)
    {
        // A name seen absent says nothing of its directory (a failed op under a missing directory sees
        // the same): only names under directories the model already has are learnt this way.
        if (SlotOf(path, materialize: false) is not { } slot)
        {
            return;
        }

        if (_m.Current.TryGetValue(slot, out TrackedObject? occupant))
        {
            if (occupant is not null)
            {
                Anomaly(path!, "is gone, but the journal did not remove it");
                Evict(slot, occupant);
            }

            return;
        }

        _m.Current[slot] = null;
        _m.AtCheckpoint[slot] = null;
    }

    /// <summary>
    /// An object first met through an fd whose name is gone: it existed at the checkpoint (its creation
    /// would be in the journal otherwise), at names the journal has not seen yet (its link count).
    /// </summary>
    private void Adopt(FileId id, UndoItem state)
    {
        if (!id.IsKnown || _m.ById.ContainsKey(id))
        {
            return;
        }

        TrackedObject o = NewObject(ObjectOrigin.Original, id);
        o.UnknownNames = (int)state.Nlink;
        FillState(o, state);
    }

    private static void FillState(TrackedObject o, UndoItem? state)
    {
        if (state is null || !state.Existed)
        {
            return;
        }

        if (o.Type == 0)
        {
            o.Type = state.Mode & S_IFMT;
        }

        if (state.Kind == UndoKind.ObjectState && o.Original && o.AtCheckpoint is null)
        {
            o.AtCheckpoint = state;
            o.Type = state.Mode & S_IFMT;
        }
    }

    // ---- the current tree ----

    private TrackedObject? At(string? path) => SlotOf(path) is { } slot && _m.Current.TryGetValue(slot, out TrackedObject? o) ? o : null;

    private TrackedObject? AtKnown(string? path) => SlotOf(path, materialize: false) is { } slot && _m.Current.TryGetValue(slot, out TrackedObject? o) ? o : null;

    private TrackedObject? Known(FileId id) => id.IsKnown && _m.ById.TryGetValue(id, out TrackedObject? o) ? o : null;

    /// <summary>Puts <paramref name="o"/> at <paramref name="path"/> (a creation, a link, the new name of a rename).</summary>
    private void Place(string? path, TrackedObject o)
    {
        if (SlotOf(path) is not { } slot)
        {
            return;
        }

        if (_m.Current.TryGetValue(slot, out TrackedObject? occupant))
        {
            if (occupant == o)
            {
                return;
            }

            if (occupant is not null)
            {
                Anomaly(path!, "was occupied when the journal put another object there");
                Evict(slot, occupant);
            }
        }
        else
        {
            _m.AtCheckpoint[slot] = null; // a name first met by a creation was free at the checkpoint
        }

        _m.Current[slot] = o;
        if (o.IsDirectory)
        {
            // A directory has one name: a stale one (its old name was never seen to go) is dropped.
            foreach (NameSlot old in o.CurrentNames)
            {
                _m.Current[old] = null;
            }

            o.CurrentNames.Clear();
        }

        o.CurrentNames.Add(slot);
    }

    /// <summary>Takes the name <paramref name="path"/> away from whatever holds it.</summary>
    private void Unplace(string? path)
    {
        if (SlotOf(path) is not { } slot)
        {
            return;
        }

        if (_m.Current.TryGetValue(slot, out TrackedObject? occupant) && occupant is not null)
        {
            occupant.CurrentNames.Remove(slot);
        }
        else if (!_m.Current.ContainsKey(slot))
        {
            _m.AtCheckpoint[slot] = null;
        }

        _m.Current[slot] = null;
    }

    private void Bind(NameSlot slot, TrackedObject o, bool checkpointToo)
    {
        _m.Current[slot] = o;
        if (!o.CurrentNames.Contains(slot))
        {
            o.CurrentNames.Add(slot);
        }

        if (checkpointToo)
        {
            _m.AtCheckpoint[slot] = o;
            if (!o.CheckpointNames.Contains(slot))
            {
                o.CheckpointNames.Add(slot);
            }
        }
    }

    private void Evict(NameSlot slot, TrackedObject occupant)
    {
        occupant.CurrentNames.Remove(slot);
        _m.Current[slot] = null;
    }

    /// <summary>A new object; an identity given to it is taken from whatever had it before (inode numbers are reused).</summary>
    private TrackedObject NewObject(ObjectOrigin origin, FileId id)
    {
        TrackedObject o = _m.Add(origin);
        o.Disk = id;
        if (id.IsKnown)
        {
            if (_m.ById.TryGetValue(id, out TrackedObject? old) && old != o)
            {
                // The kernel reused the inode number: the old object is gone for good, whatever names the
                // journal still had for it (none if the journal saw it go) and unknown names included.
                foreach (NameSlot s in old.CurrentNames.ToArray())
                {
                    Anomaly(_m.PathOf(s, checkpoint: false) ?? "?", $"held inode {id.Ino}, which the kernel gave to a new object");
                    Evict(s, old);
                }

                old.UnknownNames = 0;
                old.Disk = default;
            }

            _m.ById[id] = o;
        }

        return o;
    }

    /// <summary>Whether a directory on the way to <paramref name="path"/> is, in the current tree, an object that is not a directory.</summary>
    private bool ThroughNonDirectory(string? path)
    {
        if (!CheckpointModel.TrySplit(path, out List<string> parts))
        {
            return false;
        }

        TrackedObject dir = _m.Root;
        for (int i = 0; i < parts.Count - 1; i++)
        {
            if (!_m.Current.TryGetValue(new NameSlot(dir.Id, parts[i]), out TrackedObject? next) || next is null)
            {
                return false;
            }

            if (next.Type != 0 && !next.IsDirectory)
            {
                return true;
            }

            dir = next;
        }

        return false;
    }

    /// <summary>
    /// The slot of an absolute path in the current tree, making the directories on the way known (they
    /// exist: something was seen below them); without <paramref name="materialize"/>, null unless every
    /// directory on the way is already a directory of the model.
    /// </summary>
    private NameSlot? SlotOf(string? path, bool materialize = true)
    {
        if (!CheckpointModel.TrySplit(path, out List<string> parts))
        {
            return null;
        }

        TrackedObject dir = _m.Root;
        for (int i = 0; i < parts.Count - 1; i++)
        {
            var slot = new NameSlot(dir.Id, parts[i]);
            if (_m.Current.TryGetValue(slot, out TrackedObject? next))
            {
                if (!materialize && (next is null || (next.Type != 0 && !next.IsDirectory)))
                {
                    return null;
                }

                if (next is null || (next.Type != 0 && !next.IsDirectory))
                {
                    // The journal has nothing (or a non-directory) there, yet an operation went through it.
                    Anomaly(path!, $"is reached through {_m.PathOf(slot, checkpoint: false)}, which the journal says is {(next is null ? "absent" : "not a directory")}");
                    if (next is not null)
                    {
                        Evict(slot, next);
                    }

                    next = NewObject(ObjectOrigin.Foreign, default);
                    next.Type = S_IFDIR;
                    next.Implicit = true;
                    Bind(slot, next, checkpointToo: false);
                }

                dir = next;
                continue;
            }

            if (!materialize)
            {
                return null;
            }

            // A directory on the way that no journaled operation changed: it was there at the checkpoint.
            TrackedObject d = NewObject(dir.Original ? ObjectOrigin.Original : ObjectOrigin.Foreign, default);
            d.Type = S_IFDIR;
            d.Implicit = true;
            Bind(slot, d, checkpointToo: dir.Original);
            dir = d;
        }

        return new NameSlot(dir.Id, parts[^1]);
    }

    private void Anomaly(string path, string what) => _m.Anomalies.Add(new ModelAnomaly(_seq, path, what));

    // ---- classification ----

    private static FileId Id(UndoItem i) => new(i.Dev, i.Ino);

    /// <summary>An operation on an open file (or scoord's own mapping events): its object is known by identity, its path is only its name at the time.</summary>
    internal static bool IsIdentityOp(JournalEntry e) => (e.Fd >= 0 && e.Op != OpCode.Bind) || e.Op is OpCode.Mmap or OpCode.Munmap;

    /// <summary>An fd op on a file with no name any more (the flag, or the kernel's " (deleted)" of older journals).</summary>
    private static bool Deleted(JournalEntry e) =>
        (e.IntentFlags & IntentFlags.Deleted) != 0 || (e.PathText?.EndsWith(" (deleted)", StringComparison.Ordinal) ?? false);

    /// <summary>
    /// The operation follows a final symlink: what it saw "absent" may be a dangling link's target, not
    /// the name it was given, so such an observation says nothing about that name.
    /// </summary>
    private static bool FollowsFinalSymlink(JournalEntry e)
    {
        const ulong NoFollow = 0x100; // AT_SYMLINK_NOFOLLOW
        const ulong Follow = 0x400;   // AT_SYMLINK_FOLLOW
        ulong f = e.OpFlags;
        return e.Op switch
        {
            OpCode.Open or OpCode.Openat or OpCode.Openat2 or OpCode.Creat =>
                (f & O_NOFOLLOW) == 0 && (f & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL),
            OpCode.Truncate or OpCode.Chmod or OpCode.Chown or OpCode.Utime or OpCode.Utimes or OpCode.Futimesat
                or OpCode.Setxattr or OpCode.Removexattr or OpCode.Fchmodat => true,
            OpCode.Fchownat or OpCode.Fchmodat2 or OpCode.Setxattrat or OpCode.Removexattrat or OpCode.FileSetattr or OpCode.Utimensat =>
                (f & NoFollow) == 0,
            OpCode.Linkat => (f & Follow) != 0,
            _ => false,
        };
    }

    internal static uint TypeOfCreation(JournalEntry e) => e.Op switch
    {
        OpCode.Mkdir or OpCode.Mkdirat => S_IFDIR,
        OpCode.Symlink or OpCode.Symlinkat => S_IFLNK,
        OpCode.Bind => S_IFSOCK,
        OpCode.Mknod or OpCode.Mknodat => e.Mode & S_IFMT,
        _ => S_IFREG,
    };

    internal static OpClass Classify(HistoryOp op)
    {
        OpCode code = op.Entry.Op;
        if (Array.IndexOf(s_createOps, code) >= 0)
        {
            return OpClass.Create;
        }

        if (Array.IndexOf(s_openOps, code) >= 0)
        {
            // O_CREAT of a name that did not exist: the tracer records the object as absent.
            return (op.Entry.OpFlags & O_CREAT) != 0 && op.Items.Exists(i => i.Kind == UndoKind.ObjectState && i.Role == UndoRole.Object && !i.Existed)
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
    /// rename() does nothing"): both names stay.
    /// </summary>
    private static bool IsNoOpRename(HistoryOp op)
    {
        if (op.IsExchangeFlag)
        {
            // Exchanging two hard links of one inode leaves both names where they were.
            UndoItem? postA = op.Find(UndoKind.PostState, UndoRole.Object);
            UndoItem? postB = op.Find(UndoKind.PostState, UndoRole.Second);
            return postA is { Existed: true } && postB is { Existed: true } && Id(postA) == Id(postB);
        }

        if (!string.IsNullOrEmpty(op.Entry.PathText) && op.Entry.PathText == op.Entry.Path2Text)
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
        if (postOld is { Existed: true } && Id(postOld) == moved)
        {
            return true;
        }

        UndoItem? replaced = op.Find(UndoKind.ObjectState, UndoRole.Target);
        UndoItem? second = op.Find(UndoKind.ObjectState, UndoRole.Second);
        return (replaced is { Existed: true } && Id(replaced) == moved) || (second is { Existed: true } && Id(second) == moved);
    }
}

/// <summary>How an operation ended, for the model.</summary>
internal enum OpOutcome
{
    Completed,
    Failed,
    /// <summary>Pending, and the names show it happened.</summary>
    Happened,
    /// <summary>Pending, and the names show it did not happen.</summary>
    DidNotHappen,
}

/// <summary>One journaled operation after the checkpoint with its undo items.</summary>
internal sealed class HistoryOp
{
    public HistoryOp(JournalEntry entry) => Entry = entry;

    public JournalEntry Entry { get; }

    public List<UndoItem> Items { get; } = new();

    public OpClass Class { get; set; }

    public ulong Seq => Entry.Seq;

    public bool IsExchangeFlag => Entry.Op == OpCode.Renameat2 && (Entry.OpFlags & 2) != 0;

    public bool IsExchange => Class == OpClass.Rename && IsExchangeFlag;

    public UndoItem? Find(UndoKind kind, UndoRole role) => Items.Find(i => i.Kind == kind && i.Role == role);

    /// <summary>The object a rename moves (its identity before the op).</summary>
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
            return s is null ? default : new FileId(s.Dev, s.Ino);
        }
    }
}

using Scoord.Interceptors.Decoding;
using Scoord.Interceptors.Syscalls;
using Scoord.Interceptors;
using Scoord.Journal;
using Scoord.Journal.Model;
using Scoord.Journal.Undo;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Rollback.Model;

/// <summary>
/// Decides whether a pending operation (its intent is in the journal, its completion is not: scoord was
/// killed, or the tracee died inside the syscall) changed the names it names. The next thing the journal
/// saw at those names tells (an operation records what a name holds before it runs and after); when
/// nothing later saw them, the disk does now. Content and metadata operations count as done: their undo
/// data was captured before they ran, and restoring it is right either way.
/// </summary>
internal sealed class PendingResolver
{
    private readonly List<HistoryOp> _ops;

    public PendingResolver(List<HistoryOp> ops) => _ops = ops;

    /// <summary>The identity a pending creation that happened gave its object (set by <see cref="Decide"/>).</summary>
    public FileId ResolvedId { get; private set; }

    public OpOutcome Decide(int index, HistoryOp op)
    {
        ResolvedId = default;
        string? path = op.Entry.PathText, path2 = op.Entry.Path2Text;
        switch (op.Class)
        {
            case OpClass.Create:
            {
                // Something already at the name when the op was decoded: the creation failed (EEXIST)
                // unless a new object stands there afterwards.
                UndoItem? before = op.Find(UndoKind.ObjectState, UndoRole.Object);
                FileId old = before is { Existed: true } ? new FileId(before.Dev, before.Ino) : default;
                (bool present, FileId id, uint type) = Next(path, index);
                ResolvedId = id;
                // An object of another type than the op makes (a symlink where open(O_CREAT) would make a
                // file: the link loops, or leads through a file) was there already: the creation failed.
                uint makes = ModelBuilder.TypeOfCreation(op.Entry);
                bool sameType = makes == 0 || type == 0 || type == makes;
                return present && sameType && (!old.IsKnown || id != old) ? OpOutcome.Happened : OpOutcome.DidNotHappen;
            }

            case OpClass.Remove:
            {
                UndoItem? target = op.Find(UndoKind.ObjectState, UndoRole.Target);
                FileId victim = target is { Existed: true } ? new FileId(target.Dev, target.Ino) : new FileId(op.Entry.Dev, op.Entry.Ino);
                (bool present, FileId id, _) = Next(path, index);
                return present && id == victim ? OpOutcome.DidNotHappen : OpOutcome.Happened;
            }

            case OpClass.Rename:
            case OpClass.Link:
            {
                FileId moved = op.Class == OpClass.Rename ? op.MovedId : new FileId(op.Entry.Dev, op.Entry.Ino);
                (bool present, FileId id, _) = Next(path2, index);
                return present && id == moved ? OpOutcome.Happened : OpOutcome.DidNotHappen;
            }

            default:
                // A path op that creates nothing on a name that held nothing when it was decoded (open
                // without O_CREAT, truncate, chmod... of a missing file, or below a missing directory) failed
                // with ENOENT: it says nothing about the directories on its way.
                // The decode's own view counts too: a metadata op records no state of a missing object.
                return !ModelBuilder.IsIdentityOp(op.Entry)
                    && (op.Find(UndoKind.ObjectState, UndoRole.Object) is { Existed: false } || (op.Entry.Kind == ObjectKind.Absent && op.Entry.Ino == 0))
                    ? OpOutcome.DidNotHappen
                    : OpOutcome.Happened;
        }
    }

    /// <summary>
    /// What <paramref name="path"/> held at its first observation after op <paramref name="index"/>, else on
    /// disk now. The name is followed through the later renames of a directory above it (a rollback after the
    /// crash moves directories aside: the text "d0/f1" then names a slot of another directory, and what the
    /// journal saw there says nothing about this one); a directory above it removed means it held nothing.
    /// </summary>
    private (bool Present, FileId Id, uint Type) Next(string? path, int index)
    {
        if (string.IsNullOrEmpty(path))
        {
            return (false, default, 0);
        }

        string p = path;
        for (int j = index + 1; j < _ops.Count; j++)
        {
            // What the op saw before it ran, then what it did to names, then what it left (an op that
            // changes the name records its state before, so a post-state read here is of the same object).
            HistoryOp o = _ops[j];
            if (Seen(o, UndoKind.ObjectState, p) is { } before)
            {
                return before;
            }

            JournalEntry e = o.Entry;
            if (e.Status != EntryStatus.Completed || e.PathText is not { Length: > 0 } from)
            {
                if (Seen(o, UndoKind.PostState, p) is { } after)
                {
                    return after;
                }

                continue;
            }

            if (e.Op is OpCode.Rename or OpCode.Renameat or OpCode.Renameat2 && e.Path2Text is { Length: > 0 } to)
            {
                if (p == from && !o.IsExchangeFlag)
                {
                    FileId moved = o.MovedId;
                    return (moved.IsKnown, moved, 0); // moved away by a later op: it held that object
                }

                if (Below(p, from))
                {
                    p = to + p[from.Length..];
                }
                else if (o.IsExchangeFlag && Below(p, to))
                {
                    p = from + p[to.Length..];
                }
            }
            else if (e.Op is OpCode.Rmdir or OpCode.Unlinkat && Below(p, from))
            {
                return (false, default, 0); // its directory was removed, so empty
            }

            if (Seen(o, UndoKind.PostState, p) is { } post)
            {
                return post;
            }
        }

        using SafePath? sp = SafePath.Resolve(p, out _);
        if (sp is not null && sp.TryLstat(out Interop.Stat st))
        {
            return (true, new FileId(st.st_dev, st.st_ino), st.st_mode & S_IFMT);
        }

        return (false, default, 0);
    }

    private static (bool Present, FileId Id, uint Type)? Seen(HistoryOp o, UndoKind kind, string p)
    {
        foreach (UndoItem it in o.Items)
        {
            if (it.Kind == kind && it.Path.Length > 0 && it.Role != UndoRole.Parent && PathText.ToText(it.Path) == p)
            {
                return (it.Existed, new FileId(it.Dev, it.Ino), it.Existed ? it.Mode & S_IFMT : 0);
            }
        }

        return null;
    }

    private static bool Below(string p, string dir) => p.Length > dir.Length + 1 && p[dir.Length] == '/' && p.StartsWith(dir, StringComparison.Ordinal);
}

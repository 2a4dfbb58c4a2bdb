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
    private readonly Dictionary<string, List<Observation>> _byPath = new(StringComparer.Ordinal);

    public PendingResolver(List<HistoryOp> ops)
    {
        for (int i = 0; i < ops.Count; i++)
        {
            HistoryOp op = ops[i];
            foreach (UndoItem it in op.Items)
            {
                if (it.Kind is UndoKind.ObjectState or UndoKind.PostState && it.Path.Length > 0 && it.Role != UndoRole.Parent)
                {
                    Add(PathText.ToText(it.Path), new Observation(i, it.Kind == UndoKind.PostState, it.Existed, new FileId(it.Dev, it.Ino), it.Mode & S_IFMT));
                }
            }
        }
    }

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
                return !ModelBuilder.IsIdentityOp(op.Entry) && op.Find(UndoKind.ObjectState, UndoRole.Object) is { Existed: false }
                    ? OpOutcome.DidNotHappen
                    : OpOutcome.Happened;
        }
    }

    private void Add(string path, Observation o)
    {
        if (!_byPath.TryGetValue(path, out List<Observation>? list))
        {
            _byPath[path] = list = new List<Observation>();
        }

        list.Add(o);
    }

    /// <summary>What <paramref name="path"/> held at its first observation after op <paramref name="index"/>, else on disk now.</summary>
    private (bool Present, FileId Id, uint Type) Next(string? path, int index)
    {
        if (string.IsNullOrEmpty(path))
        {
            return (false, default, 0);
        }

        if (_byPath.TryGetValue(path, out List<Observation>? list))
        {
            foreach (Observation o in list)
            {
                if (o.Index > index)
                {
                    return (o.Present, o.Id, o.Present ? o.Type : 0);
                }
            }
        }

        using SafePath? p = SafePath.Resolve(path, out _);
        if (p is not null && p.TryLstat(out Interop.Stat st))
        {
            return (true, new FileId(st.st_dev, st.st_ino), st.st_mode & S_IFMT);
        }

        return (false, default, 0);
    }

    private readonly record struct Observation(int Index, bool After, bool Present, FileId Id, uint Type);
}

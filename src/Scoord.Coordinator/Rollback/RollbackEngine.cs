using Scoord.Coordinator.Rollback.Model;
using Scoord.Coordinator.Undo;
using Scoord.Journal;
using Scoord.Coordinator.Faults;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal.Model;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Rollback;

/// <summary>
/// `scoord rollback CKPT`: makes the files the journal touched since the checkpoint what they were at it
/// (docs/undo-model.md). It does not replay history backwards: it builds the model of the checkpoint
/// tree and the current tree (<see cref="ModelBuilder"/>), checks the current tree against the disk
/// (a difference is a change made outside the journal: a conflict), then changes only what differs:
/// names first, top-down over the checkpoint tree (objects moved back, missing ones linked or made
/// again, whatever is in the way moved aside), then everything left over removed, children first;
/// then content per file (only the ranges that differ) and metadata last, children before parents.
/// A tree already at the checkpoint costs reading, not writing: a second rollback journals nothing.
/// <para>
/// Every change is journaled first, with undo data, exactly as an application's would be, after a
/// checkpoint of the state before the rollback (<c>before-rollback-ID</c>): the rollback can itself be
/// rolled back, and a rollback killed half way finishes when run again.
/// </para>
/// </summary>
public sealed partial class RollbackEngine
{
    private const int Group = 256;

    private readonly JournalStore _store;
    private readonly CheckpointModel _m;
    private readonly LiveTree _live;
    private readonly RollbackResult _result;
    private readonly bool _force;
    private readonly bool _dry;
    private readonly IProgress<RollbackProgress>? _progress;
    private readonly HashSet<int> _frozenObjects = new();
    private readonly HashSet<NameSlot> _frozenSlots = new();
    private readonly HashSet<int> _outsideChanged = new();
    private readonly HashSet<int> _acted = new();
    private readonly HashSet<int> _recreated = new();
    private readonly Dictionary<int, string> _diskPath = new();
    private readonly Dictionary<NameSlot, string> _asideFrom = new();
    private readonly Dictionary<int, int> _conflictLine = new();
    private readonly int _pid = Environment.ProcessId;
    private JournalWriter? _writer;
    private UndoCapture? _capture;
    private ulong _markerSeq;
    private long _done;
    private long _total;

    private RollbackEngine(JournalStore store, CheckpointModel model, RollbackResult result, bool force, bool dry, IProgress<RollbackProgress>? progress)
    {
        _store = store;
        _m = model;
        _live = new LiveTree(model);
        _result = result;
        _force = force;
        _dry = dry;
        _progress = progress;
    }

    /// <summary>
    /// Rolls the files of the journal at <paramref name="journalDir"/> back to <paramref name="checkpoint"/>
    /// (an id if all digits, else a name). Refuses while a coordinator holds the journal. With
    /// <paramref name="dryRun"/> it lists what would change and writes nothing.
    /// </summary>
    public static RollbackResult Run(string journalDir, string checkpoint, bool dryRun, bool force, IProgress<RollbackProgress>? progress)
    {
        ArgumentException.ThrowIfNullOrEmpty(journalDir);
        ArgumentNullException.ThrowIfNull(checkpoint);
        string dir = Path.GetFullPath(journalDir);
        if (JournalStore.IsCoordinatorRunning(dir, out int pid))
        {
            throw new ScoordException(pid > 0
                ? $"journal {dir} is in use by a running scoord (pid {pid}); stop it first"
                : $"journal {dir} is in use by a running scoord; stop it first");
        }

        if (dryRun)
        {
            using JournalStore ro = JournalStore.OpenReadOnly(dir);
            return Plan(ro, ro.Reader.FindCheckpoint(checkpoint), force);
        }

        // One open: each open of a journal replays its WAL (after a large run, most of the cost of opening).
        using JournalStore store = JournalStore.OpenExistingForWriting(dir);
        return Execute(store, store.Reader.FindCheckpoint(checkpoint), force, progress);
    }

    /// <summary>Dry run: what would change, from the journal and a read-only look at the files.</summary>
    internal static RollbackResult Plan(JournalStore store, CheckpointInfo ckpt, bool force = false)
    {
        var result = new RollbackResult { Checkpoint = ckpt, DryRun = true };
        CheckpointModel model = ModelBuilder.Load(store.Reader, ckpt.Seq);
        using IDisposable directories = SafePath.CacheDirectories();
        new RollbackEngine(store, model, result, force, dry: true, progress: null).Work();
        return result;
    }

    /// <summary>The rollback proper, on a store opened for writing.</summary>
    internal static RollbackResult Execute(JournalStore store, CheckpointInfo ckpt, bool force, IProgress<RollbackProgress>? progress)
    {
        var result = new RollbackResult { Checkpoint = ckpt };
        CheckpointModel model = ModelBuilder.Load(store.Reader, ckpt.Seq);
        using IDisposable directories = SafePath.CacheDirectories();
        var engine = new RollbackEngine(store, model, result, force, dry: false, progress);
        uint oldMask = umask(0);
        try
        {
            engine.Work();
        }
        finally
        {
            umask(oldMask);
        }

        return result;
    }

    private void Work()
    {
        _total = _m.AtCheckpoint.Count + _m.Current.Count + (2L * _m.Objects.Count);
        Verify();
        if (_dry)
        {
            // A dry run changes no name: content and metadata are then looked at where they are now.
            foreach (NameSlot slot in _live.Slots)
            {
                if (_live.At(slot) is { } o && !_diskPath.ContainsKey(o.Id) && _live.PathOf(slot) is { } p)
                {
                    _diskPath[o.Id] = p;
                }
            }
        }

        PlaceNames();
        RemoveLeftovers();
        RestoreContent();
        RestoreMetadata();
        _result.Conflicts.RemoveAll(string.IsNullOrEmpty); // lines an error about the same object replaced
        if (!_dry && _force && _markerSeq == 0 && _result.Conflicts.Count > 0 && _result.Errors.Count == 0)
        {
            // Nothing to change, but conflicts were overruled: the marker records that they are settled, so
            // later rollbacks do not report them again (ModelBuilder drops anomalies a clean rollback covered).
            Start();
        }

        if (_markerSeq != 0)
        {
            _writer!.AppendCompletion(_markerSeq, new OpCompletion
            {
                TimeNs = Now(),
                Result = _result.Errors.Count > 0 ? -1 : _result.ConflictsLeftAlone,
                Errno = _result.Errors.Count > 0 ? 5 : 0,
            });
            _writer.Commit(sync: true);
        }
    }

    /// <summary>
    /// Before the first change: a checkpoint of the state the rollback starts from (so that the rollback
    /// can be undone), the rollback marker, and a new capture epoch.
    /// </summary>
    private void Start()
    {
        if (_markerSeq != 0)
        {
            return;
        }

        _writer = _store.Writer;
        int id = _writer.NextCheckpointId;
        string name = "before-rollback-" + id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        for (int k = 2; _writer.IsCheckpointNameUnusable(name); k++)
        {
            name = "before-rollback-" + id.ToString(System.Globalization.CultureInfo.InvariantCulture) + "-" + k.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        _result.BeforeRollback = _writer.AppendCheckpoint(name, Now());
        _writer.Commit(sync: true);

        _capture = new UndoCapture(_writer);
        _capture.Epoch.NewEpoch();
        byte[] target = System.Text.Encoding.UTF8.GetBytes(_result.Checkpoint.Name);
        var marker = new OpIntent
        {
            TimeNs = Now(),
            Pid = _pid,
            Tid = _pid,
            Op = OpCode.Rollback,
            Flags = IntentFlags.Rollback,
            Fd = -1,
            Offset = -1,
            Length = (long)_result.Checkpoint.Seq,
            Mode = (uint)_result.Checkpoint.Id,
        };
        _markerSeq = _writer.AppendIntent(marker, [], target);
        _writer.Commit(sync: false);
    }

    // ---- what is left alone ----

    /// <summary>A slot (of the live tree) a conflict left alone, or inside a directory one did.</summary>
    private bool Frozen(NameSlot liveSlot)
    {
        if (_force)
        {
            return false;
        }

        if (_frozenSlots.Contains(liveSlot) || (_live.At(liveSlot) is { } o && _frozenObjects.Contains(o.Id)))
        {
            return true;
        }

        TrackedObject dir = _m.Get(liveSlot.Dir);
        for (int depth = 0; dir.Id != _m.Root.Id && depth < 4096; depth++)
        {
            if (_frozenObjects.Contains(dir.Id))
            {
                return true;
            }

            IReadOnlyList<NameSlot> names = _live.NamesOf(dir);
            if (names.Count == 0)
            {
                return false;
            }

            if (_frozenSlots.Contains(names[0]))
            {
                return true;
            }

            dir = _m.Get(names[0].Dir);
        }

        return false;
    }

    private bool Frozen(TrackedObject phys) => !_force && _frozenObjects.Contains(phys.Id);

    private void Step()
    {
        FaultInjection.Hit(FaultPoint.RollbackMidway);
        _done++;
        if (_progress is not null && (_done & 255) == 0)
        {
            _progress.Report(new RollbackProgress("rolling back", _done, _total));
        }
    }

    private void Error(string message) => _result.Errors.Add(message);

    /// <summary>Where a physical object is on disk now: after the names phase (or, in a dry run, where it was before it).</summary>
    private string? BodyPath(TrackedObject phys)
    {
        if (UnseenButAlive(phys))
        {
            // An original only ever met through an fd whose name was gone: it lives at names the journal
            // never saw, which are looked for on disk (once).
            if (!_unseenPath.TryGetValue(phys.Id, out string? found))
            {
                _unseenPath[phys.Id] = found = FindOnDisk(phys);
            }

            return found;
        }

        if (_dry)
        {
            return _diskPath.TryGetValue(phys.Id, out string? p) ? p : null;
        }

        IReadOnlyList<NameSlot> names = _live.NamesOf(phys);
        return names.Count == 0 ? null : _live.PathOf(names[0]);
    }

    private readonly Dictionary<int, string?> _unseenPath = new();

    /// <summary>An original with no name in either tree, that had names the journal never saw.</summary>
    private bool UnseenButAlive(TrackedObject o) => o.Original && o.CheckpointNames.Count == 0 && o.CurrentNames.Count == 0 && o.UnknownNames > 0 && o.AtCheckpoint is not null;

    private void Plan(string line) => _result.Planned.Add(line);

    internal static long Now() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    private static bool IsDir(uint mode) => (mode & S_IFMT) == S_IFDIR;

    private static FileId IdOf(in Interceptors.Interop.Stat st) => new(st.st_dev, st.st_ino);
}

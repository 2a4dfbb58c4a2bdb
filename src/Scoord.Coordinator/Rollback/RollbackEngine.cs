using Scoord.Coordinator.Undo;
using Scoord.Journal;
using Scoord.Coordinator.Faults;
using Scoord.Journal.Model;
using Scoord.Journal.Undo;
using Scoord.Interceptors.Syscalls;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Rollback;

/// <summary>
/// `scoord rollback CKPT`: brings every object the journal recorded back to its state at the checkpoint
/// (docs/undo-model.md). Names first (the operations after the checkpoint undone in reverse order:
/// creations removed, removed objects recreated, renames reversed), then content per file (block
/// pre-images, earliest wins, holes punched, size), then metadata (owner, mode, xattrs, times;
/// children before their parents). Every change it makes is journaled first, with undo data, exactly
/// as an application's would be, so a rollback can itself be rolled back and a rollback killed half way
/// finishes when run again.
/// </summary>
public sealed partial class RollbackEngine
{
    private const int Group = 256;

    private readonly JournalStore _store;
    private readonly JournalHistory _history;
    private readonly RollbackResult _result;
    private readonly bool _force;
    private readonly IProgress<RollbackProgress>? _progress;
    private readonly Dictionary<ObjKey, FileId> _map = new();
    private readonly HashSet<FileId> _conflictIds = new();
    private readonly HashSet<string> _conflictPaths = new(StringComparer.Ordinal);
    private readonly int _pid = Environment.ProcessId;
    private JournalWriter? _writer;
    private UndoCapture? _capture;
    private long _done;
    private long _total;

    private RollbackEngine(JournalStore store, JournalHistory history, RollbackResult result, bool force, IProgress<RollbackProgress>? progress)
    {
        _store = store;
        _history = history;
        _result = result;
        _force = force;
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

        CheckpointInfo ckpt;
        using (JournalStore ro = JournalStore.OpenReadOnly(dir))
        {
            ckpt = ro.Reader.FindCheckpoint(checkpoint);
            if (dryRun)
            {
                return Plan(ro, ckpt);
            }
        }

        using JournalStore store = JournalStore.OpenForWriting(dir);
        return Execute(store, ckpt, force, progress);
    }

    /// <summary>Dry run: what would change, from the journal and a read-only look at the files.</summary>
    internal static RollbackResult Plan(JournalStore store, CheckpointInfo ckpt)
    {
        var result = new RollbackResult { Checkpoint = ckpt, DryRun = true };
        JournalHistory history = JournalHistory.Load(store.Reader, ckpt.Seq);
        foreach (Conflict c in ConflictCheck.Find(history))
        {
            result.Conflicts.Add("conflict: " + c.Message);
            result.ConflictsLeftAlone++;
        }

        foreach (PathChange change in ChangeSummary.Build(history))
        {
            result.Planned.Add(change.ToRollbackText());
        }

        return result;
    }

    /// <summary>The rollback proper, on a store opened for writing.</summary>
    internal static RollbackResult Execute(JournalStore store, CheckpointInfo ckpt, bool force, IProgress<RollbackProgress>? progress)
    {
        var result = new RollbackResult { Checkpoint = ckpt };
        JournalHistory history = JournalHistory.Load(store.Reader, ckpt.Seq);
        using IDisposable directories = SafePath.CacheDirectories();
        var engine = new RollbackEngine(store, history, result, force, progress);
        engine.Execute();
        return result;
    }

    private void Execute()
    {
        foreach (Conflict c in ConflictCheck.Find(_history))
        {
            _result.Conflicts.Add("conflict: " + c.Message + (_force ? " (restored: --force)" : " (left alone)"));
            if (!_force)
            {
                _result.ConflictsLeftAlone++;
            }

            if (c.Recorded.IsKnown)
            {
                _conflictIds.Add(c.Recorded.Disk);
            }

            if (c.Found.IsKnown)
            {
                _conflictIds.Add(c.Found);
            }

            _conflictPaths.Add(c.Path);
        }

        _writer = _store.Writer;
        _capture = new UndoCapture(_writer);
        _capture.Epoch.NewEpoch();
        uint oldMask = umask(0);
        try
        {
            byte[] name = System.Text.Encoding.UTF8.GetBytes(_result.Checkpoint.Name);
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
            ulong markerSeq = _writer.AppendIntent(marker, [], name);
            _writer.Commit(sync: false);

            _total = _history.Ops.Count + (2L * _history.Earliest.Count);
            ReplayNames();
            RestoreContent();
            RestoreMetadata();

            _writer.AppendCompletion(markerSeq, new OpCompletion
            {
                TimeNs = Now(),
                Result = _result.Errors.Count > 0 ? -1 : _result.ConflictsLeftAlone,
                Errno = _result.Errors.Count > 0 ? 5 : 0,
            });
            _writer.Commit(sync: true);
        }
        finally
        {
            umask(oldMask);
        }
    }

    /// <summary>The object's current identity: recreated objects have new inode numbers.</summary>
    private FileId Cur(ObjKey recorded) => _map.TryGetValue(recorded, out FileId now) ? now : recorded.Disk;

    private bool Skip(ObjKey id, string? path) =>
        !_force && ((id.IsKnown && (_conflictIds.Contains(id.Disk) || _conflictIds.Contains(Cur(id)))) || (path is not null && _conflictPaths.Contains(path)));

    private bool Skip(FileId id, string? path) => Skip(new ObjKey(id.Dev, id.Ino, -1), path);

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

    private void ConflictNow(string message)
    {
        _result.Conflicts.Add("conflict: " + message + " (left alone)");
        _result.ConflictsLeftAlone++;
    }

    internal static long Now() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    private static bool IsDir(uint mode) => (mode & S_IFMT) == S_IFDIR;

    private static FileId IdOf(in Interceptors.Interop.Stat st) => new(st.st_dev, st.st_ino);

    private static string Describe(UndoItem i) => PathText.ToText(i.Path);
}

using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Scoord.Coordinator.Undo;
using Scoord.Interceptors;
using Scoord.Interceptors.Decoding;
using Scoord.Journal;
using Scoord.Journal.Model;
using Scoord.Journal.Undo;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Ingest;

/// <summary>
/// Where events become journal records, whoever produced them: the tracer today, the in-process fast
/// path's ring drain next. The entry point for an intercepted call is <see cref="Intent"/>: a decoded
/// call, its undo plan and a sequence number taken from <see cref="Sequences"/> (the journal's one
/// allocator, thread-safe, so every producer numbers its events from the same counter). The ingest makes
/// the plan's captures under that number, in the batch of the intent, and at completion records the
/// post-states. Called on one thread (the journal batch is not thread-safe); another producer hands its
/// events to that thread. Allocates nothing per call in steady state.
/// </summary>
/// <remarks>
/// Ordering and durability are the caller's: an intent may only let its syscall run once
/// <see cref="TryCommit"/> has returned true for its batch (DESIGN.md, "The data path").
/// </remarks>
internal sealed unsafe partial class JournalIngest
{
    private const int PathMax = 4096;

    private readonly JournalWriter _writer;
    private readonly UndoCapture _capture;
    private readonly ILogger _logger;
    // Stat paths the ingest builds itself (a parent directory, /proc/self/fd/N); never shared with decoding.
    private readonly byte[] _statPath = new byte[PathMax + 64];
    private readonly byte[] _unlinkedCheck = new byte[PathMax + 1];
    private readonly Dictionary<(ulong Dev, ulong Ino), FdPostState> _lastFdPost = new();
    private ulong _pathOps;
    private ulong* _sharedPathOps;
    private bool _failureReported;

    public JournalIngest(JournalWriter writer, ILogger logger)
    {
        _writer = writer;
        _capture = new UndoCapture(writer);
        _logger = logger;
    }

    /// <summary>
    /// Under the fast path, path operations the hooks journal count too: an fd post-state is superseded
    /// only when no path operation of either producer came between (the shared counter of the ring).
    /// </summary>
    public void SharePathOps(ulong* counter) => _sharedPathOps = counter;

    private ulong PathOpsNow => _pathOps + (_sharedPathOps != null ? Volatile.Read(ref *_sharedPathOps) : 0);

    /// <summary>The journal's sequence numbers: take one per event, in the order the events are to be journaled.</summary>
    public SequenceAllocator Sequences => _writer.Sequences;

    /// <summary>What has been captured in the current checkpoint epoch.</summary>
    public EpochTracker Epoch => _capture.Epoch;

    /// <summary>The capture primitives, for scoord's own events (shared mappings at checkpoints and exits).</summary>
    public UndoCapture Capture => _capture;

    /// <summary>Records buffered since the last commit.</summary>
    public int PendingRecords => _writer.PendingRecords;

    /// <summary>The id the next checkpoint will get (for the --on-checkpoint hook, run before the record is written).</summary>
    public int NextCheckpointId => _writer.NextCheckpointId;

    public bool IsCheckpointNameUnusable(string name) => _writer.IsCheckpointNameUnusable(name);

    /// <summary>
    /// An intercepted call: its INTENT under <paramref name="seq"/> (refused calls flagged so), and for a
    /// journaled call the undo items of <paramref name="undo"/>, all in the current batch. Returns the next
    /// undo part number: the post-states recorded at completion follow it.
    /// </summary>
    public uint Intent(ulong seq, in DecodedCall call, in UndoPlan undo, in CallOrigin origin)
    {
        var intent = new OpIntent
        {
            TimeNs = origin.TimeNs,
            Pid = origin.Pid,
            Tid = origin.Tid,
            Op = call.Op,
            Flags = (call.PathUnreadable ? IntentFlags.PathUnreadable : IntentFlags.None)
                | (call.Verdict == Verdict.Refuse ? IntentFlags.Refused : IntentFlags.None)
                | (call.ForeignAbi ? IntentFlags.ForeignAbi : IntentFlags.None)
                | (call.Deleted ? IntentFlags.Deleted : IntentFlags.None),
            Fd = call.Fd,
            OpFlags = call.OpFlags,
            Mode = call.Mode,
            InjectedErrno = (int)call.RefuseErrno,
            Offset = call.Offset,
            Length = call.Length,
            Uid = call.Uid,
            Gid = call.Gid,
            Dev = call.Dev,
            Ino = call.Ino,
            Kind = call.Kind,
        };
        _writer.AppendIntent(seq, intent, call.Path.Display, call.Path2.Display);
        if (call.Verdict != Verdict.Journal)
        {
            return 0;
        }

        if (call.DupFd < 0)
        {
            _pathOps++; // may change what a name means: fd post-states before it are not superseded
        }

        uint part = 0;
        for (int i = 0; i < undo.Count; i++)
        {
            Run(seq, ref part, undo.Items[i], call);
        }

        return part;
    }

    /// <summary>A stop begins: what it appends can be dropped (<see cref="AbandonStop"/>) if scoord fails while handling it.</summary>
    public void BeginStop() => _writer.Mark();

    /// <summary>
    /// scoord failed while handling a stop: drop the records it appended (the rest of the batch stays), and
    /// forget what was captured in the epoch (some of it was in the dropped part: everything is captured afresh).
    /// </summary>
    public void AbandonStop()
    {
        _writer.DiscardSinceMark();
        _capture.Epoch.ForgetAll();
        _lastFdPost.Clear();
    }

    /// <summary>The record of a fault of scoord's (flags Refused|Fault), its description as path2, under the next sequence number.</summary>
    public ulong Fault(in OpIntent intent, ReadOnlySpan<byte> description)
    {
        ulong seq = Sequences.Next();
        _writer.AppendIntent(seq, intent, default, description);
        return seq;
    }

    /// <summary>The kernel's answer for the intent <paramref name="seq"/>.</summary>
    public void Completion(ulong seq, in OpCompletion completion) => _writer.AppendCompletion(seq, completion);

    /// <summary>A process-tree event (fork, exec, exit) under the next sequence number.</summary>
    public ulong Process(in ProcessEvent e, ReadOnlySpan<byte> path, ReadOnlySpan<byte> argv) => _writer.AppendProcess(e, path, argv);

    /// <summary>One of scoord's own events (shared mappings), under the next sequence number; its captures go through <see cref="Capture"/>.</summary>
    public ulong Event(in OpIntent intent, ReadOnlySpan<byte> path)
    {
        ulong seq = Sequences.Next();
        _writer.AppendIntent(seq, intent, path, default);
        return seq;
    }

    /// <summary>The CHECKPOINT record, and a new undo epoch: everything is captured afresh after it.</summary>
    public CheckpointInfo Checkpoint(string? name, long timeNs)
    {
        CheckpointInfo info = _writer.AppendCheckpoint(name, timeNs);
        _capture.Epoch.NewEpoch();
        return info;
    }

    /// <summary>
    /// Commits the batch (one RocksDB write; <paramref name="sync"/>: WAL fsync). On failure the batch is
    /// discarded: its captures are forgotten (every object is captured afresh), the failure is logged once
    /// per run, and <paramref name="errno"/> says what the app gets (ENOSPC for a full disk, else EIO).
    /// </summary>
    public bool TryCommit(bool sync, out Errno errno, out string? error)
    {
        if (_writer.TryCommit(sync, out Exception? e))
        {
            errno = Errno.None;
            error = null;
            return true;
        }

        // The captures of the discarded batch are not in the journal: capture every object afresh.
        _capture.Epoch.ForgetAll();
        bool full = e!.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase)
            || e.Message.Contains("NoSpace", StringComparison.Ordinal);
        errno = full ? Errno.ENOSPC : Errno.EIO;
        error = e.Message.ReplaceLineEndings(" ").Trim();
        if (!_failureReported)
        {
            _failureReported = true;
            Log.JournalWriteFailed(_logger, errno, error);
        }

        return false;
    }

    private void Run(ulong seq, ref uint part, in UndoStep step, in DecodedCall call)
    {
        if (step.SkipIfTouched != default && _capture.Epoch.IsTouched(step.SkipIfTouched.Dev, step.SkipIfTouched.Ino))
        {
            return; // already recorded in this epoch: no syscall needed
        }

        ReadOnlySpan<byte> stat = step.Second ? call.Path2.StatPath : call.Path.StatPath;
        ReadOnlySpan<byte> display = step.Second ? call.Path2.Display : call.Path.Display;
        if (stat.IsEmpty && step.Kind is not (UndoStepKind.FdState or UndoStepKind.FdBlocks))
        {
            return; // a path the decoder could not resolve (the kernel fails the call): nothing to capture through it
        }

        switch (step.Kind)
        {
            case UndoStepKind.State:
                _capture.CaptureState(seq, ref part, step.Role, stat, display, step.Follow, wholeContent: false, step.FirstTouchOnly, step.RecordAbsent);
                break;
            case UndoStepKind.Removed:
                if (!CaptureRemoved(seq, ref part, stat, display) && step.RecordAbsent)
                {
                    _capture.CaptureState(seq, ref part, step.Second ? UndoRole.Second : UndoRole.Object, stat, display, false, false, false, recordAbsent: true);
                }

                break;
            case UndoStepKind.Parent:
                CaptureParent(seq, ref part, stat, display);
                break;
            case UndoStepKind.BlocksByPath:
                CaptureBlocksByPath(seq, ref part, stat, display, step.Offset);
                break;
            case UndoStepKind.FdState:
            {
                int n = ProcPath.FormatFd(_statPath, Environment.ProcessId, call.DupFd);
                _capture.CaptureState(seq, ref part, UndoRole.Object, _statPath.AsSpan(0, n + 1), display, follow: true, wholeContent: false, firstTouchOnly: true, recordAbsent: false);
                break;
            }

            case UndoStepKind.FdBlocks:
            {
                int reader = _capture.OpenPrivateReader(call.DupFd);
                if (reader >= 0)
                {
                    ref readonly Interop.Stat st = ref call.DupStat;
                    _capture.CaptureBlocks(seq, ref part, reader, st.st_dev, st.st_ino, st.st_size, display, step.Offset, step.Length);
                    close(reader);
                }

                break;
            }
        }
    }

    /// <summary>An object the op removes or replaces: its whole state and content (the graveyard copy). False if absent.</summary>
    private bool CaptureRemoved(ulong seq, ref uint part, ReadOnlySpan<byte> stat, ReadOnlySpan<byte> display)
    {
        Interop.Stat st;
        fixed (byte* p = stat)
        {
            if (fstatat(AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW) != 0)
            {
                return false;
            }
        }

        _capture.CaptureState(seq, ref part, UndoRole.Target, stat, display, false, wholeContent: true, firstTouchOnly: false, recordAbsent: false);
        if (st.st_nlink <= 1)
        {
            // The inode number may be reused by a new file in this epoch: capture that one afresh.
            _capture.Epoch.Forget(st.st_dev, st.st_ino);
        }

        return true;
    }

    private void CaptureParent(ulong seq, ref uint part, ReadOnlySpan<byte> stat, ReadOnlySpan<byte> display)
    {
        ReadOnlySpan<byte> s = stat[..^1];
        int slash = s.LastIndexOf((byte)'/');
        if (slash < 0 || s[(slash + 1)..].SequenceEqual("."u8) || s[(slash + 1)..].SequenceEqual(".."u8))
        {
            // No entry is named "." or ".." (every op that would add or remove one fails); and the
            // directory above "dir/." is not the parent of the display path's last name.
            return;
        }

        int cut = slash == 0 ? 1 : slash;
        s[..cut].CopyTo(_statPath);
        _statPath[cut] = 0;
        Interop.Stat dir;
        fixed (byte* d = _statPath)
        {
            if (fstatat(AT_FDCWD, d, &dir, 0) != 0 || (dir.st_mode & S_IFMT) != S_IFDIR)
            {
                return; // no directory there (the op fails with ENOENT or ENOTDIR): no entry of it changes
            }
        }

        int dparent = display.IsEmpty ? 0 : PathNormalizer.ParentLength(display);
        _capture.CaptureState(seq, ref part, UndoRole.Parent, _statPath.AsSpan(0, cut + 1), display[..dparent], true, false, firstTouchOnly: true, recordAbsent: false);
    }

    private void CaptureBlocksByPath(ulong seq, ref uint part, ReadOnlySpan<byte> stat, ReadOnlySpan<byte> display, long from)
    {
        int fd;
        fixed (byte* p = stat)
        {
            fd = open(p, O_RDONLY | O_CLOEXEC | O_NOATIME, 0);
            if (fd < 0)
            {
                fd = open(p, O_RDONLY | O_CLOEXEC, 0);
            }
        }

        if (fd < 0)
        {
            return;
        }

        Interop.Stat st;
        if (fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && from < st.st_size)
        {
            _capture.CaptureBlocks(seq, ref part, fd, st.st_dev, st.st_ino, st.st_size, display, from, -1);
        }

        close(fd);
    }

    /// <summary>At the exit stop of a journaled call that succeeded: the state it left (rollback compares with it).</summary>
    public void PostStates(PendingCall call)
    {
        ulong seq = call.Seq;
        uint part = call.NextPart;
        if (call.PostFd >= 0 && call.PostDup >= 0)
        {
            uint at = part;
            ReadOnlySpan<byte> display = call.Post1.DisplayPath;
            // An fd whose name was unlinked reads back as "NAME (deleted)": that is no name of the object,
            // and rollback must not expect anything there (the post-state keeps the object's state).
            if (call.Deleted || IsUnlinkedName(display, call.PostDup))
            {
                display = default;
            }

            _capture.CapturePostState(seq, ref part, UndoRole.Object, call.PostDup, display, out ulong fdDev, out ulong fdIno);
            if (!call.Mapping && !display.IsEmpty)
            {
                SupersedeFdPostState(fdDev, fdIno, seq, at, display);
            }
        }

        if (call.Post1.Active)
        {
            _capture.CapturePostState(seq, ref part, UndoRole.Object, call.Post1.StatPath, call.Post1.DisplayPath, call.Post1.Follow, out ulong dev, out ulong ino);
            if (call.Creates && ino != 0)
            {
                _capture.Epoch.MarkBorn(dev, ino); // created in this epoch: no pre-images or graveyard copy needed
            }
        }

        if (call.Post2.Active)
        {
            _capture.CapturePostState(seq, ref part, UndoRole.Second, call.Post2.StatPath, call.Post2.DisplayPath, call.Post2.Follow);
        }

        call.Creates = false;
        call.PostFd = -1;
        call.Post1.Active = false;
        call.Post2.Active = false;
    }

    /// <summary>
    /// True when <paramref name="display"/> is the kernel's "PATH (deleted)" for an fd whose name was
    /// unlinked, not a file really called so (then PATH-with-suffix would be this very object).
    /// </summary>
    private bool IsUnlinkedName(ReadOnlySpan<byte> display, int fd)
    {
        if (!display.EndsWith(" (deleted)"u8) || display.Length >= _unlinkedCheck.Length)
        {
            return false;
        }

        display.CopyTo(_unlinkedCheck);
        _unlinkedCheck[display.Length] = 0;
        Interop.Stat named, open;
        fixed (byte* p = _unlinkedCheck)
        {
            if (fstat(fd, &open) != 0)
            {
                return true;
            }

            return fstatat(AT_FDCWD, p, &named, AT_SYMLINK_NOFOLLOW) != 0 || named.st_dev != open.st_dev || named.st_ino != open.st_ino;
        }
    }

    /// <summary>
    /// Rollback reads only the last post-state of each object at each path (its conflict check and
    /// history; docs/undo-model.md), so when an fd op's post-state follows another fd op's
    /// post-state of the same object at the same path in the same epoch, with no path-based op
    /// journaled in between (none could have renamed, removed or recreated anything), the earlier
    /// one is deleted in the batch that adds the new one. A program rewriting one region keeps one
    /// post-state instead of one per write. No allocation per stop once an object is known.
    /// </summary>
    private void SupersedeFdPostState(ulong dev, ulong ino, ulong seq, uint part, ReadOnlySpan<byte> display)
    {
        if (ino == 0)
        {
            return;
        }

        ref FdPostState last = ref CollectionsMarshal.GetValueRefOrAddDefault(_lastFdPost, (dev, ino), out bool known);
        if (known && last.Epoch == _capture.Epoch.Epoch && last.PathOps == PathOpsNow
            && last.Path.AsSpan(0, last.PathLen).SequenceEqual(display))
        {
            _writer.DeleteUndo(last.Seq, last.Part);
        }

        if (last.Path is null || last.Path.Length < display.Length)
        {
            last.Path = new byte[Math.Max(display.Length, 64)];
        }

        display.CopyTo(last.Path);
        last.PathLen = display.Length;
        last.Epoch = _capture.Epoch.Epoch;
        last.PathOps = PathOpsNow;
        last.Seq = seq;
        last.Part = part;
    }

    private struct FdPostState
    {
        public ulong Epoch;
        public ulong PathOps;
        public ulong Seq;
        public uint Part;
        public byte[] Path;
        public int PathLen;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 107, Level = LogLevel.Warning, Message = "the journal cannot be written ({Errno}: {Reason}); operations that need it fail with {Errno} in the app until it can")]
        public static partial void JournalWriteFailed(ILogger logger, Errno errno, string reason);
    }
}

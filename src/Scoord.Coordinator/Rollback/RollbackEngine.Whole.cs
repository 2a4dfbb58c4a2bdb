using System.Globalization;
using System.Runtime.InteropServices;
using Scoord.Coordinator.Rollback.Model;
using Scoord.Interceptors;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal.Undo;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Rollback;

/// <summary>
/// A regular file made again as one journaled action: the intent is the openat(O_CREAT|O_EXCL) of a name
/// where the journal says nothing is, whose undo is the new file's removal; through the new fd the rollback
/// then writes its content, owner, mode, xattrs and times at the checkpoint, and the completion's
/// post-state is taken last, from the fd. The writes need no pre-image (the file did not exist before the
/// intent), so journaling them one by one, as the content and metadata phases do for a file that stayed,
/// would only repeat the same undo four times over. The intents of up to <see cref="Group"/> such files are
/// committed together, then the files are made: a rollback killed in between leaves intents without
/// completions, which the next one resolves from the disk like any pending creation
/// (<see cref="Model.PendingResolver"/>). Every other action first makes the queued files
/// (docs/performance.md, "rollback").
/// </summary>
public sealed unsafe partial class RollbackEngine
{
    private sealed record QueuedFile(SafePath Path, NameSlot Slot, TrackedObject Obj, UndoItem State, CheckpointContent Content, ulong Seq, uint Part);

    /// <summary>Objects made again whole: the content and metadata phases leave them alone.</summary>
    private readonly HashSet<int> _whole = new();
    private readonly List<QueuedFile> _queue = new();
    private bool _queueing;

    /// <summary>
    /// Journals the making of <paramref name="o"/> at <paramref name="p"/> with everything it had at the
    /// checkpoint, and queues it (the queue owns <paramref name="p"/> then). False when the journal does not
    /// hold all its bytes: the general way makes it, and the content phase says what is missing.
    /// </summary>
    private bool QueueWhole(SafePath p, NameSlot slot, TrackedObject o, UndoItem state)
    {
        if (_dry || _m.Reader is null)
        {
            return false;
        }

        var content = CheckpointContent.Of(o, _m.Reader);
        if (content.UnchangedBytes > 0)
        {
            return false;
        }

        Interop.Stat none = default;
        _queueing = true;
        try
        {
            ulong seq = Begin(OpCode.Openat, p.FullBytes, [], (ulong)WholeFlags, state.Mode & 0xFFF, -1, content.Size, 0, 0, false, none);
            uint part = 0;
            State(seq, ref part, UndoRole.Object, p, firstTouch: false, absent: true, whole: false);
            ParentState(seq, ref part, p);
            _queue.Add(new QueuedFile(p, slot, o, state, content, seq, part));
        }
        finally
        {
            _queueing = false;
        }

        // The model has it at once: a later name of the same file (a hard link) is linked to it, which
        // makes the queued files first.
        _live.Set(slot, o);
        _recreated.Add(o.Id);
        _result.Recreated++;

        if (_queue.Count >= Group)
        {
            FlushWhole();
        }

        return true;
    }

    private const int WholeFlags = O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC;

    /// <summary>
    /// Commits the queued intents, then makes their files: the files on up to <see cref="Makers"/> threads
    /// (a group's files are independent: each its own name, each a new inode; reading the kept bytes back
    /// and writing them is most of the work), the journal on this one, in queue order.
    /// </summary>
    private void FlushWhole()
    {
        if (_queue.Count == 0)
        {
            return;
        }

        var made = new Made[_queue.Count];
        try
        {
            _writer!.Commit(sync: false);
            Parallel.For(0, _queue.Count, new ParallelOptions { MaxDegreeOfParallelism = Makers }, i => made[i] = Make(_queue[i]));
            for (int i = 0; i < _queue.Count; i++)
            {
                Finish(_queue[i], ref made[i]);
            }
        }
        finally
        {
            for (int i = 0; i < _queue.Count; i++)
            {
                _queue[i].Path.Dispose();
                if (made[i].Fd >= 0)
                {
                    close(made[i].Fd); // only after an exception: Finish closed the others
                }
            }

            _queue.Clear();
        }
    }

    private static readonly int Makers = Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <summary>What making one queued file gave: its fd (-1 when the create failed, with its errno), and whether every step succeeded.</summary>
    private record struct Made(int Fd, int Errno, bool Filled);

    private static Made Make(QueuedFile f)
    {
        int fd;
        fixed (byte* n = f.Path.Name)
        {
            fd = openat(f.Path.ParentFd, n, WholeFlags, (int)(f.State.Mode & 0xFFF));
        }

        return fd < 0 ? new Made(-1, Marshal.GetLastPInvokeError(), false) : new Made(fd, 0, Fill(fd, f.Content, f.State));
    }

    private void Finish(QueuedFile f, ref Made made)
    {
        SafePath p = f.Path;
        uint part = f.Part;
        if (made.Fd < 0)
        {
            End(f.Seq, -1, made.Errno, default);
            Post(f.Seq, ref part, UndoRole.Object, p);
            Marshal.SetLastPInvokeError(made.Errno);
            Fail(-1, "create", p);
            if (_live.At(f.Slot) == f.Obj)
            {
                _live.Set(f.Slot, null);
            }

            _recreated.Remove(f.Obj.Id);
            _result.Recreated--;
            return;
        }

        int fd = made.Fd;
        made.Fd = -1;
        try
        {
            Interop.Stat st;
            FileId id = fstat(fd, &st) == 0 ? IdOf(st) : default;
            End(f.Seq, fd, 0, id);
            _capture!.CapturePostState(f.Seq, ref part, UndoRole.Object, fd, p.FullBytes);
            Recreated(f.Obj, id);
            if (made.Filled)
            {
                _whole.Add(f.Obj.Id);
                if (f.Content.Size > 0)
                {
                    _result.ContentRestored++;
                }

                _result.MetadataRestored++;
            }
        }
        finally
        {
            close(fd);
        }
    }

    /// <summary>Content, owner, mode, xattrs, then times (every earlier step moves mtime or ctime) of a new, empty file.</summary>
    private static bool Fill(int fd, CheckpointContent content, UndoItem state)
    {
        long end = 0;
        foreach (Segment s in content.Segments)
        {
            if (s.Kind != SegmentKind.Data)
            {
                continue; // holes stay holes in a new file; Unchanged does not occur here (checked by the caller)
            }

            ReadOnlySpan<byte> bytes = content.Bytes(s);
            if (bytes.Length != s.Length || WriteAll(fd, bytes, s.Start) < 0)
            {
                return false; // damaged copy or a failed write: the content phase reports which
            }

            end = Math.Max(end, s.End);
        }

        if (end != content.Size && ftruncate(fd, content.Size) != 0)
        {
            return false;
        }

        Interop.Stat st;
        if (fstat(fd, &st) != 0)
        {
            return false;
        }

        if ((st.st_uid != state.Uid || st.st_gid != state.Gid) && (fchown(fd, state.Uid, state.Gid) != 0 || fstat(fd, &st) != 0))
        {
            return false;
        }

        if ((st.st_mode & 0xFFF) != (state.Mode & 0xFFF) && fchmod(fd, state.Mode & 0xFFF) != 0)
        {
            return false; // a chown clears set-id bits: the mode comes after it
        }

        foreach ((byte[] name, byte[] value) in state.Xattrs)
        {
            byte[] n = [.. name, 0];
            fixed (byte* np = n)
            fixed (byte* v = value)
            {
                if (fsetxattr(fd, np, v, (nuint)value.Length, 0) != 0)
                {
                    return false;
                }
            }
        }

        long* ts = stackalloc long[4];
        ToTimespecs(state.AtimeNs, state.MtimeNs, ts);
        return futimens(fd, ts) == 0;
    }

    private static long WriteAll(int fd, ReadOnlySpan<byte> data, long offset)
    {
        int done = 0;
        fixed (byte* d = data)
        {
            while (done < data.Length)
            {
                nint n = pwrite(fd, d + done, (nuint)(data.Length - done), offset + done);
                if (n <= 0)
                {
                    return -1;
                }

                done += (int)n;
            }
        }

        return done;
    }

    /// <summary>atime and mtime in ns as the two timespecs utimensat takes (seconds floored for times before 1970).</summary>
    private static void ToTimespecs(long atimeNs, long mtimeNs, long* ts)
    {
        ts[0] = Math.DivRem(atimeNs, 1_000_000_000, out long an);
        ts[1] = an;
        ts[2] = Math.DivRem(mtimeNs, 1_000_000_000, out long mn);
        ts[3] = mn;
        if (an < 0)
        {
            ts[0]--;
            ts[1] += 1_000_000_000;
        }

        if (mn < 0)
        {
            ts[2]--;
            ts[3] += 1_000_000_000;
        }
    }
}

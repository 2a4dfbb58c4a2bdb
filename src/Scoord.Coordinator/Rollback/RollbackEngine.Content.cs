using System.Runtime.InteropServices;
using Scoord.Interceptors;
using Scoord.Journal;
using Scoord.Journal.Undo;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Rollback;

/// <summary>
/// Content, per regular file that existed at the checkpoint: the block pre-images after the checkpoint
/// give, for each byte range, its content at the checkpoint (the earliest pre-image wins); ranges that
/// already hold it are left alone, holes are punched, the size is set last.
/// </summary>
public sealed unsafe partial class RollbackEngine
{
    private void RestoreContent()
    {
        foreach ((ObjKey id, UndoItem state) in _history.Earliest)
        {
            Step();
            if ((state.Mode & S_IFMT) != S_IFREG || !_history.ExistedAtCheckpoint(id, out _))
            {
                continue;
            }

            bool hasBlocks = _history.Blocks.TryGetValue(id, out List<UndoItem>? blocks);
            string path = _history.MapBack(Describe(state), state.Seq);
            if (Skip(id, path))
            {
                continue;
            }

            using SafePath? p = SafePath.Resolve(path, out ResolveStatus status);
            if (p is null)
            {
                Error($"cannot restore the content of {path}: {SafePath.Describe(status)}");
                continue;
            }

            if (!p.TryLstat(out Interop.Stat st))
            {
                Error($"cannot restore the content of {path}: it does not exist");
                continue;
            }

            if (IdOf(st) != Cur(id))
            {
                Error($"cannot restore the content of {path}: it is not the file the journal recorded (inode {st.st_ino}, expected {Cur(id).Ino}); not written");
                continue;
            }

            if (!hasBlocks && st.st_size == state.Size)
            {
                continue;
            }

            int fd;
            fixed (byte* n = p.Name)
            {
                fd = openat(p.ParentFd, n, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
            }

            if (fd < 0)
            {
                Error($"cannot open {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
                continue;
            }

            try
            {
                Interop.Stat fst;
                if (fstat(fd, &fst) != 0 || IdOf(fst) != Cur(id))
                {
                    Error($"cannot restore the content of {path}: it changed while being opened; not written");
                    continue;
                }

                List<ContentAction> actions = PlanContent(fd, fst.st_size, state.Size, blocks ?? []);
                if (actions.Count > 0 && ApplyContent(fd, p, actions))
                {
                    _result.ContentRestored++;
                }
            }
            finally
            {
                close(fd);
            }
        }
    }

    /// <summary>The writes, punches and truncation that give the file its content at the checkpoint.</summary>
    private List<ContentAction> PlanContent(int fd, long sizeNow, long size, List<UndoItem> blocks)
    {
        var actions = new List<ContentAction>();
        var covered = new RangeSet();
        int reader = _capture!.OpenPrivateReader(fd);
        long predicted = sizeNow;
        try
        {
            foreach (UndoItem b in blocks)
            {
                bool hole = (b.Flags & UndoFlags.Hole) != 0;
                long start = b.Offset;
                long end = Math.Min(start + (hole ? b.Length : b.Data.Length), size);
                foreach ((long s, long e) in covered.Claim(start, end))
                {
                    if (hole)
                    {
                        if (!IsHole(fd, s, e, sizeNow))
                        {
                            actions.Add(new ContentAction(ContentOp.Punch, s, e - s, null, 0));
                        }
                    }
                    else if (!Holds(reader, b.Data, (int)(s - b.Offset), (int)(e - s), s))
                    {
                        actions.Add(new ContentAction(ContentOp.Write, s, e - s, b.Data, (int)(s - b.Offset)));
                        predicted = Math.Max(predicted, e);
                    }
                }
            }
        }
        finally
        {
            if (reader >= 0)
            {
                close(reader);
            }
        }

        if (predicted != size)
        {
            actions.Add(new ContentAction(ContentOp.Truncate, 0, size, null, 0));
        }

        return actions;
    }

    private static bool IsHole(int fd, long start, long end, long sizeNow)
    {
        if (start >= sizeNow)
        {
            return true;
        }

        long data = lseek(fd, start, SEEK_DATA);
        return data < 0 || data >= end;
    }

    /// <summary>True when the file already holds exactly these bytes at <paramref name="offset"/>.</summary>
    private static bool Holds(int reader, byte[] data, int from, int length, long offset)
    {
        if (reader < 0)
        {
            return false;
        }

        byte[] buf = new byte[Math.Min(length, 1 << 20)];
        int done = 0;
        fixed (byte* b = buf)
        {
            while (done < length)
            {
                int want = Math.Min(buf.Length, length - done);
                nint n = pread(reader, b, (nuint)want, offset + done);
                if (n != want)
                {
                    return false;
                }

                if (!buf.AsSpan(0, want).SequenceEqual(data.AsSpan(from + done, want)))
                {
                    return false;
                }

                done += want;
            }
        }

        return true;
    }
}

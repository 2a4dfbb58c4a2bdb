using System.Globalization;
using System.Runtime.InteropServices;
using Scoord.Coordinator.Rollback.Model;
using Scoord.Coordinator.Undo;
using Scoord.Interceptors;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Rollback;

/// <summary>
/// Content, per regular file that existed at the checkpoint and has a body now: its content at the
/// checkpoint (<see cref="CheckpointContent"/>) is compared with the file range by range, and only what
/// differs is written (holes punched where it had holes, the size set last). Bytes no journaled
/// operation changed are the file's own, unless the file is another inode (made again, or a reused
/// one) or was changed outside the journal: then they must come from the journal too, and where it
/// holds no copy of them the rollback says so instead of claiming it restored the file.
/// </summary>
public sealed unsafe partial class RollbackEngine
{
    private void RestoreContent()
    {
        foreach (TrackedObject o in _m.Objects)
        {
            Step();
            if (!o.Original || o.AtCheckpoint is not { } state || (state.Mode & S_IFMT) != S_IFREG || _whole.Contains(o.Id))
            {
                continue;
            }

            TrackedObject phys = _live.Phys(o);
            if (!_live.IsLive(phys) && !UnseenButAlive(o))
            {
                continue;
            }

            if (Frozen(phys) || (_live.IsLive(phys) && Frozen(_live.NamesOf(phys)[0])))
            {
                continue;
            }

            bool sameBody = phys == o && !_recreated.Contains(o.Id);
            bool outside = _outsideChanged.Contains(o.Id) || _outsideChanged.Contains(phys.Id);
            if (sameBody && !outside && o.Sources.Count == 0 && phys.LastPost is { } post && post.Size == state.Size && !o.StateUnknown)
            {
                continue; // no journaled change of its bytes, and its size is the checkpoint's
            }

            if (_dry && _recreated.Contains(o.Id))
            {
                continue; // "recreate PATH" says it
            }

            string? path = BodyPath(phys);
            if (path is null)
            {
                continue;
            }

            var content = CheckpointContent.Of(o, _m.Reader);
            if ((!sameBody || outside) && content.UnchangedBytes > 0)
            {
                // Bytes whose value at the checkpoint the journal does not hold.
                string why = sameBody
                    ? "it was changed outside the journal, and the journal holds no copy of"
                    : "the journal holds no copy of";
                // One line for the file: this error replaces its conflict line.
                if (_conflictLine.TryGetValue(o.Id, out int line) || _conflictLine.TryGetValue(phys.Id, out line))
                {
                    _result.Conflicts[line] = string.Empty;
                }

                Error(string.Create(CultureInfo.InvariantCulture, $"cannot restore the content of {path} exactly: {why} {content.UnchangedBytes} of its {state.Size} bytes at the checkpoint"));
            }

            RestoreFile(path, phys, content);
        }
    }

    private void RestoreFile(string path, TrackedObject phys, CheckpointContent content)
    {
        using SafePath? p = SafePath.Resolve(path, out ResolveStatus status);
        if (p is null)
        {
            Error($"cannot restore the content of {path}: {SafePath.Describe(status)}");
            return;
        }

        int fd;
        fixed (byte* n = p.Name)
        {
            fd = openat(p.ParentFd, n, (_dry ? O_RDONLY : O_WRONLY) | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
        }

        if (fd < 0)
        {
            Error($"cannot open {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            return;
        }

        try
        {
            Interop.Stat st;
            if (fstat(fd, &st) != 0 || (phys.Disk.IsKnown && IdOf(st) != phys.Disk))
            {
                Error($"cannot restore the content of {path}: it is not the file the journal recorded; not written");
                return;
            }

            List<ContentAction> actions = PlanContent(fd, st.st_size, content);
            if (actions.Count == 0)
            {
                return;
            }

            if (_dry)
            {
                Plan($"restore {path} (content)");
                _result.ContentRestored++;
                return;
            }

            _acted.Add(phys.Id);
            if (ApplyContent(fd, p, actions))
            {
                _result.ContentRestored++;
            }
        }
        finally
        {
            close(fd);
        }
    }

    /// <summary>The writes, punches and truncation that give the file its content at the checkpoint.</summary>
    private List<ContentAction> PlanContent(int fd, long sizeNow, CheckpointContent content)
    {
        var actions = new List<ContentAction>();
        int reader = OpenReader(fd);
        long predicted = sizeNow;
        long cutTail = -1;
        try
        {
            foreach (Segment s in content.Segments)
            {
                switch (s.Kind)
                {
                    case SegmentKind.Hole:
                        if (!IsHole(fd, s.Start, s.End, sizeNow))
                        {
                            if (s.End == content.Size && content.Size % UndoCapture.BlockSize != 0)
                            {
                                // A hole up to an end that is not block-aligned: punching cannot free the
                                // last, partial block, cutting the file there and extending it again does.
                                cutTail = s.Start;
                            }
                            else
                            {
                                actions.Add(new ContentAction(ContentOp.Punch, s.Start, s.Length, null, 0));
                            }
                        }

                        break;
                    case SegmentKind.Data:
                    {
                        byte[] bytes = content.Bytes(s).ToArray();
                        if (bytes.Length != s.Length)
                        {
                            Error(string.Create(CultureInfo.InvariantCulture, $"the journal's copy of bytes {s.Start}-{s.End} is damaged (run scoord fsck)"));
                            break;
                        }

                        if (!Holds(reader, fd, bytes, s.Start, sizeNow))
                        {
                            actions.Add(new ContentAction(ContentOp.Write, s.Start, s.Length, bytes, 0));
                            predicted = Math.Max(predicted, s.End);
                        }

                        break;
                    }

                    default:
                        break; // the file's own bytes (or, when not its own, reported above)
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

        if (cutTail >= 0)
        {
            actions.Add(new ContentAction(ContentOp.Truncate, 0, cutTail, null, 0));
            predicted = cutTail;
        }

        if (predicted != content.Size)
        {
            actions.Add(new ContentAction(ContentOp.Truncate, 0, content.Size, null, 0));
        }

        return actions;
    }

    private int OpenReader(int fd)
    {
        byte[] proc = System.Text.Encoding.ASCII.GetBytes("/proc/self/fd/" + fd.ToString(CultureInfo.InvariantCulture) + "\0");
        fixed (byte* p = proc)
        {
            int r = open(p, O_RDONLY | O_CLOEXEC | O_NOATIME, 0);
            return r >= 0 ? r : open(p, O_RDONLY | O_CLOEXEC, 0);
        }
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

    /// <summary>True when the file holds exactly these bytes at <paramref name="offset"/>, as data (no hole inside).</summary>
    private static bool Holds(int reader, int fd, byte[] data, long offset, long sizeNow)
    {
        if (reader < 0 || offset + data.Length > sizeNow)
        {
            return false;
        }

        long hole = lseek(fd, offset, SEEK_HOLE);
        if (hole >= 0 && hole < offset + data.Length)
        {
            return false; // same bytes, but a hole where the checkpoint had data
        }

        byte[] buf = new byte[Math.Min(data.Length, 1 << 20)];
        int done = 0;
        fixed (byte* b = buf)
        {
            while (done < data.Length)
            {
                int want = Math.Min(buf.Length, data.Length - done);
                nint n = pread(reader, b, (nuint)want, offset + done);
                if (n != want || !buf.AsSpan(0, want).SequenceEqual(data.AsSpan(done, want)))
                {
                    return false;
                }

                done += want;
            }
        }

        return true;
    }
}

using System.Runtime.InteropServices;
using Scoord.Interceptors;
using Scoord.Journal.Model;
using Scoord.Journal.Undo;
using Scoord.Interceptors.Syscalls;
using Scoord.Interceptors.Decoding;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Rollback;

/// <summary>
/// The rollback's own mutations. Each one is journaled like an application's operation: INTENT (flag
/// Rollback) with its undo items captured before it runs, committed, then the syscall (relative to the
/// resolved parent directory fd, never following a symlink), then the COMPLETION and the post-state.
/// </summary>
public sealed unsafe partial class RollbackEngine
{
    private enum ContentOp
    {
        Write,
        Punch,
        Truncate,
    }

    private readonly record struct ContentAction(ContentOp Op, long Offset, long Length, byte[]? Data, int DataOffset);

    private ulong Begin(OpCode op, byte[] path, byte[] path2, ulong opFlags, uint mode, long offset, long length, uint uid, uint gid, bool haveBefore, in Interop.Stat before)
    {
        if (!_queueing)
        {
            FlushWhole(); // every other action comes after the queued files are made
        }

        Start();
        var intent = new OpIntent
        {
            TimeNs = Now(),
            Pid = _pid,
            Tid = _pid,
            Op = op,
            Flags = IntentFlags.Rollback,
            Fd = AT_FDCWD,
            OpFlags = opFlags,
            Mode = mode,
            Offset = offset,
            Length = length,
            Uid = uid,
            Gid = gid,
            Dev = haveBefore ? before.st_dev : 0,
            Ino = haveBefore ? before.st_ino : 0,
            Kind = haveBefore ? KindOf(before.st_mode) : ObjectKind.Absent,
        };
        return _writer!.AppendIntent(intent, path, path2);
    }

    private void End(ulong seq, long rc, int errno, FileId after)
    {
        _writer!.AppendCompletion(seq, new OpCompletion { TimeNs = Now(), Result = rc, Errno = errno, Dev = after.Dev, Ino = after.Ino });
        _result.Actions++;
    }

    private void State(ulong seq, ref uint part, UndoRole role, SafePath p, bool firstTouch, bool absent, bool whole)
    {
        if (whole)
        {
            _capture!.CaptureState(seq, ref part, role, p.StatPath, p.FullBytes, follow: false, wholeContent: true, firstTouchOnly: firstTouch, recordAbsent: absent);
        }
        else
        {
            _capture!.CaptureStateAt(seq, ref part, role, p.ParentFd, p.Name, p.StatPath, p.FullBytes, firstTouchOnly: firstTouch, recordAbsent: absent);
        }
    }

    private void ParentState(ulong seq, ref uint part, SafePath p) =>
        _capture!.CaptureStateAt(seq, ref part, UndoRole.Parent, p.ParentFd, default, p.ParentStatPath, p.ParentBytes, firstTouchOnly: true, recordAbsent: false);

    private void Post(ulong seq, ref uint part, UndoRole role, SafePath p) =>
        _capture!.CapturePostState(seq, ref part, role, p.StatPath, p.FullBytes, follow: false);

    private FileId Lstat(SafePath p) => p.TryLstat(out Interop.Stat st) ? IdOf(st) : default;

    private bool Fail(int rc, string what, SafePath p)
    {
        if (rc >= 0)
        {
            return true;
        }

        Error($"cannot {what} {p.Full}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        return false;
    }

    /// <summary>unlinkat (AT_REMOVEDIR for a directory); the object is kept whole in the journal first.</summary>
    private bool Remove(SafePath p, out bool notEmpty)
    {
        notEmpty = false;
        if (!p.TryLstat(out Interop.Stat st))
        {
            return true;
        }

        bool dir = IsDir(st.st_mode);
        int flags = dir ? AT_REMOVEDIR : 0;
        ulong seq = Begin(OpCode.Unlinkat, p.FullBytes, [], (ulong)flags, 0, -1, 0, 0, 0, true, st);
        uint part = 0;
        State(seq, ref part, UndoRole.Object, p, firstTouch: true, absent: false, whole: false);
        ParentState(seq, ref part, p);
        State(seq, ref part, UndoRole.Target, p, firstTouch: false, absent: false, whole: true);
        _writer!.Commit(sync: false);
        int rc;
        fixed (byte* n = p.Name)
        {
            rc = unlinkat(p.ParentFd, n, flags);
        }

        int errno = rc < 0 ? Marshal.GetLastPInvokeError() : 0;
        End(seq, rc, errno, default);
        Post(seq, ref part, UndoRole.Object, p);
        if (rc == 0 && (dir || st.st_nlink <= 1))
        {
            _capture!.Epoch.Forget(st.st_dev, st.st_ino);
        }

        if (rc < 0 && errno == (int)Errno.ENOTEMPTY)
        {
            notEmpty = true;
            return false;
        }

        Marshal.SetLastPInvokeError(errno);
        return Fail(rc, "remove", p);
    }

    /// <summary>mkdirat, mknodat, symlinkat: a new object where the journal says none is.</summary>
    private bool Create(OpCode op, SafePath p, uint mode, byte[]? linkTarget)
    {
        Interop.Stat none = default;
        ulong seq = Begin(op, p.FullBytes, linkTarget ?? [], 0, mode, -1, 0, 0, 0, false, none);
        uint part = 0;
        State(seq, ref part, UndoRole.Object, p, firstTouch: false, absent: true, whole: false);
        ParentState(seq, ref part, p);
        _writer!.Commit(sync: false);
        int rc;
        fixed (byte* n = p.Name)
        {
            if (op == OpCode.Mkdirat)
            {
                rc = mkdirat(p.ParentFd, n, mode & 0xFFF);
            }
            else if (op == OpCode.Symlinkat)
            {
                byte[] target = [.. linkTarget!, 0];
                fixed (byte* t = target)
                {
                    rc = symlinkat(t, p.ParentFd, n);
                }
            }
            else
            {
                rc = mknodat(p.ParentFd, n, mode, 0);
            }
        }

        int errno = rc < 0 ? Marshal.GetLastPInvokeError() : 0;
        End(seq, rc, errno, Lstat(p));
        Post(seq, ref part, UndoRole.Object, p);
        Marshal.SetLastPInvokeError(errno);
        return Fail(rc, "create", p);
    }

    /// <summary>openat(O_CREAT|O_EXCL|O_WRONLY|O_NOFOLLOW) of a regular file; returns the fd or -1.</summary>
    private int CreateFile(SafePath p, uint mode)
    {
        Interop.Stat none = default;
        int flags = O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC;
        ulong seq = Begin(OpCode.Openat, p.FullBytes, [], (ulong)flags, mode & 0xFFF, -1, 0, 0, 0, false, none);
        uint part = 0;
        State(seq, ref part, UndoRole.Object, p, firstTouch: false, absent: true, whole: false);
        ParentState(seq, ref part, p);
        _writer!.Commit(sync: false);
        int fd;
        fixed (byte* n = p.Name)
        {
            fd = openat(p.ParentFd, n, flags, (int)(mode & 0xFFF));
        }

        int errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        End(seq, fd, errno, Lstat(p));
        Post(seq, ref part, UndoRole.Object, p);
        Marshal.SetLastPInvokeError(errno);
        Fail(fd, "create", p);
        return fd;
    }

    /// <summary>linkat(src, dst): another name of an object the journal knows.</summary>
    private bool Link(SafePath src, SafePath dst)
    {
        src.TryLstat(out Interop.Stat st);
        ulong seq = Begin(OpCode.Linkat, src.FullBytes, dst.FullBytes, 0, 0, -1, 0, 0, 0, true, st);
        uint part = 0;
        State(seq, ref part, UndoRole.Object, src, firstTouch: true, absent: false, whole: false);
        State(seq, ref part, UndoRole.Second, dst, firstTouch: false, absent: true, whole: false);
        ParentState(seq, ref part, dst);
        _writer!.Commit(sync: false);
        int rc;
        fixed (byte* a = src.Name)
        fixed (byte* b = dst.Name)
        {
            rc = linkat(src.ParentFd, a, dst.ParentFd, b, 0);
        }

        int errno = rc < 0 ? Marshal.GetLastPInvokeError() : 0;
        End(seq, rc, errno, Lstat(dst));
        Post(seq, ref part, UndoRole.Object, src);
        Post(seq, ref part, UndoRole.Second, dst);
        Marshal.SetLastPInvokeError(errno);
        return Fail(rc, "link", dst);
    }

    /// <summary>renameat2(src, dst, flags) with RENAME_NOREPLACE or RENAME_EXCHANGE.</summary>
    private bool Rename(SafePath src, SafePath dst, uint flags)
    {
        src.TryLstat(out Interop.Stat st);
        ulong seq = Begin(OpCode.Renameat2, src.FullBytes, dst.FullBytes, flags, 0, -1, 0, 0, 0, true, st);
        uint part = 0;
        State(seq, ref part, UndoRole.Object, src, firstTouch: true, absent: false, whole: false);
        if ((flags & RENAME_EXCHANGE) != 0)
        {
            State(seq, ref part, UndoRole.Second, dst, firstTouch: true, absent: false, whole: false);
        }
        else
        {
            State(seq, ref part, UndoRole.Second, dst, firstTouch: false, absent: true, whole: false);
        }

        ParentState(seq, ref part, src);
        ParentState(seq, ref part, dst);
        _writer!.Commit(sync: false);
        int rc;
        fixed (byte* a = src.Name)
        fixed (byte* b = dst.Name)
        {
            rc = renameat2(src.ParentFd, a, dst.ParentFd, b, flags);
        }

        int errno = rc < 0 ? Marshal.GetLastPInvokeError() : 0;
        End(seq, rc, errno, Lstat(dst));
        Post(seq, ref part, UndoRole.Object, src);
        Post(seq, ref part, UndoRole.Second, dst);
        Marshal.SetLastPInvokeError(errno);
        return Fail(rc, "rename " + src.Full + " to", dst);
    }

    /// <summary>
    /// Content changes to one open file, journaled in groups: every intent of a group with its block
    /// pre-images (captured before any of the group's writes), one commit, then the writes.
    /// </summary>
    private bool ApplyContent(int fd, SafePath p, List<ContentAction> actions)
    {
        Start();
        bool ok = true;
        for (int start = 0; start < actions.Count; start += Group)
        {
            int count = Math.Min(Group, actions.Count - start);
            Interop.Stat st;
            fstat(fd, &st);
            int reader = _capture!.OpenPrivateReader(fd);
            var seqs = new (ulong Seq, uint Part)[count];
            for (int k = 0; k < count; k++)
            {
                ContentAction a = actions[start + k];
                (OpCode op, ulong flags) = a.Op switch
                {
                    ContentOp.Write => (OpCode.Pwrite64, 0UL),
                    ContentOp.Punch => (OpCode.Fallocate, (ulong)(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)),
                    _ => (OpCode.Ftruncate, 0UL),
                };
                ulong seq = Begin(op, p.FullBytes, [], flags, 0, a.Op == ContentOp.Truncate ? -1 : a.Offset, a.Length, 0, 0, true, st);
                uint part = 0;
                State(seq, ref part, UndoRole.Object, p, firstTouch: true, absent: false, whole: false);
                if (reader >= 0)
                {
                    if (a.Op == ContentOp.Truncate)
                    {
                        _capture.CaptureBlocks(seq, ref part, reader, st.st_dev, st.st_ino, st.st_size, p.FullBytes, a.Length, -1);
                    }
                    else
                    {
                        _capture.CaptureBlocks(seq, ref part, reader, st.st_dev, st.st_ino, st.st_size, p.FullBytes, a.Offset, a.Length);
                    }
                }

                seqs[k] = (seq, part);
            }

            if (reader >= 0)
            {
                close(reader);
            }

            _writer!.Commit(sync: false);
            for (int k = 0; k < count; k++)
            {
                ContentAction a = actions[start + k];
                long rc;
                if (a.Op == ContentOp.Write)
                {
                    rc = WriteAll(fd, a.Data!, a.DataOffset, (int)a.Length, a.Offset);
                }
                else if (a.Op == ContentOp.Punch)
                {
                    rc = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, a.Offset, a.Length);
                }
                else
                {
                    rc = ftruncate(fd, a.Length);
                }

                int errno = rc < 0 ? Marshal.GetLastPInvokeError() : 0;
                End(seqs[k].Seq, rc, errno, new FileId(st.st_dev, st.st_ino));
                uint part = seqs[k].Part;
                _capture.CapturePostState(seqs[k].Seq, ref part, UndoRole.Object, fd, p.FullBytes);
                if (rc < 0)
                {
                    Marshal.SetLastPInvokeError(errno);
                    ok &= Fail(-1, a.Op == ContentOp.Write ? "write" : a.Op == ContentOp.Punch ? "punch a hole in" : "truncate", p);
                }
            }
        }

        return ok;
    }

    private static long WriteAll(int fd, byte[] data, int from, int length, long offset) => WriteAll(fd, data.AsSpan(from, length), offset);

    private bool Chown(SafePath p, in Interop.Stat st, uint uid, uint gid)
    {
        ulong seq = Begin(OpCode.Fchownat, p.FullBytes, [], AT_SYMLINK_NOFOLLOW, 0, -1, 0, uid, gid, true, st);
        uint part = 0;
        State(seq, ref part, UndoRole.Object, p, firstTouch: true, absent: false, whole: false);
        _writer!.Commit(sync: false);
        int rc;
        fixed (byte* n = p.Name)
        {
            rc = fchownat(p.ParentFd, n, uid, gid, AT_SYMLINK_NOFOLLOW);
        }

        return Finish(seq, part, rc, p, "change the owner of");
    }

    private bool Chmod(SafePath p, in Interop.Stat st, uint mode)
    {
        ulong seq = Begin(OpCode.Fchmodat, p.FullBytes, [], 0, mode, -1, 0, 0, 0, true, st);
        uint part = 0;
        State(seq, ref part, UndoRole.Object, p, firstTouch: true, absent: false, whole: false);
        _writer!.Commit(sync: false);
        int rc;
        fixed (byte* n = p.Name)
        {
            rc = fchmodat(p.ParentFd, n, mode, 0);
        }

        return Finish(seq, part, rc, p, "change the mode of");
    }

    private bool SetTimes(SafePath p, in Interop.Stat st, long atimeNs, long mtimeNs)
    {
        ulong seq = Begin(OpCode.Utimensat, p.FullBytes, [], AT_SYMLINK_NOFOLLOW, 0, atimeNs, mtimeNs, 0, 0, true, st);
        uint part = 0;
        State(seq, ref part, UndoRole.Object, p, firstTouch: true, absent: false, whole: false);
        _writer!.Commit(sync: false);
        long* ts = stackalloc long[4];
        ToTimespecs(atimeNs, mtimeNs, ts);

        int rc;
        fixed (byte* n = p.Name)
        {
            rc = utimensat(p.ParentFd, n, ts, AT_SYMLINK_NOFOLLOW);
        }

        return Finish(seq, part, rc, p, "set the times of");
    }

    private bool SetXattr(SafePath p, in Interop.Stat st, byte[] name, byte[]? value)
    {
        OpCode op = value is null ? OpCode.Lremovexattr : OpCode.Lsetxattr;
        ulong seq = Begin(op, p.FullBytes, [], 0, 0, -1, value?.Length ?? 0, 0, 0, true, st);
        uint part = 0;
        State(seq, ref part, UndoRole.Object, p, firstTouch: true, absent: false, whole: false);
        _writer!.Commit(sync: false);
        byte[] n = [.. name, 0];
        int rc;
        fixed (byte* path = p.StatPath)
        fixed (byte* np = n)
        fixed (byte* v = value)
        {
            rc = value is null ? lremovexattr(path, np) : lsetxattr(path, np, v, (nuint)value.Length, 0);
        }

        return Finish(seq, part, rc, p, "set the extended attributes of");
    }

    private bool Finish(ulong seq, uint part, int rc, SafePath p, string what)
    {
        int errno = rc < 0 ? Marshal.GetLastPInvokeError() : 0;
        End(seq, rc, errno, Lstat(p));
        Post(seq, ref part, UndoRole.Object, p);
        Marshal.SetLastPInvokeError(errno);
        return Fail(rc, what, p);
    }

    internal static ObjectKind KindOf(uint mode) => (mode & S_IFMT) switch
    {
        S_IFREG => ObjectKind.Regular,
        S_IFDIR => ObjectKind.Directory,
        S_IFLNK => ObjectKind.Symlink,
        S_IFIFO => ObjectKind.Fifo,
        S_IFSOCK => ObjectKind.Socket,
        S_IFCHR => ObjectKind.CharDevice,
        S_IFBLK => ObjectKind.BlockDevice,
        _ => ObjectKind.Unknown,
    };
}

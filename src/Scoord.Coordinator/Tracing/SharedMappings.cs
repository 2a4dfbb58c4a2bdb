using Scoord.Coordinator.Ingest;
using Scoord.Interceptors;
using Scoord.Interceptors.Decoding;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal.Model;
using Scoord.Journal.Undo;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// Writable shared mappings of files: the app changes the file with memory writes that make no
/// syscall. The pre-image of the mapped range is captured at map time (the mmap intent); at each
/// checkpoint, while the mapping lives, it is captured again for the new epoch (a synthetic mmap
/// intent after the checkpoint record); and when the mapping's process execs or exits, the
/// file's post-state is recorded (a munmap event), so the app's own memory writes never look
/// like an outside change to rollback. munmap itself is not traced: a mapping unmapped early is
/// re-captured at checkpoints only while /proc/PID/map_files still shows it.
/// </summary>
internal sealed unsafe class SharedMappings(JournalIngest ingest, TraceeTable tracees)
{
    private readonly byte[] _proc = new byte[64];
    private readonly byte[] _statPath = new byte[4096 + 64];

    /// <summary>At the exit stop of a journaled writable shared mmap: remember the mapping.</summary>
    public static void Remember(Tracee t, long address)
    {
        PendingCall call = t.Pending;
        TracedProcess p = t.Process;
        p.Mappings ??= new List<SharedMapping>();
        p.Mappings.Add(new SharedMapping
        {
            Address = (ulong)address,
            Length = call.MapLength,
            FileOffset = call.MapOffset,
            Dev = call.MapDev,
            Ino = call.MapIno,
            Path = call.Post1Display(),
        });
    }

    /// <summary>Some process of the tree has (or had, unseen) a writable shared mapping of a file: a barrier must stop every thread.</summary>
    public bool Any
    {
        get
        {
            foreach (TracedProcess p in tracees.Processes.Values)
            {
                if (p.Mappings is { Count: > 0 })
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// Inside the barrier, before the checkpoint record: the mappings unmapped since they were made
    /// (munmap is not traced) get their file's post-state now, in the epoch they were written in.
    /// Without it the last post-state of such a file would be the one its mmap left, before the
    /// memory writes moved its mtime, and rollback would report the app's own writes as an outside change.
    /// </summary>
    public void RecordUnmapped() => Visit(recapture: false);

    /// <summary>Inside the barrier, after the checkpoint record: capture live mappings again for the new epoch.</summary>
    public void Recapture() => Visit(recapture: true);

    /// <summary>Every remembered mapping, newest first: an unmapped one is forgotten (its post-state recorded first when asked), a live one re-captured when asked.</summary>
    private void Visit(bool recapture)
    {
        foreach (TracedProcess p in tracees.Processes.Values)
        {
            if (p.Mappings is null)
            {
                continue;
            }

            for (int i = p.Mappings.Count - 1; i >= 0; i--)
            {
                SharedMapping m = p.Mappings[i];
                int fd = OpenMapFile(p.Tgid, m);
                Interop.Stat mapped;
                if (fd >= 0 && (fstat(fd, &mapped) != 0 || mapped.st_dev != m.Dev || mapped.st_ino != m.Ino))
                {
                    // Another file is mapped at those addresses now (this mapping went, a new one came).
                    close(fd);
                    fd = -1;
                }

                if (fd < 0)
                {
                    if (!recapture)
                    {
                        RecordPostState(p, m);
                    }

                    p.Mappings.RemoveAt(i); // unmapped since
                    continue;
                }

                if (recapture)
                {
                    CaptureAgain(p, m, fd);
                }

                close(fd);
            }
        }
    }

    /// <summary>A synthetic mmap intent with the file's state and the mapped range's pre-image, the first touch of the new epoch.</summary>
    private void CaptureAgain(TracedProcess p, SharedMapping m, int fd)
    {
        // The file's name now (it may have been renamed or removed since it was mapped): the kernel's
        // name of the mapping, without its " (deleted)", which the intent says with a flag instead.
        bool deleted = CurrentName(m, fd);
        OpIntent intent = Intent(p, m, OpCode.Mmap);
        if (deleted)
        {
            intent.Flags |= IntentFlags.Deleted;
        }

        ulong seq = ingest.Event(intent, m.Path);
        uint part = 0;
        // The file's state (times, size, mode) at the checkpoint: the first touch of the new epoch.
        int n = ProcPath.FormatFd(_statPath, Environment.ProcessId, fd);
        ingest.Capture.CaptureState(seq, ref part, UndoRole.Object, _statPath.AsSpan(0, n + 1), m.Path, follow: true, wholeContent: false, firstTouchOnly: true, recordAbsent: false);
        Interop.Stat st;
        if (fstat(fd, &st) == 0)
        {
            ingest.Capture.CaptureBlocks(seq, ref part, fd, st.st_dev, st.st_ino, st.st_size, m.Path, m.FileOffset, m.Length);
        }

        ingest.Completion(seq, new OpCompletion { TimeNs = Clock.NowNs(), Result = 0 });
    }

    /// <summary>Updates <see cref="SharedMapping.Path"/> to the mapped file's name now; true when it has none any more.</summary>
    private bool CurrentName(SharedMapping m, int fd)
    {
        int n = ProcPath.FormatFd(_statPath, Environment.ProcessId, fd);
        byte[] name = new byte[4096];
        int len = ProcPath.ReadLink(_statPath.AsSpan(0, n + 1), name);
        if (len <= 0)
        {
            return false;
        }

        ReadOnlySpan<byte> suffix = " (deleted)"u8;
        bool deleted = false;
        if (name.AsSpan(0, len).EndsWith(suffix))
        {
            Interop.Stat open, named;
            byte[] plain = [.. name.AsSpan(0, len - suffix.Length), 0];
            fixed (byte* q = plain)
            {
                deleted = fstat(fd, &open) != 0 || fstatat(AT_FDCWD, q, &named, AT_SYMLINK_NOFOLLOW) != 0
                    || named.st_dev != open.st_dev || named.st_ino != open.st_ino;
            }

            if (deleted)
            {
                len -= suffix.Length;
            }
        }

        m.Path = name[..len];
        return deleted;
    }

    /// <summary>The process execs or exits: its mappings go; record each file's post-state.</summary>
    public void Gone(TracedProcess p)
    {
        if (p.Mappings is null)
        {
            return;
        }

        foreach (SharedMapping m in p.Mappings)
        {
            RecordPostState(p, m);
        }

        p.Mappings = null;
    }

    /// <summary>A munmap event with the post-state of the mapping's file (by its path).</summary>
    private void RecordPostState(TracedProcess p, SharedMapping m)
    {
        ulong seq = ingest.Event(Intent(p, m, OpCode.Munmap), m.Path);
        uint part = 0;
        int n = Math.Min(m.Path.Length, _statPath.Length - 1);
        m.Path.AsSpan(0, n).CopyTo(_statPath);
        _statPath[n] = 0;
        ingest.Capture.CapturePostState(seq, ref part, UndoRole.Object, _statPath.AsSpan(0, n + 1), m.Path, follow: false);
        ingest.Completion(seq, new OpCompletion { TimeNs = Clock.NowNs(), Result = 0 });
    }

    private static OpIntent Intent(TracedProcess p, SharedMapping m, OpCode op) => new()
    {
        TimeNs = Clock.NowNs(), Pid = p.Tgid, Tid = p.Tgid, Op = op, Fd = -1,
        Offset = m.FileOffset, Length = m.Length, Dev = m.Dev, Ino = m.Ino, Kind = ObjectKind.Regular,
    };

    /// <summary>Opens /proc/PID/map_files/START-END of a mapping, read-only; -1 if it is gone.</summary>
    private int OpenMapFile(int tgid, SharedMapping m)
    {
        Span<byte> tail = stackalloc byte[64];
        ulong pages = ((ulong)m.Length + 4095) & ~4095UL; // mappings cover whole pages
        int n = WriteHex(tail, "map_files/"u8, m.Address, m.Address + pages);
        ProcPath.Format(_proc, tgid, tail[..n]);
        fixed (byte* p = _proc)
        {
            int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOATIME, 0);
            if (fd < 0)
            {
                fd = open(p, O_RDONLY | O_CLOEXEC, 0);
            }

            return fd;
        }
    }

    private static int WriteHex(Span<byte> dest, ReadOnlySpan<byte> prefix, ulong start, ulong end)
    {
        prefix.CopyTo(dest);
        int n = prefix.Length;
        n += Hex(dest[n..], start);
        dest[n++] = (byte)'-';
        n += Hex(dest[n..], end);
        return n;

        static int Hex(Span<byte> d, ulong v)
        {
            Span<byte> tmp = stackalloc byte[16];
            int i = 16;
            do
            {
                int digit = (int)(v & 0xF);
                tmp[--i] = (byte)(digit < 10 ? '0' + digit : 'a' + digit - 10);
                v >>= 4;
            }
            while (v != 0);
            tmp[i..].CopyTo(d);
            return 16 - i;
        }
    }
}

using Scoord.Interceptors;
using Scoord.Journal.Model;
using Scoord.Journal.Undo;
using Scoord.Interceptors.Syscalls;
using Scoord.Interceptors.Decoding;
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
internal sealed unsafe partial class Tracer
{
    internal sealed class SharedMapping
    {
        public ulong Address;
        public long Length;
        public long FileOffset;
        public ulong Dev;
        public ulong Ino;
        public byte[] Path = [];
    }

    /// <summary>At the exit stop of a journaled writable shared mmap: remember the mapping.</summary>
    private void RememberMapping(Tracee t, ulong seq, long address)
    {
        _ = seq;
        TracedProcess p = t.Process;
        p.Mappings ??= new List<SharedMapping>();
        p.Mappings.Add(new SharedMapping
        {
            Address = (ulong)address,
            Length = t.MapLength,
            FileOffset = t.MapOffset,
            Dev = t.MapDev,
            Ino = t.MapIno,
            Path = t.Post1Display(),
        });
    }

    /// <summary>
    /// Inside the barrier, before the checkpoint record: the mappings unmapped since they were made
    /// (munmap is not traced) get their file's post-state now, in the epoch they were written in.
    /// Without it the last post-state of such a file would be the one its mmap left, before the
    /// memory writes moved its mtime, and rollback would report the app's own writes as an outside change.
    /// </summary>
    private void RecordUnmappedMappings()
    {
        foreach (TracedProcess p in _processes.Values)
        {
            if (p.Mappings is null)
            {
                continue;
            }

            for (int i = p.Mappings.Count - 1; i >= 0; i--)
            {
                SharedMapping m = p.Mappings[i];
                int fd = OpenMapFile(p.Tgid, m);
                if (fd >= 0)
                {
                    close(fd);
                    continue;
                }

                RecordMappingPostState(p, m);
                p.Mappings.RemoveAt(i);
            }
        }
    }

    /// <summary>Inside the barrier, after the checkpoint record: capture live mappings again for the new epoch.</summary>
    private void RecaptureMappings()
    {
        foreach (TracedProcess p in _processes.Values)
        {
            if (p.Mappings is null)
            {
                continue;
            }

            for (int i = p.Mappings.Count - 1; i >= 0; i--)
            {
                SharedMapping m = p.Mappings[i];
                int fd = OpenMapFile(p.Tgid, m);
                if (fd < 0)
                {
                    p.Mappings.RemoveAt(i); // unmapped since
                    continue;
                }

                var intent = new OpIntent
                {
                    TimeNs = Clock.NowNs(), Pid = p.Tgid, Tid = p.Tgid, Op = OpCode.Mmap, Fd = -1,
                    Offset = m.FileOffset, Length = m.Length, Dev = m.Dev, Ino = m.Ino, Kind = ObjectKind.Regular,
                };
                ulong seq = _writer.AppendIntent(intent, m.Path, default);
                uint part = 0;
                // The file's state (times, size, mode) at the checkpoint: the first touch of the new epoch.
                int n = ProcPath.FormatFd(_parentStat, Environment.ProcessId, fd);
                _capture.CaptureState(seq, ref part, UndoRole.Object, _parentStat.AsSpan(0, n + 1), m.Path, follow: true, wholeContent: false, firstTouchOnly: true, recordAbsent: false);
                Interop.Stat st;
                if (fstat(fd, &st) == 0)
                {
                    _capture.CaptureBlocks(seq, ref part, fd, st.st_dev, st.st_ino, st.st_size, m.Path, m.FileOffset, m.Length);
                }

                close(fd);
                _writer.AppendCompletion(seq, new OpCompletion { TimeNs = Clock.NowNs(), Result = 0 });
            }
        }
    }

    /// <summary>The process execs or exits: its mappings go; record each file's post-state.</summary>
    private void MappingsGone(TracedProcess p)
    {
        if (p.Mappings is null)
        {
            return;
        }

        foreach (SharedMapping m in p.Mappings)
        {
            RecordMappingPostState(p, m);
        }

        p.Mappings = null;
    }

    /// <summary>A munmap event with the post-state of the mapping's file (by its path).</summary>
    private void RecordMappingPostState(TracedProcess p, SharedMapping m)
    {
        var intent = new OpIntent
        {
            TimeNs = Clock.NowNs(), Pid = p.Tgid, Tid = p.Tgid, Op = OpCode.Munmap, Fd = -1,
            Offset = m.FileOffset, Length = m.Length, Dev = m.Dev, Ino = m.Ino, Kind = ObjectKind.Regular,
        };
        ulong seq = _writer.AppendIntent(intent, m.Path, default);
        uint part = 0;
        int n = PathToStat(m.Path);
        _capture.CapturePostState(seq, ref part, UndoRole.Object, _parentStat.AsSpan(0, n + 1), m.Path, follow: false);
        _writer.AppendCompletion(seq, new OpCompletion { TimeNs = Clock.NowNs(), Result = 0 });
    }

    private int PathToStat(byte[] path)
    {
        int n = Math.Min(path.Length, _parentStat.Length - 1);
        path.AsSpan(0, n).CopyTo(_parentStat);
        _parentStat[n] = 0;
        return n;
    }

    /// <summary>Opens /proc/PID/map_files/START-END of a mapping, read-only; -1 if it is gone.</summary>
    private int OpenMapFile(int tgid, SharedMapping m)
    {
        Span<byte> tail = stackalloc byte[64];
        ulong pages = ((ulong)m.Length + 4095) & ~4095UL; // mappings cover whole pages
        int n = WriteHex(tail, "map_files/"u8, m.Address, m.Address + pages);
        int len = ProcPath.Format(_proc, tgid, tail[..n]);
        fixed (byte* p = _proc)
        {
            int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOATIME, 0);
            if (fd < 0)
            {
                fd = open(p, O_RDONLY | O_CLOEXEC, 0);
            }

            _ = len;
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

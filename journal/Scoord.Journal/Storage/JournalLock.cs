using System.Globalization;
using System.Text;
using Scoord.Interceptors;

namespace Scoord.Journal;

/// <summary>
/// DIR/scoord.lock: the coordinator holds flock(LOCK_EX) on it for its whole life and writes its pid
/// into it. The kernel drops the lock when the process dies (kill -9 included), so a stale file is
/// harmless. Readers probe with LOCK_SH|LOCK_NB and let go at once. Every fd is O_CLOEXEC, so a
/// traced program never inherits the lock.
/// </summary>
internal sealed class JournalLock : IDisposable
{
    private int _fd;

    private JournalLock(int fd) => _fd = fd;

    /// <summary>Takes the lock or throws "journal DIR is in use by scoord (pid N)".</summary>
    public static JournalLock Acquire(string dir)
    {
        string path = Path.Combine(dir, JournalLayout.LockFileName);
        int fd = Open(path, Interop.Libc.O_RDWR | Interop.Libc.O_CREAT | Interop.Libc.O_CLOEXEC, 0x1A4 /* 0644 */);
        if (fd < 0)
        {
            ThrowHelper.ThrowErrno(dir, "opening " + JournalLayout.LockFileName, Interop.LastErrno);
        }

        // A reader's probe holds LOCK_SH for a moment; retry briefly so a probe is not taken for a coordinator.
        for (int attempt = 0; ; attempt++)
        {
            if (Interop.Libc.flock(fd, Interop.Libc.LOCK_EX | Interop.Libc.LOCK_NB) == 0)
            {
                break;
            }

            // flock says EWOULDBLOCK, which is EAGAIN on Linux.
            Errno errno = Interop.LastErrno;
            if (errno == Errno.EINTR)
            {
                continue;
            }

            if (errno != Errno.EAGAIN || attempt >= 5)
            {
                int pid = ReadPid(fd);
                Interop.Libc.close(fd);
                if (errno == Errno.EAGAIN)
                {
                    ThrowHelper.ThrowInUse(dir, pid);
                }

                ThrowHelper.ThrowErrno(dir, "locking " + JournalLayout.LockFileName, errno);
            }

            Thread.Sleep(10);
        }

        WritePid(fd, Environment.ProcessId);
        return new JournalLock(fd);
    }

    /// <summary>True if a coordinator holds the lock of <paramref name="dir"/>; <paramref name="pid"/> is its pid (0 if unknown).</summary>
    public static bool IsHeld(string dir, out int pid)
    {
        pid = 0;
        string path = Path.Combine(dir, JournalLayout.LockFileName);
        int fd = Open(path, Interop.Libc.O_RDONLY | Interop.Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            return false;
        }

        try
        {
            if (Interop.Libc.flock(fd, Interop.Libc.LOCK_SH | Interop.Libc.LOCK_NB) == 0)
            {
                Interop.Libc.flock(fd, Interop.Libc.LOCK_UN);
                return false;
            }

            if (Interop.LastErrno != Errno.EAGAIN)
            {
                return false;
            }

            pid = ReadPid(fd);
            return true;
        }
        finally
        {
            Interop.Libc.close(fd);
        }
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            // The file stays (removing it would race with a new coordinator); closing releases the lock.
            Interop.Libc.close(fd);
        }
    }

    private static unsafe int Open(string path, int flags, int mode)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            return Interop.Libc.open(p, flags, mode);
        }
    }

    private static unsafe int ReadPid(int fd)
    {
        byte* buf = stackalloc byte[32];
        nint n = Interop.Libc.pread(fd, buf, 32, 0);
        if (n <= 0)
        {
            return 0;
        }

        string text = Encoding.ASCII.GetString(buf, (int)n).Trim();
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : 0;
    }

    private static unsafe void WritePid(int fd, int pid)
    {
        byte[] text = Encoding.ASCII.GetBytes(pid.ToString(CultureInfo.InvariantCulture) + "\n");
        Interop.Libc.ftruncate(fd, 0);
        fixed (byte* p = text)
        {
            Interop.Libc.pwrite(fd, p, (nuint)text.Length, 0);
        }
    }
}

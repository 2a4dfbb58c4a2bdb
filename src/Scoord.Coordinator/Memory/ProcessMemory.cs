using System.Text;
using Scoord.Interceptors;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// /proc/PID/mem of a traced process, read and written with pread/pwrite. Unlike process_vm_readv/writev it
/// reaches pages the process itself may not (PROT_NONE, read-only private pages: the kernel copies on
/// write), which a dump and a restore both need.
/// </summary>
internal sealed unsafe class ProcessMemory : IDisposable
{
    private int _fd;

    public ProcessMemory(int pid)
    {
        Pid = pid;
        byte[] path = Encoding.ASCII.GetBytes($"/proc/{pid}/mem\0");
        fixed (byte* p = path)
        {
            _fd = Interop.Libc.open(p, Interop.Libc.O_RDWR | Interop.Libc.O_CLOEXEC, 0);
        }

        if (_fd < 0)
        {
            throw new InjectionException($"cannot open /proc/{pid}/mem: {Interop.LastErrno}");
        }
    }

    public int Pid { get; }

    /// <summary>Reads exactly <paramref name="destination"/>.Length bytes at <paramref name="address"/>; false when some are not mapped.</summary>
    public bool TryRead(ulong address, Span<byte> destination)
    {
        fixed (byte* d = destination)
        {
            return Transfer(address, d, destination.Length, write: false);
        }
    }

    /// <summary>Writes all of <paramref name="source"/> at <paramref name="address"/>; false when some of it is not mapped.</summary>
    public bool TryWrite(ulong address, ReadOnlySpan<byte> source)
    {
        fixed (byte* s = source)
        {
            return Transfer(address, s, source.Length, write: true);
        }
    }

    /// <summary>pread/pwrite of /proc/PID/mem until all <paramref name="length"/> bytes moved (EINTR retried).</summary>
    private bool Transfer(ulong address, byte* buffer, int length, bool write)
    {
        int done = 0;
        while (done < length)
        {
            long at = unchecked((long)(address + (ulong)done));
            nint n = write
                ? Interop.Libc.pwrite(_fd, buffer + done, (nuint)(length - done), at)
                : Interop.Libc.pread(_fd, buffer + done, (nuint)(length - done), at);
            if (n < 0 && Interop.LastErrno == Errno.EINTR)
            {
                continue;
            }

            if (n <= 0)
            {
                return false;
            }

            done += (int)n;
        }

        return true;
    }

    public void Write(ulong address, ReadOnlySpan<byte> source)
    {
        if (!TryWrite(address, source))
        {
            throw new InjectionException($"cannot write {source.Length} bytes at 0x{address:x} of pid {Pid}: {Interop.LastErrno}");
        }
    }

    public void Read(ulong address, Span<byte> destination)
    {
        if (!TryRead(address, destination))
        {
            throw new InjectionException($"cannot read {destination.Length} bytes at 0x{address:x} of pid {Pid}: {Interop.LastErrno}");
        }
    }

    public void Dispose()
    {
        if (_fd >= 0)
        {
            Interop.Libc.close(_fd);
            _fd = -1;
        }
    }
}

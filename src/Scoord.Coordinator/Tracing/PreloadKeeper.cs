using Microsoft.Extensions.Logging;
using Scoord.Interceptors;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// Keeps the fast path's library in every exec'd image (under the fast path execve and execveat stop):
/// when the environment passed to exec lacks LD_PRELOAD with libscoord-fast.so, or SCOORD_FASTPATH with
/// this run's ring directory (a program that cleans its environment, `env -i`), a copy of the
/// environment with both put back is written below the tracee's stack and the exec's envp argument
/// pointed at it. The new program sees the two variables (documented). Where that cannot be done the exec
/// goes on as asked and the new image runs on the ptrace way only, which is slower, never less exact.
/// </summary>
internal sealed unsafe partial class PreloadKeeper(string library, string ringDirectory, TraceeResumer resumer, ILogger logger)
{
    private const int MaxEntries = 1 << 16;
    private const int Prefix = 16;
    private const ulong NrExecve = 59;

    private readonly byte[] _library = System.Text.Encoding.UTF8.GetBytes(library);
    private readonly byte[] _fastpathEntry = System.Text.Encoding.UTF8.GetBytes("SCOORD_FASTPATH=" + ringDirectory + "\0");
    private ulong[] _pointers = new ulong[256];
    private byte[] _prefixes = new byte[256 * Prefix];
    private byte[] _oldPreload = new byte[4096];
    private const int IovMax = 1024;
    private readonly Interop.IoVec[] _localIov = new Interop.IoVec[IovMax];
    private readonly Interop.IoVec[] _remoteIov = new Interop.IoVec[IovMax];

    /// <summary>At the seccomp stop of execve/execveat.</summary>
    public void OnExec(Tracee t, in Interop.PtraceSyscallInfo info)
    {
        ulong envp = info.nr == NrExecve ? info.args[2] : info.args[3];
        if (envp != 0 && !TryFix(t, info.nr == NrExecve, envp))
        {
            Log.NotKept(logger, t.Process.Tgid);
        }

        resumer.Resume(t, PTRACE_CONT, 0);
    }

    /// <summary>True when the environment is fine as it is or was fixed; false when it could not be read or written.</summary>
    private bool TryFix(Tracee t, bool execve, ulong envp)
    {
        int count = ReadPointers(t.Tid, envp);
        if (count < 0)
        {
            return true; // unreadable: the kernel fails the exec with EFAULT (or E2BIG) on its own
        }

        if (!ReadPrefixes(t.Tid, count))
        {
            return true;
        }

        int preloadAt = -1, fastAt = -1;
        int oldLen = 0;
        bool preloadOk = false, fastOk = false;
        Span<byte> value = stackalloc byte[_fastpathEntry.Length + 1];
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> p = _prefixes.AsSpan(i * Prefix, Prefix);
            if (p.StartsWith("LD_PRELOAD="u8))
            {
                preloadAt = i;
                oldLen = ReadString(t.Tid, _pointers[i] + 11, _oldPreload);
                preloadOk = oldLen >= 0 && HasElement(_oldPreload.AsSpan(0, Math.Max(oldLen, 0)), _library);
            }
            else if (p.StartsWith("SCOORD_FASTPATH="u8))
            {
                fastAt = i;
                int n = ReadString(t.Tid, _pointers[i], value);
                fastOk = n == _fastpathEntry.Length - 1 && value[..n].SequenceEqual(_fastpathEntry.AsSpan(0, n));
            }
        }

        if (preloadOk && fastOk)
        {
            return true;
        }

        // LD_PRELOAD=LIB[:old], SCOORD_FASTPATH=DIR, then every other entry as it was.
        int preloadLen = 11 + _library.Length + (oldLen > 0 && !preloadOk ? 1 + oldLen : 0) + 1;
        byte[] block = new byte[preloadLen + _fastpathEntry.Length];
        "LD_PRELOAD="u8.CopyTo(block);
        _library.CopyTo(block.AsSpan(11));
        if (oldLen > 0 && !preloadOk)
        {
            block[11 + _library.Length] = (byte)':';
            _oldPreload.AsSpan(0, oldLen).CopyTo(block.AsSpan(12 + _library.Length));
        }

        _fastpathEntry.CopyTo(block.AsSpan(preloadLen));
        Interop.UserRegs regs;
        if (ptrace(PTRACE_GETREGS, t.Tid, 0, (nint)(&regs)) != 0)
        {
            return false;
        }

        int kept = count - (preloadAt >= 0 ? 1 : 0) - (fastAt >= 0 ? 1 : 0);
        ulong[] array = new ulong[kept + 3];
        ulong strings = (regs.rsp - 128 - (ulong)block.Length) & ~0xFUL; // below the red zone
        ulong arrayAt = (strings - ((ulong)array.Length * 8)) & ~0xFUL;
        array[0] = strings;
        array[1] = strings + (ulong)preloadLen;
        int k = 2;
        for (int i = 0; i < count; i++)
        {
            if (i != preloadAt && i != fastAt)
            {
                array[k++] = _pointers[i];
            }
        }

        array[k] = 0;
        if (!Write(t.Tid, strings, block) || !Write(t.Tid, arrayAt, System.Runtime.InteropServices.MemoryMarshal.AsBytes(array.AsSpan())))
        {
            return false;
        }

        if (execve)
        {
            regs.rdx = arrayAt;
        }
        else
        {
            regs.r10 = arrayAt;
        }

        return ptrace(PTRACE_SETREGS, t.Tid, 0, (nint)(&regs)) == 0;
    }

    /// <summary>Reads envp up to its NULL; -1 when unreadable or longer than the kernel would take.</summary>
    private int ReadPointers(int tid, ulong envp)
    {
        var memory = new Interceptors.Decoding.ProcessVmMemory(tid);
        int count = 0;
        Span<byte> chunk = stackalloc byte[64 * 8];
        while (count < MaxEntries)
        {
            ulong at = envp + ((ulong)count * 8);
            int entries = 64;
            if (memory.Read(at, chunk) != chunk.Length)
            {
                if (memory.Read(at, chunk[..8]) != 8)
                {
                    return -1;
                }

                entries = 1; // near the end of a mapping: the rest of the chunk was not read
            }

            for (int i = 0; i < entries; i++)
            {
                ulong p = BitConverter.ToUInt64(chunk[(i * 8)..]);
                if (p == 0)
                {
                    return count;
                }

                if (count == _pointers.Length)
                {
                    Array.Resize(ref _pointers, _pointers.Length * 2);
                    Array.Resize(ref _prefixes, _pointers.Length * Prefix);
                }

                _pointers[count++] = p;
            }
        }

        return -1;
    }

    /// <summary>The first bytes of every entry, in batches of process_vm_readv (unreadable entries read as zeros).</summary>
    private bool ReadPrefixes(int tid, int count)
    {
        Array.Clear(_prefixes, 0, count * Prefix);
        var memory = new Interceptors.Decoding.ProcessVmMemory(tid);
        int i = 0;
        fixed (byte* prefixes = _prefixes)
        fixed (Interop.IoVec* local = _localIov, remote = _remoteIov)
        {
            while (i < count)
            {
                // Up to IOV_MAX entries in one process_vm_readv (it was one call per entry: a third of the
                // tracer's time per exec). The kernel stops at the first entry it cannot read whole.
                int n = Math.Min(count - i, IovMax);
                for (int k = 0; k < n; k++)
                {
                    local[k] = new Interop.IoVec { iov_base = prefixes + ((i + k) * Prefix), iov_len = Prefix };
                    remote[k] = new Interop.IoVec { iov_base = (void*)_pointers[i + k], iov_len = Prefix };
                }

                nint got = process_vm_readv(tid, local, (ulong)n, remote, (ulong)n, 0);
                int whole = got <= 0 ? 0 : (int)(got / Prefix);
                i += whole;
                if (whole < n)
                {
                    // near the end of a mapping: this entry a byte at a time, then the batch goes on after it
                    Span<byte> dest = _prefixes.AsSpan(i * Prefix, Prefix);
                    for (int b = 0; b < Prefix && memory.Read(_pointers[i] + (ulong)b, dest.Slice(b, 1)) == 1 && dest[b] != 0; b++)
                    {
                    }

                    i++;
                }
            }
        }

        return true;
    }

    private static int ReadString(int tid, ulong address, Span<byte> dest)
    {
        int n = Interceptors.Decoding.TraceeMemory.ReadCString(tid, address, dest);
        return n;
    }

    /// <summary>True when <paramref name="list"/> (ld.so's separators: ':' and ' ') names <paramref name="item"/>.</summary>
    private static bool HasElement(ReadOnlySpan<byte> list, ReadOnlySpan<byte> item)
    {
        while (!list.IsEmpty)
        {
            int sep = list.IndexOfAny((byte)':', (byte)' ');
            ReadOnlySpan<byte> e = sep < 0 ? list : list[..sep];
            if (e.SequenceEqual(item))
            {
                return true;
            }

            list = sep < 0 ? default : list[(sep + 1)..];
        }

        return false;
    }

    private static bool Write(int tid, ulong address, ReadOnlySpan<byte> src)
    {
        fixed (byte* s = src)
        {
            Interop.IoVec local = new() { iov_base = s, iov_len = (nuint)src.Length };
            Interop.IoVec remote = new() { iov_base = (void*)address, iov_len = (nuint)src.Length };
            return process_vm_writev(tid, &local, 1, &remote, 1, 0) == src.Length;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 134, Level = LogLevel.Debug, Message = "pid {Pid}: the fast path could not be kept across exec (environment not writable); the new program runs on the ptrace way")]
        public static partial void NotKept(ILogger logger, int pid);
    }
}

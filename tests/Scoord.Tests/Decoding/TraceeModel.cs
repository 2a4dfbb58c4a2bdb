using System.Text;
using Scoord.Interceptors;
using Scoord.Interceptors.Decoding;

namespace Scoord.Tests.Decoding;

/// <summary>
/// A stopped tracee without ptrace: a model of its memory (byte regions at chosen addresses, anything
/// else unmapped, as process_vm_readv sees it) and this test process's own fds standing for its fds.
/// </summary>
internal sealed class TraceeModel
{
    private readonly List<(ulong Start, byte[] Bytes)> _regions = [];
    private ulong _next = 0x7f00_0000_1000;

    /// <summary>An address nothing is mapped at.</summary>
    public const ulong Unmapped = 0x6000_0000_0000;

    /// <summary>Maps <paramref name="bytes"/> at a fresh address (each region on pages of its own) and returns it.</summary>
    public ulong Put(byte[] bytes)
    {
        ulong at = _next;
        _regions.Add((at, bytes));
        _next += ((ulong)bytes.Length + 8191) & ~4095UL;
        return at;
    }

    /// <summary>A NUL-terminated string, as a path argument.</summary>
    public ulong Put(string text) => Put([.. Encoding.UTF8.GetBytes(text), 0]);

    /// <summary>struct iovec[] with the given lengths (the bases point nowhere: the decoder only sums the lengths).</summary>
    public ulong PutIovecs(params long[] lengths)
    {
        byte[] bytes = new byte[16 * lengths.Length];
        for (int i = 0; i < lengths.Length; i++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(16 * i), 0x1000UL);
            BitConverter.TryWriteBytes(bytes.AsSpan((16 * i) + 8), lengths[i]);
        }

        return Put(bytes);
    }

    public Tracee AsTracee() => new(this);

    internal nint Read(ulong address, Span<byte> dest)
    {
        foreach ((ulong start, byte[] bytes) in _regions)
        {
            if (address >= start && address - start < (ulong)bytes.Length)
            {
                int offset = (int)(address - start);
                int n = Math.Min(dest.Length, bytes.Length - offset);
                bytes.AsSpan(offset, n).CopyTo(dest);
                return n;
            }
        }

        return -1;
    }

    /// <summary>The tracee the decoder sees: its tid is this process (relative paths resolve through our own /proc entry).</summary>
    internal readonly struct Tracee(TraceeModel model) : ITracee
    {
        public int Tid => Environment.ProcessId;

        public nint Read(ulong address, Span<byte> dest) => model.Read(address, dest);

        public int DuplicateFd(int fd) => Interop.Libc.fcntl(fd, Interop.Libc.F_DUPFD_CLOEXEC, 0);
    }
}

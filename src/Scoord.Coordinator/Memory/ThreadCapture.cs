using System.Runtime.InteropServices;
using Scoord.Coordinator.Tracing;
using Scoord.Interceptors;
using Scoord.Journal.Memory;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// One thread's state for an image: registers (normalised: an interrupted or not yet run syscall is made to
/// run again, since the kernel's restart state does not survive), XSAVE area, signal mask, rseq registration
/// and pending signals through ptrace; the alternate signal stack and clear_child_tid through injected
/// syscalls (nothing in /proc shows them).
/// </summary>
internal static unsafe class ThreadCapture
{
    private const long ERESTARTSYS = -512, ERESTARTNOINTR = -513, ERESTARTNOHAND = -514, ERESTART_RESTARTBLOCK = -516;
    private const ulong NrRestartSyscall = 219;
    private const int PR_GET_TID_ADDRESS = 40;
    private const int XsaveMax = 16384;

    [StructLayout(LayoutKind.Sequential)]
    private struct RseqConfiguration
    {
        public ulong rseq_abi_pointer;
        public uint rseq_abi_size;
        public uint signature;
        public uint flags;
        public uint pad;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PeekSiginfoArgs
    {
        public ulong off;
        public uint flags;
        public int nr;
    }

    public static ThreadImage Capture(Tracee t, InjectedThread inj, ProcessMemory memory)
    {
        var img = new ThreadImage { Tid = t.Tid, JobStopped = t.GroupStopped };
        Interop.UserRegs regs = Normalize(inj, memory);
        MemoryMarshal.AsBytes(new Span<Interop.UserRegs>(ref regs)).CopyTo(img.Regs);

        byte[] xsave = new byte[XsaveMax];
        fixed (byte* x = xsave)
        {
            var iov = new Interop.IoVec { iov_base = x, iov_len = (nuint)xsave.Length };
            if (ptrace(PTRACE_GETREGSET, t.Tid, NT_X86_XSTATE, (nint)(&iov)) != 0)
            {
                throw new InjectionException($"cannot read the XSAVE state of thread {t.Tid}: {Interop.LastErrno}");
            }

            img.Xsave = xsave.AsSpan(0, (int)iov.iov_len).ToArray();
        }

        ulong mask = 0;
        ptrace(PTRACE_GETSIGMASK, t.Tid, sizeof(ulong), (nint)(&mask));
        img.SigMask = mask;

        RseqConfiguration rseq;
        if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, t.Tid, sizeof(RseqConfiguration), (nint)(&rseq)) > 0 && rseq.rseq_abi_pointer != 0)
        {
            img.RseqAddress = rseq.rseq_abi_pointer;
            img.RseqLength = rseq.rseq_abi_size;
            img.RseqSignature = rseq.signature;
        }

        img.Pending.AddRange(inj.Deferred); // taken off by the injection (it was being delivered): pending, first
        img.Pending.AddRange(Pending(t.Tid, shared: false));
        img.Comm = ProcFile.Read($"/proc/{t.Process.Tgid}/task/{t.Tid}/comm") is { } comm ? comm.AsSpan().TrimEnd((byte)'\n').ToArray() : [];

        ulong scratch = SyscallInjector.StackScratch(inj.Saved, 64);
        Span<byte> saved = stackalloc byte[64];
        memory.Read(scratch, saved);
        try
        {
            Span<byte> out64 = stackalloc byte[64];
            if (SyscallInjector.Call(inj, Nr.Sigaltstack, 0, (long)scratch) == 0)
            {
                memory.Read(scratch, out64[..24]);
                img.AltStackSp = BitConverter.ToUInt64(out64);
                img.AltStackFlags = BitConverter.ToInt32(out64[8..]);
                img.AltStackSize = BitConverter.ToUInt64(out64[16..]);
            }

            if (SyscallInjector.Call(inj, Nr.Prctl, PR_GET_TID_ADDRESS, (long)scratch) == 0)
            {
                memory.Read(scratch, out64[..8]);
                img.ClearChildTid = BitConverter.ToUInt64(out64);
            }
        }
        finally
        {
            memory.Write(scratch, saved);
        }

        return img;
    }

    /// <summary>Signals queued for the thread (or, <paramref name="shared"/>, for the whole process), oldest first.</summary>
    public static List<PendingSignal> Pending(int tid, bool shared)
    {
        var list = new List<PendingSignal>();
        const int batch = 32;
        byte* buffer = stackalloc byte[batch * PendingSignal.SiginfoSize];
        for (ulong off = 0; off < 4096;)
        {
            var args = new PeekSiginfoArgs { off = off, flags = shared ? (uint)PTRACE_PEEKSIGINFO_SHARED : 0, nr = batch };
            long n = ptrace(PTRACE_PEEKSIGINFO, tid, (nint)(&args), (nint)buffer);
            if (n <= 0)
            {
                break;
            }

            for (int i = 0; i < n; i++)
            {
                var s = new PendingSignal();
                new ReadOnlySpan<byte>(buffer + (i * PendingSignal.SiginfoSize), PendingSignal.SiginfoSize).CopyTo(s.Siginfo);
                s.Signal = BitConverter.ToInt32(s.Siginfo);
                list.Add(s);
            }

            off += (ulong)n;
        }

        return list;
    }

    /// <summary>
    /// The registers a restored thread starts with: a syscall interrupted by the barrier (-ERESTART*) or stopped
    /// at its entry is executed again from its start (a sleep sleeps its whole time again); anything else
    /// resumes where it was. orig_rax is -1, so that no restart logic of the restoring kernel applies.
    /// </summary>
    public static Interop.UserRegs Normalize(InjectedThread inj, ProcessMemory memory)
    {
        Interop.UserRegs r = inj.Saved;
        if (inj.Restart)
        {
            r.rip -= 2;
            r.rax = r.orig_rax;
        }
        else if ((long)r.orig_rax >= 0)
        {
            long rax = (long)r.rax;
            if (rax is ERESTARTSYS or ERESTARTNOINTR or ERESTARTNOHAND or ERESTART_RESTARTBLOCK)
            {
                ulong nr = r.orig_rax;
                if (nr == NrRestartSyscall)
                {
                    nr = OriginalSyscall(memory, r.rip - 2) ?? nr;
                }

                r.rip -= 2;
                r.rax = nr;
            }
        }

        r.orig_rax = ulong.MaxValue;
        return r;
    }

    /// <summary>
    /// A restarted sleep shows restart_syscall, whose state (the time left) stays in the kernel. libc loads the
    /// syscall number right before the instruction (mov $nr, %eax: B8 imm32), so the original call can be made again.
    /// </summary>
    private static ulong? OriginalSyscall(ProcessMemory memory, ulong syscallAt)
    {
        Span<byte> code = stackalloc byte[5];
        return memory.TryRead(syscallAt - 5, code) && code[0] == 0xB8 ? BitConverter.ToUInt32(code[1..]) : null;
    }
}

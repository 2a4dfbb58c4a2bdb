using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Scoord.Interceptors;
using Scoord.Interceptors.Decoding;
using Scoord.Interceptors.Seccomp;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// Writes into regular files through fds 0-2 (`sh -c 'echo hi > f'` dup2s f onto fd 1) must be
/// journaled, but making every terminal and pipe write stop would be costly. The base filter lets
/// writes on fds 0-2 pass when they were not regular files at launch. When a journaled regular file
/// lands on fd 0-2 (dup2/dup3/fcntl F_DUPFD onto them, or an open while they are closed), scoord
/// injects one seccomp() call into that process that stacks a small filter making fd-mutating
/// syscalls on fds 0-2 stop from then on (inherited by its children and across exec), then restarts
/// the original syscall. Processes that never put a file on stdio never pay for it.
/// </summary>
internal sealed unsafe partial class StdioGuard(DecodeContext decode, TraceeResumer resumer, FastPath.FastPathSession? fastPath, ILogger logger)
{
    private const ulong NrSeccomp = 317;
    private const ulong SeccompSetModeFilter = 1;
    private const ulong SeccompFilterFlagTsync = 1;

    private readonly Interop.SockFilter[] _filter = FilterGenerator.BuildStdioGuard(fastPath is null ? 0 : Journal.Ring.RingLayout.StubAddress);

    /// <summary>dup2/dup3/fcntl(F_DUPFD) onto 0-2 of the fd <paramref name="fd"/>, at its seccomp stop.</summary>
    public void OnDupToStdio(Tracee t, int fd)
    {
        var tracee = new PtraceTracee(t);
        if (t.Process.StdioGuarded || !FdResolver.IsJournaledFd(decode, ref tracee, fd))
        {
            resumer.Resume(t, PTRACE_CONT, 0);
            return;
        }

        // Replace the dup with seccomp(SET_MODE_FILTER, TSYNC, prog); the dup is restarted afterwards.
        Inject(t, atEntry: true);
    }

    /// <summary>At the exit stop of an open whose fd landed on 0-2: run seccomp() by re-executing the syscall instruction.</summary>
    public void BeginAtExit(Tracee t) => Inject(t, atEntry: false);

    private void Inject(Tracee t, bool atEntry)
    {
        Interop.UserRegs regs;
        if (ptrace(PTRACE_GETREGS, t.Tid, 0, (nint)(&regs)) != 0)
        {
            resumer.Resume(t, PTRACE_CONT, 0);
            return;
        }

        t.SavedRegs = regs;
        t.GuardAtEntry = atEntry;
        ulong prog = WriteProgram(t, regs.rsp);
        if (prog == 0)
        {
            GiveUp(t, -1);
            resumer.Resume(t, PTRACE_CONT, 0);
            return;
        }

        if (atEntry)
        {
            regs.orig_rax = NrSeccomp; // the syscall about to run becomes seccomp()
        }
        else
        {
            regs.rax = NrSeccomp;
            regs.rip -= 2; // back onto the 2-byte syscall instruction
        }

        regs.rdi = SeccompSetModeFilter;
        regs.rsi = SeccompFilterFlagTsync;
        regs.rdx = prog;
        ptrace(PTRACE_SETREGS, t.Tid, 0, (nint)(&regs));
        t.State = TraceeState.InjectingGuard;
        resumer.Resume(t, PTRACE_SYSCALL, 0);
    }

    /// <summary>A syscall stop of a tracee running the injected seccomp(): at its exit, restore and restart.</summary>
    public void OnInjectedStop(Tracee t, in Interop.PtraceSyscallInfo info)
    {
        if (info.op == PTRACE_SYSCALL_INFO_ENTRY)
        {
            resumer.Resume(t, PTRACE_SYSCALL, 0); // entry of the re-executed instruction; wait for its exit
            return;
        }

        long result = info.rval;
        Interop.UserRegs regs = t.SavedRegs;
        if (t.GuardAtEntry)
        {
            // Restart the original syscall: the tracee executes the syscall instruction again.
            regs.rip -= 2;
            regs.rax = regs.orig_rax;
        }

        ptrace(PTRACE_SETREGS, t.Tid, 0, (nint)(&regs));
        t.State = TraceeState.Running;
        if (result == 0)
        {
            t.Process.StdioGuarded = true;
            fastPath?.StdioGuarded(t.Process.Tgid); // the hooks classify writes to fds 0-2 from now on
        }
        else
        {
            GiveUp(t, result);
        }

        resumer.Resume(t, PTRACE_CONT, 0);
    }

    private void GiveUp(Tracee t, long result)
    {
        Log.GuardFailed(logger, t.Process.Tgid, result);
        t.Process.StdioGuarded = true; // do not try again for this process
        fastPath?.StdioGuarded(t.Process.Tgid);
    }

    /// <summary>Writes struct sock_fprog and the guard filter below the tracee's red zone; returns the sock_fprog address or 0.</summary>
    private ulong WriteProgram(Tracee t, ulong rsp)
    {
        ReadOnlySpan<byte> insns = MemoryMarshal.AsBytes(_filter.AsSpan());
        ulong addr = (rsp - 128 - 64 - (ulong)insns.Length - 16) & ~0xFUL;
        Span<byte> fprog = stackalloc byte[16];
        fprog.Clear();
        BitConverter.TryWriteBytes(fprog, (ushort)_filter.Length);
        BitConverter.TryWriteBytes(fprog[8..], addr + 16);
        return Write(t.Tid, addr + 16, insns) && Write(t.Tid, addr, fprog) ? addr : 0;
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
        [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "could not guard stdio of pid {Pid} (seccomp returned {Result}): its writes through fds 0-2 are not journaled")]
        public static partial void GuardFailed(ILogger logger, int pid, long result);
    }
}

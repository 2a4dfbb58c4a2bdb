using Scoord.Interceptors.Decoding;
using System.Runtime.InteropServices;
using Scoord.Interceptors;
using Scoord.Interceptors.Syscalls;
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
internal sealed unsafe partial class Tracer
{
    private const ulong NrSeccomp = 317;
    private const ulong SeccompSetModeFilter = 1;
    private const ulong SeccompFilterFlagTsync = 1;

    private void OnDupToStdio(Tracee t, in SyscallEntry e)
    {
        if (t.Process.StdioGuarded || !IsJournaledFd(t, (int)_info.args[e.FdArg]))
        {
            Resume(t, PTRACE_CONT, 0);
            return;
        }

        Interop.UserRegs regs;
        if (ptrace(PTRACE_GETREGS, t.Tid, 0, (nint)(&regs)) != 0)
        {
            Resume(t, PTRACE_CONT, 0);
            return;
        }

        t.SavedRegs = regs;
        t.GuardAtEntry = true;
        ulong prog = WriteGuardProgram(t, regs.rsp);
        if (prog == 0)
        {
            GiveUpGuard(t, -1);
            Resume(t, PTRACE_CONT, 0);
            return;
        }

        // Replace the dup with seccomp(SET_MODE_FILTER, TSYNC, prog); the dup is restarted afterwards.
        regs.orig_rax = NrSeccomp;
        regs.rdi = SeccompSetModeFilter;
        regs.rsi = SeccompFilterFlagTsync;
        regs.rdx = prog;
        ptrace(PTRACE_SETREGS, t.Tid, 0, (nint)(&regs));
        t.State = TraceeState.InjectingGuard;
        Resume(t, PTRACE_SYSCALL, 0);
    }

    /// <summary>At the exit stop of an open whose fd landed on 0-2: run seccomp() by re-executing the syscall instruction.</summary>
    private void BeginGuardInjectionAtExit(Tracee t)
    {
        Interop.UserRegs regs;
        if (ptrace(PTRACE_GETREGS, t.Tid, 0, (nint)(&regs)) != 0)
        {
            Resume(t, PTRACE_CONT, 0);
            return;
        }

        t.SavedRegs = regs;
        t.GuardAtEntry = false;
        ulong prog = WriteGuardProgram(t, regs.rsp);
        if (prog == 0)
        {
            GiveUpGuard(t, -1);
            Resume(t, PTRACE_CONT, 0);
            return;
        }

        regs.rax = NrSeccomp;
        regs.rdi = SeccompSetModeFilter;
        regs.rsi = SeccompFilterFlagTsync;
        regs.rdx = prog;
        regs.rip -= 2; // back onto the 2-byte syscall instruction
        ptrace(PTRACE_SETREGS, t.Tid, 0, (nint)(&regs));
        t.State = TraceeState.InjectingGuard;
        Resume(t, PTRACE_SYSCALL, 0);
    }

    private void FinishGuardInjection(Tracee t)
    {
        if (_info.op == PTRACE_SYSCALL_INFO_ENTRY)
        {
            Resume(t, PTRACE_SYSCALL, 0); // entry of the re-executed instruction; wait for its exit
            return;
        }

        long result = _info.rval;
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
        }
        else
        {
            GiveUpGuard(t, result);
        }

        Resume(t, PTRACE_CONT, 0);
    }

    private void GiveUpGuard(Tracee t, long result)
    {
        Log.GuardFailed(_logger, t.Process.Tgid, result);
        t.Process.StdioGuarded = true; // do not try again for this process
    }

    /// <summary>Writes struct sock_fprog and the guard filter below the tracee's red zone; returns the sock_fprog address or 0.</summary>
    private ulong WriteGuardProgram(Tracee t, ulong rsp)
    {
        ReadOnlySpan<byte> insns = MemoryMarshal.AsBytes(_guardFilter.AsSpan());
        ulong addr = (rsp - 128 - 64 - (ulong)insns.Length - 16) & ~0xFUL;
        Span<byte> fprog = stackalloc byte[16];
        fprog.Clear();
        BitConverter.TryWriteBytes(fprog, (ushort)_guardFilter.Length);
        BitConverter.TryWriteBytes(fprog[8..], addr + 16);
        return TraceeMemory.Write(t.Tid, addr + 16, insns) && TraceeMemory.Write(t.Tid, addr, fprog) ? addr : 0;
    }
}

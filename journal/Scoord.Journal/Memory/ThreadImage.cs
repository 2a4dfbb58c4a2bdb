namespace Scoord.Journal.Memory;

/// <summary>
/// One thread: registers (struct user_regs_struct, fs and gs base included; normalised so that an
/// interrupted syscall is executed again), the XSAVE area (x87, SSE, AVX...), the signal mask, the alternate
/// signal stack, the clear_child_tid address, the rseq registration, its name and its pending signals.
/// </summary>
public sealed class ThreadImage
{
    public const int UserRegsSize = 216;

    public int Tid;
    public byte[] Regs = new byte[UserRegsSize];
    public byte[] Xsave = [];
    public ulong SigMask;
    public ulong AltStackSp;
    public int AltStackFlags;
    public ulong AltStackSize;
    public ulong ClearChildTid;
    public ulong RseqAddress;
    public uint RseqLength;
    public uint RseqSignature;
    /// <summary>Stopped by job control (SIGSTOP, SIGTSTP...) at the checkpoint: stopped again after the restore.</summary>
    public bool JobStopped;
    public byte[] Comm = [];
    public List<PendingSignal> Pending = [];
}
